"""Turning a brief into a plan: the offline planner's draft, or a model's own shot list checked against the brief.

Both land in :meth:`ProductionService.plan_brief`; a model's list that ignores
what the brief fixed (total duration, aspect ratio, shot count, the user's
named files) is refused with the reasons, so the model can fix it.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from shotsmith.brief import Brief, Shot, ShotPlan
from shotsmith.errors import InvalidInputError
from shotsmith.formats import AspectRatio, CameraMove, Transition, TransitionKind
from shotsmith.plan_edits import compose_prompt

DURATION_TOLERANCE = 0.10


class ShotDraft(BaseModel):
    """One shot as a model proposes it; the prompt is composed from the parts when left out."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, description="Who or what is on screen, e.g. 'a barista'.")
    action: str = Field(min_length=1, description="What happens, e.g. 'pouring latte art'.")
    setting: str = Field(default="", description="Where, e.g. 'in a sunlit cafe'.")
    camera: CameraMove = Field(default=CameraMove.STATIC, description="Camera move.")
    style: str = Field(default="", description="Style / mood / grade, e.g. 'warm cinematic grade'.")
    lighting: str = Field(default="", description="Lighting, e.g. 'soft morning light'.")
    duration_s: float = Field(gt=0, le=120, description="Seconds on screen.")
    source: str | None = Field(default=None, description="A media file of the user's to show instead of generating.")
    transition: TransitionKind = Field(default=TransitionKind.CUT, description="Transition into the next shot.")


def plan_from_drafts(drafts: list[ShotDraft], *, aspect_ratio: AspectRatio, planner: str, fps: int = 30,
                     title: str | None = None, transition_s: float = 0.4) -> ShotPlan:
    if not drafts:
        raise InvalidInputError("a plan needs at least one shot")
    shots = []
    for i, d in enumerate(drafts):
        transition = (Transition.cut() if d.transition is TransitionKind.CUT
                      else Transition(kind=d.transition, duration_s=min(transition_s, d.duration_s / 3)))
        shots.append(Shot(index=i + 1, prompt=compose_prompt(d.subject, d.action, d.setting, d.camera, d.style,
                                                             d.lighting),
                          duration_s=round(d.duration_s, 3), camera=d.camera, style=d.style, aspect_ratio=aspect_ratio,
                          transition_to_next=transition, subject=d.subject, action=d.action, setting=d.setting,
                          lighting=d.lighting, source=d.source))
    return ShotPlan(shots=shots, aspect_ratio=aspect_ratio, fps=fps, planner=planner, title=title)


def check_against_brief(plan: ShotPlan, brief: Brief) -> list[str]:
    """Problems with a plan that ignores what the brief fixed; an empty list means it fits."""
    problems = []
    total = plan.total_duration_s
    if abs(total - brief.duration_s) > DURATION_TOLERANCE * brief.duration_s + 1e-6:
        problems.append(f"the shots add up to {total:g} s but the brief asks for {brief.duration_s:g} s "
                        f"(allowed: {brief.duration_s * (1 - DURATION_TOLERANCE):.1f}-"
                        f"{brief.duration_s * (1 + DURATION_TOLERANCE):.1f} s)")
    if plan.aspect_ratio != brief.aspect_ratio:
        problems.append(f"the plan is {plan.aspect_ratio} but the brief asks for {brief.aspect_ratio}")
    if brief.shot_count is not None and len(plan.shots) != brief.shot_count:
        problems.append(f"the plan has {len(plan.shots)} shots but the brief asks for {brief.shot_count}")
    prompts = [s.prompt.strip().lower() for s in plan.shots]
    if len(set(prompts)) != len(prompts):
        problems.append("two shots have the same prompt; give each shot its own subject, action or framing")
    return problems


def mentioned_media(text: str, media: list[str]) -> list[str]:
    """Media files the brief names ("use my clip beach.mp4")."""
    lowered = text.lower()
    return [m for m in media if re.search(rf"(?<![\w.-]){re.escape(m.rsplit('/', 1)[-1].lower())}(?![\w-])", lowered)]
