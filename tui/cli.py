"""CLI commands of this package (entry point group ``shotsmith.commands``)."""

from __future__ import annotations

import typer


def register_commands(app: typer.Typer) -> None:
    return None
