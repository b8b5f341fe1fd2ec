"""How session events look in a terminal: one printer for ``run`` and ``chat``.

``run`` on a terminal shows live progress bars (a bar per shot and one for the
render); ``chat``, piped output and ``--plan-only`` print plain lines that mix
well with prompts. Text from the assistant, file names and error messages are
printed as text, never as Rich markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from shotsmith.assistant.events import (AgentEvent, ApprovalRequested, AssistantText, GenerationProgress, Notice,
                                        OutputWritten, PlanUpdated, RenderProgress, ToolCallFinished,
                                        ToolCallStarted)
from shotsmith.brief import ShotPlan

console = Console(highlight=False)

_LEVEL_STYLE = {"warning": "yellow", "error": "red", "info": "cyan"}


def plan_table(plan: ShotPlan) -> Table:
    """The plan as a table; a speed column appears only when some shot is not at 1x."""
    table = Table(title=f"Shot plan · {plan.aspect_ratio} · {plan.total_duration_s:.1f} s · {plan.planner}",
                  title_justify="left", expand=False)
    show_speed = any(s.speed != 1 for s in plan.shots)
    columns = [("#", "right"), ("dur", "right"), *([("speed", "right")] if show_speed else []), ("camera", "left"),
               ("→ next", "left"), ("prompt", "left")]
    for name, justify in columns:
        table.add_column(name, justify=justify, overflow="fold", max_width=90 if name == "prompt" else None)
    for shot in plan.shots:
        trans = shot.transition_to_next
        nxt = trans.kind.value if not trans.overlap_s else f"{trans.kind.value} {trans.duration_s:g}s"
        cells = [str(shot.index), f"{shot.duration_s:.2f}s", *([f"{shot.speed:g}x"] if show_speed else []),
                 shot.camera.value, nxt, Text(shot.prompt)]
        table.add_row(*cells)
    return table


def line(marker: str, style: str, text: str) -> Text:
    """``• text`` with the marker styled and the text literal (it may hold brackets)."""
    return Text.assemble((marker, style), " ", text)


class EventPrinter:
    """Prints session events; with ``progress_bars`` shots and the render get live bars."""

    def __init__(self, *, progress_bars: bool = False, stream_text: bool = True, announce_outputs: bool = True) -> None:
        self.progress_bars = progress_bars and console.is_terminal
        #: ``run`` ends with its own summary line, so it does not announce each written file.
        self.announce_outputs = announce_outputs
        self.stream_text = stream_text
        self._streaming = False
        self._render_pct = -1
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                 TextColumn("{task.fields[state]}"), TimeRemainingColumn(), console=console)
        self._shot_tasks: dict[int | None, TaskID] = {}
        self._render_task: TaskID | None = None

    def __call__(self, event: AgentEvent) -> None:
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
                    console.print(Text.assemble(("assistant:", "bold"), " ", text), soft_wrap=True)
            case Notice(text=text, level=level):
                console.print(line("•", _LEVEL_STYLE.get(level, "cyan"), text), soft_wrap=True)
            case ToolCallStarted(name=name):
                console.print(Text(f"→ {name}", style="dim"))
            case ToolCallFinished(name=name, ok=ok, summary=summary):
                if not ok:
                    console.print(line(f"  {name} refused:", "yellow", summary[:300]), soft_wrap=True)
            case PlanUpdated(plan=plan):
                self._plan(plan)
            case GenerationProgress(shot_index=index, state=state, percent=percent, message=message, kind=kind):
                self._shot(index, state, percent, message, kind)
            case RenderProgress(seconds_done=done, seconds_total=total):
                self._render(done, total)
            case OutputWritten(path=path, duration_s=duration, size_bytes=size):
                self._finish_render()
                if self.announce_outputs:
                        console.print(Text.assemble(("✓", "bold green"), " wrote ", (path, "bold"),
                                                f" · {duration:.2f} s · {size / 1e6:.1f} MB"), soft_wrap=True)
            case ApprovalRequested(description=description):
                self.stop()
                console.print(line("approval needed:", "bold yellow", description), soft_wrap=True)

    def _plan(self, plan: ShotPlan) -> None:
        # A plan re-sent after binding clips would print the same table again: only show real changes.
        shown = [(s.index, s.prompt, s.duration_s, s.speed, s.transition_to_next) for s in plan.shots]
        if shown == getattr(self, "_last_plan", None):
            return
        self._last_plan = shown
        self.stop()
        console.print(plan_table(plan))
        self._shot_tasks.clear()

    def _shot(self, index: int | None, state: str, percent: float | None, message: str, kind: str = "shot") -> None:
        # kind: "shot" (the clip), "still" (its storyboard keyframe) or "voice" (its line): a redrawn still is
        # "still 2: done", not "shot 2: done".
        if self.progress_bars:
            key = (kind, index)
            if key not in self._shot_tasks:
                self.progress.start()
                self._shot_tasks[key] = self.progress.add_task(f"{kind} {index:>2}" if index else kind, total=100,
                                                               state="waiting")
            self.progress.update(self._shot_tasks[key], state=state,
                                 **({"completed": percent} if percent is not None else {}))
        elif state in ("done", "cached", "failed", "cancelled"):
            style = {"failed": "red", "cancelled": "yellow"}.get(state, "green")
            console.print(Text.assemble(f"  {kind} {index}: ", (state, style), f" {message}".rstrip()), soft_wrap=True)

    def _render(self, done: float, total: float) -> None:
        if self.progress_bars:
            if self._render_task is None:
                self.progress.start()
                self._render_task = self.progress.add_task("render ", total=max(total, 0.001), state="encoding")
            self.progress.update(self._render_task, completed=done, state="encoding")
            return
        pct = int(100 * done / total) // 25 * 25 if total else 0
        if pct != self._render_pct:
            self._render_pct = pct
            console.print(f"  render {pct}%")

    def _finish_render(self) -> None:
        self._render_pct = -1
        if self._render_task is not None:
            self.progress.update(self._render_task, state="done")
            self._render_task = None
        self.stop()

    def stop(self) -> None:
        self.progress.stop()
