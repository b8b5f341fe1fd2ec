"""Find ffmpeg and run it as an argument list, with progress and clean errors.

ffmpeg is taken from ``SHOTSMITH_FFMPEG``, else from PATH, else from the
``imageio-ffmpeg`` wheel (a static build with libx264, freetype and friends), so
a fresh machine needs no system package. Commands are always argument lists,
never shell strings, and a failure raises :class:`FFmpegError` with the tail
of ffmpeg's stderr instead of returning an exit code.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

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


class FFmpegRun:
    """One ffmpeg process. Counted so benchmarks can assert how many encodes ran."""

    #: Number of ffmpeg processes started in this Python process (read by bench/ and tests).
    started = 0
    _count_lock = threading.Lock()

    def __init__(self, args: Sequence[str], *, duration_s: float | None = None,
                 on_progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                 what: str = "ffmpeg") -> None:
        self.args = [str(a) for a in args]
        self.duration_s = duration_s
        self.on_progress = on_progress
        self.cancel = cancel
        self.what = what

    def run(self) -> None:
        exe = ffmpeg_exe()
        argv = [exe, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats", *self.args]
        log.debug("running %s", argv)
        with FFmpegRun._count_lock:
            FFmpegRun.started += 1
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    encoding="utf-8", errors="replace")
        except OSError as exc:
            raise FFmpegError(f"could not start ffmpeg ({exe}): {exc.strerror or exc}") from exc
        stderr_tail: deque[str] = deque(maxlen=30)
        reader = threading.Thread(target=lambda: stderr_tail.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
        reader.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if self.cancel is not None and self.cancel.is_set():
                    proc.kill()
                    break
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and self.on_progress and value.lstrip("-").isdigit():
                    seconds = max(0.0, int(value) / 1_000_000)
                    if self.duration_s:
                        seconds = min(seconds, self.duration_s)
                    self.on_progress(seconds)
            proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            reader.join(timeout=5)
        if self.cancel is not None and self.cancel.is_set():
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
