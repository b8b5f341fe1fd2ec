"""The TUI with the real LLM agent session (ChatOpenAI against the scripted local OpenAI server).

Brief → plan table → the agent asks before spending (priced test backend) →
the dialog shows the real estimate in USD → y → shots generated and the video
written, the spending in the status line. Then a restart with an approval
still waiting: the dialog comes back with the estimate. The session is opened
with ``open_session``, as the ``tui`` command does; the server and the test
backends are the assistant tests' own helpers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.assistant._fake_openai import FakeOpenAI, Reply, call, say
from tests.assistant._test_backends import register
from tests.tui._tui_pilot import SIZE, send, wait_for_workers
from textual.widgets import DataTable, Static

from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.session_factory import open_session
from shotsmith.tui.app import ShotsmithApp
from shotsmith.tui.screens import ApprovalScreen, ChatScreen
from shotsmith.tui.widgets import ChatLog, ProgressPanel, StatusLine

BRIEF = "A 4 second ad for a bakery, 2 shots, warm morning light"
SHOTS = [
    {"subject": "a baker", "action": "pulling bread from the oven", "setting": "in a small bakery",
     "camera": "zoom_in", "style": "warm cinematic", "lighting": "morning light", "duration_s": 2,
     "source": None, "transition": "cut"},
    {"subject": "a customer", "action": "biting a croissant", "setting": "at the counter",
     "camera": "pan_right", "style": "warm cinematic", "lighting": "morning light", "duration_s": 2,
     "source": None, "transition": "cut"},
]
PLAN = {"brief": BRIEF, "duration_s": None, "aspect_ratio": None, "shot_count": None, "shots": SHOTS}


@pytest.fixture
def fake_llm(monkeypatch):
    server = FakeOpenAI().start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-tui-not-a-key")
    register()
    yield server
    server.stop()


def open_agent(project: Path, server: FakeOpenAI):
    options = ServiceOptions(backend="priced-test", resolution="360p", fps=24)
    return open_session(project, options=options, llm="openai:fake-model", llm_base_url=server.base_url,
                        retry_initial_delay_s=0.01)


def log_entries(app) -> list:
    return app.get_screen("chat").query_one(ChatLog).entries


@pytest.mark.slow
async def test_agent_turn_with_approval_dialog_end_to_end(tmp_path, fake_llm):
    fake_llm.add(call("plan_shots", PLAN),
                 Reply(content="Two shots planned. This backend costs money, so I will ask first.",
                       tool_calls=[("generate_shots", {"shots": None})]))
    session = open_agent(tmp_path / "proj", fake_llm)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            assert app.screen.query_one(StatusLine).answering == "openai:fake-model"
            await send(pilot, BRIEF)

            assert app.get_screen("chat").query_one("#plan-rows", DataTable).row_count == 2
            assert isinstance(app.screen, ApprovalScreen)
            assert str(app.screen.query_one("#approval-estimate", Static).content) == "Estimate: 0.40 USD"
            assert str(app.screen.query_one("#approval-shots", Static).content) == "Shots: 1, 2 with priced-test"
            assert str(app.screen.query_one("#approval-source", Static).content) == "Price from: test price list"
            assert not list((tmp_path / "proj" / "clips").glob("*.*")), "nothing is generated before the yes"

            fake_llm.add(call("render", {"preview": False, "output": None}), say("Your bakery ad is ready."))
            await pilot.press("y")
            await wait_for_workers(pilot)

            assert isinstance(app.screen, ChatScreen) and not app.screen.busy
            progress = app.screen.query_one(ProgressPanel)
            assert progress.output is not None and Path(progress.output[0]).is_file()
            assert {state for state, _, _ in progress.states.values()} == {"done"}
            log = [str(e.content) for e in log_entries(app)]
            assert log[-1] == "assistant\nYour bakery ad is ready.", log
            # The JSON the tools gave the model stays out of the chat; the table and panel show the effect.
            assert "✓ plan_shots" in log and "✓ generate_shots" in log and "✓ render" in log, log
            assert not any(e.has_class("error") for e in log_entries(app)), log
            assert app.screen.query_one(StatusLine).spent_usd == pytest.approx(0.4)
    finally:
        session.close()


@pytest.mark.slow
async def test_an_approval_left_waiting_is_asked_again_after_a_restart(tmp_path, fake_llm):
    fake_llm.add(call("plan_shots", PLAN), call("generate_shots", {"shots": [1, 2]}))
    session = open_agent(tmp_path / "proj", fake_llm)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, BRIEF)
            assert isinstance(app.screen, ApprovalScreen)
            await app.action_quit()  # quit with the dialog open: the approval stays pending
    finally:
        session.close()

    again = open_agent(tmp_path / "proj", fake_llm)
    try:
        assert again.pending_approval
        app = ShotsmithApp(again)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_workers(pilot)
            assert isinstance(app.screen, ApprovalScreen), [str(e.content) for e in log_entries(app)]
            assert str(app.screen.query_one("#approval-estimate", Static).content) == "Estimate: 0.40 USD"
            restored = [str(e.content) for e in log_entries(app) if e.has_class("restored")]
            assert restored[0] == f"you\n{BRIEF}"
            fake_llm.add(say("Generated."))
            await pilot.press("y")
            await wait_for_workers(pilot)
            assert not again.pending_approval
            assert sorted(c.shot_index for c in again.store.project.spending.charges) == [1, 2]
    finally:
        again.close()
