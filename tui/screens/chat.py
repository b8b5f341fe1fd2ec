"""The main screen: conversation on the left, shot plan and progress on the right.

All session work runs in one ``@work`` worker per turn, which only posts
messages (:mod:`shotsmith.tui.messages`): every assistant event, unchanged, in
a :class:`SessionEvent`, and a :class:`TurnEnded` when the turn stops. The one
handler :meth:`ChatScreen.on_session_event` ``match``es the event and is the
only code that changes widgets for it, so a slow turn never blocks the UI and
a new event kind needs one ``case``.

Sessions report a failed turn themselves (an error :class:`Notice` and
``last_error``); a session that raises instead (a third-party one, or a bug)
is turned into the same notice here, so nothing a turn does can crash the app.

Ctrl+Z and Ctrl+Y send "undo" and "redo" to the session, exactly as if they
were typed, instead of calling ``store.undo`` here: the session answers them
itself (``SessionBase._history_command``), under its turn lock so an undo can
never race a turn's own save, re-sends the plan (so the table, the progress
panel and the thumbnails refresh through the one handler), keeps the exchange
in the conversation and reports "nothing to undo" like any other error. One
path, whoever started it. The palette's commands (:mod:`shotsmith.tui.commands`)
go through :meth:`ChatScreen.say` too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from functools import partial

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker

from shotsmith.assistant.events import (AgentEvent, ApprovalRequested, AssistantText, GenerationProgress, Notice, OutputWritten,
                                        PlanUpdated, RenderProgress, ToolCallFinished, ToolCallStarted)
from shotsmith.assistant.sessions.protocol import ChatSessionLike
from shotsmith.brief import ShotPlan
from shotsmith.errors import CancelledError, ShotsmithError
from shotsmith.scrub import scrub
from shotsmith.tui.commands import ShotsmithCommands
from shotsmith.tui.format import estimate_text, human_size
from shotsmith.tui.keys import screen_bindings
from shotsmith.tui.messages import SessionEvent, TurnEnded
from shotsmith.tui.opening import open_render
from shotsmith.tui.renders import LastRender, recorded_render
from shotsmith.tui.screens.approval import ApprovalScreen
from shotsmith.tui.screens.help import HelpScreen
from shotsmith.tui.widgets import ChatLog, PlanTable, ProgressPanel, StatusLine, ThumbStrip
from shotsmith.tui.widgets.prompt import PromptInput

log = logging.getLogger(__name__)

PLACEHOLDER = "Describe your video or a change (Enter sends, F1: keys)"
#: What the input says when it is too narrow for :data:`PLACEHOLDER` (80 columns): cut text reads as a typo.
PLACEHOLDER_SHORT = "Your video, or a change · F1 keys"
PLACEHOLDER_TINY = "Message · F1 keys"
EMPTY = "The message is empty: describe your video first."
YES = {"y", "yes", "approve", "approved", "ok", "go"}
NO = {"n", "no", "reject", "rejected", "cancel", "stop"}
WELCOME = ('Describe the video you want, e.g. "a 20 second vertical ad for my coffee shop: morning light, '
           'latte art, warm grade". The plan appears on the right; nothing that costs money runs without your yes.')


def notice_for(error: ShotsmithError) -> Notice:
    """The notice a session gives for the error that ended its turn (cancelled is a warning)."""
    level = "warning" if isinstance(error, CancelledError) else "error"
    return Notice(error.message + (f" ({error.hint})" if error.hint else ""), level=level)


def placeholder_for(width: int) -> str:
    """The longest input hint that fits ``width`` cells whole."""
    for text in (PLACEHOLDER, PLACEHOLDER_SHORT, PLACEHOLDER_TINY):
        if len(text) <= width:
            return text
    return ""


class ChatScreen(Screen[None]):
    BINDINGS = screen_bindings()
    COMMANDS = Screen.COMMANDS | {ShotsmithCommands}

    busy: reactive[bool] = reactive(False)

    def __init__(self, session: ChatSessionLike) -> None:
        super().__init__()
        self.session = session
        self._turn_no = 0
        self._worker: Worker | None = None
        #: Turn number → "Undo"/"Redo" for the turns the keys started: their answer is also a notification.
        self._history_turns: dict[int, str] = {}
        #: The latest video written in this session (a preview too); newer than any recorded render.
        self._written: LastRender | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="body"):
            with Vertical(id="conversation"):
                yield ChatLog(id="chat-log")
                yield PromptInput(placeholder=PLACEHOLDER, id="prompt")
            with Vertical(id="side"):
                yield PlanTable(id="plan")
                yield ThumbStrip(self.session.store.root, id="thumbs")
                yield ProgressPanel(self.session.store.root, id="progress")
        yield Footer()

    def on_mount(self) -> None:
        status = self.query_one(StatusLine)
        status.answering = self.session.answering
        status.project = str(self.session.store.root)
        self._refresh_status()
        chat = self.query_one(ChatLog)
        history = self.session.history()
        for role, text in history:
            chat.add_message(role, text, restored=True)
        if history:
            chat.add_notice(f"restored {len(history)} earlier message(s) of this project")
        else:
            chat.add_notice(WELCOME)
        plan = self.session.store.project.plan
        self._show_plan(plan)
        recorded = recorded_render(self.session.store)
        if recorded is not None and (plan is None or not recorded.current):
            self.query_one(ProgressPanel).restore_render(recorded)  # (a current one was shown with the plan)
        if self.session.pending_approval:
            # Left waiting by the last session (the agent keeps it in its checkpoint). A session that can
            # resume asks again, with a fresh estimate, in the dialog; otherwise the user answers by typing.
            if callable(getattr(self.session, "resume", None)):
                chat.add_notice("an approval from the last session is still waiting; asking again")
                self.start_turn(resume=True)
            else:
                chat.add_notice("an approval from the last session is still waiting: type yes or no", "warning")
        self.query_one("#prompt", Input).focus()

    # -- starting turns ----------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            self.notify(EMPTY, severity="warning", timeout=4)
            return
        if self.say(text) is not None:
            event.input.clear()

    def say(self, text: str) -> Worker | None:
        """Send ``text`` as the user (typed, or from a key or the palette); None when a turn is still running."""
        if self.busy:
            self.notify("The assistant is still working: wait, or press Esc to cancel.", severity="warning")
            return None
        self.query_one(ChatLog).add_message("user", text)
        answer = text.lower().rstrip(".!")
        if (answer in YES or answer in NO) and self.session.pending_approval:
            return self.start_turn(approved=answer in YES)
        return self.start_turn(text=text)

    def start_turn(self, *, text: str | None = None, approved: bool | None = None, resume: bool = False) -> Worker:
        """Send ``text``, answer the pending approval with ``approved``, or ``resume`` (ask that approval again)."""
        self._turn_no += 1
        self.busy = True
        open_stream: Callable[[], AsyncIterator[AgentEvent]]
        if resume:
            open_stream = self.session.resume  # type: ignore[attr-defined]  # only sessions that can resume
        elif approved is not None:
            open_stream = partial(self.session.respond, approved)
        else:
            open_stream = partial(self.session.send, text or "")
        self._worker = self._run_turn(self._turn_no, open_stream, self._worker)
        return self._worker

    @work(group="turn")
    async def _run_turn(self, turn: int, open_stream: Callable[[], AsyncIterator[AgentEvent]],
                        previous: Worker | None) -> None:
        # An approval can be answered before the turn that asked has quite finished: let it finish first.
        if previous is not None and not previous.is_finished:
            with suppress(Exception):
                await previous.wait()
        error: ShotsmithError | None = None
        try:
            async for event in open_stream():
                self.post_message(SessionEvent(event, turn))
            error = self.session.last_error
        except ShotsmithError as exc:
            error = exc
            self.post_message(SessionEvent(notice_for(exc), turn))
        except Exception as exc:  # a session that broke its promise not to raise: one line, details in the log
            log.warning("turn %d failed", turn, exc_info=exc)
            error = ShotsmithError(scrub(f"unexpected {type(exc).__name__}: {exc}"),
                                   hint="this is a bug in shotsmith; the log has the details")
            self.post_message(SessionEvent(notice_for(error), turn))
        finally:
            self.post_message(TurnEnded(turn, error))

    # -- keys --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_turn":
            return self.busy  # when idle the keys fall through (ctrl+c copies, as usual)
        return True

    def action_help(self) -> None:
        if not isinstance(self.app.screen, HelpScreen):
            self.app.push_screen(HelpScreen())

    def action_undo(self) -> None:
        self._history_key("undo")

    def action_redo(self) -> None:
        self._history_key("redo")

    def _history_key(self, word: str) -> None:
        worker = self.say(word)
        if worker is not None:
            self._history_turns[self._turn_no] = word.capitalize()

    def action_storyboard(self) -> None:
        """The storyboard panel (:mod:`shotsmith.tui.screens.storyboard`): stills, approval marks, ``a`` approves."""
        from shotsmith.tui.screens.storyboard import StoryboardScreen

        if not isinstance(self.app.screen, StoryboardScreen):
            self.app.push_screen(StoryboardScreen(self))

    def action_toggle_thumbs(self) -> None:
        thumbs = self.query_one(ThumbStrip)
        thumbs.display = not thumbs.display

    def latest_render(self) -> LastRender | None:
        """This session's newest video, else the project's newest kept render."""
        return self._written or recorded_render(self.session.store)

    def action_open_render(self) -> None:
        """Play the latest render here, download it in a browser, or say where it is."""
        open_render(self, self.latest_render())

    # -- cancelling --------------------------------------------------------------------

    def action_cancel_turn(self) -> None:
        self.session.cancel()
        self.query_one(StatusLine).state = "cancelling…"
        self.query_one(ChatLog).add_notice("cancelling… finished shots are kept", "warning")

    def watch_busy(self, busy: bool) -> None:
        self.query_one(StatusLine).state = "working… (Esc cancels)" if busy else "ready"
        self.refresh_bindings()

    # -- what the session reports --------------------------------------------------------
    def on_session_event(self, message: SessionEvent) -> None:
        chat = self.query_one(ChatLog)
        progress = self.query_one(ProgressPanel)
        match message.event:
            case AssistantText(text=text, delta=False) if message.turn in self._history_turns:
                chat.add_assistant_text(text, delta=False)  # "Undone: change 3 (shot 2 edited); now at change 2 (…)…"
                self.notify(text, title=self._history_turns[message.turn], markup=False)
            case AssistantText(text=text, delta=delta):
                chat.add_assistant_text(text, delta=delta)
            case Notice(text=text, level="error"):
                chat.add_error(text)
            case Notice(text=text, level=level):
                chat.add_notice(text, level)
            case ToolCallStarted(call_id=call_id, name=name, args=args):
                chat.tool_started(call_id, name, args)
            case ToolCallFinished(call_id=call_id, name=name, ok=ok, summary=summary):
                chat.tool_finished(call_id, name, ok, summary)
            case PlanUpdated(plan=plan):
                self._show_plan(plan)
            case ApprovalRequested(estimate=None, description=description) as request:
                chat.add_notice(f"approval needed: {description}", "warning")
                self.app.push_screen(ApprovalScreen(request), callback=self._approval_answered)
            case ApprovalRequested(estimate=estimate) as request:
                chat.add_notice(f"approval needed: {estimate_text(estimate)} for shot(s) "
                                f"{', '.join(map(str, estimate.shots))} with {estimate.backend}", "warning")
                self.app.push_screen(ApprovalScreen(request), callback=self._approval_answered)
            case GenerationProgress(shot_index=index, state=state, percent=percent, message=text, kind=kind):
                progress.shot(index, state, percent, text, kind=kind)
            case RenderProgress(seconds_done=done, seconds_total=total):
                progress.render_progress(done, total)
            case OutputWritten(path=path, duration_s=duration, size_bytes=size):
                self._written = LastRender(Path(path), duration, size)
                progress.output_written(path, duration, size)
                chat.add_output(path, duration, size)
                self.notify(f"{path} · {duration:.1f} s · {human_size(size)}", title="Video written", markup=False)
            case other:  # an event kind this UI does not know yet: show it rather than drop it
                chat.add_notice(f"{type(other).__name__}: {other}")

    def _approval_answered(self, approved: bool | None) -> None:
        approved = bool(approved)
        self.query_one(ChatLog).add_notice("you approved the spending" if approved else "you rejected the spending")
        self.start_turn(approved=approved)

    def on_turn_ended(self, message: TurnEnded) -> None:
        self._refresh_status()
        if self.session.store.project.plan is None:
            # PlanUpdated carries a plan: an undo back before the first plan sends none, so look.
            self._show_plan(None)
        self._history_turns.pop(message.turn, None)
        error = message.error
        if error is not None:
            cancelled = isinstance(error, CancelledError)
            # markup=False: hints name config sections like [secrets], which markup would eat.
            self.notify(error.message + (f"\n{error.hint}" if error.hint else ""), markup=False,
                        title="Cancelled" if cancelled else "Error", severity="warning" if cancelled else "error")
        if message.turn == self._turn_no:
            self.busy = False
            self.query_one(ChatLog).end_turn()
            self._show_held_storyboard()

    def _show_held_storyboard(self) -> None:
        """Generation waits for the storyboard (stills not yet approved): open the panel, once per set of stills."""
        try:
            waiting = self.session.service.keyframes_to_review()
        except Exception:  # a session without a real project service (or none yet): nothing to show
            return
        if waiting and waiting != getattr(self, "_storyboard_shown", None):
            self._storyboard_shown = waiting
            self.action_storyboard()

    # -- helpers -----------------------------------------------------------------------
    def _show_plan(self, plan: ShotPlan | None) -> None:
        self.query_one(ThumbStrip).show_plan(plan)
        if plan is None and self.query_one(PlanTable).plan is None:
            return  # nothing planned yet, nothing shown: the welcome stays
        self.query_one(PlanTable).show_plan(plan)
        progress = self.query_one(ProgressPanel)
        progress.show_plan(plan)
        # Back at the change the last kept render came from (an undo, a redo): it is current again.
        recorded = recorded_render(self.session.store)
        if recorded is not None and recorded.current and (self._written is None or self._written.path == recorded.path):
            progress.restore_render(recorded)

    def on_plan_table_shot_highlighted(self, message: PlanTable.ShotHighlighted) -> None:
        self.query_one(ThumbStrip).highlight(message.shot.index)

    def on_resize(self) -> None:
        # Below 30 rows the thumbnails would squeeze the plan and progress into nothing (Ctrl+T still shows them).
        self.set_class(self.size.height < 30, "-short")
        self.call_after_refresh(self._fit_placeholder)  # once the input has its new width

    def _fit_placeholder(self) -> None:
        prompt = self.query_one("#prompt", Input)
        if prompt.content_region.width:
            prompt.placeholder = placeholder_for(prompt.content_region.width - 1)  # the cursor takes a cell

    def _refresh_status(self) -> None:
        status = self.query_one(StatusLine)
        status.backend = self.session.service.backend_name
        status.spent_usd = self.session.store.project.spending.spent_usd
