"""The ``shotsmith tui`` and ``shotsmith web`` commands (entry point group ``shotsmith.commands``).

Textual and the session are imported inside the command, so registering it
costs nothing for the other commands. The session comes from
:func:`~shotsmith.assistant.session_factory.open_session`, like ``chat`` and
``run``: the same checks (model, backend, resolution, inputs) fail as one line
before the screen takes over and before any folder is created.
"""

from __future__ import annotations

from pathlib import Path

import typer

from shotsmith.assistant.commands.options import EXECUTOR_OPTION


def tui_command(
    project: Path = typer.Option(Path("."), "--project", "-p",
                                 help="Project folder; created if missing, continued if not."),
    llm: str | None = typer.Option(None, "--llm", help="provider:model, e.g. openai:gpt-4.1-mini or ollama:llama3.1."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible server URL (Ollama, vLLM…)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Generation backend (default from config: animatic)."),
    resolution: str | None = typer.Option(None, "--resolution", "-r", help="Short side of the frame, e.g. 720p."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Never let this project's spending pass this many USD."),
    inputs: list[Path] = typer.Option([], "--input", "-i", help="A file of yours the assistant may use (repeatable)."),
    executor: str | None = EXECUTOR_OPTION,
) -> None:
    """Chat with the assistant in a full-screen terminal UI."""
    from shotsmith.assistant.production import ServiceOptions
    from shotsmith.assistant.session_factory import open_session
    from shotsmith.tui.app import ShotsmithApp
    from shotsmith.tui.web import is_tab, leave_the_terminal

    if is_tab():  # a browser tab of `shotsmith web`: the server's terminal signals are the server's
        leave_the_terminal()
    # No --yes here: the approval dialog is how this UI spends.
    options = ServiceOptions(backend=backend, resolution=resolution, max_cost_usd=max_cost, executor=executor)
    session = open_session(project, options=options, llm=llm, llm_base_url=llm_base_url, inputs=tuple(inputs))
    try:
        ShotsmithApp(session).run()
    finally:
        session.close()


def web_command(
    project: Path = typer.Option(Path("."), "--project", "-p",
                                 help="Project folder; created if missing, continued if not."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port on 127.0.0.1 to serve on."),
    llm: str | None = typer.Option(None, "--llm", help="provider:model, e.g. openai:gpt-4.1-mini or ollama:llama3.1."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible server URL (Ollama, vLLM…)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Generation backend (default from config: animatic)."),
    resolution: str | None = typer.Option(None, "--resolution", "-r", help="Short side of the frame, e.g. 720p."),
    executor: str | None = EXECUTOR_OPTION,
) -> None:
    """Serve the terminal UI in a browser on 127.0.0.1 (each tab runs its own `shotsmith tui`)."""
    from shotsmith.assistant.production import ServiceOptions
    from shotsmith.assistant.session_factory import open_session
    from shotsmith.tui.web import HOST, check_port, serve, tui_command_line

    check_port(port)  # before the project folder is made or anything is announced
    # The same checks as `tui`, here, so a bad option is one line now instead of a dead browser tab later.
    options = ServiceOptions(backend=backend, resolution=resolution, executor=executor)
    open_session(project, options=options, llm=llm, llm_base_url=llm_base_url).close()
    command = tui_command_line(project, llm=llm, llm_base_url=llm_base_url, backend=backend, resolution=resolution,
                               executor=executor)
    typer.echo(f"shotsmith web: http://{HOST}:{port}/ (project {project.resolve()}; Ctrl+C stops)")
    serve(command, port=port, title=f"shotsmith · {project.resolve().name}")


def register_commands(app: typer.Typer) -> None:
    app.command("tui")(tui_command)
    app.command("web")(web_command)
