"""Pure edits of a ShotPlan: draft from shot specs, edit one shot, reorder, reformat, use footage.

The LLM tools and the offline conversation both call these, so "make shot 2
slower" means the same thing whoever answers. Every function returns a new,
validated plan and never touches generated clips: which shots need
regenerating follows from the requests alone (see :mod:`.production`).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from shotsmith.brief import Brief, Shot, ShotPlan
from shotsmith.errors import InvalidInputError
from shotsmith.formats import AspectRatio, CameraMove, Transition, TransitionKind

DURATION_TOLERANCE = 0.10


class ShotDraft(BaseModel):
    """One shot as the model proposes it; the prompt is composed from the parts when left out."""

    subject: str = Field(min_length=1, description="Who or what is on screen, e.g. 'a barista'.")
    action: str = Field(min_length=1, description="What happens, e.g. 'pouring latte art'.")
    setting: str = Field(default="", description="Where, e.g. 'in a sunlit cafe'.")
    camera: CameraMove = Field(default=CameraMove.STATIC, description="Camera move.")
    style: str = Field(default="", description="Style / mood, e.g. 'warm cinematic grade'.")
    lighting: str = Field(default="", description="Lighting, e.g. 'soft morning light'.")
    duration_s: float = Field(gt=0, le=120, description="Seconds on screen.")
    prompt: str | None = Field(default=None, description="Full generation prompt; default: composed from the fields.")
    source: str | None = Field(default=None, description="Project media file to use instead of generating (user footage).")
    transition: TransitionKind = Field(default=TransitionKind.CUT, description="Transition into the next shot.")


def compose_prompt(subject: str, action: str, setting: str = "", camera: CameraMove = CameraMove.STATIC,
                   style: str = "", lighting: str = "") -> str:
    """The seed's prompt order: subject, action, setting, camera movement, lighting, style/mood."""
    head = f"{subject} {action}".strip()
    return ", ".join(p for p in (head, setting, CameraMove(camera).phrase, lighting, style) if p and p.strip())


def _renumber(shots: list[Shot], aspect: str) -> list[Shot]:
    return [s.model_copy(update={"index": i + 1, "aspect_ratio": aspect}) for i, s in enumerate(shots)]


def plan_from_drafts(drafts: list[ShotDraft], *, aspect_ratio: AspectRatio, planner: str, fps: int = 30,
                     title: str | None = None, transition_s: float = 0.4) -> ShotPlan:
    if not drafts:
        raise InvalidInputError("a plan needs at least one shot")
    shots = []
    for i, d in enumerate(drafts):
        transition = (Transition.cut() if d.transition is TransitionKind.CUT
                      else Transition(kind=d.transition, duration_s=min(transition_s, d.duration_s / 3)))
        shots.append(Shot(index=i + 1, prompt=(d.prompt or compose_prompt(d.subject, d.action, d.setting, d.camera,
                                                                           d.style, d.lighting)),
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


def _shot(plan: ShotPlan, index: int) -> Shot:
    for shot in plan.shots:
        if shot.index == index:
            return shot
    raise InvalidInputError(f"there is no shot {index}; the plan has shots 1-{len(plan.shots)}")


def edit_shot(plan: ShotPlan, index: int, *, prompt: str | None = None, duration_s: float | None = None,
              camera: CameraMove | None = None, style: str | None = None, subject: str | None = None,
              action: str | None = None, setting: str | None = None, lighting: str | None = None,
              move_to: int | None = None) -> ShotPlan:
    """Change one shot's fields (and optionally its position); the others are left exactly as they were."""
    shot = _shot(plan, index)
    camera = CameraMove(camera) if camera is not None else None
    updates: dict = {k: v for k, v in {"duration_s": duration_s, "camera": camera, "style": style, "subject": subject,
                                       "action": action, "setting": setting, "lighting": lighting}.items()
                     if v is not None}
    if duration_s is not None and not 0 < duration_s <= 120:
        raise InvalidInputError(f"shot duration {duration_s:g} s is out of range (0-120 s)")
    if prompt is not None:
        if not prompt.strip():
            raise InvalidInputError("a shot prompt cannot be empty")
        updates["prompt"] = prompt.strip()
    elif any(k in updates for k in ("camera", "style", "subject", "action", "setting", "lighting")):
        merged = shot.model_copy(update=updates)
        updates["prompt"] = compose_prompt(merged.subject or shot.prompt, merged.action, merged.setting, merged.camera,
                                           merged.style, merged.lighting)
    edited = shot.model_copy(update=updates)
    shots = [edited if s.index == index else s for s in plan.shots]
    plan = plan.model_copy(update={"shots": shots})
    if move_to is not None and move_to != index:
        order = [s.index for s in plan.shots if s.index != index]
        if not 1 <= move_to <= len(plan.shots):
            raise InvalidInputError(f"cannot move shot {index} to position {move_to}; positions are 1-{len(plan.shots)}")
        order.insert(move_to - 1, index)
        plan = reorder(plan, order)
    return ShotPlan.model_validate(plan.model_dump())


def reorder(plan: ShotPlan, order: list[int]) -> ShotPlan:
    """Put the shots in ``order`` (old indices); transitions stay with the cut points, not the shots."""
    indices = [s.index for s in plan.shots]
    if sorted(order) != sorted(indices):
        raise InvalidInputError(f"the new order {order} must list every shot {indices} exactly once")
    by_index = {s.index: s for s in plan.shots}
    cuts = [s.transition_to_next for s in plan.shots]
    shots = [by_index[i].model_copy(update={"transition_to_next": cuts[pos]}) for pos, i in enumerate(order)]
    return ShotPlan.model_validate({**plan.model_dump(), "shots": [s.model_dump() for s in
                                                                    _renumber(shots, plan.aspect_ratio)]})


def swap(plan: ShotPlan, a: int, b: int) -> ShotPlan:
    order = [s.index for s in plan.shots]
    _shot(plan, a), _shot(plan, b)
    ia, ib = order.index(a), order.index(b)
    order[ia], order[ib] = order[ib], order[ia]
    return reorder(plan, order)


def set_aspect_ratio(plan: ShotPlan, aspect_ratio: AspectRatio) -> ShotPlan:
    return ShotPlan.model_validate({**plan.model_dump(), "aspect_ratio": aspect_ratio,
                                    "shots": [s.model_dump() for s in _renumber(plan.shots, aspect_ratio)]})


def use_footage(plan: ShotPlan, source: str, *, position: str = "replace", index: int = 1,
                duration_s: float | None = None, description: str = "") -> ShotPlan:
    """Place user footage: ``replace`` shot ``index`` with it, or ``insert`` it before shot ``index``.

    ``source`` is the project-relative (or registered input) path; the caller has
    already checked it is allowed and readable.
    """
    label = description or f"user footage {source.rsplit('/', 1)[-1]}"
    if position == "replace":
        shot = _shot(plan, index)
        updates = {"source": source, "prompt": f"{label} (footage: {source})", "subject": label,
                   "action": "as filmed"}
        if duration_s:
            updates["duration_s"] = duration_s
        shots = [shot.model_copy(update=updates) if s.index == index else s for s in plan.shots]
    elif position == "insert":
        if not 1 <= index <= len(plan.shots) + 1:
            raise InvalidInputError(f"cannot insert at position {index}; positions are 1-{len(plan.shots) + 1}")
        new = Shot(index=index, prompt=f"{label} (footage: {source})", duration_s=duration_s or 3.0,
                   aspect_ratio=plan.aspect_ratio, source=source, subject=label, action="as filmed")
        shots = list(plan.shots)
        shots.insert(index - 1, new)
    else:
        raise InvalidInputError(f"unknown position {position!r}; use replace or insert")
    return ShotPlan.model_validate({**plan.model_dump(), "shots": [s.model_dump() for s in
                                                                    _renumber(shots, plan.aspect_ratio)]})
