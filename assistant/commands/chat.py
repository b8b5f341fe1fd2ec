"""``shotsmith chat``: talk to the assistant about a project; the conversation is kept in the project."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import typer
from rich.text import Text

from shotsmith.assistant.commands.console import EventPrinter, console
from shotsmith.assistant.commands.options import EXECUTOR_OPTION
from shotsmith.assistant.events import Notice
from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.run import run_turn
from shotsmith.assistant.session_factory import open_session

QUIT_WORDS = ("/quit", "/exit", "quit", "exit")


def chat_command(
    project: Path = typer.Option(..., "--project", "-p", help="Project folder; created if missing, continued if not."),
    llm: str | None = typer.Option(None, "--llm", help="provider:model, e.g. openai:gpt-4.1-mini or ollama:llama3.1."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible server URL (Ollama, vLLM…)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Generation backend."),
    resolution: str | None = typer.Option(None, "--resolution", "-r", help="Short side of the frame, e.g. 720p."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve spending without asking."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Never let this project's spending pass this many USD."),
    inputs: list[Path] = typer.Option([], "--input", "-i", help="A file of yours the assistant may use (repeatable)."),
    executor: str | None = EXECUTOR_OPTION,
    message: list[str] = typer.Option([], "--message", "-m", help="Send this message instead of prompting (repeatable)."),
) -> None:
    """Talk to the assistant about a project (the conversation is kept)."""
    options = ServiceOptions(backend=backend, resolution=resolution, max_cost_usd=max_cost, auto_approve=yes,
                             executor=executor)
    session = open_session(project, options=options, llm=llm, llm_base_url=llm_base_url, inputs=tuple(inputs))
    printer = EventPrinter()
    console.print(Text.assemble(("•", "cyan"), " ", session.announce_who(), f" · project {session.store.root}"),
                  soft_wrap=True)
    for role, text in session.history()[-10:]:
        console.print(Text(f"{role}: {text}", style="dim"), soft_wrap=True)
    scripted = list(message)
    if not scripted and not sys.stdin.isatty():  # piped: one message per line
        scripted = [line for line in sys.stdin.read().splitlines() if line.strip()]
        message = scripted[:]
    try:
        while True:
            if session.pending_approval:
                answer = scripted.pop(0) if scripted else (typer.prompt("approve? [y/n]") if sys.stdin.isatty() else "n")
                turn = session.respond(answer.strip().lower() in ("y", "yes"))
            else:
                if scripted:
                    text = scripted.pop(0)
                elif message or not sys.stdin.isatty():
                    break
                else:
                    try:
                        text = typer.prompt("you", prompt_suffix="> ")
                    except (EOFError, typer.Abort):
                        break
                if text.strip().lower() in QUIT_WORDS:
                    break
                turn = session.send(text)
            _drain(turn, printer if not message else partial(_unless_raised, session, printer))
            if session.last_error is not None and message:
                error = session.last_error
                if scripted:  # the user's later lines are named, not dropped without a word
                    unsent = "not sent: " + ", ".join(repr(line) for line in scripted) + " (send them again)"
                    error.hint = f"{error.hint}; {unsent}" if getattr(error, "hint", None) else unsent
                raise error
    finally:
        printer.stop()
        session.close()


def _unless_raised(session, printer: EventPrinter, event) -> None:
    """A scripted chat stops on the error that ends a turn and exits with it (one ``error:`` line, its
    code): the session's notice of that same error is not printed as well."""
    error = session.last_error
    if isinstance(event, Notice) and event.level == "error" and error is not None and event.text.startswith(error.message):
        return
    printer(event)


def _drain(turn, printer) -> None:
    async def go() -> None:
        async for event in turn:
            printer(event)

    run_turn(go())  # a second Ctrl-C cannot break off the turn's stopping
