"""``ChatSession``: one conversation about one project, answered by an LLM agent or the offline planner.

Front ends (CLI chat, TUI, scripted runs) only see :class:`ChatSessionLike`:
``send`` a message, read events, answer an approval with ``respond``.
:meth:`ChatSession.open` picks who answers: the LangChain agent when a model
is configured, else the offline planner, and the first event of the first turn
says which.

The work of a turn (model calls, generation, ffmpeg) is blocking, so it runs on
a worker thread and its events cross to the caller's event loop through a
queue. That keeps the TUI responsive and lets a plain ``asyncio.run`` drive a
turn in the CLI. Failures never escape as tracebacks: a turn that fails ends
with an error :class:`Notice` and ``last_error`` set.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from shotsmith.assistant.events import (AgentEvent, ApprovalRequested, AssistantText, Notice, ToolCallFinished,
                                        ToolCallStarted)
from shotsmith.assistant.studio import Studio
from shotsmith.config import Settings, load_settings
from shotsmith.errors import CancelledError, InvalidInputError, ShotsmithError
from shotsmith.store import ProjectStore

log = logging.getLogger(__name__)

STATE_DIR = ".shotsmith"


class ChatSession:
    """Base of both sessions; use :meth:`open`."""

    answering: str = ""

    def __init__(self, store: ProjectStore, studio: Studio) -> None:
        self.store = store
        self.studio = studio
        self._emit: Callable[[AgentEvent], None] = lambda event: None
        studio.emit = lambda event: self._emit(event)
        self._cancel = studio.cancel
        self._turn_lock = threading.Lock()
        self.last_error: ShotsmithError | None = None
        #: Every tool call of this session, for the run report.
        self.tool_calls: list[dict[str, Any]] = []
        self._told_who = False

    # -- construction ------------------------------------------------------------------
    @classmethod
    def open(cls, project_dir: Path | str, *, llm: str | None = None, llm_base_url: str | None = None,
             backend: str | None = "animatic", auto_approve: bool = False, max_cost: float | None = None,
             resolution: str | None = None, fps: int | None = None, inputs: tuple[Path, ...] = (),
             output: Path | None = None, settings: Settings | None = None, timeout_s: float = 60.0,
             max_retries: int = 4, retry_initial_delay_s: float = 1.0, step_limit: int | None = None,
             offline: bool = False) -> "ChatSession":
        """Open (or create) the project at ``project_dir`` and the session that will answer in it."""
        from shotsmith.assistant.llm import resolve_llm

        settings = settings or load_settings()
        if max_cost is not None and max_cost < 0:
            raise InvalidInputError(f"--max-cost {max_cost:g} is negative")
        config = None if offline else resolve_llm(llm, llm_base_url, settings=settings, timeout_s=timeout_s,
                                                  max_retries=max_retries, retry_initial_delay_s=retry_initial_delay_s)
        from shotsmith.backends.registry import get_backend
        from shotsmith.formats import RESOLUTIONS

        backend = backend or settings.backend
        get_backend(backend)  # an unknown backend or resolution fails before any folder is created
        if (resolution or settings.resolution) not in RESOLUTIONS:
            raise InvalidInputError(f"unknown resolution {resolution or settings.resolution!r}",
                                    hint=f"choose one of {', '.join(RESOLUTIONS)}")
        store = ProjectStore.open_or_create(Path(project_dir).expanduser())
        for path in inputs:
            if not Path(path).expanduser().is_file():
                raise InvalidInputError(f"input file {path} does not exist")
            store.add_input(Path(path))
        store.save()
        studio = Studio(store, backend=backend, resolution=resolution or settings.resolution,
                        fps=fps or settings.fps, auto_approve=auto_approve, max_cost=max_cost,
                        allowed_outputs=(output,) if output else ())
        if output:
            studio.default_output = Path(output).expanduser().resolve()
        if config is None:
            from shotsmith.assistant.offline_session import OfflineSession

            return OfflineSession(store, studio)
        from shotsmith.assistant.agent_session import AgentSession

        return AgentSession(store, studio, config, step_limit=step_limit)

    # -- the protocol ------------------------------------------------------------------
    @property
    def pending_approval(self) -> bool:
        raise NotImplementedError

    def send(self, text: str) -> AsyncIterator[AgentEvent]:
        return self._drive(lambda: self._send(text))

    def respond(self, approved: bool) -> AsyncIterator[AgentEvent]:
        return self._drive(lambda: self._respond(approved))

    def cancel(self) -> None:
        self._cancel.set()

    def history(self) -> list[tuple[str, str]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release files held open (the checkpoint database)."""

    # -- what subclasses implement -----------------------------------------------------
    def _send(self, text: str) -> None:
        raise NotImplementedError

    def _respond(self, approved: bool) -> None:
        raise NotImplementedError

    # -- running a turn ----------------------------------------------------------------
    def emit(self, event: AgentEvent) -> None:
        self._emit(event)

    def _who_notice(self) -> None:
        if not self._told_who:
            self._told_who = True
            self.emit(Notice(self.who_text()))

    def who_text(self) -> str:
        return f"Answering: {self.answering}"

    def record_tool_start(self, call_id: str, name: str, args: dict) -> None:
        self.tool_calls.append({"id": call_id, "name": name, "args": args, "ok": None, "summary": "",
                                "started": time.perf_counter()})
        self.emit(ToolCallStarted(call_id, name, dict(args)))

    def record_tool_end(self, call_id: str, name: str, ok: bool, summary: str) -> None:
        for call in reversed(self.tool_calls):
            if call["id"] == call_id and call["ok"] is None:
                call.update(ok=ok, summary=summary[:500],
                            seconds=round(time.perf_counter() - call.pop("started"), 3))
                break
        else:
            self.tool_calls.append({"id": call_id, "name": name, "args": {}, "ok": ok, "summary": summary[:500]})
        self.emit(ToolCallFinished(call_id, name, ok, summary[:500]))

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
                self.last_error = exc
                level = "warning" if isinstance(exc, CancelledError) else "error"
                put(Notice(exc.message + (f" ({exc.hint})" if exc.hint else ""), level=level))
            except Exception as exc:  # a bug or an unexpected library error: one clear line, details in the log
                log.warning("turn failed: %s: %s", type(exc).__name__, exc, exc_info=True)
                self.last_error = ShotsmithError(f"the assistant failed: {type(exc).__name__}: {exc}")
                put(Notice(self.last_error.message, level="error"))
            finally:
                put(done)

        self._emit = put
        thread = threading.Thread(target=target, name="shotsmith-turn", daemon=True)
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is done:
                    break
                yield item  # type: ignore[misc]
        finally:
            if thread.is_alive():  # the caller stopped listening: stop the work too
                self._cancel.set()
                await asyncio.to_thread(thread.join)
            self._emit = lambda event: None
            self._turn_lock.release()

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise CancelledError("cancelled; finished shots are kept")


def say(session: ChatSession, text: str) -> None:
    session.emit(AssistantText(text))


def approval_event(session: ChatSession, request_id: str, action: str, args: dict, description: str) -> ApprovalRequested:
    studio = session.studio
    try:
        estimate = studio.estimate(args.get("shots"), args.get("backend"))
        amount, unit, shots = estimate.amount, estimate.unit, estimate.shots
    except ShotsmithError:
        amount, unit, shots = 0.0, "USD", list(args.get("shots") or [])
    return ApprovalRequested(request_id=request_id, action=action, description=description,
                             estimate_amount=amount, estimate_unit=unit, shots=shots)
