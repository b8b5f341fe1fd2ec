"""Ctrl-C, SIGTERM and SIGHUP end every long job the same way.

Python turns SIGINT into :class:`KeyboardInterrupt` in the main thread, but SIGTERM
and SIGHUP kill the interpreter outright: no ``finally`` runs, so an ffmpeg child
keeps writing its ``.NAME.xxxx.part.mp4`` as an orphan. Inside :func:`cancellation`
(which the CLI's ``main()`` wraps around every command) all three take one path:

1. the *cancel hooks* run at once, in the main thread (``shotsmith.media.ffmpeg``
   registers one that sends SIGTERM to every live ffmpeg child, so worker threads
   blocked on ffmpeg wake up too);
2. the process-wide :func:`cancel_event` is set, for worker threads and loops that
   poll (pass it as ``cancel=`` to ``run_ffmpeg``, or call :func:`raise_if_cancelled`);
3. an exception is raised in the main thread: ``KeyboardInterrupt`` for SIGINT,
   :class:`Terminated` (a ``KeyboardInterrupt`` subclass carrying exit code
   128 + the signal number, 143 for SIGTERM) for the others.

Every ``finally`` and ``with`` block on the way out then runs as for Ctrl-C:
``atomic_output`` removes its partial file, ``FFmpegRun`` stops its child
(terminate, then kill after a short grace). The CLI prints ``cancelled`` and exits
with :func:`exit_code_for`: 130 for Ctrl-C, 143 for SIGTERM. Worker threads see
:func:`cancel_event` set and raise :class:`~shotsmith.errors.CancelledError`
(:func:`raise_if_cancelled`), which the CLI reports the same way.

Cleanup that must not be cut short by a second Ctrl-C runs inside :func:`deferred`;
once the CLI has caught the cancellation it calls :func:`settle`, after which more
signals only repeat the hooks. A third signal ends the process at once
(``os._exit``), for a cleanup that hangs. Code that catches a cancellation and
carries on (a chat turn cancelled, the session kept) calls :func:`reset`, or the
next ffmpeg run would see the old cancellation and refuse to start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from shotsmith.errors import CancelledError

#: The signals :func:`cancellation` takes over (SIGHUP where the platform has it).
CANCEL_SIGNALS: tuple[int, ...] = tuple(
    s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)

EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell convention
EXIT_TERMINATED = 128 + int(getattr(signal, "SIGTERM", 15))


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP) arrived: handled exactly like Ctrl-C, but the exit status is 128 + the signal number.

    A :class:`KeyboardInterrupt`, not an :class:`Exception`: the many ``except
    Exception`` blocks that turn a failing shot or file into a message must not
    swallow a termination, and every ``except KeyboardInterrupt`` cleanup path
    (cancel remote tasks, stop children) serves SIGTERM too.
    """

    def __init__(self, signum: int = int(getattr(signal, "SIGTERM", 15))) -> None:
        try:
            name = signal.Signals(signum).name
        except ValueError:  # pragma: no cover - a signal number this platform does not name
            name = f"signal {signum}"
        super().__init__(f"terminated by {name}")
        self.signum = int(signum)
        self.exit_code = 128 + int(signum)


def exit_code_for(exc: BaseException | None = None) -> int:
    """The exit status of a cancellation: 128 + the signal that asked for it (130 Ctrl-C, 143 SIGTERM).

    Without a recorded signal: the exception's own code when it is a signal code
    (:class:`Terminated`), else 130.
    """
    signum = _state.signum
    if signum is not None:
        return 128 + signum
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int) and code > 128:
        return code
    return EXIT_INTERRUPTED


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()  # re-entrant: taken inside the signal handler too
        self.event = threading.Event()
        self.hooks: list[Callable[[], None]] = []
        self.signum: int | None = None
        self.active = 0          # nesting depth of cancellation()
        self.settled = False     # the cancellation is being handled: later signals do not raise
        self.deferring = 0       # depth of deferred() in the main thread
        self.pending: int | None = None
        self.count = 0           # signals received since the last reset()


_state = _State()


def add_cancel_hook(hook: Callable[[], None]) -> None:
    """Run ``hook()`` (in the main thread, from the signal handler) whenever a cancelling signal arrives.

    Hooks must be quick and must not block: send a signal, set an event. An exception
    in a hook is ignored. Adding the same hook twice keeps one.
    """
    with _state.lock:
        if hook not in _state.hooks:
            _state.hooks.append(hook)


def remove_cancel_hook(hook: Callable[[], None]) -> None:
    with _state.lock:
        if hook in _state.hooks:
            _state.hooks.remove(hook)


def cancel_event() -> threading.Event:
    """The process-wide event set by SIGINT/SIGTERM/SIGHUP inside :func:`cancellation` (or :func:`request_cancel`)."""
    return _state.event


def cancel_requested() -> bool:
    return _state.event.is_set()


def cancel_signal() -> int | None:
    """The signal that asked to cancel (``signal.SIGINT``, ``signal.SIGTERM``…), or None."""
    return _state.signum


def raise_if_cancelled(what: str = "the job") -> None:
    """In a worker thread or a polling loop: raise :class:`CancelledError` if a cancellation is pending."""
    if _state.event.is_set():
        raise CancelledError(f"{what} was cancelled")


def request_cancel(signum: int = signal.SIGINT) -> None:
    """Start a cancellation without a signal (a UI's cancel button): hooks run and the event is set."""
    with _state.lock:
        if _state.signum is None:
            _state.signum = int(signum)
        hooks = list(_state.hooks)
    _state.event.set()
    for hook in hooks:
        with contextlib.suppress(Exception):
            hook()


def _exception_for(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


#: After this many signals in one cancellation, the process exits at once (cleanup or not).
FORCE_AFTER = 3


def _handler(signum: int, _frame) -> None:
    _state.count += 1
    request_cancel(signum)
    if _state.count >= FORCE_AFTER:
        # The user insists (a cleanup hangs on a dead server): leave now. Children started
        # with ffmpeg.spawn() die with us on Linux; a partial file may be left.
        with contextlib.suppress(OSError):
            os.write(2, b"cancelled (forced)\n")
        os._exit(128 + (_state.signum or signum))
    if _state.settled:
        return
    if _state.deferring:
        if _state.pending is None:
            _state.pending = signum
        return
    raise _exception_for(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def cancellation() -> Iterator[threading.Event]:
    """Within the block, SIGINT, SIGTERM and SIGHUP all take the cancellation path (see the module doc).

    Only the main thread can install signal handlers; elsewhere this is a no-op. A
    signal that was ignored when the block started (``nohup``, a background job)
    stays ignored. On leaving the outermost block the previous handlers come back
    and the cancellation state is reset, so the block can be entered again.
    """
    if not _in_main_thread():
        yield _state.event
        return
    previous: dict[int, object] = {}
    for signum in CANCEL_SIGNALS:
        try:
            current = signal.getsignal(signum)
            if current is signal.SIG_IGN:
                continue
            previous[signum] = signal.signal(signum, _handler)
        except (OSError, ValueError):  # pragma: no cover - a platform that refuses
            continue
    _state.active += 1
    try:
        yield _state.event
    finally:
        _state.active -= 1
        for signum, handler in previous.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(signum, handler)  # type: ignore[arg-type]
        if _state.active == 0:
            reset()


def reset() -> None:
    """Forget a finished cancellation (the event, the signal, settle())."""
    with _state.lock:
        _state.event.clear()
        _state.signum = None
        _state.settled = False
        _state.pending = None
        _state.count = 0


def settle() -> None:
    """The cancellation is being handled: from now on signals only run the hooks (they do not raise again)."""
    _state.settled = True


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold back the exception of a signal arriving inside the block (cleanup that must finish).

    The hooks still run at once. On leaving the block, a held-back signal is raised,
    unless an exception is already on its way out (then that one continues).
    """
    if not _in_main_thread():
        yield
        return
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1
        if _state.deferring == 0 and _state.pending is not None:
            signum, _state.pending = _state.pending, None
            if sys.exc_info()[1] is None and not _state.settled:
                raise _exception_for(signum)
