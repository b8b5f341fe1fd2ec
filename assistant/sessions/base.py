"""What both sessions share: a turn runs on a worker thread and its events cross to the caller's loop.

The work of a turn (model calls, generation, ffmpeg) is blocking, so it runs
on a worker thread and its events reach the caller's event loop through a
queue. That keeps the TUI responsive and lets a plain ``asyncio.run`` drive a
turn in the CLI. Failures never escape as tracebacks: a turn that fails ends
with an error :class:`Notice` and ``last_error`` set; every text shown passes
through the secret scrubber.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from shotsmith.assistant.events import (AgentEvent, ApprovalRequested, AssistantText, Notice, PlanUpdated,
                                        ToolCallFinished, ToolCallStarted)
from shotsmith.assistant.production import ProductionService
from shotsmith.assistant.production.spending import Estimate
from shotsmith.assistant.sessions.history_words import history_move
from shotsmith.errors import CancelledError, InvalidInputError, ShotsmithError
from shotsmith.history import describe_move
from shotsmith.scrub import scrub

log = logging.getLogger(__name__)

#: Per-project folder for conversation state (checkpoints, offline history).
STATE_DIR = ".shotsmith"


class SessionBase:
    """Base of both sessions; open one with :func:`shotsmith.assistant.open_session`."""

    answering: str = ""

    def __init__(self, service: ProductionService) -> None:
        self.service = service
        self.store = service.store
        self._emit: Callable[[AgentEvent], None] = lambda event: None
        service.emit = lambda event: self._emit(event)
        self._cancel = service.cancel
        self._turn_lock = threading.Lock()
        self.last_error: ShotsmithError | None = None
        #: Every tool call of this session, for the run report.
        self.tool_calls: list[dict[str, Any]] = []
        #: Approvals asked in this session (ids of the project's ledger entries), for the run report.
        self.approval_ids: list[str] = []
        self._told_who = False

    # -- the protocol ------------------------------------------------------------------
    @property
    def pending_approval(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} must say whether an approval is pending")

    def send(self, text: str) -> AsyncIterator[AgentEvent]:
        # A conversation: video that needs a yes waits for its storyboard stills' approval too.
        self.service.review_storyboard = True
        return self._drive(lambda: self._history_command(text) or self._send(text))

    def run_brief(self, brief: str, *, produce: bool = True) -> AsyncIterator[AgentEvent]:
        # A scripted run (``run``): the command is the approval of its own storyboard.
        self.service.review_storyboard = False
        return self._drive(lambda: self._run_brief(brief, produce=produce))

    def respond(self, approved: bool) -> AsyncIterator[AgentEvent]:
        return self._drive(lambda: self._respond(approved))

    def resume(self) -> AsyncIterator[AgentEvent]:
        """Finish what a killed run left: a cut-off step, or an approval that was asked and never answered."""
        return self._drive(self._resume)

    @property
    def unfinished(self) -> bool:
        """A previous run was cut off mid-step and can be resumed with :meth:`resume`."""
        return False

    def cancel(self) -> None:
        self._cancel.set()

    def history(self) -> list[tuple[str, str]]:
        raise NotImplementedError(f"{type(self).__name__} must return its history")

    def close(self) -> None:
        """Release files held open (the checkpoint database)."""

    def who_text(self) -> str:
        return f"Answering: {self.answering}"

    # -- what subclasses implement -----------------------------------------------------
    def _send(self, text: str) -> None:
        raise NotImplementedError

    def _run_brief(self, brief: str, *, produce: bool) -> None:
        raise NotImplementedError

    def _respond(self, approved: bool) -> None:
        raise NotImplementedError

    def _resume(self) -> None:
        self.who_notice()
        self.emit(Notice("there is nothing to resume in this project"))

    def _history_command(self, text: str) -> bool:
        """"undo" / "redo" (also "/undo", "undo 3", "undo that": :mod:`.history_words`) move in the project history.

        They are answered here, not by the model or the planner, so they mean the
        same thing in every session and cost no model call.
        """
        move = history_move(text)  # "undo", "undo 2", "undo that", "redo the last 2 changes"
        if move is None:
            return False
        word, steps = move
        self.who_notice()
        if steps < 1:
            raise InvalidInputError(f"{word} 0 moves nothing", hint=f"say '{word}' or '{word} 2'")
        before = self.store.history.index.head
        entry = self.store.undo(steps) if word == "undo" else self.store.redo(steps)
        if self.store.project.plan is not None:
            self.emit(PlanUpdated(self.store.project.plan))
        verb = "Undone" if word == "undo" else "Redone"
        moved, here = describe_move(self.store.history.index.entries, before, entry.number)
        self.emit(AssistantText(f"{verb}: {moved}; now at {here}. Clips stay cached, so nothing needs paying "
                                "for again."))
        self.remember_exchange(text, f"{verb}: {moved}; now at {here}")
        return True

    def remember_exchange(self, user: str, assistant: str) -> None:
        """Keep a turn answered outside the conversation proper in the history, where the session keeps one."""

    def remember_failure(self, error: ShotsmithError) -> None:
        """Keep the error (or cancellation) that ended a turn in the history, where the session keeps one, so a
        restored conversation does not show the user's message unanswered."""

    # -- helpers for subclasses --------------------------------------------------------
    def emit(self, event: AgentEvent) -> None:
        self._emit(event)

    def announce_who(self) -> str:
        """:meth:`who_text` for a front end that shows it first; the session then does not say it again."""
        self._told_who = True
        return self.who_text()

    def who_notice(self) -> None:
        if not self._told_who:
            self._told_who = True
            self.emit(Notice(self.who_text()))

    def ask_approval(self, request_id: str, action: str, estimate: Estimate | None, reason: str = "") -> None:
        description = (f"Generate: {estimate.text}" if estimate is not None
                       else f"Generate shots (the cost could not be estimated: {reason})")
        self.emit(ApprovalRequested(request_id=request_id, action=action, description=description, estimate=estimate))

    def record_tool_start(self, call_id: str, name: str, args: dict) -> None:
        self.tool_calls.append({"id": call_id, "name": name, "args": args, "ok": None, "summary": "",
                                "started": time.perf_counter()})
        self.emit(ToolCallStarted(call_id, name, dict(args)))

    def record_tool_end(self, call_id: str, name: str, ok: bool, summary: str) -> None:
        summary = scrub(summary)[:500]
        for call in reversed(self.tool_calls):
            if call["id"] == call_id and call["ok"] is None:
                call.update(ok=ok, summary=summary, seconds=round(time.perf_counter() - call.pop("started"), 3))
                break
        else:
            self.tool_calls.append({"id": call_id, "name": name, "args": {}, "ok": ok, "summary": summary})
        self.emit(ToolCallFinished(call_id, name, ok, summary))

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise CancelledError("cancelled; finished shots are kept")

    # -- running a turn ----------------------------------------------------------------
    async def _drive(self, work: Callable[[], None]) -> AsyncIterator[AgentEvent]:
        """Run ``work`` on a worker thread and yield its events here as they happen."""
        if not self._turn_lock.acquire(blocking=False):
            yield Notice("a turn is already running; wait for it or cancel it", level="error")
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        done = object()
        self._cancel.clear()
        self.last_error = None

        def put(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the caller's loop is gone (it stopped listening): drop the event
                pass

        def target() -> None:
            try:
                work()
            except ShotsmithError as exc:
                exc.message = scrub(exc.message)
                exc.hint = scrub(exc.hint) if exc.hint else exc.hint
                self.last_error = exc
                level = "warning" if isinstance(exc, CancelledError) else "error"
                put(Notice(exc.message + (f" ({exc.hint})" if exc.hint else ""), level=level))
                self.remember_failure(exc)
            except Exception as exc:  # a bug or an unexpected library error: one clear line, details in the log
                log.warning("turn failed: %s", scrub(f"{type(exc).__name__}: {exc}"), exc_info=True)
                self.last_error = ShotsmithError(scrub(f"the assistant failed: {type(exc).__name__}: {exc}"))
                put(Notice(self.last_error.message, level="error"))
            finally:
                put(done)

        self._emit = put
        thread = threading.Thread(target=target, name="shotsmith-turn", daemon=True)
        thread.start()
        finished = False
        try:
            while True:
                item = await queue.get()
                if item is done:
                    finished = True
                    break
                yield item  # type: ignore[misc]
        finally:
            if not finished:  # the caller stopped listening before the turn ended: stop the work too
                self._cancel.set()
            await asyncio.to_thread(thread.join)
            self._emit = lambda event: None
            self._turn_lock.release()


def say(session: SessionBase, text: str) -> None:
    session.emit(AssistantText(text))
