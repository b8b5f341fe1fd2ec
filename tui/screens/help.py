"""The help screen (F1 or ?): every key and what it does, from :mod:`shotsmith.tui.keys`.

A modal over the chat, so a turn that is running keeps running and its events
keep arriving underneath; any of Esc, F1, ? or q closes it.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from shotsmith.tui.keys import HELP

FOOTNOTE = ("Everything the keys do can also be typed: 'undo', 'redo', 'generate', 'preview', 'render'. "
            "Ctrl+P finds the same commands by name.")


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key in HELP:
        table.add_row(key.shown, key.description)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close", show=False)]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Keys"
            box.border_subtitle = "Esc closes"
            yield Static(help_table(), id="help-keys")
            yield Static(Text(FOOTNOTE, style="italic"), id="help-footnote")
