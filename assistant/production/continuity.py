"""Continuity between shots: the ``continue`` transition (extending a clip is :mod:`.extending`).

``continue`` (a :class:`~shotsmith.formats.TransitionKind`) is a hard cut in the edit whose next
shot is generated image-to-video from the previous shot's *last frame*, extracted exactly (the
last decoded frame, kept as a lossless PNG). Why a digest: the continued shot's
``continues_from`` holds a digest of the previous shot's clip and is part of its
``generation_signature()``, so a new clip for the previous shot invalidates the continued shot's
keyframe and clip, and undo (which brings the old clip back) makes the old ones valid again, free.

Why placeholder keys: an approval is bound to the exact requests' cache keys, and a continued
shot's request carries a frame that does not exist until its predecessor is made. Its estimate
(priced as the image-to-video request it will be) is therefore bound to a key derived from the
predecessor's request key; once the frame exists, the yes given for that placeholder is carried
to the real request (the frame is a function of the predecessor's clip, so nothing new is
approved). Everything here is called by the production service; the arrows point into the core.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from shotsmith.backends.base import Backend, GenerationMode, GenerationRequest
from shotsmith.backends.sketch import unmarked
from shotsmith.brief import Shot, ShotPlan
from shotsmith.errors import InvalidInputError, MediaError
from shotsmith.formats import KEN_BURNS_AMOUNT, CameraMove, camera_view

#: ``continues_from`` of a continued shot whose predecessor has no clip yet.
PENDING = "pending"
#: Still clips (an animatic card) are pictures, not videos.
STILL_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
#: How far before the end a video is sought before decoding to its last frame (a GOP is rarely longer).
TAIL_S = 3.0


def clip_digest(path: Path) -> str:
    """What a continued shot is bound to: the content of its predecessor's clip."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def probe_image(folder: Path) -> Path:
    """A small grey PNG standing in for a frame that does not exist yet, so that a backend's own checks of an
    image-to-video request (an uploader it needs, the image's size) run before anything is spent."""
    from PIL import Image

    path = folder / "continue-probe.png"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (512, 512), (128, 128, 128)).save(path, format="PNG")
    return path


def check_backend(plan: ShotPlan, backend: Backend, probe: Path | None = None) -> None:
    """Refuse (one line) a plan with ``continue`` that the video backend cannot make, instead of a silent cut;
    with ``probe`` (see :func:`probe_image`) the backend's own checks of such a request run too."""
    for before, shot in zip(plan.shots, plan.shots[1:]):
        if not before.transition_to_next.continues:
            continue
        if shot.source or before.source:
            which = shot.index if shot.source else before.index
            raise InvalidInputError(f"shot {shot.index} cannot continue from shot {before.index}: shot {which} is "
                                    "footage, not generated", hint="use a cut or another transition there")
        if GenerationMode.IMAGE_TO_VIDEO not in backend.capabilities().modes:
            raise InvalidInputError(f"shot {shot.index} cannot continue from shot {before.index}: backend "
                                    f"{backend.name} does not do image-to-video",
                                    hint="choose a backend with image-to-video (backends list), or use a cut")
        if probe is not None:
            try:
                backend.prepare(GenerationRequest(prompt=shot.prompt, mode=GenerationMode.IMAGE_TO_VIDEO,
                                                  duration_s=shot.duration_s, aspect_ratio=plan.aspect_ratio,
                                                  image=str(probe), shot_index=shot.index))
            except InvalidInputError as exc:
                raise InvalidInputError(f"shot {shot.index} cannot continue from shot {before.index}: {exc.message}",
                                        hint=exc.hint) from None


def sync(plan: ShotPlan, digest_of: Callable[[Shot], str | None]) -> ShotPlan:
    """Set each shot's ``continues_from`` from the transitions: the predecessor's clip digest (or
    ``pending``) for a continued shot, None for any other. ``digest_of(shot)`` is the digest of the
    shot's usable clip, or None."""
    shots, changed = [], False
    previous: Shot | None = None
    for shot in plan.shots:
        wanted = None
        if previous is not None and previous.transition_to_next.continues and not shot.source:
            wanted = digest_of(previous) or PENDING
        if shot.continues_from != wanted:
            shot, changed = shot.model_copy(update={"continues_from": wanted}), True
        shots.append(shot)
        previous = shot
    return plan.model_copy(update={"shots": shots}) if changed else plan


def pending(shot: Shot) -> bool:
    """A continued shot whose first frame cannot be taken yet (its predecessor has no clip)."""
    return shot.continues_from == PENDING


def needs_frame(shot: Shot, root: Path) -> bool:
    """A continued shot whose predecessor's clip exists but whose first frame was not taken from it yet."""
    if not shot.continues_from or pending(shot):
        return False
    return not (shot.bound_keyframe and (root / shot.bound_keyframe).is_file())


def last_frame(clip: Path, dest: Path, camera: CameraMove = CameraMove.STATIC) -> Path:
    """Write ``clip``'s last frame to ``dest`` as a lossless PNG and return ``dest``.

    A video is decoded from a little before its end to its end (after a seek to the keyframe at or
    before that point), so the frame kept is the last one decoded, not the one nearest a timestamp;
    when the seek yields nothing the whole stream is decoded. A still clip (an animatic card) shows
    its last frame where the render's camera move ends: the same geometry as
    :func:`shotsmith.formats.zoompan_expressions` at its last frame, cut out of the still.
    """
    from PIL import Image

    dest.parent.mkdir(parents=True, exist_ok=True)
    if clip.suffix.lower() in STILL_SUFFIXES:
        with Image.open(clip) as still:  # without the camera arrows of this shot's panel: not the next shot's move
            picture = np.asarray(unmarked(still))
        Image.fromarray(_end_of_move(picture, camera)).save(dest, format="PNG")
        return dest
    picture = _last_video_frame(clip)
    Image.fromarray(picture).save(dest, format="PNG")
    return dest


def _last_video_frame(clip: Path) -> np.ndarray:
    import av

    def decode(seek_s: float | None) -> np.ndarray | None:
        with av.open(str(clip)) as container:
            if not container.streams.video:
                raise MediaError(f"{clip.name} has no video stream to continue from")
            stream = container.streams.video[0]
            if seek_s is not None and seek_s > 0 and stream.time_base:
                container.seek(int(seek_s / stream.time_base), stream=stream, backward=True, any_frame=False)
            last = None
            for frame in container.decode(stream):
                last = frame
            return None if last is None else last.to_ndarray(format="rgb24")

    with av.open(str(clip)) as container:
        stream = container.streams.video[0] if container.streams.video else None
        duration = (float(stream.duration * stream.time_base) if stream is not None and stream.duration
                    else (container.duration or 0) / 1_000_000)
    picture = decode(duration - TAIL_S) if duration > TAIL_S else None
    if picture is None:
        picture = decode(None)
    if picture is None:
        raise MediaError(f"{clip.name} has no decodable frame to continue from")
    return picture


def _end_of_move(picture: np.ndarray, camera: CameraMove, amount: float = KEN_BURNS_AMOUNT) -> np.ndarray:
    """The part of a still the render shows at the end of ``camera``'s move (static: the whole still), read
    from the render's own move geometry (:func:`shotsmith.formats.camera_view`)."""
    height, width = picture.shape[:2]
    x0, y0, x1, y1 = camera_view(camera, 1.0, amount)
    w, h = max(2, round(width * (x1 - x0))), max(2, round(height * (y1 - y0)))
    x, y = min(width - w, max(0, round(width * x0))), min(height - h, max(0, round(height * y0)))
    return np.ascontiguousarray(picture[y:y + h, x:x + w])


def frame_path(clips_dir: Path, digest: str, camera: CameraMove) -> Path:
    """Where the last frame of the clip with ``digest`` is kept (old ones stay: undo needs them)."""
    return clips_dir / f"continue-{digest}-{camera.value}.png"


def take_frame(clip: Path, clips_dir: Path, digest: str, camera: CameraMove) -> Path:
    """The last frame of ``clip`` (made once per clip content and camera, then reused)."""
    dest = frame_path(clips_dir, digest, camera)
    if not dest.is_file():
        tmp = dest.with_suffix(".part.png")
        last_frame(clip, tmp, camera)
        shutil.move(tmp, dest)
    return dest


def placeholder_key(backend: Backend, payload: dict, predecessor_key: str) -> str:
    """The key a continued shot's estimate and approval are bound to before its first frame exists."""
    blob = json.dumps({"continue": predecessor_key, "backend": backend.name, "request": payload},
                      sort_keys=True, separators=(",", ":"))
    return "continue-" + hashlib.sha256(blob.encode()).hexdigest()
