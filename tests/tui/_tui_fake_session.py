"""A scripted :class:`ChatSessionLike` for driving the TUI without a model, backend or ffmpeg.

Each call of ``send`` or ``respond`` plays the next turn of the script: a list
of items, each an event (yielded), an exception (raised, as a failing session
would), :data:`WAIT_FOR_CANCEL` (blocks until ``cancel()``, then raises
``CancelledError`` as the real session does) or an ``asyncio.Event`` (blocks
until the test sets it, to look at the screen in the middle of a turn). It
records what the UI asked of it, so tests can assert on ``sent``,
``responses`` and ``cancelled``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from shotsmith.assistant.events import (AgentEvent, ApprovalRequested, AssistantText, GenerationProgress, Notice,
                                        OutputWritten, PlanUpdated, RenderProgress, ToolCallFinished,
                                        ToolCallStarted)
from shotsmith.brief import Shot, ShotPlan
from shotsmith.errors import CancelledError
from shotsmith.formats import CameraMove

WAIT_FOR_CANCEL = object()

#: A fixed folder name so snapshots do not depend on pytest's tmp paths; nothing is written there.
PROJECT_ROOT = Path("/projects/coffee-ad")

BRIEF = "A 9 second vertical ad for my coffee shop: morning light, latte art, warm grade"


def coffee_plan() -> dict[str, Any]:
    """The plan a planner would make for :data:`BRIEF`, dumped the way ``PlanUpdated`` carries it."""
    shots = [
        Shot(index=1, prompt="Wide shot of a sunlit coffee shop at opening time, steam rising from the espresso "
                             "machine, slow push-in, morning light, warm cinematic grade",
             duration_s=3, camera=CameraMove.ZOOM_IN, aspect_ratio="9:16"),
        Shot(index=2, prompt="Close-up of a barista pouring latte art into a white cup, slow pan right, "
                             "soft window light, warm grade", duration_s=3, camera=CameraMove.PAN_RIGHT,
             aspect_ratio="9:16"),
        Shot(index=3, prompt="Medium shot of a happy customer taking the first sip by the window, static camera, "
                             "golden morning light", duration_s=3, camera=CameraMove.STATIC, aspect_ratio="9:16"),
    ]
    return ShotPlan(shots=shots, aspect_ratio="9:16", planner="scripted-model").model_dump(mode="json")


def plan_turn() -> list[Any]:
    """The first turn: who answers, a tool call, the plan, and a streamed reply."""
    return [
        Notice("Answering: scripted-model"),
        ToolCallStarted("call-1", "plan_shots", {"brief": BRIEF}),
        ToolCallFinished("call-1", "plan_shots", True, "3 shots, 9 s at 9:16"),
        PlanUpdated(coffee_plan()),
        AssistantText("Planned 3 shots ", delta=True),
        AssistantText("for your coffee ad. ", delta=True),
        AssistantText("Say 'generate' when you are happy.", delta=True),
        AssistantText("Planned 3 shots for your coffee ad. Say 'generate' when you are happy."),
    ]


def approval_turn() -> list[Any]:
    """The second turn stops to ask before spending."""
    return [
        AssistantText("Generating costs money, so I need your approval first."),
        ApprovalRequested("req-1", "generate_shots", "Generate 3 shots with runway (gen4_turbo)", 0.75, "USD",
                          [1, 2, 3]),
    ]


def generation_turn() -> list[Any]:
    """After a yes: per-shot progress, render progress, the output file."""
    events: list[Any] = []
    for index in (1, 2, 3):
        events += [GenerationProgress(index, "queued"), GenerationProgress(index, "running", 50.0),
                   GenerationProgress(index, "done", 100.0)]
    events += [RenderProgress(3.0, 9.0), RenderProgress(9.0, 9.0),
               OutputWritten(str(PROJECT_ROOT / "renders" / "final.mp4"), 9.0, 2_345_678),
               AssistantText("Done: renders/final.mp4 is ready.")]
    return events


def rejected_turn() -> list[Any]:
    return [AssistantText("OK, nothing was generated and nothing was spent.")]


@dataclass
class ScriptedSession:
    """Plays ``turns`` in order; ``history`` is what a restored project would return."""

    turns: list[list[Any]] = field(default_factory=list)
    answering: str = "scripted-model"
    past: list[tuple[str, str]] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    sent: list[str] = field(default_factory=list)
    responses: list[bool] = field(default_factory=list)
    cancel_calls: int = 0

    def __post_init__(self) -> None:
        saved = ShotPlan.model_validate(self.plan) if self.plan else None
        self.store = SimpleNamespace(root=PROJECT_ROOT, project=SimpleNamespace(plan=saved))
        self._pending = False
        self._cancel = asyncio.Event()

    # -- ChatSessionLike ---------------------------------------------------------------
    @property
    def pending_approval(self) -> bool:
        return self._pending

    def send(self, text: str) -> AsyncIterator[AgentEvent]:
        self.sent.append(text)
        return self._play()

    def respond(self, approved: bool) -> AsyncIterator[AgentEvent]:
        self.responses.append(approved)
        self._pending = False
        return self._play()

    def cancel(self) -> None:
        self.cancel_calls += 1
        self._cancel.set()

    def history(self) -> list[tuple[str, str]]:
        return list(self.past)

    # -- playing a turn ----------------------------------------------------------------
    async def _play(self) -> AsyncIterator[AgentEvent]:
        if not self.turns:
            raise AssertionError("the UI started a turn the script does not have")
        self._cancel.clear()
        for item in self.turns.pop(0):
            await asyncio.sleep(0)  # a real session yields between events too
            if item is WAIT_FOR_CANCEL:
                await self._cancel.wait()
                raise CancelledError("cancelled; finished shots are kept")
            if isinstance(item, asyncio.Event):
                await item.wait()
                continue
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, ApprovalRequested):
                self._pending = True
            yield item
