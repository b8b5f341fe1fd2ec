"""Find ffmpeg and run it as an argument list, with progress and clean errors.

ffmpeg is taken from ``SHOTSMITH_FFMPEG``, else from PATH, else from the
``imageio-ffmpeg`` wheel (a static build with libx264, freetype and friends), so
a fresh machine needs no system package. Commands are always argument lists,
never shell strings, and a failure raises :class:`FFmpegError` with the tail
of ffmpeg's stderr instead of returning an exit code.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from shotsmith import interrupts
from shotsmith.errors import CancelledError, FFmpegError

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]
"""Called with the seconds of output written so far."""


@functools.cache
def ffmpeg_exe() -> str:
    explicit = os.environ.get("SHOTSMITH_FFMPEG")
    if explicit:
        if not Path(explicit).is_file():
            raise FFmpegError(f"SHOTSMITH_FFMPEG points at {explicit}, which does not exist")
        return explicit
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a dependency of shotsmith
        raise FFmpegError("ffmpeg was not found on PATH and imageio-ffmpeg is not installed",
                          hint="install ffmpeg, or `pip install imageio-ffmpeg`") from exc
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise FFmpegError(f"ffmpeg was not found: {exc}", hint="install ffmpeg or set SHOTSMITH_FFMPEG") from exc



@functools.cache
def has_encoder(name: str) -> bool:
    """Whether this ffmpeg was built with the encoder ``name`` (``-encoders`` lists them; a build without
    an optional library, e.g. a distribution's without libmp3lame, simply lacks the line)."""
    try:
        listing = subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True,
                                 timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError, FFmpegError):
        return False
    return any(line.split()[1:2] == [name] for line in listing.splitlines() if line.startswith(" "))

#: Seconds a child gets to exit after SIGTERM before it is killed.
STOP_GRACE_S = 2.0

_live: set[subprocess.Popen] = set()
_live_lock = threading.RLock()  # re-entrant: the cancel hook runs in a signal handler


@functools.cache
def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return None


def _die_with_parent_fn() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when its parent dies (Linux ``prctl``), else None.

    ``prctl`` is resolved here, before the fork, so the child only makes the call.
    Linux sends the signal when the *thread* that forked exits; ``FFmpegRun`` waits
    for its child in the thread that started it, so that is the same moment.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    pr_set_pdeathsig = 1
    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def preexec() -> None:
        prctl(pr_set_pdeathsig, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


_child_niceness = 0


def lower_children_priority(niceness: int = 10) -> None:
    """Start later children at this niceness (0: as shotsmith itself). An interactive front end (the TUI)
    sets it while it runs: a render's ffmpeg then yields the CPU to the UI thread, so a key reaches the screen
    at once even while every core encodes; scripted runs keep full priority, so nothing else slows them."""
    global _child_niceness
    _child_niceness = max(0, int(niceness))


def spawn(argv: Sequence[str], *, niceness: int | None = None, **kwargs) -> subprocess.Popen:
    """Start a child that shotsmith owns: its own process group (a terminal's Ctrl-C reaches shotsmith,
    which stops the child in order), killed if shotsmith dies (Linux), no stdin, and registered so
    :func:`stop_children` and the cancel hook can reach it. Unregister with :func:`release`.
    ``niceness`` (None: :func:`lower_children_priority`'s) is for work nobody waits on, such as proxies
    made in the background.

    Wait for the child in the thread that spawned it: Linux delivers the parent-death
    signal when that *thread* ends."""
    options: dict = {"stdin": subprocess.DEVNULL}
    if os.name == "posix":
        options["process_group"] = 0
        preexec = _die_with_parent_fn()
        niceness = max(_child_niceness, niceness or 0)
        if niceness:
            die_with_parent = preexec

            def preexec() -> None:
                if die_with_parent is not None:
                    die_with_parent()
                os.nice(niceness)
        if preexec is not None:
            options["preexec_fn"] = preexec
    options.update(kwargs)
    with interrupts.deferred():  # a Ctrl-C between the start and the registration would orphan the child
        proc = subprocess.Popen(list(argv), **options)
        with _live_lock:
            _live.add(proc)
    return proc


def release(proc: subprocess.Popen) -> None:
    with _live_lock:
        _live.discard(proc)


def live_children() -> list[subprocess.Popen]:
    """The children started with :func:`spawn` that have not been released."""
    with _live_lock:
        return [p for p in _live if p.poll() is None]


def stop_process(proc: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """Terminate ``proc``, kill it if it is still there after ``grace_s``, reap it, and release it."""
    with interrupts.deferred():
        try:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                try:
                    proc.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    proc.wait()
        finally:
            release(proc)


def stop_children(grace_s: float = STOP_GRACE_S, *,
                  only: Callable[[subprocess.Popen], bool] | None = None) -> int:
    """Stop every live child (terminate all, one shared grace, then kill the rest); return how many were running.

    ``only`` limits it to the children it accepts.
    """
    with _live_lock:
        procs = [p for p in _live if only is None or only(p)]
    running = [p for p in procs if p.poll() is None]
    with interrupts.deferred():
        for proc in running:
            _stopped.add(proc)
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        deadline = time.monotonic() + grace_s
        for proc in running:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
    for proc in procs:
        release(proc)
    return len(running)


#: Children :func:`stop_children` ended: their run says "cancelled", not "failed: exit code 255".
_stopped: "weakref.WeakSet[subprocess.Popen]" = weakref.WeakSet()


def _signal_children() -> None:
    """Cancel hook (runs inside the signal handler): SIGTERM to every live child, without waiting."""
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGTERM)


interrupts.add_cancel_hook(_signal_children)
atexit.register(stop_children, 0.5)


class FFmpegRun:
    """One ffmpeg process. Counted so benchmarks can assert how many encodes ran.

    The child is started with :func:`spawn`. Any exception while it runs (Ctrl-C,
    SIGTERM through :mod:`shotsmith.interrupts`) stops it before the exception goes
    on; a cancelled run (``cancel`` set, or a process-wide cancellation, see
    :func:`shotsmith.interrupts.cancel_event`) raises :class:`CancelledError`.
    """

    #: Number of ffmpeg processes started in this Python process (read by bench/ and tests).
    started = 0
    _count_lock = threading.Lock()

    def __init__(self, args: Sequence[str], *, duration_s: float | None = None,
                 on_progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                 what: str = "ffmpeg", niceness: int | None = None) -> None:
        self.args = [str(a) for a in args]
        self.niceness = niceness
        self.duration_s = duration_s
        self.on_progress = on_progress
        self.cancel = cancel
        self.what = what

    def _cancelled(self) -> bool:
        return (self.cancel is not None and self.cancel.is_set()) or interrupts.cancel_requested()

    def run(self) -> None:
        exe = ffmpeg_exe()
        argv = [exe, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats", *self.args]
        log.debug("running %s", argv)
        interrupts.raise_if_cancelled(self.what)
        with FFmpegRun._count_lock:
            FFmpegRun.started += 1
        try:
            proc = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         encoding="utf-8", errors="replace", niceness=self.niceness)
        except OSError as exc:
            raise FFmpegError(f"could not start ffmpeg ({exe}): {exc.strerror or exc}") from exc
        stderr_tail: deque[str] = deque(maxlen=30)
        reader = threading.Thread(target=lambda: stderr_tail.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
        reader.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if self._cancelled():
                    break
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and self.on_progress and value.lstrip("-").isdigit():
                    seconds = max(0.0, int(value) / 1_000_000)
                    if self.duration_s:
                        seconds = min(seconds, self.duration_s)
                    self.on_progress(seconds)
            if self._cancelled():
                stop_process(proc)
            else:
                proc.wait()
        except BaseException:
            stop_process(proc)
            raise
        finally:
            release(proc)
            reader.join(timeout=5)
        if self._cancelled() or (proc.returncode != 0 and proc in _stopped):
            raise CancelledError(f"{self.what} was cancelled")
        if proc.returncode != 0:
            tail = "".join(stderr_tail).strip()
            last = tail.splitlines()[-1] if tail else f"exit code {proc.returncode}"
            raise FFmpegError(f"{self.what} failed: {last}", stderr_tail=tail)
        if self.on_progress and self.duration_s:
            self.on_progress(self.duration_s)


def run_ffmpeg(args: Sequence[str], **kwargs) -> None:
    """Run ffmpeg with ``args`` (everything after the global options); raise on failure."""
    FFmpegRun(args, **kwargs).run()


_OPTION_SPECIALS = re.compile(r"([\\':])")
_GRAPH_SPECIALS = re.compile(r"([\\'\[\],;])")
_WHITESPACE = re.compile(r"(\s)")


def escape_filter_value(value: str) -> str:
    """Escape ``value`` for one option of one filter inside a filter graph.

    ffmpeg tokenises a graph twice: the graph level splits filters on ``[],;``
    and the option level splits ``key=value`` pairs on ``:``. Each level takes
    ``\\x`` as a literal ``x`` and trims unescaped leading/trailing whitespace,
    so the value is escaped for the option level and the result again for the
    graph level (the ffmpeg-filters manual, "Notes on filtergraph escaping"),
    whitespace included so that a value starting or ending with a space or a
    newline survives.
    """
    option_level = _WHITESPACE.sub(r"\\\1", _OPTION_SPECIALS.sub(r"\\\1", value))
    return _WHITESPACE.sub(r"\\\1", _GRAPH_SPECIALS.sub(r"\\\1", option_level))
