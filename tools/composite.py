"""Compositing: picture-in-picture overlays, chroma-keyed layers and still images with Ken Burns motion."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove, Transition, TransitionKind
from shotsmith.timeline import ChromaKey, ClipRef, Overlay, OverlayPosition
from shotsmith.tools.arrange import check_sequence
from shotsmith.tools.colors import KEY_COLORS, parse_color
from shotsmith.tools.editing import EditResult, commit, is_image, media, require_store
from shotsmith.tools.spec import ToolContext, edit_tool



class AddOverlayArgs(BaseModel):
    source: str = Field(description="Video or image to lay over the picture.")
    start_s: float = Field(default=0.0, ge=0)
    end_s: float | None = Field(default=None, description="None: until the layer or the timeline ends.")
    in_s: float = Field(default=0.0, ge=0, description="Where in the layer's video to start.")
    position: OverlayPosition = "bottom_right"
    x: str | None = Field(default=None, description="Custom x (pixels or expression with W, H, w, h).")
    y: str | None = None
    scale: float = Field(default=0.3, gt=0, le=1, description="Width as a fraction of the frame width.")
    opacity: float = Field(default=1.0, ge=0, le=1)


_EXPR = __import__("re").compile(r"^[\w\s.+\-*/()]{1,120}$")


def _check_overlay(store, overlay: Overlay) -> Overlay:
    ref, path, info = media(store, overlay.source, "overlay")
    if info.video is None:
        raise InvalidInputError(f"{overlay.source} has no picture to overlay")
    if not is_image(path, info) and overlay.in_s >= info.duration_s:
        raise InvalidInputError(f"in point {overlay.in_s:g}s is past the end of {overlay.source} ({info.duration_s:g}s)")
    for name, value in (("x", overlay.x), ("y", overlay.y)):
        if value is not None and not _EXPR.match(value):
            raise InvalidInputError(f"overlay {name} {value!r} is not a number or a simple expression")
    timeline = store.project.timeline
    if timeline.clips and overlay.start_s >= timeline.duration_s:
        raise InvalidInputError(f"the overlay starts at {overlay.start_s:g}s, after the end of the timeline "
                                f"({timeline.duration_s:g}s)")
    if overlay.chroma_key is not None:
        parse_color(overlay.chroma_key.color, what="chroma key colour")
    return overlay.model_copy(update={"source": ref})


@edit_tool("add_overlay", "Lay a video or image over the picture (picture-in-picture, logo): position, scale, "
                          "opacity, time range.", AddOverlayArgs)
def add_overlay(ctx: ToolContext, args: AddOverlayArgs) -> EditResult:
    store = require_store(ctx)
    overlay = _check_overlay(store, Overlay(**args.model_dump()))
    timeline = store.project.timeline.model_copy(deep=True)
    timeline.overlays.append(overlay)
    return commit(store, timeline, f"added overlay {len(timeline.overlays)} ({overlay.source})")


class AddChromaKeyArgs(BaseModel):
    source: str = Field(description="Foreground shot against a green/blue (or other) screen.")
    color: str = Field(default="green", description="green, blue, or any colour (name or #RRGGBB).")
    similarity: float = Field(default=0.15, gt=0, le=1, description="How close to the key colour is removed.")
    blend: float = Field(default=0.05, ge=0, le=1, description="Softness of the key's edge.")
    start_s: float = Field(default=0.0, ge=0)
    end_s: float | None = None
    in_s: float = Field(default=0.0, ge=0)
    position: OverlayPosition = "center"
    scale: float = Field(default=1.0, gt=0, le=1)


@edit_tool("add_chroma_key", "Key out a green/blue (or any colour) screen from a shot and lay it over the timeline's "
                             "picture (the background clip or image).", AddChromaKeyArgs)
def add_chroma_key(ctx: ToolContext, args: AddChromaKeyArgs) -> EditResult:
    store = require_store(ctx)
    color = KEY_COLORS.get(args.color.lower(), args.color)
    overlay = Overlay(source=args.source, start_s=args.start_s, end_s=args.end_s, in_s=args.in_s,
                      position=args.position, scale=args.scale, margin=0,
                      chroma_key=ChromaKey(color=color, similarity=args.similarity, blend=args.blend))
    overlay = _check_overlay(store, overlay)
    timeline = store.project.timeline.model_copy(deep=True)
    timeline.overlays.append(overlay)
    return commit(store, timeline, f"keyed {overlay.source} ({args.color}) over the picture")


class AddStillArgs(BaseModel):
    source: str = Field(description="An image file (png, jpg, webp...).")
    duration_s: float = Field(default=4.0, gt=0, le=600)
    motion: CameraMove | None = Field(default=CameraMove.ZOOM_IN, description="Ken Burns move; None or static: no motion.")
    position: int | None = Field(default=None, ge=1, description="Clip number to insert at; None: at the end.")
    transition: TransitionKind = TransitionKind.CUT
    transition_s: float = Field(default=0.0, ge=0, le=5)


@edit_tool("add_still", "Put an image on the timeline as a clip, with optional Ken Burns motion (zoom/pan).", AddStillArgs)
def add_still(ctx: ToolContext, args: AddStillArgs) -> EditResult:
    store = require_store(ctx)
    ref, path, info = media(store, args.source, "still")
    if not is_image(path, info) or info.video is None:
        raise InvalidInputError(f"{args.source} is not an image", hint="use add_clip for video")
    timeline = store.project.timeline.model_copy(deep=True)
    clip = ClipRef(source=ref, in_s=0.0, out_s=args.duration_s, motion=args.motion,
                   transition_to_next=Transition(kind=args.transition, duration_s=args.transition_s))
    at = len(timeline.clips) if args.position is None else min(args.position - 1, len(timeline.clips))
    timeline.clips.insert(at, clip)
    check_sequence(timeline)
    return commit(store, timeline, f"added still {ref} as clip {at + 1} ({args.duration_s:g}s)")
