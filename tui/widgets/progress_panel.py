"""Per-shot generation states, the render progress bar and the last output written.

Shot states come from the backends' job engine (queued, submitted, running,
downloading, done, cached, failed, cancelled); each gets a mark so the panel
reads at a glance which shots are finished. A new plan keeps the state of
every shot whose picture it does not change (the service re-sends the plan
after binding the finished clips, and a re-timed or sped-up shot keeps its
clip); a shot with a new prompt, camera or style waits again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from shotsmith.brief import ShotPlan
from shotsmith.tui.format import human_size, shown_path
from shotsmith.tui.renders import LastRender

MARKS = {"queued": ("·", ""), "submitted": ("↑", ""), "running": ("▶", "bold"), "downloading": ("↓", "bold"),
         "done": ("✓", "green"), "cached": ("✓", "green"), "failed": ("✗", "red"), "cancelled": ("–", "yellow"),
         "waiting": ("·", "dim"), "footage": ("▣", "")}

NO_RENDER = "render: none yet"


class ProgressPanel(Vertical):
    """``states`` maps a shot index to (state, percent, message)."""

    def __init__(self, root: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: The project folder: paths inside it are shown relative to it (they are long, the panel is narrow).
        self.root = root
        self.states: dict[int | None, tuple[str, float | None, str]] = {}
        #: shot index → what its state is about: "shot" (the clip), "still" (the storyboard keyframe), "voice".
        self.kinds: dict[int | None, str] = {}
        #: shot index → the generation signature its state belongs to.
        self._signatures: dict[int, str] = {}
        #: The last plan's cut without its clip bindings: when it changes, the last render is out of date.
        self._cut: list[dict] | None = None
        self.output: tuple[str, float, int] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="shot-states")
        yield Static(NO_RENDER, id="render-label", markup=False)
        yield ProgressBar(total=100, show_eta=False, id="render-bar")
        yield Static("", id="output-line", markup=False)
        yield Static("", id="open-line")

    def on_mount(self) -> None:
        self.border_title = "Progress"
        self._show_states()

    def show_plan(self, plan: ShotPlan | None) -> None:
        """A new plan: shots whose picture changed (or that are new) wait; the others keep their state.

        A shot that arrives with a usable clip bound to it is ``done`` and one
        that uses the user's footage is ``footage``, so a restored project shows
        what is already there. The render bar is cleared when the cut changed
        (not when the plan only came back with its clips bound). No plan (an undo
        back before the first one) leaves no shots.
        """
        states: dict[int | None, tuple[str, float | None, str]] = {}
        signatures: dict[int, str] = {}
        shots = plan.shots if plan is not None else []
        for shot in shots:
            signature = shot.generation_signature()
            signatures[shot.index] = signature
            if shot.source:
                states[shot.index] = ("footage", None, "")
            elif (self._signatures.get(shot.index) == signature and shot.index in self.states
                  and not (shot.bound_clip and self.states[shot.index][0] == "waiting")):
                states[shot.index] = self.states[shot.index]
            else:
                states[shot.index] = ("done", None, "") if self._on_disk(shot.bound_clip) else ("waiting", None, "")
        self.kinds = {i: self.kinds.get(i, "shot") if states[i] == self.states.get(i) else "shot" for i in states}
        self.states, self._signatures = states, signatures
        self._show_states()
        cut = [shot.model_dump(exclude={"clip", "clip_signature", "clip_length_s"}) for shot in shots]
        if cut != self._cut:
            self._cut = cut
            self.query_one("#render-bar", ProgressBar).update(total=100, progress=0)
            self.query_one("#render-label", Static).update(
                NO_RENDER if self.output is None else "render: out of date")

    def _on_disk(self, clip: str | None) -> bool:
        """A bound clip whose file is there: one deleted from clips/ is made again by the next render, not done."""
        if not clip:
            return False
        path = Path(clip)
        return self.root is None or (path if path.is_absolute() else Path(self.root) / path).is_file()

    def shot(self, index: int | None, state: str, percent: float | None, message: str, *, kind: str = "shot") -> None:
        """The latest state of shot ``index``'s ``kind`` of work: a redrawn still reads "still 2 done", so it
        is not taken for the shot's clip."""
        self.states[index] = (state, percent, message)
        self.kinds[index] = kind
        self._show_states()

    def render_progress(self, done: float, total: float) -> None:
        bar = self.query_one("#render-bar", ProgressBar)
        bar.update(total=max(total, 0.001), progress=min(done, total))
        self.query_one("#render-label", Static).update(f"render: {done:.1f} / {total:.1f} s")

    def output_written(self, path: str, duration_s: float, size_bytes: int) -> None:
        self.output = (path, duration_s, size_bytes)
        bar = self.query_one("#render-bar", ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        self.query_one("#render-label", Static).update("render: done")
        self._show_output(f"✓ {shown_path(path, self.root)}\n  {duration_s:.1f} s · {human_size(size_bytes)}")

    def restore_render(self, last: LastRender) -> None:
        """The project's latest render from before this session: where it is and whether it shows the plan as it is."""
        size = "file missing" if last.size_bytes is None else human_size(last.size_bytes)
        self.output = (str(last.path), last.duration_s, last.size_bytes or 0)
        if last.current is not False:
            bar = self.query_one("#render-bar", ProgressBar)
            bar.update(total=1, progress=1)
        label = {True: "render: done", False: "render: out of date", None: "render: last one"}[last.current]
        version = f" (v{last.version})" if last.version else ""
        self.query_one("#render-label", Static).update(label + version)
        self._show_output(f"✓ {shown_path(last.path, self.root)}\n  {last.duration_s:.1f} s · {size}")

    def _show_output(self, text: str) -> None:
        line = self.query_one("#output-line", Static)
        line.update(text)
        line.display = True
        opener = self.query_one("#open-line", Static)
        # A link: in a browser (textual-serve) this is how the video is downloaded; in a terminal it plays it.
        label = "⬇ download" if self.app.is_web else "▶ play"
        opener.update(f"[@click=screen.open_render]{label}[/] · Ctrl+O")
        opener.display = True

    def _show_states(self) -> None:
        text = Text()
        for index, (state, percent, message) in sorted(self.states.items(), key=lambda item: (item[0] is None, item[0] or 0)):
            mark, style = MARKS.get(state, ("?", ""))
            label = f"{self.kinds.get(index, 'shot')} {index:>2}" if index is not None else "all    "
            text.append(f"{mark} ", style=style)
            text.append(f"{label}  {state}")
            if percent is not None and state not in ("done", "cached"):
                text.append(f" {percent:.0f}%")
            if message and state == "failed":
                text.append(f" — {message}", style="red")
            text.append("\n")
        text.rstrip()
        self.query_one("#shot-states", Static).update(text if self.states else "no shots yet")
