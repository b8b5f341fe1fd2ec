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
) -> None:
    """Plan, generate and assemble a video from a brief, non-interactively."""
    settings = load_settings()
    options = RunOptions(brief=read_brief(brief), output=output, project_dir=project,
                         backend=backend or settings.backend, resolution=resolution or settings.resolution,
                         fps=fps or settings.fps, seed=seed)
    renderer = ConsoleRenderer()
    cancel = threading.Event()
    try:
        report = run_brief(options, on_event=renderer, cancel=cancel, plan_only=plan_only)
    except KeyboardInterrupt:
        cancel.set()
        raise
    finally:
        renderer.stop()
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


def register_commands(app: typer.Typer) -> None:
    app.command("run", no_args_is_help=True)(run_command)
