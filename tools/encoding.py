"""Encoder settings: which codecs a container takes, the fast preview variant, and the encoder argv.

Kept apart from the graph compiler: the compiler decides *what* the picture and
sound are, this module decides *how* they are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shotsmith.errors import InvalidInputError
from shotsmith.timeline import OutputSettings


@dataclass(frozen=True)
class Codecs:
    video: str
    audio: str | None  # None: no audio stream (GIF, WebP)
    suffix: str


CONTAINER_CODECS: dict[str, Codecs] = {
    "mp4": Codecs("libx264", "aac", ".mp4"),
    "mkv": Codecs("libx264", "aac", ".mkv"),
    "mov": Codecs("prores_ks", "pcm_s16le", ".mov"),
    "webm": Codecs("libvpx-vp9", "libopus", ".webm"),
    "gif": Codecs("gif", None, ".gif"),
    "webp": Codecs("libwebp_anim", None, ".webp"),
}
VIDEO_CODECS_FOR = {
    "mp4": {"libx264", "libx265"}, "mkv": {"libx264", "libx265", "libvpx-vp9"}, "mov": {"prores_ks", "libx264", "libx265"},
    "webm": {"libvpx-vp9"}, "gif": {"gif"}, "webp": {"libwebp_anim"},
}
AUDIO_CODECS_FOR = {"mp4": {"aac", "libmp3lame"}, "mkv": {"aac", "libopus"}, "mov": {"pcm_s16le", "aac"}, "webm": {"libopus"},
                    "gif": set(), "webp": set()}
SUFFIX_CONTAINER = {".mp4": "mp4", ".m4v": "mp4", ".mkv": "mkv", ".mov": "mov", ".webm": "webm", ".gif": "gif", ".webp": "webp"}


def settings_for_output(settings: OutputSettings, output: Path) -> OutputSettings:
    """The settings to use for ``output``: its suffix picks the container; codecs follow if they must."""
    container = SUFFIX_CONTAINER.get(output.suffix.lower())
    if container is None:
        raise InvalidInputError(f"output {output.name!r} has an unknown file type",
                                hint="use .mp4, .mov, .webm, .mkv, .gif or .webp")
    update: dict = {"container": container}
    defaults = CONTAINER_CODECS[container]
    if settings.video_codec not in VIDEO_CODECS_FOR[container]:
        update["video_codec"] = defaults.video
    if defaults.audio is not None and settings.audio_codec not in AUDIO_CODECS_FOR[container]:
        update["audio_codec"] = defaults.audio
    if container in ("gif", "webp"):
        update["pixel_format"] = "rgb24" if container == "gif" else "yuva420p"
    elif update.get("video_codec") == "prores_ks" or (settings.video_codec == "prores_ks" and container == "mov"):
        update["pixel_format"] = "yuv422p10le"
    elif settings.pixel_format not in ("yuv420p", "yuv422p10le", "yuv420p10le"):
        update["pixel_format"] = "yuv420p"
    return settings.model_copy(update=update)


def preview_settings(settings: OutputSettings) -> OutputSettings:
    """A fast low-resolution version of ``settings`` (short side 360 px, fastest encoder settings)."""
    short = min(settings.width, settings.height)
    factor = min(1.0, 360 / short)
    width = max(16, int(round(settings.width * factor / 2)) * 2)
    height = max(16, int(round(settings.height * factor / 2)) * 2)
    update = {"width": width, "height": height, "preset": "ultrafast", "crf": max(settings.crf, 28),
              "video_bitrate": None}
    if settings.container not in ("gif", "webp"):
        update.update({"container": "mp4", "video_codec": "libx264", "audio_codec": preview_audio_codec(),
                       "audio_bitrate": "128k", "pixel_format": "yuv420p"})
    return settings.model_copy(update=update)


def preview_audio_codec() -> str:
    """MP3 where ffmpeg has LAME: its encoder takes a third of the native AAC encoder's time, which was a
    fifth of a first preview's CPU (60 s of sound: 0.29 s against 0.77 s); MP3 in MP4 plays in browsers
    and the usual players. AAC otherwise."""
    from shotsmith.media.ffmpeg import has_encoder

    return "libmp3lame" if has_encoder("libmp3lame") else "aac"


def encoder_args(settings: OutputSettings) -> list[str]:
    """The whole encoder argv for ``settings``: picture, sound (or ``-an``) and container flags."""
    return [*video_encoder_args(settings), *audio_encoder_args(settings), *container_args(settings)]


def video_encoder_args(settings: OutputSettings) -> list[str]:
    """The picture encoder's argv (kept apart: an incremental render encodes picture segments on their own)."""
    s = settings
    args: list[str] = []
    codec = s.video_codec
    if codec in ("libx264", "libx265"):
        args += ["-c:v", codec, "-preset", s.preset, "-pix_fmt", s.pixel_format]
        args += ["-b:v", s.video_bitrate] if s.video_bitrate else ["-crf", str(min(s.crf, 51))]
        args += ["-g", str(max(1, round(s.fps * 2)))]
        if codec == "libx265":
            args += ["-tag:v", "hvc1", "-x265-params", "log-level=error"]
    elif codec == "libvpx-vp9":
        args += ["-c:v", codec, "-pix_fmt", s.pixel_format, "-deadline", "good", "-cpu-used", "5", "-row-mt", "1"]
        args += ["-b:v", s.video_bitrate] if s.video_bitrate else ["-crf", str(s.crf), "-b:v", "0"]
    elif codec == "prores_ks":
        args += ["-c:v", codec, "-profile:v", "3", "-pix_fmt", "yuv422p10le", "-vendor", "apl0"]
    elif codec == "gif":
        args += ["-c:v", "gif", "-loop", "0"]
    elif codec == "libwebp_anim":
        args += ["-c:v", "libwebp_anim", "-quality", str(max(0, min(100, 100 - s.crf))), "-loop", "0",
                 "-pix_fmt", "yuva420p"]
    else:
        raise InvalidInputError(f"unsupported video codec {codec!r}",
                                hint="use libx264, libx265, libvpx-vp9, prores_ks, gif or libwebp_anim")
    return args


def audio_encoder_args(settings: OutputSettings) -> list[str]:
    """The sound encoder's argv, or ``-an`` for a container without sound (GIF, WebP)."""
    s = settings
    audio = CONTAINER_CODECS[s.container].audio
    if audio is None:
        return ["-an"]
    args = ["-c:a", s.audio_codec, "-ar", str(s.sample_rate), "-ac", "2"]
    if s.audio_codec in ("aac", "libopus", "libmp3lame"):
        args += ["-b:a", s.audio_bitrate]
    return args


def container_args(settings: OutputSettings) -> list[str]:
    """Muxer flags: MP4/MOV put their index first so a player can start before the download ends."""
    return ["-movflags", "+faststart"] if settings.container in ("mp4", "mov") else []
