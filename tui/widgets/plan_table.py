"""The shot plan as a table (#, duration, camera, prompt) plus the full prompt of the selected row.

A prompt is a sentence or two; wrapping it in the table would make five shots
fill the screen, so the table cuts prompts to the column's width and the line
under it shows the highlighted shot's whole prompt.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from shotsmith.tui.format import short

FIXED_COLUMNS = (("#", 2), ("dur", 5), ("camera", 9))
#: Below this many cells for the prompt, the camera column gives its room to the prompt.
MIN_PROMPT = 16


class PlanTable(Vertical):
    """Holds the last plan the session reported; ``shots`` is its list of shot dicts."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        table: DataTable = DataTable(id="plan-rows", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="plan-detail", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Shot plan"
        self._fill()

    @property
    def shots(self) -> list[dict[str, Any]]:
        return list(self.plan["shots"]) if self.plan else []

    def show_plan(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        total = sum(float(s["duration_s"]) for s in plan["shots"])
        self.border_title = f"Shot plan · {plan.get('aspect_ratio', '?')} · {total:.1f} s · {len(plan['shots'])} shots"
        self._fill()

    def on_resize(self) -> None:
        self._fill()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        shots = self.shots
        if 0 <= event.cursor_row < len(shots):
            shot = shots[event.cursor_row]
            self.query_one("#plan-detail", Static).update(f"{shot['index']}. {shot['prompt']}")

    def _columns(self) -> tuple[list[tuple[str, int]], int]:
        """The fixed columns that fit, and the prompt column's width (each column has 1 cell of padding a side)."""
        room = self.content_region.width - 3  # the prompt's padding and the scrollbar
        columns = list(FIXED_COLUMNS)
        if room - sum(width + 2 for _, width in columns) < MIN_PROMPT:
            columns = [c for c in columns if c[0] != "camera"]
        return columns, max(8, room - sum(width + 2 for _, width in columns))

    def _fill(self) -> None:
        if not self.is_mounted:
            return
        table = self.query_one("#plan-rows", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        columns, width = self._columns()
        for label, column_width in columns:
            table.add_column(label, width=column_width, key=label)
        table.add_column("prompt", width=width, key="prompt")
        for shot in self.shots:
            cells = {"#": str(shot["index"]), "dur": f"{float(shot['duration_s']):.1f}s",
                     "camera": str(shot.get("camera", ""))}
            table.add_row(*(cells[label] for label, _ in columns), short(shot["prompt"], width),
                          key=str(shot["index"]))
        if not self.shots:
            self.query_one("#plan-detail", Static).update("No plan yet: describe the video you want.")
        elif 0 <= cursor < len(self.shots):
            table.move_cursor(row=cursor)
