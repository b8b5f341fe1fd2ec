"""CLI commands of the editing tools (entry point ``shotsmith.commands: tools``)."""

from __future__ import annotations

import typer

from shotsmith.tools import cli_edit, cli_footage


def register_commands(app: typer.Typer) -> None:
    cli_footage.register(app)
    cli_edit.register(app)
