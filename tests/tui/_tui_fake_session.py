"""A scripted :class:`ChatSessionLike` for driving the TUI without a model, backend or ffmpeg.

Each call of ``send``, ``respond`` or ``run_brief`` plays the next turn of the
script: a list of items, each

* an event (yielded);
* a :class:`ShotsmithError` (the turn ends the way a real session ends a failed
  turn: an error notice, or a warning one for ``CancelledError``, and
  ``last_error`` set);
* ``Raise(exc)`` (``exc`` is raised, as a broken third-party session would);
* :data:`WAIT_FOR_CANCEL` (blocks until ``cancel()``, then ends cancelled as
  the real session does);
* an ``asyncio.Event`` (blocks until the test sets it, to look at the screen in
  the middle of a turn).

It records what the UI asked of it, so tests can assert on ``sent``,
``responses`` and ``cancel_calls``. ``store`` and ``service`` hold only what
the UI reads of them (root, saved plan, spending ledger, kept renders, the
history's head, backend name).
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
from shotsmith.assistant.production.spending import Estimate, ShotCost
from shotsmith.brief import Shot, ShotPlan
from shotsmith.errors import CancelledError, ShotsmithError
from shotsmith.formats import CameraMove

WAIT_FOR_CANCEL = object()

#: A fixed folder name so snapshots do not depend on pytest's tmp paths; nothing is written there.
PROJECT_ROOT = Path("/projects/coffee-ad")

BRIEF = "A 9 second vertical ad for my coffee shop: morning light, latte art, warm grade"


@dataclass(frozen=True)
class Raise:
    """A script item: raise ``error`` out of the event stream instead of reporting it."""

    error: BaseException


def coffee_plan(*, speed: float = 1.0) -> ShotPlan:
    """The plan a planner would make for :data:`BRIEF`; ``speed`` is shot 2's playback speed."""
    shots = [
        Shot(index=1, prompt="Wide shot of a sunlit coffee shop at opening time, steam rising from the espresso "
                             "machine, slow push-in, morning light, warm cinematic grade",
             duration_s=3, camera=CameraMove.ZOOM_IN, aspect_ratio="9:16"),
        Shot(index=2, prompt="Close-up of a barista pouring latte art into a white cup, slow pan right, "
                             "soft window light, warm grade", duration_s=3, camera=CameraMove.PAN_RIGHT,
             aspect_ratio="9:16", speed=speed),
        Shot(index=3, prompt="Medium shot of a happy customer taking the first sip by the window, static camera, "
                             "golden morning light", duration_s=3, camera=CameraMove.STATIC, aspect_ratio="9:16"),
    ]
    return ShotPlan(shots=shots, aspect_ratio="9:16", planner="scripted-model")


def runway_estimate(shots: tuple[int, ...] = (1, 2, 3), cached: tuple[int, ...] = ()) -> Estimate:
    """What three 3-second Runway shots cost: 25 credits (0.25 USD) each."""
    return Estimate(backend="runway", unit="credits", needs_approval=True, cached=list(cached),
                    source="Runway price list, gen4_turbo",
                    to_generate=[ShotCost(shot_index=i, cache_key=f"key-{i}", amount=25, unit="credits", usd=0.25)
                                 for i in shots])


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


def approval_turn(estimate: Estimate | None = None, *, unpriced: bool = False) -> list[Any]:
    """The second turn stops to ask before spending (``unpriced``: the cost could not be estimated)."""
    if unpriced:
        request = ApprovalRequested("req-1", "generate_shots",
                                    "Generate shots (the cost could not be estimated: runway did not answer)")
    else:
        estimate = estimate or runway_estimate()
        request = ApprovalRequested("req-1", "generate_shots", f"Generate: {estimate.text}", estimate)
    return [AssistantText("Generating costs money, so I need your approval first."), request]


def generation_turn(spent_usd: float | None = 0.75) -> list[Any]:
    """After a yes: per-shot progress, render progress, the output file; ``spent_usd`` lands in the ledger."""
    events: list[Any] = []
    for index in (1, 2, 3):
        events += [GenerationProgress(index, "queued"), GenerationProgress(index, "running", 50.0),
                   GenerationProgress(index, "done", 100.0)]
    events += [RenderProgress(3.0, 9.0), RenderProgress(9.0, 9.0),
               OutputWritten(str(PROJECT_ROOT / "renders" / "final.mp4"), 9.0, 2_345_678),
               AssistantText("Done: renders/final.mp4 is ready.")]
    if spent_usd is not None:
        events.append(("spend", spent_usd))
    return events


def rejected_turn() -> list[Any]:
    return [AssistantText("OK, nothing was generated and nothing was spent.")]


@dataclass
class ScriptedSession:
    """Plays ``turns`` in order; ``past`` is what a restored project's history returns."""

    turns: list[list[Any]] = field(default_factory=list)
    answering: str = "scripted-model"
    past: list[tuple[str, str]] = field(default_factory=list)
    plan: ShotPlan | None = None
    backend: str = "runway"
    #: What the project holds from before: RenderRecords and the history's head (see ProjectStore).
    renders: list[Any] = field(default_factory=list)
    head: int = 0
    root: Path = PROJECT_ROOT
    sent: list[str] = field(default_factory=list)
    responses: list[bool] = field(default_factory=list)
    cancel_calls: int = 0
    closed: bool = False

    def __post_init__(self) -> None:
        ledger = SimpleNamespace(spent_usd=0.0)
        self.store = SimpleNamespace(root=self.root,
                                     project=SimpleNamespace(plan=self.plan, spending=ledger, renders=list(self.renders)),
                                     history=SimpleNamespace(index=SimpleNamespace(head=self.head, entries=[])))
        self.service = SimpleNamespace(backend_name=self.backend, store=self.store)
        self.last_error: ShotsmithError | None = None
        self._pending = False
        self._cancel = asyncio.Event()

    # -- ChatSessionLike ---------------------------------------------------------------
    @property
    def pending_approval(self) -> bool:
        return self._pending

    @property
    def unfinished(self) -> bool:
        return False

    def send(self, text: str) -> AsyncIterator[AgentEvent]:
        self.sent.append(text)
        return self._play()

    def run_brief(self, brief: str, *, produce: bool = True) -> AsyncIterator[AgentEvent]:
        self.sent.append(brief)
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

    def who_text(self) -> str:
        return f"Answering: {self.answering}"

    def announce_who(self) -> str:
        return self.who_text()

    def close(self) -> None:
        self.closed = True

    # -- playing a turn ----------------------------------------------------------------
    async def _play(self) -> AsyncIterator[AgentEvent]:
        if not self.turns:
            raise AssertionError("the UI started a turn the script does not have")
        self._cancel.clear()
        self.last_error = None
        for item in self.turns.pop(0):
            await asyncio.sleep(0)  # a real session yields between events too
            if item is WAIT_FOR_CANCEL:
                await self._cancel.wait()
                item = CancelledError("cancelled; finished shots are kept")
            if isinstance(item, asyncio.Event):
                await item.wait()
                continue
            if isinstance(item, Raise):
                raise item.error
            if isinstance(item, ShotsmithError):
                self.last_error = item
                level = "warning" if isinstance(item, CancelledError) else "error"
                yield Notice(item.message + (f" ({item.hint})" if item.hint else ""), level=level)
                return
            if isinstance(item, tuple) and item[0] == "spend":
                self.store.project.spending.spent_usd += item[1]
                continue
            if isinstance(item, ApprovalRequested):
                self._pending = True
            if isinstance(item, PlanUpdated):
                self.store.project.plan = item.plan
            yield item


@dataclass
class ResumableSession(ScriptedSession):
    """A scripted session that, like the agent's, can ``resume()``: ask a restored approval again."""

    resumed: int = 0

    def resume(self) -> AsyncIterator[AgentEvent]:
        self.resumed += 1
        return self._play()
