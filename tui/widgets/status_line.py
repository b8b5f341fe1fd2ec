"""One line at the top: whether a turn is running, who answers, the backend, what was spent, the project.

Users must always know whether a language model or the offline planner is
answering (it changes what they can ask), which backend generates (it decides
whether anything costs money), how much this project has spent so far (from
the ledger in ``project.json``, so it holds across restarts) and where files
are written. The project path comes last so a narrow terminal cuts it, not the
rest.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from shotsmith.assistant.production.spending import money


class StatusLine(Static):
    answering: reactive[str] = reactive("")
    backend: reactive[str] = reactive("")
    spent_usd: reactive[float] = reactive(0.0)
    project: reactive[str] = reactive("")
    state: reactive[str] = reactive("ready")

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" {self.state} ", style="bold reverse" if self.state != "ready" else "bold")
        line.append(" answering: ")
        line.append(self.answering or "?", style="bold")
        if self.backend:
            line.append(" · backend: ")
            line.append(self.backend, style="bold")
        line.append(f" · spent {money(self.spent_usd)}")
        line.append(" · project: ")
        line.append(self.project)
        return line
