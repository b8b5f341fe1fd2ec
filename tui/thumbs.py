"""Shot thumbnails: one still per shot, cut from its clip or footage and cached under ``.shotsmith/thumbs/``.

The plan table says what each shot should show; a thumbnail shows what it
does show, which is what a user checks first after a generation. Decoding a
frame costs tens of milliseconds, so frames are cached as small PNGs keyed by
the source file's path, modification time and size and the time the frame is
taken at: a regenerated clip (new mtime) gets a new thumbnail, an unchanged
one is read back, and undoing and redoing costs nothing. Nothing here touches
Textual, so the widget can run it in a worker thread and tests can call it
directly.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shotsmith.brief import Shot

log = logging.getLogger(__name__)

THUMBS_DIR = ".shotsmith/thumbs"
#: Width of a cached thumbnail in pixels: enough for a terminal cell grid, small enough to decode fast.
THUMB_WIDTH = 192
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


def shot_media(root: Path, shot: "Shot") -> Path | None:
    """The file a shot's picture comes from: its clip, else its footage, else its storyboard keyframe.

    Only a clip or keyframe made for the shot as it is now counts (``bound_clip``): after a new prompt the
    old clip shows something else, and "no clip yet" is the truth. None when there is nothing yet.
    """
    for name in (shot.bound_clip, shot.source, shot.bound_keyframe):
        if not name:
            continue
        path = Path(name)
        path = path if path.is_absolute() else Path(root) / path
        if path.is_file():
            return path
    return None


def frame_time(shot: "Shot") -> float:
    """Where in the media to take the still: a little into the part the shot shows (its first frame is often a fade)."""
    return shot.in_s + min(1.0, shot.duration_s * shot.speed / 2)


def cache_path(root: Path, media: Path, at_s: float) -> Path:
    """The cached PNG for ``media`` at ``at_s``; the key changes when the file is rewritten."""
    stat = media.stat()
    key = f"{media.resolve()}|{stat.st_mtime_ns}|{stat.st_size}|{at_s:.2f}|{THUMB_WIDTH}"
    return Path(root) / THUMBS_DIR / (hashlib.sha1(key.encode()).hexdigest()[:20] + ".png")


def thumbnail(root: Path, shot: "Shot") -> Path | None:
    """The cached thumbnail of ``shot``, made if missing; None when the shot has no media or it cannot be read."""
    media = shot_media(root, shot)
    if media is None:
        return None
    at_s = 0.0 if media.suffix.lower() in IMAGE_SUFFIXES else frame_time(shot)
    # (a keyframe and still footage are images: the whole still is the picture)
    target = cache_path(root, media, at_s)
    if target.is_file():
        return target
    try:
        image = _still(media, at_s)
    except Exception as exc:  # a broken or half-written file: no thumbnail, the table still says what is there
        log.info("no thumbnail for shot %s from %s: %s", shot.index, media, exc)
        return None
    image.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 4))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".png.tmp")
    os.close(handle)
    try:
        image.save(tmp, format="PNG")
        os.replace(tmp, target)  # two workers making the same thumbnail both end with a whole file
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _still(media: Path, at_s: float):
    """A PIL image of ``media`` (a still image, or the video frame at ``at_s`` seconds, or the last one before)."""
    from PIL import Image

    if media.suffix.lower() in IMAGE_SUFFIXES:
        with Image.open(media) as opened:
            return opened.convert("RGB")
    import av

    with av.open(str(media)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if at_s > 0 and stream.time_base:
            container.seek(int(at_s / stream.time_base), stream=stream, backward=True)
        last = None
        for frame in container.decode(stream):
            last = frame
            if frame.time is None or frame.time >= at_s - 0.02:
                break
        if last is None:
            raise ValueError("no video frame")
        return last.to_image()


def cells_wide(path: Path, rows: int) -> int:
    """How many terminal cells wide ``path`` is drawn ``rows`` cells high, keeping its shape.

    A terminal cell is about twice as tall as it is wide (half-block cells show two square
    pixels in one), so a 16:9 still five rows high is about 18 cells wide and a 9:16 one 6.
    Set explicitly because an image widget sized ``auto`` is measured before its height is known.
    """
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
    return max(2, round(rows * 2 * width / max(height, 1)))
