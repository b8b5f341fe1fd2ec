"""Shape the sequence: add, reorder and remove clips, set in/out points and transitions."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove, Transition, TransitionKind
from shotsmith.timeline import ClipRef, FitMode
from shotsmith import plan_edits
from shotsmith.tools.editing import (EditResult, clip_number, commit, commit_plan, is_image, media, planned,
                                     require_store, validated)
from shotsmith.tools.render import place_clips
from shotsmith.tools.spec import ToolContext, edit_tool


def check_sequence(timeline) -> None:
    """Raise a clear error if the transitions no longer fit the clips."""
    if timeline.clips:
        place_clips(timeline)


class AddClipArgs(BaseModel):
    source: str = Field(description="A video file or image in the project (or a registered input).")
    in_s: float = Field(default=0.0, ge=0)
    out_s: float | None = Field(default=None, description="None: the end of the media (5 s for an image).")
    position: int | None = Field(default=None, ge=1, description="Clip number to insert at; None: at the end.")
    transition: TransitionKind = TransitionKind.CUT
    transition_s: float = Field(default=0.0, ge=0, le=5, description="Length of the transition into the next clip.")
    mute: bool = False


@edit_tool("add_clip", "Put a video clip or image on the timeline (trimmed to in/out).", AddClipArgs)
def add_clip(ctx: ToolContext, args: AddClipArgs) -> EditResult:
    store = require_store(ctx)
    ref, path, info = media(store, args.source, "clip")
    image = is_image(path, info)
    if info.video is None:
        raise InvalidInputError(f"{args.source} has no picture", hint="add it with add_audio instead")
    end = args.out_s if args.out_s is not None else (5.0 if image else info.duration_s)
    if not image:
        if args.in_s >= info.duration_s:
            raise InvalidInputError(f"in point {args.in_s:g}s is past the end of {args.source} ({info.duration_s:g}s)")
        if end > info.duration_s + 1e-3:
            raise InvalidInputError(f"out point {end:g}s is past the end of {args.source} ({info.duration_s:g}s)")
    if end <= args.in_s:
        raise InvalidInputError(f"out point {end:g}s must be after the in point {args.in_s:g}s")
    if planned(store):
        plan = store.project.plan
        at = len(plan.shots) + 1 if args.position is None else min(args.position, len(plan.shots) + 1)
        plan = plan_edits.use_footage(plan, ref, length_s=3600.0 if image else info.duration_s, position="insert",
                                      index=at, duration_s=end - args.in_s, in_s=args.in_s, image=image)
        if args.mute:
            plan = plan_edits.edit_shot(plan, at, mute=True)
        if args.transition is not TransitionKind.CUT and at <= len(plan.shots) - 1:
            plan = plan_edits.edit_shot(plan, at, transition=Transition(kind=args.transition,
                                                                        duration_s=args.transition_s))
        return commit_plan(store, plan, f"added shot {at} ({ref}, {end - args.in_s:g}s)")
    timeline = store.project.timeline.model_copy(deep=True)
    clip = ClipRef(source=ref, in_s=args.in_s, out_s=end, mute=args.mute,
                   transition_to_next=Transition(kind=args.transition, duration_s=args.transition_s))
    at = len(timeline.clips) if args.position is None else min(args.position - 1, len(timeline.clips))
    timeline.clips.insert(at, clip)
    check_sequence(timeline)
    return commit(store, timeline, f"added clip {at + 1} ({ref}, {clip.length_s:g}s)")


class ArrangeArgs(BaseModel):
    order: list[int] | None = Field(default=None, description="New order as clip numbers, e.g. [3, 1, 2]; may drop clips.")
    remove: list[int] = Field(default_factory=list, description="Clip numbers to remove.")


@edit_tool("arrange", "Reorder clips (give the new order) and/or remove clips by number.", ArrangeArgs)
def arrange(ctx: ToolContext, args: ArrangeArgs) -> EditResult:
    store = require_store(ctx)
    if planned(store):
        shots = [s.index for s in store.project.plan.shots]
        order = args.order if args.order is not None else shots
        dropped = set(args.remove) | (set(shots) - set(order))
        plan = plan_edits.reorder(store.project.plan, [i for i in order if i not in dropped] +
                                  sorted(dropped), remove=sorted(dropped))
        return commit_plan(store, plan, f"shots now in order {[i for i in order if i not in dropped]}")
    timeline = store.project.timeline.model_copy(deep=True)
    n = len(timeline.clips)
    for number in [*(args.order or []), *args.remove]:
        clip_number(timeline, number)
    order = args.order if args.order is not None else list(range(1, n + 1))
    if len(set(order)) != len(order):
        raise InvalidInputError("the new order names a clip twice")
    kept = [number for number in order if number not in set(args.remove)]
    if not kept:
        raise InvalidInputError("that would remove every clip", hint="keep at least one clip")
    timeline.clips = [timeline.clips[number - 1] for number in kept]
    check_sequence(timeline)
    return commit(store, timeline, f"clips now in order {kept}")


class SetTransitionArgs(BaseModel):
    clip: int = Field(ge=1, description="The transition goes from this clip number into the next one.")
    kind: TransitionKind = TransitionKind.DISSOLVE
    duration_s: float = Field(default=0.5, ge=0, le=5)


@edit_tool("set_transition", "Set the transition (cut, fade, dissolve, wipes, slides, fade through black/white) "
                             "from one clip into the next.", SetTransitionArgs)
def set_transition(ctx: ToolContext, args: SetTransitionArgs) -> EditResult:
    store = require_store(ctx)
    if planned(store):
        if args.kind is TransitionKind.CONTINUE:
            # The next shot is generated from this one's last frame. Whether the video backend can (image-to-
            # video) is checked where the backends are known: the production service refuses it in one line
            # when it is set through the assistant, and before anything is generated.
            plan = plan_edits.edit_shot(store.project.plan, args.clip, transition=Transition(kind=args.kind))
            return commit_plan(store, plan, f"shot {args.clip + 1} continues from shot {args.clip}'s last frame")
        if args.kind is not TransitionKind.CUT and args.duration_s <= 0:
            raise InvalidInputError("a transition other than a cut needs a duration above 0")
        transition = Transition(kind=args.kind, duration_s=args.duration_s if args.kind is not TransitionKind.CUT else 0.0)
        plan = plan_edits.edit_shot(store.project.plan, args.clip, transition=transition)
        return commit_plan(store, plan, f"{args.kind.value} ({args.duration_s:g}s) from shot {args.clip} to {args.clip + 1}")
    if args.kind is TransitionKind.CONTINUE:
        raise InvalidInputError("continue needs a planned project: the next shot is generated from this clip's "
                                "last frame", hint="plan the video first, or use a cut")
    timeline = store.project.timeline.model_copy(deep=True)
    i = clip_number(timeline, args.clip)
    if i == len(timeline.clips) - 1:
        raise InvalidInputError(f"clip {args.clip} is the last clip; a transition joins a clip to the next one")
    if args.kind is not TransitionKind.CUT and args.duration_s <= 0:
        raise InvalidInputError("a transition other than a cut needs a duration above 0")
    timeline.clips[i].transition_to_next = Transition(kind=args.kind, duration_s=args.duration_s if args.kind is not TransitionKind.CUT else 0.0)
    check_sequence(timeline)
    return commit(store, timeline, f"{args.kind.value} ({args.duration_s:g}s) from clip {args.clip} to {args.clip + 1}")


class SetClipArgs(BaseModel):
    clip: int = Field(ge=1, description="Clip number.")
    in_s: float | None = Field(default=None, ge=0)
    out_s: float | None = Field(default=None, gt=0)
    mute: bool | None = Field(default=None, description="Silence the clip's own sound.")
    volume: float | None = Field(default=None, ge=0, le=4)
    fit: FitMode | None = None
    motion: CameraMove | None = Field(default=None, description="Ken Burns move (images).")


@edit_tool("set_clip", "Change a clip's in/out points, mute or volume of its own sound, fit mode or motion.", SetClipArgs)
def set_clip(ctx: ToolContext, args: SetClipArgs) -> EditResult:
    store = require_store(ctx)
    if planned(store):
        shot = plan_edits.find_shot(store.project.plan, args.clip)
        changes = {k: v for k, v in args.model_dump(exclude={"clip", "in_s", "out_s"}).items() if v is not None}
        if args.in_s is not None:
            changes["in_s"] = args.in_s
        if args.out_s is not None:
            start = args.in_s if args.in_s is not None else shot.in_s
            if args.out_s <= start:
                raise InvalidInputError(f"out point {args.out_s:g}s must be after the in point {start:g}s")
            changes["duration_s"] = round((args.out_s - start) / shot.speed, 6)
        plan = plan_edits.edit_shot(store.project.plan, args.clip, **changes)
        return commit_plan(store, plan, f"shot {args.clip} updated ({', '.join(changes) or 'nothing changed'})")
    timeline = store.project.timeline.model_copy(deep=True)
    i = clip_number(timeline, args.clip)
    clip = timeline.clips[i]
    update = {k: v for k, v in args.model_dump(exclude={"clip"}).items() if v is not None}
    new = validated(ClipRef, {**clip.model_dump(), **update}, f"clip {args.clip}")
    path = store.resolve(new.source)
    from shotsmith.media.probe import probe

    info = probe(path)
    if not is_image(path, info) and new.out_s > info.duration_s + 1e-3:
        raise InvalidInputError(f"out point {new.out_s:g}s is past the end of {new.source} ({info.duration_s:g}s)")
    timeline.clips[i] = new
    check_sequence(timeline)
    return commit(store, timeline, f"clip {args.clip} updated ({', '.join(update) or 'nothing changed'})")
