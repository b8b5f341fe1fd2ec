"""Edits of a shot plan: the one way a planned project's cut changes.

Every front end lands here: the agent's tools, the offline chat, the editing
tools of :mod:`shotsmith.tools` (which act on "clip N" of a planned project as
shot N), edit-plan and OTIO imports. Each function returns a new validated
plan and checks that the derived cut can show it, so an edit is either
refused with one clear line or kept for good.

Which shots need generating again follows from the shots alone: a shot keeps
its bound clip while :meth:`~shotsmith.brief.Shot.generation_signature` is
unchanged (see :mod:`shotsmith.cut`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from shotsmith.brief import Shot, ShotPlan
from shotsmith.cut import derive_cut
from shotsmith.errors import InvalidInputError
from shotsmith.formats import AspectRatio, CameraMove, Transition, TransitionKind
from shotsmith.timeline import Timeline

if TYPE_CHECKING:
    from shotsmith.project import Project

#: Fields of a shot an edit may set directly.
SHOT_FIELDS = ("prompt", "duration_s", "camera", "style", "subject", "action", "setting", "lighting", "speed", "in_s",
               "volume", "mute", "fit", "motion")
#: Fields the prompt is composed from; changing one without a new prompt recomposes it.
PROMPT_PARTS = ("camera", "style", "subject", "action", "setting", "lighting")


def compose_prompt(subject: str, action: str, setting: str = "", camera: CameraMove = CameraMove.STATIC,
                   style: str = "", lighting: str = "") -> str:
    """The survey's prompt order: subject and action, setting, camera movement, lighting, style/mood."""
    head = f"{subject} {action}".strip()
    return ", ".join(p for p in (head, setting, CameraMove(camera).phrase, lighting, style) if p and p.strip())


def validated_plan(data: dict[str, Any] | ShotPlan) -> ShotPlan:
    """A plan re-validated as a whole and checked against the cut it derives; one clear error otherwise."""
    try:
        plan = ShotPlan.model_validate(data.model_dump() if isinstance(data, ShotPlan) else data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInputError(f"that edit gives an invalid plan: {first['msg']}" + (f" ({where})" if where else "")
                                ) from None
    derive_cut(plan).check()
    return plan


def find_shot(plan: ShotPlan, index: int) -> Shot:
    for shot in plan.shots:
        if shot.index == index:
            return shot
    raise InvalidInputError(f"there is no shot {index}; the plan has shots 1-{len(plan.shots)}")


def _renumbered(plan: ShotPlan, shots: list[Shot]) -> ShotPlan:
    if not shots:
        raise InvalidInputError("that would leave no shots", hint="keep at least one shot")
    renumbered = [s.model_copy(update={"index": i + 1, "aspect_ratio": plan.aspect_ratio}) for i, s in enumerate(shots)]
    return validated_plan({**plan.model_dump(), "shots": [s.model_dump() for s in renumbered]})


def edit_shot(plan: ShotPlan, index: int, *, transition: Transition | None = None, move_to: int | None = None,
              **changes: Any) -> ShotPlan:
    """Change one shot; every other shot stays exactly as it was (and keeps its clip).

    ``speed`` alone keeps the footage span: half speed shows the same frames for
    twice as long (the clip is reused, nothing is regenerated). Changing a
    prompt part without a new ``prompt`` recomposes the prompt from the parts.
    """
    unknown = sorted(set(changes) - set(SHOT_FIELDS))
    if unknown:
        raise InvalidInputError(f"unknown shot field(s): {', '.join(unknown)}", hint=f"fields: {', '.join(SHOT_FIELDS)}")
    shot = find_shot(plan, index)
    updates = {k: v for k, v in changes.items() if v is not None}
    if "camera" in updates:
        updates["camera"] = CameraMove(updates["camera"])
    if "prompt" in updates:
        if not str(updates["prompt"]).strip():
            raise InvalidInputError("a shot prompt cannot be empty")
        updates["prompt"] = str(updates["prompt"]).strip()
    elif any(k in updates for k in PROMPT_PARTS) and not shot.source:
        merged = shot.model_copy(update=updates)
        updates["prompt"] = compose_prompt(merged.subject or shot.prompt, merged.action, merged.setting, merged.camera,
                                           merged.style, merged.lighting)
    if "speed" in updates and "duration_s" not in updates:
        updates["duration_s"] = round(shot.duration_s * shot.speed / float(updates["speed"]), 3)
    if transition is not None:
        if transition.kind is TransitionKind.CUT:
            updates["transition_to_next"] = Transition.cut()
        else:  # a continue is a hard cut in the edit: it has no duration
            updates["transition_to_next"] = Transition(kind=transition.kind) if transition.continues else transition
        if index == plan.shots[-1].index and (transition.overlap_s or transition.continues):
            raise InvalidInputError(f"shot {index} is the last shot; a transition joins a shot to the next one")
        if transition.continues:
            check_continue(plan, index)
    try:
        edited = Shot.model_validate({**shot.model_dump(), **updates})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInputError(f"shot {index}: {field}: {first['msg']}") from None
    shots = [edited if s.index == index else s for s in plan.shots]
    new = validated_plan({**plan.model_dump(), "shots": [s.model_dump() for s in shots]})
    if move_to is not None and move_to != index:
        order = [s.index for s in new.shots if s.index != index]
        if not 1 <= move_to <= len(new.shots):
            raise InvalidInputError(f"cannot move shot {index} to position {move_to}; positions are 1-{len(new.shots)}")
        order.insert(move_to - 1, index)
        new = reorder(new, order)
    return new


def new_take(plan: ShotPlan, index: int, *, after: int = 0) -> ShotPlan:
    """Shot ``index`` made again as it is ("another take of shot 3", "regenerate shot 2"): the same prompt,
    a new generation.

    Why a take number and not a plain re-run: the take is part of the shot's generation signature and of
    its request (and moves its seed on), so the new take is priced, approved and cached like any
    generation while the take before stays cached: undo brings it back for free. The storyboard still
    stays the shot's, approval and all: a take is new video from the same panel, not a new panel.
    Footage, and a shot with no clip for what it shows now, have nothing to make again. ``after``: the
    highest take already made (an undo puts takes away, but their clips stay cached): the new take comes
    after it, so "another take" is never one the user has seen.
    """
    shot = find_shot(plan, index)
    if shot.source:
        raise InvalidInputError(f"shot {index} is your footage ({shot.source}); there is no generation to make again")
    if not shot.bound_clip:
        still = f"; to redraw its still, say what to change: 'redo {index} with a lower angle'" if shot.keyframe else ""
        raise InvalidInputError(f"shot {index} has no clip yet for what it shows now, so there is no take to make "
                                "again", hint="say 'generate' to make its clip" + still)
    taken = shot.model_copy(update={"take": max(shot.take, after) + 1})
    if shot.bound_keyframe:  # the same still, bound to the new take
        taken = taken.model_copy(update={"keyframe_signature": taken.generation_signature()})
    return plan.model_copy(update={"shots": [taken if s.index == index else s for s in plan.shots]})


def check_continue(plan: ShotPlan, index: int) -> None:
    """Shot ``index`` may end in ``continue`` only when it and the next shot are generated: the next
    shot is made image-to-video from this one's last frame (the backend's part is checked by the
    production service, which knows the backend)."""
    shots = [s.index for s in plan.shots]
    following = plan.shots[shots.index(index) + 1] if index in shots and shots.index(index) + 1 < len(shots) else None
    if following is None:
        raise InvalidInputError(f"shot {index} is the last shot; nothing can continue from it")
    for shot in (find_shot(plan, index), following):
        if shot.source:
            raise InvalidInputError(f"shot {following.index} cannot continue from shot {index}: shot {shot.index} "
                                    "is footage, not generated", hint="use a cut or another transition there")


def continue_from(plan: ShotPlan, index: int, source: int) -> ShotPlan:
    """Make shot ``index`` start from shot ``source``'s last frame ("continue shot 3 from shot 2").

    Only the shot right before can be continued from: the edit is the ``continue`` transition
    between them, a hard cut in the edit.
    """
    find_shot(plan, index), find_shot(plan, source)
    if index == plan.shots[0].index:
        raise InvalidInputError(f"shot {index} is the first shot; nothing comes before it to continue from")
    if source != index - 1:
        raise InvalidInputError(f"shot {index} can only continue from the shot right before it (shot {index - 1})",
                                hint=f"move shot {source} to position {index - 1} first" if source != index else None)
    return edit_shot(plan, source, transition=Transition(kind=TransitionKind.CONTINUE))


def reorder(plan: ShotPlan, order: list[int], *, remove: list[int] | None = None) -> ShotPlan:
    """Put the shots in ``order`` (current numbers), dropping ``remove``; cut points keep their transitions.

    Except ``continue``, which joins two shots (the second starts from the first's last frame): it stays
    with its pair while they still follow one another, and is never handed to another pair (that cut
    becomes a plain cut, and the other pair's old transition goes with the position as before).
    """
    indices = [s.index for s in plan.shots]
    drop = set(remove or [])
    unknown = sorted(i for i in set(order) | drop if i not in indices)
    if unknown:
        raise InvalidInputError(f"no shot {', '.join(map(str, unknown))}; the plan has shots 1-{len(indices)}")
    if len(set(order)) != len(order):
        raise InvalidInputError(f"the new order {order} names a shot twice")
    kept_all = [i for i in indices if i not in drop]
    if sorted(i for i in order if i not in drop) != kept_all:
        raise InvalidInputError(f"the new order {order} must list every shot that stays ({kept_all}) exactly once")
    by_index = {s.index: s for s in plan.shots}
    kept = [i for i in order if i not in drop]
    cuts = [s.transition_to_next for s in plan.shots]
    continued = {(a.index, b.index) for a, b in zip(plan.shots, plan.shots[1:]) if a.transition_to_next.continues}

    def joint(pos: int) -> Transition:
        if pos >= len(kept) - 1:
            return Transition.cut()
        if (kept[pos], kept[pos + 1]) in continued:
            return by_index[kept[pos]].transition_to_next
        return Transition.cut() if cuts[pos].continues else cuts[pos]

    shots = [by_index[i].model_copy(update={"transition_to_next": joint(pos)}) for pos, i in enumerate(kept)]
    return _renumbered(plan, shots)


def swap(plan: ShotPlan, a: int, b: int) -> ShotPlan:
    order = [s.index for s in plan.shots]
    find_shot(plan, a), find_shot(plan, b)
    ia, ib = order.index(a), order.index(b)
    order[ia], order[ib] = order[ib], order[ia]
    return reorder(plan, order)


def set_aspect_ratio(plan: ShotPlan, aspect_ratio: AspectRatio) -> ShotPlan:
    """Generate every shot at another aspect ratio (generated shots are made again; footage is refitted)."""
    return _renumbered(plan.model_copy(update={"aspect_ratio": aspect_ratio}), list(plan.shots))


def use_footage(plan: ShotPlan, source: str, *, length_s: float, position: str = "replace", index: int = 1,
                duration_s: float | None = None, in_s: float = 0.0, description: str = "",
                image: bool = False) -> ShotPlan:
    """Place user footage: ``replace`` shot ``index`` with it, or ``insert`` it before shot ``index``.

    ``source`` is the project-relative (or registered input) path the caller
    checked; ``length_s`` its length (for a still image, the longest it may be shown).
    """
    label = description or f"user footage {source.rsplit('/', 1)[-1]}"
    if in_s >= length_s:
        raise InvalidInputError(f"{source} is {length_s:.2f} s long; it cannot start at {in_s:g} s")
    fields = {"source": source, "source_length_s": length_s, "prompt": f"{label} (footage: {source})",
              "subject": label, "action": "as filmed", "in_s": in_s, "clip": None, "clip_signature": None,
              "clip_length_s": None}
    if image:
        fields["motion"] = CameraMove.ZOOM_IN
    if position == "replace":
        shot = find_shot(plan, index)
        room = (length_s - in_s) / shot.speed
        fields["duration_s"] = round(duration_s or min(shot.duration_s, room), 3)
        shots = [s.model_copy(update=fields) if s.index == index else s for s in plan.shots]
    elif position == "insert":
        if not 1 <= index <= len(plan.shots) + 1:
            raise InvalidInputError(f"cannot insert at position {index}; positions are 1-{len(plan.shots) + 1}")
        new = Shot(index=index, aspect_ratio=plan.aspect_ratio,
                   **{**fields, "duration_s": round(duration_s or min(length_s - in_s, 3.0), 3)})
        shots = list(plan.shots)
        shots.insert(index - 1, new)
    else:
        raise InvalidInputError(f"unknown position {position!r}; use replace or insert")
    return _renumbered(plan, shots)


def plan_from_timeline(timeline: Timeline, plan: ShotPlan, lengths: dict[str, float]) -> ShotPlan:
    """A planned project adopting an imported cut (edit plan, OTIO, EDL): every clip becomes a footage shot.

    The import lands in the plan, the project's one edit model, so the next
    save derives exactly the imported clips instead of dropping them.
    ``lengths`` gives each source's media length.
    """
    if not timeline.clips:
        raise InvalidInputError("the imported cut has no clips")
    shots = []
    for i, clip in enumerate(timeline.clips):
        last = i == len(timeline.clips) - 1
        overlap = 0.0 if last else clip.transition_to_next.overlap_s
        duration = round(clip.length_s - overlap, 6)
        if duration <= 0:
            raise InvalidInputError(f"imported clip {i + 1} is shorter than its transition")
        name = clip.source.rsplit("/", 1)[-1]
        shots.append(Shot(index=i + 1, prompt=f"imported clip {name} (footage: {clip.source})", duration_s=duration,
                          aspect_ratio=plan.aspect_ratio, source=clip.source,
                          source_length_s=lengths.get(clip.source) or clip.out_s, in_s=clip.in_s,
                          speed=clip.speed, volume=clip.volume, mute=clip.mute, fit=clip.fit, motion=clip.motion,
                          transition_to_next=Transition.cut() if last else clip.transition_to_next,
                          subject=f"imported clip {name}", action="as cut"))
    return validated_plan({**plan.model_dump(), "shots": [s.model_dump() for s in shots]})


FormatMethod = Literal["regenerate", "crop", "pad", "blur"]
#: How each reframing method fits the generated pictures into the new frame.
REFRAME_FIT = {"crop": "cover", "pad": "contain", "blur": "blur"}


def set_format(project: "Project", *, aspect_ratio: AspectRatio | None = None,
               method: FormatMethod = "regenerate", resolution: str | None = None) -> str:
    """Change a planned project's frame: the one place every front end does it (a tool, the chat, the agent).

    ``regenerate`` makes every generated shot anew at the new aspect ratio
    (footage is fitted); ``crop``/``pad``/``blur`` keep the clips and fit them
    into the new frame for free. ``resolution`` (the short side) changes the
    output size only. Returns a one-line description; the caller saves.
    """
    from shotsmith.formats import RESOLUTIONS

    plan = project.plan
    if plan is None:
        raise InvalidInputError("there is no shot plan yet", hint="plan the shots first")
    if aspect_ratio is None and resolution is None:
        raise InvalidInputError("give an aspect ratio, a resolution, or both")
    if resolution is not None and resolution not in RESOLUTIONS:
        raise InvalidInputError(f"resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
    production = project.production.model_copy(update={"output_size": None})  # aspect and resolution decide again
    if resolution is not None:
        production = production.model_copy(update={"resolution": resolution})
    said = []
    if aspect_ratio is not None:
        if method == "regenerate":
            project.plan = set_aspect_ratio(plan, aspect_ratio)
            production = production.model_copy(update={"output_aspect": None})
            if project.brief is not None:
                project.brief = project.brief.model_copy(update={"aspect_ratio": aspect_ratio})
            said.append(f"shots to be generated at {aspect_ratio}")
        elif method in REFRAME_FIT:
            production = production.model_copy(
                update={"output_aspect": None if aspect_ratio == plan.aspect_ratio else aspect_ratio})
            timeline = project.timeline
            project.timeline = timeline.model_copy(update={"output": timeline.output.model_copy(
                update={"fit": REFRAME_FIT[method]})})
            project.plan = plan.model_copy(update={"shots": [s.model_copy(update={"fit": None}) for s in plan.shots]})
            said.append(f"reframed to {aspect_ratio} by {method}")
        else:
            raise InvalidInputError(f"unknown method {method!r}; use regenerate, crop, pad or blur")
    project.production = production
    if resolution is not None:
        said.append(f"at {resolution}")
    return " ".join(said)
