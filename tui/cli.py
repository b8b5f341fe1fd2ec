"""The ``shotsmith tui`` command (entry point group ``shotsmith.commands``).

Textual and the session are imported inside the command, so registering it
costs nothing for the other commands.
"""

from __future__ import annotations

from pathlib import Path

import typer


def tui_command(
    project: Path = typer.Option(Path("."), "--project", "-p",
                                 help="Project folder; created if missing, continued if not."),
    llm: str | None = typer.Option(None, "--llm", help="provider:model, e.g. openai:gpt-4.1-mini or ollama:llama3.1."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible server URL (Ollama, vLLM…)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Generation backend (default from config: animatic)."),
) -> None:
    """Chat with the assistant in a full-screen terminal UI."""
    from shotsmith.assistant.session import ChatSession
    from shotsmith.config import load_settings
    from shotsmith.tui.app import ShotsmithApp

    # ChatSession.open checks the model and backend settings first, then opens the project with
    # ProjectStore.open_or_create; any failure is one ShotsmithError line before the screen takes over.
    session = ChatSession.open(project.expanduser(), llm=llm, llm_base_url=llm_base_url,
                               backend=backend or load_settings().backend)
    try:
        ShotsmithApp(session).run()
    finally:
        close = getattr(session, "close", None)
        if callable(close):
            close()


def register_commands(app: typer.Typer) -> None:
    app.command("tui")(tui_command)
