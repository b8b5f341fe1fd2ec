"""The shotsmith Textual app: the stylesheet, the quit key and the chat screen; nothing else.

The app takes any :class:`~shotsmith.assistant.sessions.protocol.ChatSessionLike`,
so tests drive it with a scripted session and the ``tui`` command with the one
:func:`~shotsmith.assistant.session_factory.open_session` returns. Everything
that reacts to the session lives in :mod:`shotsmith.tui.screens.chat`, and the
widgets in :mod:`shotsmith.tui.widgets`, so this file stays a shell.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from shotsmith.assistant.sessions.protocol import ChatSessionLike
from shotsmith.media.ffmpeg import lower_children_priority
from shotsmith.tui.screens.chat import ChatScreen


class ShotsmithApp(App[None]):
    CSS_PATH = "shotsmith.tcss"
    TITLE = "shotsmith"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, session: ChatSessionLike) -> None:
        super().__init__()
        self.session = session

    def on_mount(self) -> None:
        # Keys before encodes: a render's ffmpeg runs at a lower priority than this UI while the app is up.
        lower_children_priority(10)
        self.install_screen(ChatScreen(self.session), name="chat")
        self.push_screen("chat")

    def on_unmount(self) -> None:
        lower_children_priority(0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's palette commands, less its "Keys" panel: the palette's "keys" is our help screen (F1),
        which lists every key; two "keys" that show different things read as a bug."""
        for command in super().get_system_commands(screen):
            if command.title != "Keys":
                yield command
