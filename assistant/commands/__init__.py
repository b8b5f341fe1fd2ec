"""The assistant's commands: ``run`` (scripted), ``chat`` (a conversation), ``history``/``undo``/``redo``."""

from __future__ import annotations

import typer


def register_commands(app: typer.Typer) -> None:
    from shotsmith.assistant.commands.batch import batch_command
    from shotsmith.assistant.commands.cast import cast_app
    from shotsmith.assistant.commands.chat import chat_command
    from shotsmith.assistant.commands.history import history_command, redo_command, undo_command
    from shotsmith.assistant.commands.render import render_command
    from shotsmith.assistant.commands.run import run_command
    from shotsmith.assistant.commands.storyboard import storyboard_command

    app.command("run", no_args_is_help=True)(run_command)
    app.command("batch", no_args_is_help=True)(batch_command)
    app.command("render", no_args_is_help=True)(render_command)
    app.command("chat")(chat_command)
    app.command("history")(history_command)
    app.command("undo")(undo_command)
    app.command("redo")(redo_command)
    app.add_typer(cast_app, name="cast")
    app.command("storyboard")(storyboard_command)
