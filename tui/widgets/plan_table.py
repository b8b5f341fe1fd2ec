"""The shot plan as a table (#, duration, speed, camera, prompt) plus the whole of the selected shot.

A prompt is a sentence or two; wrapping it in the table would make five shots
fill the screen, so the table cuts prompts to the column's width and the lines
under it show the highlighted shot's whole prompt and how it sits in the cut.
The speed column appears only when some shot is not at 1x, and then shows
only the changed shots: an edit the user asked for must be visible, normal
speed is noise. On a narrow terminal the camera column goes first.
"""

from __future__ import annotations

from typing import Any

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from shotsmith.brief import Shot, ShotPlan
from shotsmith.tui.format import short, speed_text

#: (label, width) of the columns before the prompt, in order.
COLUMNS = (("#", 2), ("dur", 5), ("speed", 5), ("camera", 9))
#: Below this many cells for the prompt, the camera column gives its room to the prompt.
MIN_PROMPT = 16


def shot_detail(shot: Shot) -> str:
    """The highlighted shot in full: its prompt, then what differs from a plain generated shot."""
    extras = []
    if shot.speed != 1:
        extras.append(f"plays at {shot.speed:g}x")
    if shot.in_s:
        extras.append(f"starts {shot.in_s:g} s into its clip")
    if shot.source:
        extras.append(f"footage: {shot.source}")
    elif shot.bound_clip:
        extras.append("clip ready")
    if shot.transition_to_next.continues:
        extras.append("the next shot starts from its last frame")
    elif shot.transition_to_next.kind.value != "cut":
        extras.append(f"{shot.transition_to_next.kind.value} {shot.transition_to_next.duration_s:g} s to the next")
    text = f"{shot.index}. {shot.prompt}"
    return text + ("\n" + " · ".join(extras) if extras else "")


class PlanTable(Vertical):
    """Holds the last plan the session reported (``plan``); posts :class:`ShotHighlighted` as the cursor moves."""

    @dataclass
    class ShotHighlighted(Message):
        """The user moved to ``shot`` (the thumbnails follow)."""

        shot: Shot

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan: ShotPlan | None = None
        self._filled_width = -1

    def compose(self) -> ComposeResult:
        table: DataTable = DataTable(id="plan-rows", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="plan-detail", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Shot plan"
        self._fill()

    @property
    def shots(self) -> list[Shot]:
        return list(self.plan.shots) if self.plan else []

    def show_plan(self, plan: ShotPlan | None) -> None:
        """Show ``plan``; None (an undo back before the first plan) empties the table."""
        self.plan = plan
        self.border_title = "Shot plan" if plan is None else (
            f"Shot plan · {plan.aspect_ratio} · {plan.total_duration_s:.1f} s · {len(plan.shots)} shots")
        self._fill()

    def on_resize(self) -> None:
        # Column widths follow the width only: a change of height (the thumbnails shown or hidden, the
        # progress panel growing) keeps the rows, so it costs no refill while a render runs.
        if self.content_region.width != self._filled_width:
            self._fill()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        shots = self.shots
        if 0 <= event.cursor_row < len(shots):
            self.query_one("#plan-detail", Static).update(shot_detail(shots[event.cursor_row]))
            self.post_message(self.ShotHighlighted(shots[event.cursor_row]))

    def _columns(self) -> tuple[list[tuple[str, int]], int]:
        """The columns that fit, and the prompt column's width (each column has 1 cell of padding a side)."""
        room = self.content_region.width - 3  # the prompt's padding and the scrollbar
        columns = list(COLUMNS)
        if all(shot.speed == 1 for shot in self.shots):
            columns = [c for c in columns if c[0] != "speed"]
        if room - sum(width + 2 for _, width in columns) < MIN_PROMPT:
            columns = [c for c in columns if c[0] != "camera"]
        return columns, max(8, room - sum(width + 2 for _, width in columns))

    def _fill(self) -> None:
        if not self.is_mounted:
            return
        self._filled_width = self.content_region.width
        table = self.query_one("#plan-rows", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        columns, width = self._columns()
        for label, column_width in columns:
            table.add_column(label, width=column_width, key=label)
        table.add_column("prompt", width=width, key="prompt")
        for shot in self.shots:
            cells = {"#": str(shot.index), "dur": f"{shot.duration_s:.1f}s", "speed": speed_text(shot.speed),
                     "camera": shot.camera.value}
            table.add_row(*(cells[label] for label, _ in columns), short(shot.prompt, width), key=str(shot.index))
        if not self.shots:
            self.query_one("#plan-detail", Static).update("No plan yet: describe the video you want.")
        elif 0 <= cursor < len(self.shots):
            table.move_cursor(row=cursor)
            self.query_one("#plan-detail", Static).update(shot_detail(self.shots[cursor]))
