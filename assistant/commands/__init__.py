"""The assistant's commands: ``shotsmith run`` (scripted) and ``shotsmith chat`` (a conversation)."""

from __future__ import annotations

import typer


def register_commands(app: typer.Typer) -> None:
    from shotsmith.assistant.commands.chat import chat_command
    from shotsmith.assistant.commands.run import run_command

    app.command("run", no_args_is_help=True)(run_command)
    app.command("chat")(chat_command)
