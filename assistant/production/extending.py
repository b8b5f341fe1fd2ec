"""Making a shot longer than its clip: extend the clip where the backend can, else say it is made again.

Why extend: the clip already shows the right picture (its signature still matches the shot), and
a provider's extension continues that very clip for the seconds missing, at the price of those
seconds, instead of paying for a whole new clip that shows something else. The extension is an
ordinary request (``mode = video-extend``, ``extend_from`` = the provider's handle of the bound
clip's generation, read from the job record the engine kept), so it is estimated, approved,
created at most once and resumed exactly like any create; its cache key differs from the clip's,
so the old clip stays in the cache and undo brings it back for free.
"""

from __future__ import annotations

from pathlib import Path

from shotsmith.backends.base import Backend, GenerationMode, GenerationRequest
from shotsmith.brief import Shot
from shotsmith.project import GenerationRecord

#: Seconds a clip may fall short before it counts as too short (probe rounding).
SLACK_S = 0.02


def source_record(generations: dict[str, GenerationRecord], clip: str, backend: str) -> GenerationRecord | None:
    """The finished job on ``backend`` that made ``clip``, or None."""
    for record in generations.values():
        if record.clip == clip and record.status == "succeeded" and record.backend == backend:
            return record
    return None


def too_short(shot: Shot, root: Path, needed_s: float) -> bool:
    """The shot's clip still shows the shot as it is now, but is shorter than the shot needs."""
    return bool(shot.bound_clip and shot.clip_length_s and (root / shot.bound_clip).is_file()
                and shot.clip_length_s + SLACK_S < needed_s)


def extension_request(shot: Shot, request: GenerationRequest, backend: Backend,
                      generations: dict[str, GenerationRecord], root: Path) -> GenerationRequest | None:
    """The ``video-extend`` request that lengthens ``shot``'s clip to what ``request`` (the shot's
    own request) asks for, or None when the backend cannot extend that clip.

    The backend names the handle (``Backend.extension_source``) from the job record: the provider's
    task id (empty for a local backend) and the data kept with it, plus ``clip``, the clip's absolute
    path (what a local model would condition on).
    """
    if GenerationMode.VIDEO_EXTEND not in backend.capabilities().modes or not shot.clip or not shot.clip_length_s:
        return None
    record = source_record(generations, shot.clip, backend.name)
    if record is None or not record.clip:
        return None
    handle = backend.extension_source(record.remote_task_id or "",
                                      {**record.remote_data, "clip": str(root / record.clip)})
    if not handle:
        return None
    missing = round(request.duration_s - shot.clip_length_s, 3)
    if missing <= 0:
        return None
    return request.model_copy(update={"mode": GenerationMode.VIDEO_EXTEND, "extend_from": handle,
                                      "duration_s": missing, "image": None, "end_image": None, "references": []})


def regenerate_notice(shot: Shot, backend: Backend, needed_s: float) -> str:
    """What the user is told when a too-short clip is made again instead of extended."""
    why = ("cannot extend a clip" if GenerationMode.VIDEO_EXTEND not in backend.capabilities().modes
           else "cannot extend this clip (it was not made by it, or it keeps no handle to extend)")
    return (f"shot {shot.index}: {backend.name} {why}; its {shot.clip_length_s or 0:.1f} s clip is too short for "
            f"{needed_s:.1f} s, so the shot is generated again (the old clip stays cached)")
