"""Fetch a finished clip safely: size cap, content-type check, completeness, decodability.

A provider's download URL is the last place a paid generation can go wrong: the
signed URL may have expired, a CDN may answer with an HTML error page, the
connection may drop half way. Each becomes a :class:`DownloadError` saying
whether another attempt could help, and nothing reaches ``clips/`` until the
file has been decoded end to end (the engine writes into a temporary file and
renames it only after :func:`verify_clip`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import av
import httpx

from shotsmith.backends.errors import DownloadError, ExpiredUrlError
from shotsmith.backends.http import ApiClient
from shotsmith.errors import CancelledError, MediaError
from shotsmith.media.probe import MediaInfo, probe, require_video

CHUNK = 256 * 1024


async def download_clip(api: ApiClient, url: str, dest: Path, *, headers: dict[str, str] | None = None,
                        max_bytes: int, content_types: tuple[str, ...],
                        cancel: threading.Event | None = None) -> int:
    """Stream ``url`` into ``dest``; return the byte count or raise :class:`DownloadError`."""
    where = url.split("?", 1)[0]
    try:
        async with api.client.stream("GET", url, headers=headers or {}) as response:
            status = response.status_code
            if status in (403, 404, 410):
                raise ExpiredUrlError(f"{api.provider}: the download URL answered HTTP {status} (expired or removed)")
            if status >= 400:
                raise DownloadError(f"{api.provider}: download failed with HTTP {status}",
                                    retryable=status in (408, 429) or status >= 500, status=status)
            ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if not any(ctype.startswith(t) for t in content_types):
                raise DownloadError(f"{api.provider}: the download is {ctype or 'untyped'}, not a video", retryable=False)
            declared = response.headers.get("content-length")
            expected = int(declared) if declared and declared.isdigit() else None
            if expected is not None and expected > max_bytes:
                raise DownloadError(f"{api.provider}: the clip is {expected / 1e6:.0f} MB, over the "
                                    f"{max_bytes / 1e6:.0f} MB cap", retryable=False)
            total = 0
            with open(dest, "wb") as handle:
                async for chunk in response.aiter_bytes(CHUNK):
                    if cancel is not None and cancel.is_set():
                        raise CancelledError("download was cancelled")
                    total += len(chunk)
                    if total > max_bytes:
                        raise DownloadError(f"{api.provider}: the clip exceeds the {max_bytes / 1e6:.0f} MB cap",
                                            retryable=False)
                    handle.write(chunk)
    except httpx.TransportError as exc:
        raise DownloadError(api.redact(f"{api.provider}: download of {where} broke off ({type(exc).__name__})"),
                            retryable=True) from exc
    if expected is not None and total != expected:
        raise DownloadError(f"{api.provider}: download truncated ({total} of {expected} bytes)", retryable=True)
    if total == 0:
        raise DownloadError(f"{api.provider}: the download was empty", retryable=True)
    return total


def verify_clip(path: Path) -> MediaInfo:
    """Probe and decode every video frame; a truncated or corrupt file raises MediaError.

    Probing alone is not enough: an MP4 whose index sits at the front still
    probes fine when its media data was cut short, so the frames are decoded and
    the last one must reach (nearly) the duration the container claims.
    """
    info = probe(path)
    video = require_video(info)
    last = None
    frames = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                frames += 1
                if frame.time is not None:
                    last = frame.time
    except (av.error.FFmpegError, ValueError) as exc:
        raise MediaError(f"{path}: does not decode ({exc})") from exc
    if frames == 0:
        raise MediaError(f"{path}: no video frame decodes")
    claimed = video.duration_s or info.duration_s
    frame_time = 1.0 / video.fps if video.fps else 0.1
    if last is not None and claimed and last + 3 * frame_time < claimed * 0.9:
        raise MediaError(f"{path}: truncated (frames stop at {last:.2f}s of {claimed:.2f}s)")
    return info
