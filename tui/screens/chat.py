"""The main screen: conversation on the left, shot plan and progress on the right.

All session work runs in one ``@work`` worker per turn, which only posts
messages (:mod:`shotsmith.tui.messages`); the handlers here are the only code
that changes widgets. A worker that fails is reported by the app's single
worker-failure handler, which sends :class:`ErrorReported` back here.
"""

from __future__ import annotations

from contextlib import suppress

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker

from shotsmith.assistant.protocol import ChatSessionLike
from shotsmith.tui.format import estimate_text, human_size
from shotsmith.tui.messages import (ApprovalNeeded, AssistantSaid, ErrorReported, NoticePosted, OutputReady,
                                    PlanChanged, RenderProgressed, ShotProgressed, ToolFinished, ToolStarted,
                                    TurnEnded, message_for)
from shotsmith.tui.screens.approval import ApprovalScreen
from shotsmith.tui.widgets import ChatLog, PlanTable, ProgressPanel, StatusLine

PLACEHOLDER = "Describe your video, or ask for a change (Enter sends)"
YES = {"y", "yes", "approve", "approved", "ok", "go"}
NO = {"n", "no", "reject", "rejected", "cancel", "stop"}
WELCOME = ('Describe the video you want, e.g. "a 20 second vertical ad for my coffee shop: morning light, '
           'latte art, warm grade". The plan appears on the right; nothing that costs money runs without your yes.')


class ChatScreen(Screen[None]):
    BINDINGS = [
        # priority: the focused Input binds ctrl+c to copy; while a turn runs, cancelling wins.
        Binding("ctrl+c", "cancel_turn", "Cancel", priority=True),
        Binding("escape", "cancel_turn", "Cancel", show=False),
    ]

    busy: reactive[bool] = reactive(False)

    def __init__(self, session: ChatSessionLike) -> None:
        super().__init__()
        self.session = session
        self._turn_no = 0
        self._worker: Worker | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="body"):
            with Vertical(id="conversation"):
                yield ChatLog(id="chat-log")
                yield Input(placeholder=PLACEHOLDER, id="prompt")
            with Vertical(id="side"):
                yield PlanTable(id="plan")
                yield ProgressPanel(id="progress")
        yield Footer()

    def on_mount(self) -> None:
        status = self.query_one(StatusLine)
        status.answering = self.session.answering
        status.project = str(self.session.store.root)
        log = self.query_one(ChatLog)
        history = self.session.history()
        for role, text in history:
            log.add_message(role, text, restored=True)
        if history:
            log.add_notice(f"restored {len(history)} earlier message(s) of this project")
        else:
            log.add_notice(WELCOME)
        plan = self.session.store.project.plan
        if plan is not None:
            self._show_plan(plan.model_dump(mode="json"))
        if self.session.pending_approval:
            # Restored from the project (the agent's checkpoint): its estimate was shown last time.
            log.add_notice("an approval from the last session is still waiting: type yes or no", "warning")
        self.query_one("#prompt", Input).focus()

    # -- starting turns ----------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        if self.busy:
            self.notify("The assistant is still working: wait, or press Esc to cancel.", severity="warning")
            return
        event.input.clear()
        self.query_one(ChatLog).add_message("user", text)
        answer = text.lower().rstrip(".!")
        if (answer in YES or answer in NO) and self.session.pending_approval:
            self.start_turn(approved=answer in YES)
        else:
            self.start_turn(text=text)

    def start_turn(self, *, text: str | None = None, approved: bool | None = None) -> Worker:
        """Send ``text``, or answer the pending approval with ``approved``, in a new worker."""
        self._turn_no += 1
        self.busy = True
        self._worker = self._run_turn(self._turn_no, text, approved, self._worker)
        return self._worker

    @work(group="turn", exit_on_error=False)
    async def _run_turn(self, turn: int, text: str | None, approved: bool | None, previous: Worker | None) -> None:
        # An approval can be answered before the turn that asked has quite finished: let it finish first.
        if previous is not None and not previous.is_finished:
            with suppress(Exception):
                await previous.wait()
        try:
            stream = self.session.send(text or "") if approved is None else self.session.respond(approved)
            async for event in stream:
                self.post_message(message_for(event))
        finally:
            self.post_message(TurnEnded(turn))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker.StateChanged does not bubble; the app holds the one handler that reports failures.
        self.app.post_message(Worker.StateChanged(event.worker, event.state))

    # -- cancelling --------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_turn":
            return self.busy  # when idle the keys fall through (ctrl+c copies, as usual)
        return True

    def action_cancel_turn(self) -> None:
        self.session.cancel()
        self.query_one(StatusLine).state = "cancelling…"
        self.query_one(ChatLog).add_notice("cancelling… finished shots are kept", "warning")

    def watch_busy(self, busy: bool) -> None:
        self.query_one(StatusLine).state = "working… (Esc cancels)" if busy else "ready"
        self.refresh_bindings()

    # -- session events ----------------------------------------------------------------
    def on_assistant_said(self, message: AssistantSaid) -> None:
        self.query_one(ChatLog).add_assistant_text(message.text, delta=message.delta)

    def on_notice_posted(self, message: NoticePosted) -> None:
        self.query_one(ChatLog).add_notice(message.text, message.level)

    def on_tool_started(self, message: ToolStarted) -> None:
        self.query_one(ChatLog).tool_started(message.call_id, message.name, message.args)

    def on_tool_finished(self, message: ToolFinished) -> None:
        self.query_one(ChatLog).tool_finished(message.call_id, message.name, message.ok, message.summary)

    def on_plan_changed(self, message: PlanChanged) -> None:
        self._show_plan(message.plan)

    def on_shot_progressed(self, message: ShotProgressed) -> None:
        self.query_one(ProgressPanel).shot(message.shot_index, message.state, message.percent, message.message)

    def on_render_progressed(self, message: RenderProgressed) -> None:
        self.query_one(ProgressPanel).render_progress(message.seconds_done, message.seconds_total)

    def on_output_ready(self, message: OutputReady) -> None:
        self.query_one(ProgressPanel).output_written(message.path, message.duration_s, message.size_bytes)
        self.query_one(ChatLog).add_output(message.path, message.duration_s, message.size_bytes)
        self.notify(f"{message.path} · {message.duration_s:.1f} s · {human_size(message.size_bytes)}",
                    title="Video written")

    def on_approval_needed(self, message: ApprovalNeeded) -> None:
        request = message.request
        amount = estimate_text(request.estimate_amount, request.estimate_unit)
        self.query_one(ChatLog).add_notice(f"approval needed: {request.description} (≈ {amount})", "warning")
        self.app.push_screen(ApprovalScreen(request), callback=self._approval_answered)

    def _approval_answered(self, approved: bool | None) -> None:
        approved = bool(approved)
        self.query_one(ChatLog).add_notice("you approved the spending" if approved else "you rejected the spending")
        self.start_turn(approved=approved)

    def on_turn_ended(self, message: TurnEnded) -> None:
        if message.turn == self._turn_no:
            self.busy = False
            self.query_one(ChatLog).end_turn()

    def on_error_reported(self, message: ErrorReported) -> None:
        self.query_one(ChatLog).add_error(message.message, message.hint, level=message.level)

    # -- helpers -----------------------------------------------------------------------
    def _show_plan(self, plan: dict) -> None:
        self.query_one(PlanTable).show_plan(plan)
        self.query_one(ProgressPanel).reset([int(shot["index"]) for shot in plan["shots"]])
