"""Pilot tests of the chat screen, driven by the scripted session."""

from __future__ import annotations

import asyncio

from tests.tui._tui_fake_session import (BRIEF, WAIT_FOR_CANCEL, approval_turn, coffee_plan, generation_turn, plan_turn,
                               rejected_turn)
from tests.tui._tui_pilot import SIZE, make_app, scripted, settle, type_and_send  # noqa: F401 (fixtures)
from textual.widgets import DataTable, Input, Static

from shotsmith.assistant.events import AssistantText, Notice, ToolCallStarted
from shotsmith.errors import BackendError
from shotsmith.tui.screens import ApprovalScreen, ChatScreen
from shotsmith.tui.widgets import ChatLog, PlanTable, ProgressPanel, StatusLine


def log_texts(app) -> list[str]:
    return [str(entry.content) for entry in app.screen.query_one(ChatLog).entries]


def entries_with(app, css_class: str) -> list[str]:
    return [str(entry.content) for entry in app.screen.query_one(ChatLog).entries if entry.has_class(css_class)]


async def test_brief_shows_streamed_text_and_plan_rows(scripted, make_app, settle):
    session = scripted(plan_turn())
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, BRIEF)
        await settle(pilot)

        assert session.sent == [BRIEF]
        assert entries_with(app, "user")[-1].endswith(BRIEF)
        # The three fragments and the final message make one assistant entry, not four.
        assistant = entries_with(app, "assistant")
        assert assistant == ["assistant\nPlanned 3 shots for your coffee ad. Say 'generate' when you are happy."]
        assert not entries_with(app, "streaming")
        assert any(text.startswith("✓ plan_shots: 3 shots") for text in entries_with(app, "tool"))

        table = app.screen.query_one("#plan-rows", DataTable)
        assert table.row_count == 3
        assert [table.get_row_at(i)[:3] for i in range(3)] == [["1", "3.0s", "zoom_in"], ["2", "3.0s", "pan_right"],
                                                               ["3", "3.0s", "static"]]
        assert table.get_row_at(1)[3].startswith("Close-up of a barista")
        plan = app.screen.query_one(PlanTable)
        assert plan.border_title == "Shot plan · 9:16 · 9.0 s · 3 shots"
        assert str(app.screen.query_one("#plan-detail", Static).content).startswith("1. Wide shot of a sunlit")
        assert app.screen.query_one(StatusLine).state == "ready"
        assert app.screen.query_one("#prompt", Input).value == ""


async def test_streamed_fragments_show_before_the_turn_ends(scripted, make_app, settle):
    gate = asyncio.Event()
    session = scripted([AssistantText("Thinking about ", delta=True), AssistantText("your ad", delta=True), gate,
                        AssistantText("Thinking about your ad: done.")])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "hello")
        for _ in range(20):
            await pilot.pause()
            if entries_with(app, "streaming"):
                break
        assert entries_with(app, "streaming") == ["assistant\nThinking about your ad"]
        assert app.screen.busy
        assert "working" in app.screen.query_one(StatusLine).state
        gate.set()
        await settle(pilot)
        assert entries_with(app, "assistant") == ["assistant\nThinking about your ad: done."]
        assert not app.screen.busy


async def test_approval_dialog_y_approves_and_generation_is_shown(scripted, make_app, settle):
    session = scripted(plan_turn(), approval_turn(), generation_turn())
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, BRIEF)
        await settle(pilot)
        await type_and_send(pilot, "generate")
        await settle(pilot)

        assert isinstance(app.screen, ApprovalScreen)
        assert str(app.screen.query_one("#approval-estimate", Static).content) == "Estimate: 0.75 USD"
        assert session.responses == []
        await pilot.press("y")
        await settle(pilot)

        assert session.responses == [True]
        assert isinstance(app.screen, ChatScreen)
        progress = app.screen.query_one(ProgressPanel)
        assert {index: state for index, (state, _, _) in progress.states.items()} == {1: "done", 2: "done", 3: "done"}
        assert progress.output == ("/projects/coffee-ad/renders/final.mp4", 9.0, 2_345_678)
        assert entries_with(app, "output") == ["✓ Wrote /projects/coffee-ad/renders/final.mp4\n  9.0 s · 2.3 MB"]
        assert str(app.screen.query_one("#render-label", Static).content) == "render: done"
        assert "you approved the spending" in "\n".join(log_texts(app))


async def test_approval_dialog_n_rejects(scripted, make_app, settle):
    session = scripted(approval_turn(), rejected_turn())
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "generate")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalScreen)
        await pilot.press("n")
        await settle(pilot)
        assert session.responses == [False]
        assert entries_with(app, "assistant")[-1].endswith("nothing was spent.")
        assert app.screen.query_one(ProgressPanel).output is None


async def test_approval_buttons_and_escape(scripted, make_app, settle):
    session = scripted(approval_turn(), rejected_turn(), approval_turn(), generation_turn())
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "generate")
        await settle(pilot)
        # Enter on the focused button must reject: a stray key never spends money.
        await pilot.press("enter")
        await settle(pilot)
        await type_and_send(pilot, "generate")
        await settle(pilot)
        await pilot.click("#approve")
        await settle(pilot)
        assert session.responses == [False, True]


async def test_session_error_is_a_clean_line_and_the_app_keeps_running(scripted, make_app, settle):
    failure = BackendError("runway refused the request: quota exhausted", hint="top up credits or use --backend animatic")
    session = scripted([Notice("Answering: scripted-model"), ToolCallStarted("c1", "generate_shots", {}), failure],
                       plan_turn())
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "generate")
        await settle(pilot)

        errors = entries_with(app, "error")
        assert errors == ["error: runway refused the request: quota exhausted\n"
                          "hint: top up credits or use --backend animatic"]
        assert "Traceback" not in "\n".join(log_texts(app))
        # The tool call that never finished is not left looking as if it still runs.
        assert entries_with(app, "-failed") and not entries_with(app, "-running")
        assert any("quota exhausted" in str(n.message) for n in app._notifications)
        assert app.is_running and isinstance(app.screen, ChatScreen)
        assert app.screen.query_one(StatusLine).state == "ready"

        await type_and_send(pilot, BRIEF)  # the next turn works as usual
        await settle(pilot)
        assert app.screen.query_one("#plan-rows", DataTable).row_count == 3


async def test_unexpected_exception_is_reported_not_crashed(scripted, make_app, settle):
    session = scripted([RuntimeError("boom")], [AssistantText("still here")])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "hi")
        await settle(pilot)
        assert entries_with(app, "error")[0].startswith("error: unexpected RuntimeError: boom")
        await type_and_send(pilot, "again")
        await settle(pilot)
        assert entries_with(app, "assistant")[-1] == "assistant\nstill here"


async def test_escape_cancels_a_running_turn(scripted, make_app, settle):
    session = scripted([AssistantText("Generating…"), WAIT_FOR_CANCEL])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "generate")
        await pilot.pause()
        assert app.screen.busy
        await pilot.press("escape")
        await settle(pilot)
        assert session.cancel_calls == 1
        # The session's CancelledError is a warning, not an error.
        assert entries_with(app, "-warning")[-1] == "cancelled; finished shots are kept"
        assert not app.screen.busy


async def test_ctrl_c_cancels_while_busy_only(scripted, make_app, settle):
    session = scripted([WAIT_FOR_CANCEL])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape", "ctrl+c")  # idle: nothing to cancel
        await pilot.pause()
        assert session.cancel_calls == 0
        await type_and_send(pilot, "generate")
        await pilot.pause()
        await pilot.press("ctrl+c")
        await settle(pilot)
        assert session.cancel_calls == 1
        assert app.is_running


async def test_message_while_busy_is_not_sent(scripted, make_app, settle):
    session = scripted([WAIT_FOR_CANCEL])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "first")
        await pilot.pause()
        await type_and_send(pilot, "second")
        await pilot.pause()
        assert session.sent == ["first"]
        assert app.screen.query_one("#prompt", Input).value == "second"  # kept, to send later
        await pilot.press("escape")
        await settle(pilot)


async def test_history_and_saved_plan_are_restored_at_start(scripted, make_app, settle):
    past = [("user", "A 9 second ad for my coffee shop"), ("assistant", "Planned 3 shots [9:16].")]
    session = scripted(past=past, plan=coffee_plan())
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        restored = entries_with(app, "restored")
        # Square brackets from the model are shown as typed, not eaten as markup.
        assert restored == ["you\nA 9 second ad for my coffee shop", "assistant\nPlanned 3 shots [9:16]."]
        assert "restored 2 earlier message(s) of this project" in "\n".join(log_texts(app))
        assert app.screen.query_one("#plan-rows", DataTable).row_count == 3
        status = app.screen.query_one(StatusLine)
        assert (status.answering, status.project) == ("scripted-model", "/projects/coffee-ad")
        assert session.sent == []


async def test_empty_input_sends_nothing(scripted, make_app, settle):
    session = scripted()
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "   ")
        await settle(pilot)
        assert session.sent == []
        assert not entries_with(app, "user")


async def test_narrow_terminal_keeps_the_plan_table_inside_its_box(scripted, make_app):
    app = make_app(scripted(plan=coffee_plan()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#plan-rows", DataTable)
        assert [str(column.label) for column in table.columns.values()] == ["#", "dur", "prompt"]
        assert table.virtual_size.width <= table.scrollable_content_region.width
    app = make_app(scripted(plan=coffee_plan()))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#plan-rows", DataTable)
        assert [str(column.label) for column in table.columns.values()] == ["#", "dur", "camera", "prompt"]
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_an_approval_restored_from_the_project_is_answered_by_typing(scripted, make_app, settle):
    session = scripted(generation_turn())
    session._pending = True  # as an agent checkpoint interrupted at the approval would report
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "an approval from the last session is still waiting: type yes or no" in entries_with(app, "-warning")[0]
        await type_and_send(pilot, "Yes")
        await settle(pilot)
        assert session.responses == [True] and session.sent == []
        assert app.screen.query_one(ProgressPanel).output is not None
