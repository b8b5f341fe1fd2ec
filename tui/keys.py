"""Every key of the TUI, with what it does: the help screen's table and the chat screen's bindings in one place.

A help screen written by hand goes stale the first time someone adds a key,
so the chat screen builds its bindings from :data:`SCREEN_KEYS` and the help
screen lists :data:`HELP`, which holds those same rows plus the keys that
belong to widgets (Enter in the input, y/n in the approval dialog). A test
checks that every binding of the app and its screens appears here.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma-separated, as in a Binding
    shown: str  # how the help screen writes them
    action: str | None  # the chat screen's action, or None for keys that belong to a widget
    description: str
    footer: str = ""  # the footer's short label; empty: not in the footer
    priority: bool = False


#: The chat screen's own keys (its bindings are made from these).
SCREEN_KEYS = (
    Key("f1", "F1", "help", "this help", "Help", priority=True),
    # An empty input leaves ? to this binding (widgets/prompt.py); in a message it is a question mark.
    # priority: checked before the input sees the key.
    Key("question_mark", "?", "help", "this help, when the input is empty or not focused", priority=True),
    Key("ctrl+z", "Ctrl+Z", "undo", "undo the last change to the plan, cut or settings (clips stay cached)", "Undo",
        priority=True),
    Key("ctrl+y", "Ctrl+Y", "redo", "redo a change that was undone", "Redo", priority=True),
    Key("ctrl+o", "Ctrl+O", "open_render", "open the latest render in the system's player (in a browser: download it)",
        "Open video", priority=True),
    Key("ctrl+t", "Ctrl+T", "toggle_thumbs", "show or hide the shot thumbnails", priority=True),
    Key("ctrl+b", "Ctrl+B", "storyboard", "the storyboard: each shot's still with its approval mark", priority=True),
    # priority: the focused Input binds ctrl+c to copy; while a turn runs, cancelling wins.
    Key("ctrl+c", "Ctrl+C", "cancel_turn", "while the assistant works: cancel the turn (finished shots are kept); "
        "otherwise copy", "Cancel", priority=True),
    Key("escape", "Esc", "cancel_turn", "while the assistant works: cancel the turn"),
)

#: Keys that belong to the app or to widgets, listed for the help screen only.
OTHER_KEYS = (
    Key("enter", "Enter", None, "send the message (an empty one is not sent)"),
    Key("tab,shift+tab", "Tab / Shift+Tab", None, "move between the input, the chat log and the plan table"),
    Key("up,down", "↑ / ↓", None, "in the plan table: choose a shot (its whole prompt and thumbnail are shown)"),
    Key("left,right", "← / →", None, "in the storyboard: the previous / next panel; in the approval dialog: "
        "move between its buttons"),
    Key("ctrl+p", "Ctrl+P", None, "command palette: generate, render, preview, undo, redo, open, storyboard, help…"),
    Key("y,n", "y / n", None, "in the approval dialog: approve / reject (Esc rejects)"),
    Key("a,A,r", "a / A / r", None, "in the storyboard: approve the chosen panel / approve all / redo it"),
    Key("escape,q", "Esc / q", None, "close this help (Esc also closes the storyboard, and rejects in the "
        "approval dialog)"),
    Key("ctrl+q", "Ctrl+Q", None, "quit"),
)

HELP = SCREEN_KEYS + OTHER_KEYS


def screen_bindings() -> list[Binding]:
    return [Binding(key.keys, key.action, key.footer or key.description, show=bool(key.footer),
                    priority=key.priority) for key in SCREEN_KEYS if key.action]


def documented(key_name: str) -> bool:
    """Whether the help lists ``key_name`` (one Textual key name)."""
    return any(key_name in key.keys.split(",") for key in HELP)
