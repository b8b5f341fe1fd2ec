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

What "decodes" means depends on the kind (:func:`verify_output`): a clip's
video frames reach the duration it claims; an image is PNG, JPEG or WebP and
its pixels decode (Pillow); speech has an audio stream whose samples decode
to more than nothing (PyAV). The same checks pick the file's suffix from its
content, never from a URL.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import httpx

from shotsmith.backends.base import MediaKind
from shotsmith.backends.errors import DownloadError, ExpiredUrlError
from shotsmith.backends.http import ApiClient
from shotsmith.errors import CancelledError, MediaError
from shotsmith.media.probe import MediaInfo, probe, require_video

KEPT = "the task is finished and kept; a rerun downloads it again without paying for it again"


async def download_clip(api: ApiClient, url: str, dest: Path, *, headers: dict[str, str] | None = None,
                        max_bytes: int, content_types: tuple[str, ...],
                        cancel: threading.Event | None = None, deadline: float | None = None,
                        min_rate_bps: float = 0.0, rate_window_s: float = 15.0,
                        auth_for: Callable[[str], dict[str, str]] | None = None, what: str = "video") -> int:
    """Stream ``url`` into ``dest``; return the byte count or raise :class:`DownloadError`.

    ``what`` names the expected content in messages ("video", "image", "voice").

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
                                  rate_window_s=rate_window_s, what=what)
        finally:
            await response.aclose()
    except httpx.TransportError as exc:
        raise DownloadError(api.redact(f"{api.provider}: download of {where} broke off ({type(exc).__name__})"),
                            retryable=True, hint=KEPT) from exc


async def _receive(api: ApiClient, response: httpx.Response, dest: Path, *, max_bytes: int,
                   content_types: tuple[str, ...], cancel: threading.Event | None, left, out_of_time,
                   min_rate_bps: float, rate_window_s: float, what: str = "video") -> int:
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
        noun = {"video": "a video", "image": "an image", "voice": "audio"}.get(what, what)
        raise DownloadError(f"{api.provider}: the download is {ctype or 'untyped'}, not {noun} "
                            f"(the file host answered with a page instead of the file)", retryable=False,
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


#: Image formats a result may be in (Pillow's names) and the suffix each gets in ``clips/``.
IMAGE_SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
#: Audio containers a voice result may be in (PyAV's format names) and their suffixes.
AUDIO_SUFFIXES = {"wav": ".wav", "mp3": ".mp3", "flac": ".flac", "ogg": ".ogg", "mov,mp4,m4a,3gp,3g2,mj2": ".m4a"}
#: Where a result is generated before its content is known (muxers infer the format from it).
DEFAULT_SUFFIXES = {MediaKind.VIDEO: ".mp4", MediaKind.IMAGE: ".png", MediaKind.VOICE: ".wav"}
#: Content types a download of each kind may arrive as (besides the backend's own list).
KIND_CONTENT_TYPES = {MediaKind.VIDEO: ("video/",), MediaKind.IMAGE: ("image/",), MediaKind.VOICE: ("audio/",)}


@dataclass(frozen=True)
class VerifiedMedia:
    """What decoding a result showed: its kind, the suffix its content calls for, and its shape."""

    kind: MediaKind
    suffix: str
    duration_s: float = 0.0
    width: int = 0
    height: int = 0
    has_audio: bool | None = None


def verify_image(path: Path) -> VerifiedMedia:
    """Open and decode every pixel with Pillow; PNG, JPEG or WebP of a real size, else MediaError.

    ``Image.open`` only reads the header; ``load()`` decodes the pixel data, so
    a file cut short by a dropped download fails here instead of in a render.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            fmt = image.format or "unknown"
            if fmt not in IMAGE_SUFFIXES:
                raise MediaError(f"{path}: is a {fmt} image; a result must be PNG, JPEG or WebP")
            image.load()
            width, height = image.size
    except UnidentifiedImageError as exc:
        raise MediaError(f"{path}: not an image (unrecognised or corrupt data)") from exc
    except MediaError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaError(f"{path}: the image does not decode ({exc})") from exc
    if width <= 0 or height <= 0:
        raise MediaError(f"{path}: the image is empty ({width}x{height})")
    return VerifiedMedia(MediaKind.IMAGE, IMAGE_SUFFIXES[fmt], width=width, height=height)


def verify_audio(path: Path) -> VerifiedMedia:
    """Decode every audio sample with PyAV; speech must have an audio stream and last more than nothing.

    As for video, the decoded length is compared with what the container claims,
    so a file whose header promises more than it holds is caught as truncated.
    """
    path = Path(path)
    samples = 0
    rate = 0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            fmt = container.format.name
            if not container.streams.audio:
                raise MediaError(f"{path}: has no audio stream; speech was expected")
            stream = container.streams.audio[0]
            claimed = float(container.duration / av.time_base) if container.duration else None
            if stream.duration is not None and stream.time_base is not None:
                claimed = float(stream.duration * stream.time_base)
            for frame in container.decode(stream):
                samples += frame.samples
                rate = frame.sample_rate or rate
    except MediaError:
        raise
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError) as exc:
        raise MediaError(f"{path}: does not decode as audio ({exc})") from exc
    if fmt not in AUDIO_SUFFIXES:
        raise MediaError(f"{path}: is {fmt} audio; a voice result must be WAV, MP3, FLAC, Ogg or M4A")
    if fmt == "wav":
        claimed = _wav_header_seconds(path) or claimed
    duration = samples / rate if rate else 0.0
    if duration <= 0:
        raise MediaError(f"{path}: no audio decodes (0 samples)")
    if claimed and duration + 0.1 < claimed * 0.9:
        raise MediaError(f"{path}: truncated (audio stops at {duration:.2f}s of {claimed:.2f}s)")
    return VerifiedMedia(MediaKind.VOICE, AUDIO_SUFFIXES[fmt], duration_s=duration, has_audio=True)


def _wav_header_seconds(path: Path) -> float | None:
    """The length a PCM WAV's header promises (ffmpeg measures WAVs by file size, so it cannot see a cut).

    ``None`` when the header does not say: not PCM, or a streamed WAV whose
    size field was left at 0 or the maximum.
    """
    import wave

    try:
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            block = wav.getsampwidth() * wav.getnchannels()
    except (wave.Error, EOFError, OSError):
        return None
    if not rate or frames == 0 or frames * block >= 0x7FFFFFFF:
        return None
    return frames / rate


def verify_output(path: Path, kind: MediaKind) -> VerifiedMedia:
    """Check a result of ``kind`` before it is accepted: the one gate into ``clips/`` for every backend."""
    if kind is MediaKind.IMAGE:
        return verify_image(path)
    if kind is MediaKind.VOICE:
        return verify_audio(path)
    info = verify_clip(path)
    video = info.video
    assert video is not None
    return VerifiedMedia(MediaKind.VIDEO, DEFAULT_SUFFIXES[MediaKind.VIDEO], duration_s=info.duration_s,
                         width=video.width, height=video.height, has_audio=info.has_audio)
