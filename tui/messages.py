"""Textual messages the turn worker posts to the chat screen, one per kind of session event.

The worker that iterates ``session.send`` / ``session.respond`` never touches a
widget: it turns every :mod:`shotsmith.assistant.events` event into one of
these messages and posts it, so the screen updates in its own message loop and
a slow turn can never block the UI. They are dataclasses (Textual's
``Message.__post_init__`` supports that), which keeps them plain data like the
events they carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from shotsmith.assistant.events import (AgentEvent, ApprovalRequested, AssistantText, GenerationProgress, Notice,
                                        OutputWritten, PlanUpdated, RenderProgress, ToolCallFinished,
                                        ToolCallStarted)


@dataclass
class AssistantSaid(Message):
    """Assistant text: a streamed fragment (``delta``) or a whole message."""

    text: str
    delta: bool = False


@dataclass
class NoticePosted(Message):
    """A line that is not the assistant speaking (who answers, a capped duration, an error)."""

    text: str
    level: str = "info"


@dataclass
class ToolStarted(Message):
    call_id: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolFinished(Message):
    call_id: str
    name: str
    ok: bool
    summary: str


@dataclass
class PlanChanged(Message):
    """``plan`` is ``ShotPlan.model_dump(mode="json")``."""

    plan: dict[str, Any]


@dataclass
class ApprovalNeeded(Message):
    """The turn stopped to ask before spending; the screen opens the approval dialog."""

    request: ApprovalRequested


@dataclass
class ShotProgressed(Message):
    shot_index: int | None
    state: str
    percent: float | None = None
    message: str = ""


@dataclass
class RenderProgressed(Message):
    seconds_done: float
    seconds_total: float


@dataclass
class OutputReady(Message):
    path: str
    duration_s: float
    size_bytes: int


@dataclass
class TurnEnded(Message):
    """Turn number ``turn`` stopped iterating the session (normally, by an error or cancelled)."""

    turn: int


@dataclass
class ErrorReported(Message):
    """A turn failed with an error meant for the user; shown as a red line in the chat."""

    message: str
    hint: str | None = None
    level: str = "error"


def message_for(event: AgentEvent) -> Message:
    """The message that carries ``event`` to the screen."""
    match event:
        case AssistantText(text=text, delta=delta):
            return AssistantSaid(text, delta)
        case Notice(text=text, level=level):
            return NoticePosted(text, level)
        case ToolCallStarted(call_id=call_id, name=name, args=args):
            return ToolStarted(call_id, name, dict(args))
        case ToolCallFinished(call_id=call_id, name=name, ok=ok, summary=summary):
            return ToolFinished(call_id, name, ok, summary)
        case PlanUpdated(plan=plan):
            return PlanChanged(plan)
        case ApprovalRequested():
            return ApprovalNeeded(event)
        case GenerationProgress(shot_index=index, state=state, percent=percent, message=text):
            return ShotProgressed(index, state, percent, text)
        case RenderProgress(seconds_done=done, seconds_total=total):
            return RenderProgressed(done, total)
        case OutputWritten(path=path, duration_s=duration, size_bytes=size):
            return OutputReady(path, duration, size)
    # An event kind this UI does not know yet: show it rather than drop it silently.
    return NoticePosted(f"{type(event).__name__}: {event}", "info")
