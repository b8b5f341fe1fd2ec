"""Probe media with PyAV: what streams a file has, how long, how big, how fast.

No ffprobe binary is needed. Every way a file can be unusable (missing, empty,
not media, truncated, no stream of the needed kind) becomes a MediaError that
names the file and says what is wrong.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
from pydantic import BaseModel

from shotsmith.errors import MediaError


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

    @property
    def display_size(self) -> tuple[int, int]:
        """Size as shown, after applying the rotation a phone recorded."""
        return (self.height, self.width) if self.rotation % 180 == 90 else (self.width, self.height)


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


def _rotation(stream) -> int:
    for frame_side in (getattr(stream, "side_data", None) or {}), stream.metadata or {}:
        for key in ("DISPLAYMATRIX", "rotate", "displaymatrix"):
            if key in frame_side:
                try:
                    return int(round(float(str(frame_side[key]).split()[0]))) % 360
                except (ValueError, IndexError):
                    pass
    return 0


def probe(path: str | Path) -> MediaInfo:
    """Describe ``path``; raise MediaError if it is not usable media."""
    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    if not path.is_file():
        raise MediaError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(f"{path}: the file is empty (0 bytes)")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"{path}: not a media file ffmpeg can read ({exc.__class__.__name__})") from exc
    try:
        with container:
            fmt = container.format.name
            vstreams = [s for s in container.streams.video if s.codec_context is not None]
            video = None
            if vstreams:
                v = vstreams[0]
                avg = v.average_rate or v.guessed_rate or v.base_rate
                base = v.base_rate or avg
                fps = float(avg) if avg else 0.0
                vfr = bool(avg and base and abs(float(avg) - float(base)) > 0.01 * float(base))
                video = VideoStreamInfo(
                    codec=v.codec_context.name, width=v.codec_context.width, height=v.codec_context.height,
                    fps=round(fps, 3), variable_frame_rate=vfr,
                    pixel_format=v.codec_context.format.name if v.codec_context.format else None,
                    rotation=_rotation(v), frames=v.frames or None, duration_s=_seconds(v.duration, v.time_base),
                )
                if video.width <= 0 or video.height <= 0:
                    raise MediaError(f"{path}: the video stream has no frame size (corrupt header?)")
            audio = [
                AudioStreamInfo(codec=a.codec_context.name, sample_rate=a.codec_context.sample_rate or 0,
                                channels=a.codec_context.channels if hasattr(a.codec_context, "channels") else a.codec_context.layout.nb_channels,
                                duration_s=_seconds(a.duration, a.time_base))
                for a in container.streams.audio
            ]
            is_image = fmt in _IMAGE_FORMATS or fmt.endswith("_pipe")
            duration = float(container.duration / av.time_base) if container.duration else None
            if duration is None:
                candidates = [d for d in [video.duration_s if video else None, *(a.duration_s for a in audio)] if d]
                duration = max(candidates) if candidates else None
            if duration is None and video is not None and not is_image:
                duration = _decode_duration(container, vstreams[0])
            if duration is None:
                duration = 0.0
            if video is None and not audio:
                raise MediaError(f"{path}: no video or audio stream")
            if not is_image and duration <= 0:
                raise MediaError(f"{path}: duration is zero (truncated or empty stream)")
            return MediaInfo(path=str(path), format=fmt, duration_s=round(duration, 6), size_bytes=size,
                             video=video, audio=audio, is_image=is_image)
    except MediaError:
        raise
    except (av.error.FFmpegError, ValueError) as exc:
        raise MediaError(f"{path}: unreadable media ({exc})") from exc


def _decode_duration(container, stream) -> float | None:
    last = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.duration is not None:
            last = float((packet.pts + packet.duration) * packet.time_base)
    return last


def require_video(info: MediaInfo) -> VideoStreamInfo:
    if info.video is None:
        raise MediaError(f"{info.path}: has no video stream (audio-only file?)")
    return info.video


def frame_rate_fraction(fps: float) -> Fraction:
    """Common rates as exact fractions (29.97 -> 30000/1001)."""
    for num, den in ((24000, 1001), (30000, 1001), (60000, 1001)):
        if abs(fps - num / den) < 0.005:
            return Fraction(num, den)
    return Fraction(fps).limit_denominator(1001)
