"""The conversational CLI: ``shotsmith chat`` and the LLM path of ``shotsmith run``.

Both print the same session events: the assistant's words, tool calls, the plan
table, shot and render progress, and approval questions. ``chat`` keeps the
conversation in the project folder, so ``shotsmith chat --project DIR`` after a
restart shows the history and carries on.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer
from rich.console import Console

from shotsmith.assistant.agent_run import run_with_agent
from shotsmith.assistant.pipeline import write_report
from shotsmith.assistant.events import (AgentEvent, ApprovalRequested, AssistantText, GenerationProgress, Notice,
                                        OutputWritten, PlanUpdated, RenderProgress, ToolCallFinished,
                                        ToolCallStarted)
from shotsmith.assistant.session import ChatSession

console = Console(highlight=False)


class EventPrinter:
    """Prints session events line by line (no live widgets, so it mixes well with prompts)."""

    def __init__(self, *, stream_text: bool = True) -> None:
        self.stream_text = stream_text
        self._streaming = False
        self._render_pct = -1

    def __call__(self, event: AgentEvent) -> None:
        from shotsmith.assistant.cli import plan_table

        match event:
            case AssistantText(text=text, delta=True):
                if self.stream_text:
                    console.print(text, end="", soft_wrap=True, markup=False)
                    self._streaming = True
            case AssistantText(text=text):
                if self._streaming:
                    console.print()
                    self._streaming = False
                else:
                    console.print(f"[bold]assistant:[/] {text}", soft_wrap=True)
            case Notice(text=text, level=level):
                colour = {"warning": "yellow", "error": "red"}.get(level, "cyan")
                console.print(f"[{colour}]•[/] {text}", soft_wrap=True)
            case ToolCallStarted(name=name):
                console.print(f"[dim]→ {name}[/]")
            case ToolCallFinished(name=name, ok=ok, summary=summary):
                if not ok:
                    console.print(f"[yellow]  {name} refused:[/] {summary[:300]}", soft_wrap=True, markup=False)
            case PlanUpdated(plan=plan):
                console.print(plan_table(plan))
            case GenerationProgress(shot_index=index, state=state, message=message):
                if state in ("done", "cached", "failed", "cancelled"):
                    colour = {"failed": "red", "cancelled": "yellow"}.get(state, "green")
                    console.print(f"  shot {index}: [{colour}]{state}[/] {message}", soft_wrap=True)
            case RenderProgress(seconds_done=done, seconds_total=total):
                pct = int(100 * done / total) // 25 * 25 if total else 0
                if pct != self._render_pct:
                    self._render_pct = pct
                    console.print(f"  render {pct}%")
            case OutputWritten(path=path, duration_s=duration, size_bytes=size):
                self._render_pct = -1
                console.print(f"[bold green]✓[/] wrote [bold]{path}[/] · {duration:.2f} s · {size / 1e6:.1f} MB",
                              soft_wrap=True)
            case ApprovalRequested(description=description):
                console.print(f"[bold yellow]approval needed:[/] {description}", soft_wrap=True)


def _confirm(event: ApprovalRequested) -> bool:
    return typer.confirm(f"Spend about {event.estimate_amount:.2f} {event.estimate_unit}?", default=False)


def run_agent_command(*, brief: str, output: Path, project: Path | None, llm: str | None, llm_base_url: str | None,
                      backend: str, resolution: str, fps: int, yes: bool, max_cost: float | None,
                      inputs: list[Path], json_report: Path | None, plan_only: bool = False) -> None:
    """The LLM path of ``shotsmith run``; exits non-zero unless the output was written."""
    from shotsmith.assistant.pipeline import check_output_path, default_project_dir

    target = check_output_path(output)
    session = ChatSession.open(project or default_project_dir(target), llm=llm, llm_base_url=llm_base_url,
                               backend=backend, auto_approve=yes, max_cost=max_cost, resolution=resolution, fps=fps,
                               inputs=tuple(inputs), output=target)
    try:
        report, error = run_with_agent(session, brief, target, on_event=EventPrinter(),
                                       confirm=_confirm if sys.stdin.isatty() else None, plan_only=plan_only)
    finally:
        session.close()
    if json_report:
        write_report(report, json_report)
        console.print(f"report: {json_report}")
    if error is not None:
        raise error
    if plan_only:
        console.print(f"[cyan]plan saved[/] in {session.store.root} (no video rendered: --plan-only)", soft_wrap=True)
        return
    out = report.output
    console.print(f"[bold green]✓[/] {out.path if out else target} · {out.duration_s if out else 0:.2f} s · "
                  f"spent {report.cost.get('spent', 0):.2f} {report.cost.get('unit', 'USD')} · "
                  f"{report.timings_s.get('total', 0):.1f} s", soft_wrap=True)


def chat_command(
    project: Path = typer.Option(..., "--project", "-p", help="Project folder; created if missing, continued if not."),
    llm: str | None = typer.Option(None, "--llm", help="provider:model, e.g. openai:gpt-4.1-mini or ollama:llama3.1."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible server URL (Ollama, vLLM…)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Generation backend."),
    resolution: str | None = typer.Option(None, "--resolution", "-r", help="Short side of the frame, e.g. 720p."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve spending without asking."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Never spend more than this in the session."),
    inputs: list[Path] = typer.Option([], "--input", "-i", help="A file of yours the assistant may use (repeatable)."),
    message: list[str] = typer.Option([], "--message", "-m", help="Send this message instead of prompting (repeatable)."),
) -> None:
    """Talk to the assistant about a project (the conversation is kept)."""
    from shotsmith.config import load_settings

    settings = load_settings()
    session = ChatSession.open(project, llm=llm, llm_base_url=llm_base_url, backend=backend or settings.backend,
                               auto_approve=yes, max_cost=max_cost, resolution=resolution, inputs=tuple(inputs))
    printer = EventPrinter()
    console.print(f"[cyan]•[/] {session.who_text()} · project {session.store.root}", soft_wrap=True)
    for role, text in session.history()[-10:]:
        console.print(f"[dim]{role}: {text}[/]", soft_wrap=True, markup=False)
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
                if text.strip().lower() in ("/quit", "/exit", "quit", "exit"):
                    break
                turn = session.send(text)
            _drain(turn, printer)
            if session.last_error is not None and message:
                raise session.last_error
    finally:
        session.close()


def _drain(turn, printer: EventPrinter) -> None:
    async def go() -> None:
        async for event in turn:
            printer(event)

    asyncio.run(go())


def register_chat(app: typer.Typer) -> None:
    app.command("chat")(chat_command)

