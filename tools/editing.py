"""Shared plumbing for the timeline-editing tools: the store, media checks, the common result."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ValidationError

from shotsmith.errors import InvalidInputError, MediaError
from shotsmith.media.probe import MediaInfo, probe
from shotsmith.store import ProjectStore
from shotsmith.timeline import Timeline
from shotsmith.tools.spec import ToolContext

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


class EditResult(BaseModel):
    """What an editing tool did, and the timeline's shape afterwards."""

    message: str
    clips: int
    duration_s: float

    @classmethod
    def of(cls, timeline: Timeline, message: str) -> "EditResult":
        return cls(message=message, clips=len(timeline.clips), duration_s=timeline.duration_s)


def require_store(ctx: ToolContext) -> ProjectStore:
    if ctx.store is None:
        raise InvalidInputError("this tool needs an open project", hint="run it inside a project folder")
    return ctx.store


def media(store: ProjectStore, source: str, what: str) -> tuple[str, Path, MediaInfo]:
    """Resolve ``source`` through the project (refusing escapes) and probe it.

    Returns the portable string to store in the timeline, the path and its info.
    """
    path = store.resolve(source)
    if not path.is_file():
        raise MediaError(f"{what}: {path} does not exist")
    return store.relative(path), path, probe(path)


def is_image(path: Path, info: MediaInfo) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES or info.is_image


def clip_number(timeline: Timeline, number: int) -> int:
    """Convert a 1-based clip number (as users say it) to a list index, with a clear error."""
    if not timeline.clips:
        raise InvalidInputError("the timeline has no clips yet")
    if not 1 <= number <= len(timeline.clips):
        raise InvalidInputError(f"there is no clip {number}; the timeline has clips 1 to {len(timeline.clips)}")
    return number - 1


def validated(model: type[BaseModel], data: dict, what: str):
    """``model.model_validate(data)`` with pydantic's errors turned into one clear InvalidInputError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidInputError(f"{what}: {first['msg']}" + (f" ({where})" if where else "")) from None


def planned(store: ProjectStore) -> bool:
    """A project made from a brief: its clips are derived from the shot plan, so clip edits land in the plan.

    In such a project clip N is shot N, and the clip tools below edit that
    shot through :mod:`shotsmith.plan_edits`; editing the derived clips
    directly would be undone by the next save.
    """
    return store.project.plan is not None


def commit_plan(store: ProjectStore, plan, message: str) -> EditResult:
    """Keep an edited plan (already validated against its cut) and save; the clips follow on save."""
    store.project.plan = plan
    store.save()
    return EditResult.of(store.project.timeline, message)


def adopt_timeline(store: ProjectStore, timeline: Timeline, message: str) -> EditResult:
    """Take a whole imported cut (edit plan, OTIO, EDL, FCP XML) into the project.

    In a planned project the clips land in the plan as footage shots (the plan
    is the one edit model; writing the clips alone would be undone by the next
    save); titles, audio and the rest land on the timeline as they are.
    """
    checked = validated(Timeline, timeline.model_dump(), "the imported timeline")
    if not planned(store):
        return commit(store, checked, message)
    from shotsmith.plan_edits import plan_from_timeline

    lengths: dict[str, float] = {}
    for clip in checked.clips:
        path = store.resolve(clip.source)
        info = probe(path)
        lengths[clip.source] = STILL_LENGTH_S if is_image(path, info) else info.duration_s
    plan = plan_from_timeline(checked, store.project.plan, lengths)
    store.project.timeline = checked
    return commit_plan(store, plan, message + " (as footage shots of the plan)")


#: How long a still image may be shown: it has no length of its own.
STILL_LENGTH_S = 3600.0


def commit(store: ProjectStore, timeline: Timeline, message: str) -> EditResult:
    """Validate the edited timeline as a whole, store it and save the project."""
    checked = validated(Timeline, timeline.model_dump(), "the edited timeline")
    store.project.timeline = checked
    store.save()
    return EditResult.of(checked, message)
