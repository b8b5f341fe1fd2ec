"""Opening the latest render with whatever this machine plays video with.

The point of a render is to watch it, so the TUI opens it rather than only
printing a path: the desktop's default (``open`` on macOS, ``xdg-open`` on a
Linux desktop) first, since that is the player the user chose, then ``mpv``
or ``ffplay`` when installed. On a machine with no display (an SSH session, a
container) none of them can show anything, so the caller gets ``None`` and
shows the path instead. The player is started in its own session with its
output thrown away, so it never writes over the TUI and a Ctrl+C there does
not reach it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from shotsmith.errors import ShotsmithError


def has_display(environ: dict[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether a window can open here (macOS and Windows always; elsewhere an X11 or Wayland display)."""
    env = os.environ if environ is None else environ
    platform = platform or sys.platform
    return platform in ("darwin", "win32") or bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def player_command(path: Path, *, environ: dict[str, str] | None = None, platform: str | None = None,
                   which=shutil.which) -> list[str] | None:
    """The command that plays ``path`` here, or None when nothing can (no display, no player)."""
    platform = platform or sys.platform
    if not has_display(environ, platform):
        return None
    candidates = {"darwin": ["open"], "win32": []}.get(platform, ["xdg-open"]) + ["mpv", "ffplay"]
    for name in candidates:
        found = which(name)
        if found:
            extra = ["-autoexit", "-loglevel", "error"] if name == "ffplay" else []
            return [found, *extra, str(path)]
    if platform == "win32":
        return ["cmd", "/c", "start", "", str(path)]
    return None


def play(path: Path, command: list[str]) -> subprocess.Popen:
    """Start ``command`` detached from the terminal; raises a :class:`ShotsmithError` when it cannot start."""
    try:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        raise ShotsmithError(f"could not start {Path(command[0]).name}: {exc.strerror or exc}",
                             hint=f"the video is {path}") from exc
