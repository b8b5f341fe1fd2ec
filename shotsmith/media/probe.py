"""Probe media with PyAV: what streams a file has, how long, how big, how fast.

No ffprobe binary is needed. Every way a file can be unusable (missing, empty,
not media, truncated, no stream of the needed kind, a codec nothing here can
decode) becomes a MediaError that names the file and says what is wrong, so a
tool can pass the message straight to the user.

Container headers lie in a few ways that matter to an editor, so the probe
checks them against the packets themselves:

* frame rate: a phone's variable-frame-rate recording declares one nominal
  rate; the gaps between presentation timestamps show whether it is really
  constant (``variable_frame_rate``);
* rotation: phones store portrait video as landscape plus a display matrix;
  the decoded first frame carries it (``rotation``, clockwise degrees as the
  old ``rotate`` tag counted them);
* truncation: an MP4 whose index sits at the front still opens after a cut-off
  download; the index then promises more frames than the file holds.
"""

from __future__ import annotations

import functools

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from pydantic import BaseModel

from shotsmith.errors import MediaError

log = logging.getLogger(__name__)

#: Packets read to judge whether the frame rate is constant (about a minute at 30 fps).
VFR_SCAN_PACKETS = 2000


class VideoStreamInfo(BaseModel):
    codec: str
    width: int
    height: int
    fps: float
    variable_frame_rate: bool
    pixel_format: str | None
    rotation: int
    frames: int | None
    duration_s: float | None
    fps_exact: str | None = None
    """The average rate as an exact fraction ("30000/1001"); frame maths should use this."""
    start_s: float = 0.0
    """Presentation time of the first frame; frame ``n`` of a CFR stream is at ``start_s + n / fps``."""

    @property
    def display_size(self) -> tuple[int, int]:
        """Size as shown, after applying the rotation a phone recorded."""
        return (self.height, self.width) if self.rotation % 180 == 90 else (self.width, self.height)

    @property
    def rate(self) -> Fraction:
        """The frame rate as an exact fraction."""
        if self.fps_exact:
            return Fraction(self.fps_exact)
        return frame_rate_fraction(self.fps)


class AudioStreamInfo(BaseModel):
    codec: str
    sample_rate: int
    channels: int
    duration_s: float | None


class MediaInfo(BaseModel):
    path: str
    format: str
    duration_s: float
    size_bytes: int
    video: VideoStreamInfo | None
    audio: list[AudioStreamInfo]
    is_image: bool = False

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)


_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif"}


def _seconds(value, time_base) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def _sniff(path: Path) -> str:
    """Say what the bytes look like, to explain why ffmpeg refused them."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return ""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        return ("it looks like an MP4/MOV, but its index (moov atom) is missing or damaged: "
                "the file is probably truncated (an interrupted download or recording)")
    if head[:4] == b"RIFF":
        return "it looks like a RIFF (WAV/AVI) file, but its header is damaged or truncated"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "it looks like a Matroska/WebM file, but its header is damaged or truncated"
    return "not a media file ffmpeg can read (unrecognised or corrupt data)"


def _open(path: Path):
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(f"{path}: {_sniff(path)}") from exc


@contextmanager
def open_video(path: str | Path) -> Iterator[tuple[Any, Any]]:
    """Open ``path`` to read its first video stream: ``(container, stream)``.

    The one place tools open video for decoding, so a file that cannot be read,
    or has no picture, fails with the same clear MediaError everywhere.
    """
    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"{path}: has no video stream; this needs video")
        yield container, container.streams.video[0]


def probe(path: str | Path, *, need_video: bool = False) -> MediaInfo:
    """Describe ``path``; raise MediaError if it is not usable media.

    ``need_video`` makes an audio-only file an error too (a tool that cuts
    picture cannot use a WAV), with a message saying so.
    """
    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    if not path.is_file():
        raise MediaError(f"{path}: not a regular file")
    st = path.stat()
    if st.st_size == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes)")
    info = _probe_version(str(path), st.st_size, st.st_mtime_ns, st.st_ino).model_copy(deep=True)
    if need_video:
        require_video(info)
    return info


@functools.lru_cache(maxsize=512)
def _probe_version(path: str, size: int, mtime_ns: int, inode: int) -> MediaInfo:
    """One probe per version of a file: a render, its segment keys, its cost estimate and its preview's
    proxies each ask about the same sources (a preview of ten clips opened them 94 times)."""
    container = _open(Path(path))
    try:
        with container:
            return _describe(Path(path), size, container)
    except MediaError:
        raise
    except (av.error.FFmpegError, ValueError, OverflowError, ZeroDivisionError) as exc:
        raise MediaError(f"{path}: unreadable media ({exc})") from exc


def _describe(path: Path, size: int, container) -> MediaInfo:
    fmt = container.format.name
    is_image = fmt in _IMAGE_FORMATS or fmt.endswith("_pipe")
    vstreams = [s for s in container.streams.video if s.codec_context is not None]
    # Cover art in an audio file is a one-picture "video" stream; it is not video.
    vstreams = [s for s in vstreams if not (s.disposition & av.stream.Disposition.attached_pic)] if not is_image else vstreams
    video = _describe_video(path, container, vstreams[0], is_image) if vstreams else None
    audio = [
        AudioStreamInfo(codec=a.codec_context.name, sample_rate=a.codec_context.sample_rate or 0,
                        channels=a.codec_context.channels if hasattr(a.codec_context, "channels") else a.codec_context.layout.nb_channels,
                        duration_s=_seconds(a.duration, a.time_base))
        for a in container.streams.audio if a.codec_context is not None
    ]
    if video is None and not audio:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise MediaError(f"{path}: unsupported: no video or audio stream (streams found: {', '.join(kinds)})")
    duration = float(container.duration / av.time_base) if container.duration and container.duration > 0 else None
    if duration is None:
        candidates = [d for d in [video.duration_s if video else None, *(a.duration_s for a in audio)] if d]
        duration = max(candidates) if candidates else None
    if duration is None and video is not None and not is_image:
        duration = _decode_duration(container, vstreams[0])
    if duration is None:
        duration = 0.0
    if not is_image and duration <= 0:
        raise MediaError(f"{path}: duration is zero (truncated or empty stream)")
    return MediaInfo(path=str(path), format=fmt, duration_s=round(duration, 6), size_bytes=size,
                     video=video, audio=audio, is_image=is_image)


def _describe_video(path: Path, container, v, is_image: bool) -> VideoStreamInfo:
    ctx = v.codec_context
    if ctx.name in (None, "", "none"):
        raise MediaError(f"{path}: unsupported video codec (no decoder for stream {v.index})")
    if not ctx.width or not ctx.height or ctx.width <= 0 or ctx.height <= 0:
        raise MediaError(f"{path}: the video stream has no frame size (corrupt header?)")
    avg = v.average_rate or v.guessed_rate or v.base_rate
    with _open(path) as scan:  # fresh containers: not every input can seek back (raw .h264)
        packets, pts = _scan_packets(path, scan, scan.streams[v.index])
    declared = v.frames or 0
    if not is_image and declared > 1 and packets < declared:
        raise MediaError(f"{path}: truncated: the index lists {declared} video frames but only {packets} are in the file",
                         hint="re-download or re-export the file")
    vfr = _is_variable(pts)
    with _open(path) as first:
        rotation, pixel_format = _first_frame(path, first, first.streams[v.index])
    start_s = _seconds(v.start_time, v.time_base) or 0.0
    rate = Fraction(avg) if avg else Fraction(0)
    if rate and not vfr:
        snapped = frame_rate_fraction(float(rate))
        if abs(snapped - rate) < rate * Fraction(1, 10_000):
            rate = snapped
    return VideoStreamInfo(
        codec=ctx.name, width=ctx.width, height=ctx.height,
        fps=round(float(rate), 3), variable_frame_rate=vfr,
        pixel_format=pixel_format or (ctx.format.name if ctx.format else None),
        rotation=rotation, frames=v.frames or None, duration_s=_seconds(v.duration, v.time_base),
        fps_exact=f"{rate.numerator}/{rate.denominator}" if rate else None, start_s=start_s,
    )


def _scan_packets(path: Path, container, stream) -> tuple[int, list[int]]:
    """Count the stream's packets and collect timestamps of the first ones.

    Stops after :data:`VFR_SCAN_PACKETS` so a long file stays cheap to probe.
    """
    count = 0
    pts: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            count += 1
            if packet.pts is not None:
                pts.append(packet.pts)
            if count >= VFR_SCAN_PACKETS:
                # Long file: only check that its end is really there, not every packet.
                return _check_tail(path, container, stream), pts
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: corrupt data after {count} video packets ({exc.strerror or exc})") from exc
    return count, pts


def _is_variable(pts: list[int]) -> bool:
    """True when the gaps between frames differ by more than timestamp rounding."""
    if len(pts) < 3:
        return False
    ordered = sorted(pts)
    gaps = [b - a for a, b in zip(ordered, ordered[1:]) if b > a]
    if len(gaps) < 2:
        return False
    gaps.sort()
    median = gaps[len(gaps) // 2]
    tolerance = max(1.5, 0.05 * median)
    return any(abs(g - median) > tolerance for g in gaps)


def _check_tail(path: Path, container, stream) -> int:
    """Seek near the declared end and make sure packets reach it; return the declared count."""
    if not stream.duration or not stream.frames:
        return stream.frames or VFR_SCAN_PACKETS
    end = (stream.start_time or 0) + stream.duration
    try:
        container.seek(max(0, int(end - 3 / stream.time_base)), stream=stream, backward=True)
    except av.error.FFmpegError:
        return stream.frames  # cannot seek: nothing more to check cheaply
    last = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.size:
            last = packet.pts if last is None else max(last, packet.pts)
    if last is None or (end - last) * stream.time_base > 2:
        reached = f"{float(((last or 0) - (stream.start_time or 0)) * stream.time_base):.2f}s" if last is not None else "nothing"
        raise MediaError(f"{path}: truncated: the video should last {float(stream.duration * stream.time_base):.2f}s "
                         f"but its packets end at {reached}", hint="re-download or re-export the file")
    return stream.frames


def _first_frame(path: Path, container, stream) -> tuple[int, str | None]:
    """Decode one frame: proves the stream decodes and reads the display matrix."""
    try:
        for frame in container.decode(stream):
            ccw = getattr(frame, "rotation", 0) or 0
            return int(round(-float(ccw))) % 360, frame.format.name if frame.format else None
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: the video stream cannot be decoded ({exc.strerror or exc})") from exc
    raise MediaError(f"{path}: the video stream holds no decodable frame (truncated or corrupt)")


def _decode_duration(container, stream) -> float | None:
    """Duration from the packets, for streams whose header has none (raw .h264)."""
    last = None
    count = 0
    for packet in container.demux(stream):
        if packet.size:
            count += 1
        if packet.pts is not None and packet.duration is not None:
            last = float((packet.pts + packet.duration) * packet.time_base)
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if last is None and count and rate:
        last = count / float(rate)
    return last


def require_video(info: MediaInfo) -> VideoStreamInfo:
    if info.video is None:
        what = f"audio-only file ({info.audio[0].codec})" if info.audio else "no picture"
        raise MediaError(f"{info.path}: has no video stream ({what}); this needs video")
    return info.video


def frame_rate_fraction(fps: float) -> Fraction:
    """Common rates as exact fractions (29.97 -> 30000/1001)."""
    for num, den in ((24000, 1001), (30000, 1001), (60000, 1001)):
        if abs(fps - num / den) < 0.005:
            return Fraction(num, den)
    return Fraction(fps).limit_denominator(1001)
