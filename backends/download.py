"""Fetch a finished clip safely: size cap, content-type check, time and throughput bounds, decodability.

A provider's download URL is the last place a paid generation can go wrong: the
signed URL may have expired, a CDN may answer with an HTML error page, the
connection may drop half way or slow to a drip. Each becomes a
:class:`DownloadError` saying whether another attempt could help, and nothing
reaches ``clips/`` until the file has been decoded end to end (the engine
writes into a temporary file and renames it only after :func:`verify_clip`).

Bounds: the whole download (every attempt together, see
:mod:`shotsmith.backends.jobs`) ends by a ``deadline``, and every
``rate_window_s`` seconds at least ``min_rate_bps`` bytes per second must have
arrived, so a server sending one byte every 20 s is dropped after one window
instead of resetting the read timeout forever.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import httpx

from shotsmith.backends.errors import DownloadError, ExpiredUrlError
from shotsmith.backends.http import ApiClient
from shotsmith.errors import CancelledError, MediaError
from shotsmith.media.probe import MediaInfo, probe, require_video

KEPT = "the task is finished and kept; a rerun downloads it again without paying for it again"


async def download_clip(api: ApiClient, url: str, dest: Path, *, headers: dict[str, str] | None = None,
                        max_bytes: int, content_types: tuple[str, ...],
                        cancel: threading.Event | None = None, deadline: float | None = None,
                        min_rate_bps: float = 0.0, rate_window_s: float = 15.0,
                        auth_for: Callable[[str], dict[str, str]] | None = None) -> int:
    """Stream ``url`` into ``dest``; return the byte count or raise :class:`DownloadError`.

    ``auth_for(url)`` gives the headers for a hop on the API host (none elsewhere);
    ``deadline`` is a ``time.monotonic()`` value.
    """
    where = url.split("?", 1)[0]

    def left() -> float | None:
        return None if deadline is None else deadline - time.monotonic()

    def out_of_time() -> DownloadError:
        return DownloadError(f"{api.provider}: the download did not finish in time", retryable=True, hint=KEPT)

    try:
        budget = left()
        if budget is not None and budget <= 0:
            raise out_of_time()
        try:
            response = await asyncio.wait_for(
                api.send("GET", url, headers=headers or {}, stream=True, authenticated=False, auth_for=auth_for),
                budget)
        except (TimeoutError, asyncio.TimeoutError):
            raise out_of_time() from None
        try:
            return await _receive(api, response, dest, max_bytes=max_bytes, content_types=content_types,
                                  cancel=cancel, left=left, out_of_time=out_of_time, min_rate_bps=min_rate_bps,
                                  rate_window_s=rate_window_s)
        finally:
            await response.aclose()
    except httpx.TransportError as exc:
        raise DownloadError(api.redact(f"{api.provider}: download of {where} broke off ({type(exc).__name__})"),
                            retryable=True, hint=KEPT) from exc


async def _receive(api: ApiClient, response: httpx.Response, dest: Path, *, max_bytes: int,
                   content_types: tuple[str, ...], cancel: threading.Event | None, left, out_of_time,
                   min_rate_bps: float, rate_window_s: float) -> int:
    status = response.status_code
    if status in (403, 404, 410):
        raise ExpiredUrlError(f"{api.provider}: the download URL answered HTTP {status} (expired or removed)")
    if status >= 400:
        raise DownloadError(f"{api.provider}: download failed with HTTP {status}",
                            retryable=status in (408, 429) or status >= 500, status=status, hint=KEPT)
    if status >= 300:
        raise DownloadError(f"{api.provider}: the download answered HTTP {status} without a usable redirect",
                            retryable=False, status=status, hint=KEPT)
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not any(ctype.startswith(t) for t in content_types):
        raise DownloadError(f"{api.provider}: the download is {ctype or 'untyped'}, not a video "
                            f"(the file host answered with a page instead of the clip)", retryable=False,
                            hint=KEPT)
    declared = response.headers.get("content-length")
    expected = int(declared) if declared and declared.isdigit() else None
    too_big_hint = (f"raise max_download_mb for this backend if the clip is expected to be that large; {KEPT}")
    if expected is not None and expected > max_bytes:
        raise DownloadError(f"{api.provider}: the clip is {expected / 1e6:.3g} MB, over the "
                            f"{max_bytes / 1e6:.3g} MB cap", retryable=False, hint=too_big_hint)

    # A reader task feeds a queue, so waiting for the next chunk can time out without breaking the stream.
    queue: asyncio.Queue = asyncio.Queue(maxsize=8)
    done = object()

    async def reader() -> None:
        try:
            async for chunk in response.aiter_bytes():
                await queue.put(chunk)
            await queue.put(done)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the consumer
            await queue.put(exc)

    task = asyncio.create_task(reader())
    total = 0
    window_start, window_bytes = time.monotonic(), 0
    try:
        with open(dest, "wb") as handle:
            while True:
                if cancel is not None and cancel.is_set():
                    raise CancelledError("download was cancelled")
                now = time.monotonic()
                waits = [0.25] if cancel is not None else []
                if min_rate_bps > 0:
                    waits.append(window_start + rate_window_s - now)
                budget = left()
                if budget is not None:
                    waits.append(budget)
                timeout = max(min(waits), 0.0) if waits else None
                try:
                    item = await asyncio.wait_for(queue.get(), timeout) if timeout is not None else await queue.get()
                except (TimeoutError, asyncio.TimeoutError):
                    item = None
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                if item:
                    total += len(item)
                    window_bytes += len(item)
                    if total > max_bytes:
                        raise DownloadError(f"{api.provider}: the clip exceeds the {max_bytes / 1e6:.3g} MB cap",
                                            retryable=False, hint=too_big_hint)
                    handle.write(item)
                now = time.monotonic()
                budget = left()
                if budget is not None and budget <= 0:
                    raise out_of_time()
                if min_rate_bps > 0 and now >= window_start + rate_window_s:
                    if window_bytes < min_rate_bps * rate_window_s:
                        raise DownloadError(f"{api.provider}: the download stalled ({window_bytes} bytes in "
                                            f"{now - window_start:.3g}s, below the minimum of "
                                            f"{min_rate_bps / 1000:g} kB/s)", retryable=True, hint=KEPT)
                    window_start, window_bytes = now, 0
    finally:
        task.cancel()
        try:
            await task
        except BaseException:  # noqa: BLE001 - the reader's own cancellation
            pass
    if expected is not None and total != expected:
        raise DownloadError(f"{api.provider}: download truncated ({total} of {expected} bytes)", retryable=True,
                            hint=KEPT)
    if total == 0:
        raise DownloadError(f"{api.provider}: the download was empty", retryable=True, hint=KEPT)
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
