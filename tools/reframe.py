"""Reframe to another aspect ratio (crop, pad or blurred fill) and change clip speed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shotsmith.errors import InvalidInputError
from shotsmith.formats import RESOLUTIONS, AspectRatio, frame_size
from shotsmith.timeline import MAX_SPEED, MIN_SPEED
from shotsmith.tools.arrange import check_sequence
from shotsmith import plan_edits
from shotsmith.tools.editing import EditResult, clip_number, commit, commit_plan, planned, require_store
from shotsmith.tools.spec import ToolContext, edit_tool

MODES = plan_edits.REFRAME_FIT


class ReframeArgs(BaseModel):
    aspect_ratio: AspectRatio = Field(description="16:9, 9:16, 1:1 or 4:5.")
    mode: Literal["crop", "pad", "blur"] = Field(default="crop", description="crop around the centre, pad with bars, "
                                                                             "or fit over a blurred fill.")
    resolution: str | None = Field(default=None, description="Short side, e.g. 1080p; None: keep the current one.")


@edit_tool("reframe", "Reframe the whole cut to 16:9, 9:16, 1:1 or 4:5 by centre crop, padding or blurred fill.",
           ReframeArgs)
def reframe(ctx: ToolContext, args: ReframeArgs) -> EditResult:
    store = require_store(ctx)
    if planned(store):
        # The shots stay as generated; the derived cut is framed to the new shape.
        said = plan_edits.set_format(store.project, aspect_ratio=args.aspect_ratio, method=args.mode,
                                     resolution=args.resolution)
        result = commit_plan(store, store.project.plan, said)
        out = store.project.timeline.output
        return result.model_copy(update={"message": f"{said} ({out.width}x{out.height})"})
    timeline = store.project.timeline.model_copy(deep=True)
    out = timeline.output
    resolution = args.resolution or f"{min(out.width, out.height)}p"
    if resolution not in RESOLUTIONS:
        short = min(out.width, out.height)
        if args.resolution is not None:
            raise InvalidInputError(f"resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
        w_ratio, h_ratio = (int(p) for p in args.aspect_ratio.split(":"))
        long = round(short * max(w_ratio, h_ratio) / min(w_ratio, h_ratio) / 2) * 2
        width, height = (long, short) if w_ratio >= h_ratio else (short, long)
    else:
        width, height = frame_size(args.aspect_ratio, resolution)
    timeline.output = out.model_copy(update={"width": width, "height": height, "fit": MODES[args.mode]})
    for clip in timeline.clips:
        clip.fit = None  # the new output-wide fit applies to every clip
    return commit(store, timeline, f"reframed to {args.aspect_ratio} ({width}x{height}) by {args.mode}")


class SetSpeedArgs(BaseModel):
    clip: int | None = Field(default=None, ge=1, description="Clip number; None: every clip.")
    speed: float = Field(ge=MIN_SPEED, le=MAX_SPEED, description="0.25 (quarter speed) to 4 (four times faster).")


@edit_tool("set_speed", "Speed a clip up or slow it down (0.25x to 4x); its sound keeps its pitch.", SetSpeedArgs)
def set_speed(ctx: ToolContext, args: SetSpeedArgs) -> EditResult:
    store = require_store(ctx)
    if planned(store):
        plan = store.project.plan
        for index in ([args.clip] if args.clip is not None else [s.index for s in plan.shots]):
            plan = plan_edits.edit_shot(plan, index, speed=args.speed)
        which = f"shot {args.clip}" if args.clip is not None else "every shot"
        return commit_plan(store, plan, f"{which} at {args.speed:g}x")
    timeline = store.project.timeline.model_copy(deep=True)
    indices = [clip_number(timeline, args.clip)] if args.clip is not None else range(len(timeline.clips))
    for i in indices:
        timeline.clips[i].speed = args.speed
    check_sequence(timeline)
    which = f"clip {args.clip}" if args.clip is not None else "every clip"
    return commit(store, timeline, f"{which} at {args.speed:g}x")
