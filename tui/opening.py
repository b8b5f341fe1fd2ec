"""What Ctrl+O (and the play/download link under Progress) does with the latest render.

Three places a person can be: at a desktop (play it with the system's player,
:mod:`shotsmith.tui.player`), in a browser through ``shotsmith web`` (the file
is delivered as a download by the app itself, ``App.deliver_binary``, since
the server's disk is not the viewer's), or in a terminal with no display (SSH,
a container: the path goes into the chat log, where it can be selected, and
onto the clipboard). Kept apart from the chat screen, which only decides
which render is the latest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shotsmith.errors import ShotsmithError
from shotsmith.tui import player
from shotsmith.tui.renders import LastRender
from shotsmith.tui.widgets import ChatLog


def open_render(screen: Any, latest: LastRender | None) -> None:
    """Open ``latest`` for the person at ``screen`` (a screen with a :class:`ChatLog`)."""
    chat = screen.query_one(ChatLog)
    if latest is None:
        screen.notify("There is no render yet: say 'generate' or 'preview' first.", title="Open", severity="warning")
        return
    path = latest.path
    if not path.is_file():
        screen.notify(f"{path} is gone (moved or deleted).", title="Open", severity="error", markup=False)
        return
    app = screen.app
    if app.is_web:
        app.deliver_binary(path, save_filename=path.name, mime_type="video/mp4")
        screen.notify(f"Downloading {path.name}", title="Open", markup=False)
        return
    command = player.player_command(path)
    if command is None:
        app.copy_to_clipboard(str(path))
        chat.add_notice(f"no video player here; the latest render is {path}")
        screen.notify(f"{path}\n(copied to the clipboard)", title="No player here", markup=False)
        return
    try:
        player.play(path, command)
    except ShotsmithError as exc:
        chat.add_error(exc.message, exc.hint)
        return
    screen.notify(f"{path.name} with {Path(command[0]).name}", title="Playing", markup=False)
