"""Pilot tests of the chat screen, driven by the scripted session."""

from __future__ import annotations

import asyncio

from tests.tui._tui_fake_session import (BRIEF, WAIT_FOR_CANCEL, Raise, ResumableSession, ScriptedSession,
                                         approval_turn, coffee_plan, generation_turn, plan_turn, rejected_turn,
                                         runway_estimate)
from tests.tui._tui_pilot import SIZE, make_app, scripted, settle, type_and_send  # noqa: F401 (fixtures)
from textual.widgets import DataTable, Input, Static

from shotsmith.assistant.events import AssistantText, GenerationProgress, Notice, PlanUpdated, ToolCallStarted
from shotsmith.assistant.sessions.protocol import ChatSessionLike
from shotsmith.errors import BackendError, ShotsmithError
from shotsmith.tui.screens import ApprovalScreen, ChatScreen
from shotsmith.tui.widgets import ChatLog, PlanTable, ProgressPanel, StatusLine


def log_texts(app) -> list[str]:
    return [str(entry.content) for entry in app.get_screen("chat").query_one(ChatLog).entries]


def entries_with(app, css_class: str) -> list[str]:
    return [str(entry.content) for entry in app.get_screen("chat").query_one(ChatLog).entries
            if entry.has_class(css_class)]


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
        assert str(app.screen.query_one("#approval-estimate", Static).content) == "Estimate: 0.75 USD (75 credits)"
        assert str(app.screen.query_one("#approval-shots", Static).content) == "Shots: 1, 2, 3 with runway"
        assert str(app.screen.query_one("#approval-source", Static).content) == "Price from: Runway price list, gen4_turbo"
        assert not app.screen.query("#approval-unpriced")
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
        # The status line reads the project's ledger after the turn.
        assert app.screen.query_one(StatusLine).spent_usd == 0.75
        assert "spent 0.75 USD" in str(app.screen.query_one(StatusLine).render())


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
        assert errors == ["error: runway refused the request: quota exhausted "
                          "(top up credits or use --backend animatic)"]
        assert "Traceback" not in "\n".join(log_texts(app))
        # The tool call that never finished is not left looking as if it still runs.
        assert entries_with(app, "-failed") and not entries_with(app, "-running")
        toasts = [(n.title, n.message) for n in app._notifications]
        assert ("Error", "runway refused the request: quota exhausted\ntop up credits or use --backend animatic") in toasts
        assert app.is_running and isinstance(app.screen, ChatScreen)
        assert app.screen.query_one(StatusLine).state == "ready"

        await type_and_send(pilot, BRIEF)  # the next turn works as usual
        await settle(pilot)
        assert app.screen.query_one("#plan-rows", DataTable).row_count == 3


async def test_error_toasts_show_brackets_as_typed(scripted, make_app, settle):
    failure = BackendError("no API key for runway", hint="set RUNWAYML_API_SECRET, or under [secrets] in the config file")
    app = make_app(scripted([failure]))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "generate")
        await settle(pilot)
        (toast,) = list(app._notifications)
        assert toast.title == "Error" and "[secrets]" in toast.message and not toast.markup
        assert entries_with(app, "error")[0].endswith("under [secrets] in the config file)")


async def test_a_session_that_raises_is_reported_like_one_that_does_not(scripted, make_app, settle):
    failure = BackendError("runway refused the request: quota exhausted", hint="top up credits")
    session = scripted([Raise(failure)])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "generate")
        await settle(pilot)
        assert entries_with(app, "error") == ["error: runway refused the request: quota exhausted (top up credits)"]
        assert app.is_running and not app.screen.busy


async def test_unexpected_exception_is_reported_not_crashed(scripted, make_app, settle):
    session = scripted([Raise(RuntimeError("boom"))], [AssistantText("still here")])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "hi")
        await settle(pilot)
        assert entries_with(app, "error") == ["error: unexpected RuntimeError: boom "
                                              "(this is a bug in shotsmith; the log has the details)"]
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
        assert entries_with(app, "-warning")[-1] == "! cancelled; finished shots are kept"
        assert not entries_with(app, "error")
        assert [n.title for n in app._notifications] == ["Cancelled"]
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


async def test_empty_input_sends_nothing_and_says_so_in_one_line(scripted, make_app, settle):
    session = scripted()
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        before = log_texts(app)
        await type_and_send(pilot, "   ")
        await settle(pilot)
        assert session.sent == []
        assert log_texts(app) == before  # nothing added to the conversation
        messages = [n.message for n in app._notifications]
        assert len(messages) == 1 and messages[0].startswith("The message is empty") and "\n" not in messages[0]
        assert app.is_running and not app.screen.busy


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


async def test_a_session_that_can_resume_asks_a_restored_approval_again_in_the_dialog(make_app, settle):
    session = ResumableSession(turns=[approval_turn()[1:], generation_turn()], plan=coffee_plan())
    session._pending = True
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert session.resumed == 1 and session.sent == []
        assert isinstance(app.screen, ApprovalScreen)
        assert str(app.screen.query_one("#approval-estimate", Static).content) == "Estimate: 0.75 USD (75 credits)"
        await pilot.press("y")
        await settle(pilot)
        assert session.responses == [True]
        assert app.screen.query_one(ProgressPanel).output is not None


async def test_unpriced_approval_says_so_and_a_yes_is_refused_by_the_service(scripted, make_app, settle):
    refused = ShotsmithError("generating needs approval: the cost is unknown; nothing was spent")
    session = scripted(approval_turn(unpriced=True), [refused])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "generate")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalScreen)
        estimate = app.screen.query_one("#approval-estimate", Static)
        assert str(estimate.content) == "Estimate: unavailable"
        assert estimate.has_class("-unavailable")
        assert str(app.screen.query_one("#approval-description", Static).content).endswith("runway did not answer)")
        assert "cannot spend anything unpriced" in str(app.screen.query_one("#approval-unpriced", Static).content)
        assert not app.screen.query("#approval-shots")
        assert entries_with(app, "-warning") == ["! approval needed: Generate shots (the cost could not be estimated: "
                                                 "runway did not answer)"]
        await pilot.press("y")
        await settle(pilot)
        assert session.responses == [True]
        assert entries_with(app, "error") == ["error: generating needs approval: the cost is unknown; nothing was spent"]
        assert app.screen.query_one(ProgressPanel).output is None


async def test_approval_names_cached_shots_as_free(scripted, make_app, settle):
    session = scripted(approval_turn(runway_estimate(shots=(2,), cached=(1, 3))), rejected_turn())
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "generate")
        await settle(pilot)
        assert str(app.screen.query_one("#approval-estimate", Static).content) == "Estimate: 0.25 USD (25 credits)"
        assert str(app.screen.query_one("#approval-shots", Static).content) == "Shots: 2 with runway (2 cached, free)"
        assert entries_with(app, "-warning") == ["! approval needed: 0.25 USD (25 credits) for shot(s) 2 with runway"]
        await pilot.press("n")
        await settle(pilot)


async def test_plan_table_shows_speed_only_where_it_is_not_1x(scripted, make_app, settle):
    session = scripted(plan_turn(), [PlanUpdated(coffee_plan(speed=0.5)), AssistantText("Shot 2 is slower.")])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, BRIEF)
        await settle(pilot)
        table = app.screen.query_one("#plan-rows", DataTable)
        assert [str(c.label) for c in table.columns.values()] == ["#", "dur", "camera", "prompt"]

        await type_and_send(pilot, "make shot 2 slower")
        await settle(pilot)
        assert [str(c.label) for c in table.columns.values()] == ["#", "dur", "speed", "camera", "prompt"]
        assert [table.get_row_at(i)[2] for i in range(3)] == ["", "0.5x", ""]
        await pilot.click("#plan-rows")
        await pilot.press("down")
        await pilot.pause()
        detail = str(app.screen.query_one("#plan-detail", Static).content)
        assert detail.startswith("2. Close-up of a barista") and detail.endswith("\nplays at 0.5x")
    app = make_app(scripted(plan=coffee_plan(speed=2.0)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#plan-rows", DataTable)
        # On a narrow terminal the camera goes, the edit the user asked for stays.
        assert [str(c.label) for c in table.columns.values()] == ["#", "dur", "speed", "prompt"]
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_a_plan_resent_with_clips_bound_keeps_progress_and_a_changed_shot_waits(scripted, make_app, settle):
    plan = coffee_plan()
    bound = plan.model_copy(update={"shots": [s.model_copy(update={"clip": f"clips/{s.index}.mp4",
                                                                    "clip_signature": s.generation_signature(),
                                                                    "clip_length_s": 3.0}) for s in plan.shots]})
    shots = list(bound.shots)
    shots[2] = shots[2].model_copy(update={"prompt": "Medium shot of a customer laughing"})
    changed = bound.model_copy(update={"shots": shots})
    failed = [GenerationProgress(3, "failed", None, "quota exhausted")]
    session = scripted(plan_turn(), generation_turn() + [PlanUpdated(bound)], failed,
                       [PlanUpdated(coffee_plan(speed=0.5))], [PlanUpdated(changed)])
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        def states() -> dict:
            return {i: s for i, (s, _, _) in app.screen.query_one(ProgressPanel).states.items()}

        await type_and_send(pilot, BRIEF)
        await settle(pilot)
        assert states() == {1: "waiting", 2: "waiting", 3: "waiting"}
        await type_and_send(pilot, "generate")
        await settle(pilot)
        assert states() == {1: "done", 2: "done", 3: "done"}
        label = app.screen.query_one("#render-label", Static)
        assert str(label.content) == "render: done"  # binding the clips did not change the cut
        await type_and_send(pilot, "generate shot 3 again")
        await settle(pilot)
        # A speed change keeps every shot's picture: the states stay (even without clips bound), the video is old.
        await type_and_send(pilot, "make shot 2 slower")
        await settle(pilot)
        assert states() == {1: "done", 2: "done", 3: "failed"}
        assert str(label.content) == "render: out of date"
        assert app.screen.query_one(ProgressPanel).output is not None  # the last video is still named
        # A new prompt for shot 3 makes it wait again.
        await type_and_send(pilot, "shot 3: a customer laughing")
        await settle(pilot)
        assert states() == {1: "done", 2: "done", 3: "waiting"}


async def test_a_restored_plan_with_clips_shows_them_done(make_app, tmp_path):
    plan = coffee_plan()
    first = plan.shots[0]
    bound = plan.model_copy(update={"shots": [first.model_copy(update={
        "clip": "clips/1.mp4", "clip_signature": first.generation_signature(), "clip_length_s": 3.0})]
        + plan.shots[1:]})
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "1.mp4").write_bytes(b"clip")  # done means the clip is there (a deleted one waits)
    app = make_app(ScriptedSession(plan=bound, root=tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        progress = app.screen.query_one(ProgressPanel)
        assert {i: s for i, (s, _, _) in progress.states.items()} == {1: "done", 2: "waiting", 3: "waiting"}


async def test_an_unknown_event_is_shown_not_dropped(scripted, make_app, settle):
    app = make_app(scripted(["something new", GenerationProgress(None, "running", 10.0)]))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "hi")
        await settle(pilot)
        assert "• str: something new" in log_texts(app)
        assert app.screen.query_one(ProgressPanel).states[None] == ("running", 10.0, "")


def test_the_scripted_session_keeps_the_protocol():
    # If the protocol grows, the fake must grow with it, or these tests drive a UI for another interface.
    # (ScriptedSession alone leaves out resume() on purpose: the screen's path for a session that cannot ask again.)
    assert isinstance(ResumableSession(), ChatSessionLike)
    assert not isinstance(ScriptedSession(), ChatSessionLike)


async def test_a_redrawn_still_reads_still_not_shot(scripted, make_app, settle):
    """Review of #10: only shot 2's still was redrawn and the panel said "✓ shot 2 done"."""
    app = make_app(scripted(["redrawing", GenerationProgress(2, "done", 100.0, kind="still"),
                             GenerationProgress(3, "done", 100.0)]))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, "redo 2 with a lower angle")
        await settle(pilot)
        shown = str(app.screen.query_one("#shot-states", Static).content)
        assert "still  2  done" in shown and "shot  3  done" in shown and "shot  2" not in shown, shown


def test_the_console_says_still_or_shot(capsys):
    from shotsmith.assistant.commands.console import EventPrinter

    printer = EventPrinter()
    printer.progress_bars = False
    for event in (GenerationProgress(2, "done", 100.0, kind="still"), GenerationProgress(2, "done", 100.0)):
        printer(event)
    printer.stop()
    out = capsys.readouterr().out
    assert "still 2: done" in out and "shot 2: done" in out
