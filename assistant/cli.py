"""``shotsmith run``: a brief in, a finished video out, from a script or a terminal."""

from __future__ import annotations

import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from shotsmith.assistant.events import (AgentEvent, GenerationProgress, Notice, OutputWritten, PlanUpdated,
                                        RenderProgress)
from shotsmith.assistant.pipeline import RunOptions, RunReport, run_brief, write_report
from shotsmith.config import load_settings
from shotsmith.errors import InvalidInputError

console = Console(highlight=False)


def read_brief(brief: str) -> str:
    """A brief is text, or the path of a .txt/.md file holding it."""
    candidate = Path(brief).expanduser()
    if len(brief) < 4096 and candidate.suffix.lower() in {".txt", ".md"}:
        if not candidate.is_file():
            raise InvalidInputError(f"brief file {candidate} does not exist")
        return candidate.read_text(encoding="utf-8").strip()
    return brief.strip()


def plan_table(plan: dict) -> Table:
    table = Table(title=f"Shot plan · {plan['aspect_ratio']} · {sum(s['duration_s'] for s in plan['shots']):.1f} s "
                        f"· {plan['planner']}", title_justify="left", expand=False)
    table.add_column("#", justify="right")
    table.add_column("dur", justify="right")
    table.add_column("camera")
    table.add_column("→ next")
    table.add_column("prompt", overflow="fold", max_width=90)
    for shot in plan["shots"]:
        trans = shot["transition_to_next"]
        nxt = "cut" if trans["kind"] == "cut" else f"{trans['kind']} {trans['duration_s']:g}s"
        table.add_row(str(shot["index"]), f"{shot['duration_s']:.2f}s", shot["camera"], nxt, shot["prompt"])
    return table


class ConsoleRenderer:
    """Turns run events into a plan table, per-shot progress bars and a render bar."""

    def __init__(self) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 TextColumn("{task.fields[state]}"), TimeRemainingColumn(), console=console,
                                 transient=False)
        self.shot_tasks: dict[int | None, TaskID] = {}
        self.render_task: TaskID | None = None

    def __call__(self, event: AgentEvent) -> None:
        match event:
            case Notice(text=text, level=level):
                colour = {"warning": "yellow", "error": "red"}.get(level, "cyan")
                console.print(f"[{colour}]•[/] {text}", soft_wrap=True)
            case PlanUpdated(plan=plan):
                console.print(plan_table(plan))
                self.progress.start()
                for shot in plan["shots"]:
                    self.shot_tasks[shot["index"]] = self.progress.add_task(f"shot {shot['index']:>2}", total=100, state="waiting")
            case GenerationProgress(shot_index=index, state=state, percent=percent):
                task = self.shot_tasks.get(index)
                if task is not None:
                    self.progress.update(task, state=state, **({"completed": percent} if percent is not None else {}))
            case RenderProgress(seconds_done=done, seconds_total=total):
                if self.render_task is None:
                    self.render_task = self.progress.add_task("render ", total=max(total, 0.001), state="encoding")
                self.progress.update(self.render_task, completed=done, state="encoding")
            case OutputWritten():
                if self.render_task is not None:
                    self.progress.update(self.render_task, state="done")
                self.progress.stop()

    def stop(self) -> None:
        self.progress.stop()


def run_command(
    brief: str = typer.Argument(..., help="The brief, in quotes, or a .txt/.md file holding it."),
    output: Path = typer.Option(Path("out/shotsmith.mp4"), "--output", "-o", help="The video to write (.mp4, .mov, .mkv)."),
    project: Path | None = typer.Option(None, "--project", "-p", help="Project folder (default: <output>.shotsmith beside the output)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Generation backend (see `shotsmith backends list`)."),
    resolution: str | None = typer.Option(None, "--resolution", "-r", help="Short side of the frame: 360p, 480p, 540p, 720p, 1080p."),
    fps: int | None = typer.Option(None, "--fps", help="Frames per second."),
    seed: int | None = typer.Option(None, "--seed", help="Base seed for backends that take one."),
    json_report: Path | None = typer.Option(None, "--json", help="Write a machine-readable run report here."),
    plan_only: bool = typer.Option(False, "--plan-only", help="Print the plan and stop before generating."),
    llm: str | None = typer.Option(None, "--llm", help="Plan with a model: provider:model, e.g. openai:gpt-4.1-mini "
                                                       "(default: $SHOTSMITH_LLM, the config file, else the offline planner)."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible server URL (Ollama, vLLM, LM Studio…)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve generation that costs money without asking."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Stop before spending more than this (in the backend's unit)."),
    inputs: list[Path] = typer.Option([], "--input", "-i", help="A file of yours the assistant may use, e.g. footage (repeatable)."),
) -> None:
    """Plan, generate and assemble a video from a brief, non-interactively."""
    from shotsmith.assistant.llm import resolve_llm

    settings = load_settings()
    text = read_brief(brief)
    if max_cost is not None and max_cost < 0:
        raise InvalidInputError(f"--max-cost {max_cost:g} is negative")
    if resolve_llm(llm, llm_base_url, settings=settings) is not None:
        from shotsmith.assistant.cli_agent import run_agent_command

        return run_agent_command(brief=text, output=output, project=project, llm=llm, llm_base_url=llm_base_url,
                                 backend=backend or settings.backend, resolution=resolution or settings.resolution,
                                 fps=fps or settings.fps, yes=yes, max_cost=max_cost, inputs=inputs,
                                 json_report=json_report, plan_only=plan_only)
    options = RunOptions(brief=text, output=output, project_dir=project,
                         backend=backend or settings.backend, resolution=resolution or settings.resolution,
                         fps=fps or settings.fps, seed=seed)
    approval = None if plan_only else check_spending(options, yes=yes, max_cost=max_cost)
    renderer = ConsoleRenderer()
    cancel = threading.Event()
    try:
        report = run_brief(options, on_event=renderer, cancel=cancel, plan_only=plan_only)
    except KeyboardInterrupt:
        cancel.set()
        raise
    finally:
        renderer.stop()
    if approval:
        report.approvals.append(approval)
    if json_report:
        write_report(report, json_report)
    print_summary(report, json_report)


def print_summary(report: RunReport, json_report: Path | None) -> None:
    if report.output is None:
        console.print(f"[cyan]plan saved[/] in {report.project} (no video rendered: --plan-only)", soft_wrap=True)
    else:
        out = report.output
        size_mb = out.size_bytes / 1_000_000
        cached = sum(1 for s in report.shots if s.cached)
        console.print(f"[bold green]✓[/] wrote [bold]{out.path}[/] · {out.duration_s:.2f} s · {out.width}x{out.height}"
                      f" · {size_mb:.1f} MB · {report.timings_s.get('total', 0):.1f} s"
                      + (f" · {cached} shot(s) from cache" if cached else ""), soft_wrap=True)
    if json_report:
        console.print(f"report: {json_report}")


def check_spending(options: RunOptions, *, yes: bool, max_cost: float | None) -> dict | None:
    """Offline runs obey the same spending rules as the agent: estimate first, then --max-cost and --yes.

    Returns the approval given (for the report), or None when nothing needed one.
    """
    from shotsmith.assistant.agent_run import ApprovalNeededError
    from shotsmith.assistant.studio import BudgetExceededError
    from shotsmith.backends.registry import get_backend

    backend = get_backend(options.backend)
    backend.check_ready()  # no key or model: say so before estimating, asking or planning
    caps = backend.capabilities()
    if not caps.needs_approval and max_cost is None:
        return None
    estimate = run_brief(options, plan_only=True).cost
    amount, unit = estimate.get("amount", 0.0), estimate.get("unit", "USD")
    if max_cost is not None and amount > max_cost + 1e-9:
        raise BudgetExceededError(f"generating would cost about {amount:.2f} {unit}; that exceeds --max-cost "
                                  f"{max_cost:g}. Nothing was generated.",
                                  hint="raise --max-cost, shorten the brief, or use the free animatic backend")
    spend = f"costs about {amount:.2f} {unit}" if amount > 0 else "takes long GPU time"
    if caps.needs_approval and not yes:
        import sys

        if not (sys.stdin.isatty() and typer.confirm(f"Generating {spend}. Go ahead?", default=False)):
            raise ApprovalNeededError(f"generation {spend} and needs approval; nothing was spent",
                                      hint="run again with --yes (and --max-cost to cap it)")
        return {"action": "generate_shots", "amount": amount, "unit": unit, "approved": True, "by": "user"}
    if caps.needs_approval:
        return {"action": "generate_shots", "amount": amount, "unit": unit, "approved": True, "by": "--yes"}
    return None


def register_commands(app: typer.Typer) -> None:
    from shotsmith.assistant.cli_agent import register_chat

    app.command("run", no_args_is_help=True)(run_command)
    register_chat(app)
