"""What a conversation turn reports, as plain dataclasses.

The chat session (LLM agent or offline planner, behind one interface) yields
these events; the CLI prints them, the TUI posts them as messages, scripted
runs write them into the run report. Keeping them as data means no front end
depends on LangChain types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from shotsmith.brief import ShotPlan

if TYPE_CHECKING:
    from shotsmith.assistant.production.spending import Estimate


@dataclass(frozen=True)
class AssistantText:
    """Text from the assistant; ``delta`` is True for a streamed fragment of a longer message.

    A streamed message arrives as ``delta=True`` fragments followed by one
    ``delta=False`` event holding the whole message: a front end that shows
    fragments as they come replaces them with it; one that does not, waits for it.
    """

    text: str
    delta: bool = False


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not the assistant speaking (which planner answers, a capped duration)."""

    text: str
    level: Literal["info", "warning", "error"] = "info"


@dataclass(frozen=True)
class ToolCallStarted:
    call_id: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolCallFinished:
    call_id: str
    name: str
    ok: bool
    summary: str


@dataclass(frozen=True)
class PlanUpdated:
    """The shot plan changed; ``plan`` is the new plan itself."""

    plan: ShotPlan


@dataclass(frozen=True)
class ApprovalRequested:
    """The assistant wants to spend money or long GPU time and waits for a yes or no.

    The turn ends after this event; the front end answers with
    ``session.respond(approved)``, which resumes the same turn. ``estimate`` is
    what will be sent and what it costs (None when it could not be computed:
    answering yes then still spends nothing unless generation can price it).
    """

    request_id: str
    action: str
    description: str
    estimate: "Estimate | None" = None

    @property
    def estimate_usd(self) -> float:
        return self.estimate.usd if self.estimate else 0.0

    @property
    def shots(self) -> list[int]:
        return self.estimate.shots if self.estimate else []


@dataclass(frozen=True)
class GenerationProgress:
    shot_index: int | None
    state: str
    percent: float | None = None
    message: str = ""
    #: What is being made for the shot: "shot" (its clip), "still" (its storyboard keyframe) or "voice" (its line),
    #: so "still 2 done" is not shown as "shot 2 done" when only the still was redrawn.
    kind: str = "shot"


@dataclass(frozen=True)
class RenderProgress:
    seconds_done: float
    seconds_total: float


@dataclass(frozen=True)
class OutputWritten:
    path: str
    duration_s: float
    size_bytes: int


AgentEvent = (AssistantText | Notice | ToolCallStarted | ToolCallFinished | PlanUpdated | ApprovalRequested
              | GenerationProgress | RenderProgress | OutputWritten)
