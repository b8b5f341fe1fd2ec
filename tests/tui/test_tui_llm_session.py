"""The TUI with the real LLM agent session (ChatOpenAI against the scripted local OpenAI server).

Brief → plan table → the agent asks before spending (priced test backend) →
the dialog shows the real estimate → y → shots generated and the video written.
The server and the test backends are the assistant tests' own helpers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.assistant._fake_openai import FakeOpenAI, Reply, call, say  # noqa: E402
from tests.assistant._test_backends import register  # noqa: E402
from tests.tui._tui_pilot import SIZE, send, wait_for_workers  # noqa: E402
from textual.widgets import DataTable, Static  # noqa: E402

from shotsmith.assistant.session import ChatSession  # noqa: E402
from shotsmith.tui.app import ShotsmithApp  # noqa: E402
from shotsmith.tui.screens import ApprovalScreen, ChatScreen  # noqa: E402
from shotsmith.tui.widgets import ChatLog, ProgressPanel, StatusLine  # noqa: E402

BRIEF = "A 4 second ad for a bakery, 2 shots, warm morning light"
SHOTS = [
    {"subject": "a baker", "action": "pulling bread from the oven", "setting": "in a small bakery",
     "camera": "zoom_in", "style": "warm cinematic", "lighting": "morning light", "duration_s": 2},
    {"subject": "a customer", "action": "biting a croissant", "setting": "at the counter",
     "camera": "pan_right", "style": "warm cinematic", "lighting": "morning light", "duration_s": 2},
]


@pytest.fixture
def fake_llm(monkeypatch):
    server = FakeOpenAI().start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-tui-not-a-key")
    yield server
    server.stop()


@pytest.mark.slow
async def test_agent_turn_with_approval_dialog_end_to_end(tmp_path, fake_llm):
    register()
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}),
                 Reply(content="Two shots planned. This backend costs money, so I will ask first.",
                       tool_calls=[("generate_shots", {})]))
    session = ChatSession.open(tmp_path / "proj", llm="openai:fake-model", llm_base_url=fake_llm.base_url,
                               backend="priced-test", resolution="360p", fps=24, retry_initial_delay_s=0.01)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            assert app.screen.query_one(StatusLine).answering == "openai:fake-model"
            await send(pilot, BRIEF)

            assert app.screen_stack[-2].query_one("#plan-rows", DataTable).row_count == 2
            assert isinstance(app.screen, ApprovalScreen)
            estimate = str(app.screen.query_one("#approval-estimate", Static).content)
            assert estimate.startswith("Estimate: 0.4") and estimate.endswith("USD")
            assert not list((tmp_path / "proj" / "clips").glob("*.mp4")), "nothing is generated before the yes"

            fake_llm.add(call("render_final", {}), say("Your bakery ad is ready."))
            await pilot.press("y")
            await wait_for_workers(pilot)

            assert isinstance(app.screen, ChatScreen) and not app.screen.busy
            progress = app.screen.query_one(ProgressPanel)
            assert progress.output is not None and Path(progress.output[0]).is_file()
            assert {state for state, _, _ in progress.states.values()} == {"done"}
            log = [str(e.content) for e in app.screen.query_one(ChatLog).entries]
            assert log[-1] == "assistant\nYour bakery ad is ready.", log
            assert any(line.startswith("✓ generate_shots") for line in log)
            assert not any(e.has_class("error") for e in app.screen.query_one(ChatLog).entries)
    finally:
        session.close()
