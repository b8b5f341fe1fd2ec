"""Proxy media for preview renders: each large source once at the preview's size, kept and reused.

Why: a preview render's small frame and fastest encoder leave decoding the
sources at full size as most of its cost (a 60 s 1080p edit: decoding alone is
about a tenth of the full render, the preview's downscale another tenth). A
proxy is the source scaled once to cover the preview frame (fastest x264,
short GOPs, the sound copied untouched so the mix is the same), stored
content-addressed beside the render cache (``PROJECT/.shotsmith/proxies/``),
so every later preview decodes a few hundred thousand pixels a frame instead of
two million. The graph is the one compiler's; only the files it reads change.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

from shotsmith.atomic import atomic_output
from shotsmith.errors import MediaError, ShotsmithError
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import probe
from shotsmith.timeline import OutputSettings, Timeline

#: Bump when the way proxies are made changes.
PROXY_VERSION = "proxy-1"


def _key(path: Path, width: int, height: int) -> str:
    st = path.stat()
    payload = [PROXY_VERSION, str(path.resolve()), st.st_size, st.st_mtime_ns, width, height]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:32]


def proxy_for(path: Path, settings: OutputSettings, folder: Path, *,
              cancel: threading.Event | None = None) -> Path | None:
    """The proxy of ``path`` for frames of ``settings``' size, made now if missing; None when the
    source is no larger than the frame (or is not a video), so reading it directly costs no more."""
    try:
        info = probe(path)
    except (MediaError, OSError):
        return None
    video = info.video
    if video is None or info.is_image or path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
        return None
    sw, sh = (video.height, video.width) if video.rotation % 180 else (video.width, video.height)
    factor = max(settings.width / sw, settings.height / sh)  # cover the frame: every fit mode has its pixels
    if factor >= 0.75:
        return None
    width, height = max(2, round(sw * factor / 2) * 2), max(2, round(sh * factor / 2) * 2)
    folder.mkdir(parents=True, exist_ok=True)
    proxy = folder / f"{_key(path, width, height)}.mp4"
    if proxy.is_file():
        return proxy
    gop = str(max(1, round(video.fps or 30)))
    with atomic_output(proxy) as tmp:
        run_ffmpeg(["-skip_loop_filter:v", "all", "-i", str(path), "-map", "0:v:0", "-map", "0:a?",
                    "-vf", f"scale={width}:{height}:flags=fast_bilinear", "-fps_mode", "passthrough",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-g", gop, "-pix_fmt", "yuv420p",
                    "-c:a", "copy", "-map_metadata", "-1", str(tmp)],
                   duration_s=info.duration_s, cancel=cancel, what=f"making a preview proxy of {path.name}")
    return proxy


def proxy_resolver(timeline: Timeline, resolve: Callable[[str], Path], settings: OutputSettings, folder: Path, *,
                   cancel: threading.Event | None = None) -> Callable[[str], Path]:
    """A ``resolve`` that reads every clip's proxy (made as needed) and everything else as before."""
    mapped: dict[str, Path] = {}
    for clip in timeline.clips:
        if clip.source in mapped:
            continue
        try:
            source = Path(resolve(clip.source))
        except (ShotsmithError, OSError, ValueError):
            continue
        proxy = proxy_for(source, settings, folder, cancel=cancel) if source.is_file() else None
        if proxy is not None:
            mapped[clip.source] = proxy
    return lambda ref: mapped.get(ref) or resolve(ref)
