"""The command palette's shotsmith commands (Ctrl+P): generate, render, preview, undo, redo, open, storyboard, help.

Each command does exactly what the chat would: generate, render and preview
send that word to the session as if it were typed (so an LLM session and the
offline planner answer it their own way, approvals included); undo and redo
are the same actions as Ctrl+Z and Ctrl+Y, which also go through the
session. The provider only finds and names commands; the chat screen does
the work, so a command and its key can never drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

#: The chat screen, as the commands use it (``say``, its ``action_*`` methods, ``session``). Not imported:
#: the chat screen imports this module to offer the commands.
ChatScreen = Any


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[ChatScreen], object]


COMMANDS = (
    Command("generate", "generate the missing shots and render the video (asks before spending)",
            lambda screen: screen.say("generate")),
    Command("render", "render the cut to renders/final.mp4 (kept as renders/vNNN.mp4)",
            lambda screen: screen.say("render")),
    Command("preview", "a fast small render to check the cut", lambda screen: screen.say("preview")),
    Command("undo", "undo the last change to the plan, cut or settings (Ctrl+Z)", lambda screen: screen.action_undo()),
    Command("redo", "redo a change that was undone (Ctrl+Y)", lambda screen: screen.action_redo()),
    Command("open latest render", "play the latest render, or download it in a browser (Ctrl+O)",
            lambda screen: screen.action_open_render()),
    Command("storyboard", "each shot's still with its approval; a approves the chosen panel (Ctrl+B)",
            lambda screen: screen.action_storyboard()),
    Command("keys", "every key and what it does (F1)", lambda screen: screen.action_help()),
)


class ShotsmithCommands(Provider):
    """Finds :data:`COMMANDS` by fuzzy name; they act on the chat screen the palette was opened over."""

    def _chat(self) -> ChatScreen | None:
        """The screen the palette was opened over, when it is the chat (it has ``say``), else the installed chat."""
        if callable(getattr(self.screen, "say", None)):
            return self.screen
        try:
            return self.app.get_screen("chat")
        except KeyError:
            return None

    def _runner(self, command: Command) -> Callable[[], None]:
        def run() -> None:
            chat = self._chat()
            if chat is not None:
                command.run(chat)
        return run

    async def discover(self) -> Hits:
        for command in COMMANDS:
            yield DiscoveryHit(command.name, self._runner(command), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in COMMANDS:
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), self._runner(command), text=command.name,
                          help=command.help)
