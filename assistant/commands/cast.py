"""``shotsmith cast add|list|remove -p DIR``: the characters, products and places that must stay the same.

Reference images are copied into the project's ``assets/cast/`` (the project
folder stays self-contained and the user's originals are never touched). A
brief or shot that names a member (``@mara`` or the word) carries its
description and images into every request that can use them.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from shotsmith.assistant.commands.console import console
from shotsmith.assistant.production.casting import add_member, check_member, remove_member
from shotsmith.store import ProjectStore

cast_app = typer.Typer(help="The project's cast: characters, products and locations with reference images.",
                       no_args_is_help=True)
PROJECT_OPTION = typer.Option(..., "--project", "-p", help="The project folder.")
NEW_PROJECT_OPTION = typer.Option(..., "--project", "-p", help="The project folder (created when missing: the cast "
                                                                "can come before the brief).")


@cast_app.command("add")
def cast_add(name: str = typer.Argument(..., help="How briefs name it, e.g. Mara (then @mara or Mara)."),
             images: list[Path] = typer.Argument(None, help="Reference images (PNG/JPEG/WebP)."),
             project: Path = NEW_PROJECT_OPTION,
             description: str = typer.Option("", "--description", "-d", help="What it looks like, in prompt words."),
             kind: str | None = typer.Option(None, "--kind", "-k", help="character, product or location (default: "
                                                                         "character; kept when extending a member).")) -> None:
    """Add a cast member (or add images and a description to one); a new folder becomes a project."""
    # Checked before the folder is made: a refused add leaves no project behind.
    check_member(name, images or [], kind=kind, description=description)
    store = ProjectStore.open_or_create(project)
    member = add_member(store, name, images or [], description=description, kind=kind)
    console.print(Text.assemble(("✓", "bold green"), f" {member.name} ({member.kind}): {len(member.images)} image(s)"),
                  soft_wrap=True)


@cast_app.command("list")
def cast_list(project: Path = PROJECT_OPTION) -> None:
    """List the cast."""
    store = ProjectStore.open(project)
    table = Table(title=f"Cast of {store.root}", title_justify="left")
    for column in ("name", "kind", "images", "description"):
        table.add_column(column, overflow="fold")
    for member in store.project.cast:
        table.add_row(member.name, member.kind, Text("\n".join(member.images)), Text(member.description))
    console.print(table)
    if not store.project.cast:
        console.print("no cast yet: shotsmith cast add NAME IMAGE… -p DIR")


@cast_app.command("remove")
def cast_remove(name: str = typer.Argument(...), project: Path = PROJECT_OPTION) -> None:
    """Remove a cast member (its copied images stay in assets/cast/)."""
    store = ProjectStore.open(project)
    remove_member(store, name)
    console.print(Text.assemble(("✓", "bold green"), f" removed {name}"))
