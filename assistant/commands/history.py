"""``shotsmith history | undo | redo -p DIR``: the project's changes, and moving between them.

Undo and redo move the plan, the cut and the production settings; generated
clips stay cached and money spent stays spent, so going back and forth costs
nothing. The same moves are "undo"/"redo" in chat and ctrl+z / ctrl+y in the TUI.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from shotsmith.assistant.commands.console import console
from shotsmith.history import describe_move
from shotsmith.store import ProjectStore

PROJECT_OPTION = typer.Option(..., "--project", "-p", help="The project folder.")


def history_command(project: Path = PROJECT_OPTION,
                    last: int = typer.Option(20, "--last", "-n", min=1, help="Show this many of the latest changes.")
                    ) -> None:
    """List the project's changes; the current one is marked."""
    store = ProjectStore.open(project)
    index = store.history.index
    renders = {}
    for record in store.project.renders:
        renders.setdefault(record.history_entry, []).append(record.path)
    table = Table(title=f"History of {store.root}", title_justify="left")
    for name in ("", "#", "when", "change", "renders"):
        table.add_column(name)
    for entry in index.entries[-last:]:
        table.add_row("→" if entry.number == index.head else "", str(entry.number), entry.at.strftime("%Y-%m-%d %H:%M:%S"),
                      Text(entry.label), Text(", ".join(renders.get(entry.number, []))))
    console.print(table)
    if not index.entries:
        console.print("no changes recorded yet")
    shown = index.entries[-last:]
    head = index.entry(index.head)
    if head is not None and head not in shown:  # undone past the rows shown: no row has the mark
        console.print(Text(f"→ now at change {head.number} ({head.label}), older than the rows shown "
                           f"(--last {len(index.entries) - index.entries.index(head)} shows it)"), soft_wrap=True)
    # A render of a change a later edit replaced (an undo, then a new edit) is still kept: say where it is.
    kept = {entry.number for entry in index.entries}
    orphans = [f"{path} (change {number})" for number, paths in renders.items()
               if number is not None and number not in kept for path in paths]
    if orphans:
        console.print(Text(f"renders of changes no longer in the history: {', '.join(orphans)}"), soft_wrap=True)


def _move(project: Path, steps: int) -> None:
    store = ProjectStore.open(project)
    before = store.history.index.head
    entry = store.undo(-steps) if steps < 0 else store.redo(steps)
    moved, here = describe_move(store.history.index.entries, before, entry.number)
    console.print(Text.assemble(("✓", "bold green"), f" {'undid' if steps < 0 else 'redid'} {moved}; now at {here}"),
                  soft_wrap=True)


def undo_command(project: Path = PROJECT_OPTION,
                 steps: int = typer.Argument(1, min=1, help="How many changes to go back.")) -> None:
    """Undo the last change to the plan, cut or settings (clips stay cached)."""
    _move(project, -steps)


def redo_command(project: Path = PROJECT_OPTION,
                 steps: int = typer.Argument(1, min=1, help="How many undone changes to bring back.")) -> None:
    """Redo a change that was undone."""
    _move(project, steps)
