"""Export presets (H.264/H.265 MP4, VP9 WebM, ProRes, GIF/WebP previews) and the output settings tool."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shotsmith.errors import InvalidInputError
from shotsmith.formats import ASPECT_RATIOS, RESOLUTIONS, frame_size
from shotsmith.timeline import FitMode, OutputSettings
from shotsmith.tools.editing import EditResult, commit, commit_plan, planned, require_store, validated
from shotsmith.tools.spec import ToolContext, edit_tool


class Preset(BaseModel):
    name: str
    description: str
    suffix: str
    settings: dict[str, Any]
    max_width: int | None = None
    max_fps: float | None = None


PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset(name="web", description="H.264/AAC MP4 for the web, -14 LUFS", suffix=".mp4",
           settings={"container": "mp4", "video_codec": "libx264", "crf": 21, "preset": "veryfast",
                     "pixel_format": "yuv420p", "audio_codec": "aac", "audio_bitrate": "160k", "loudness_lufs": -14.0}),
    Preset(name="social", description="H.264/AAC MP4 for social platforms (higher quality, -14 LUFS)", suffix=".mp4",
           settings={"container": "mp4", "video_codec": "libx264", "crf": 19, "preset": "medium",
                     "pixel_format": "yuv420p", "audio_codec": "aac", "audio_bitrate": "192k", "loudness_lufs": -14.0}),
    Preset(name="hevc", description="H.265/AAC MP4, smaller files", suffix=".mp4",
           settings={"container": "mp4", "video_codec": "libx265", "crf": 26, "preset": "fast",
                     "pixel_format": "yuv420p", "audio_codec": "aac", "audio_bitrate": "160k"}),
    Preset(name="webm", description="VP9/Opus WebM", suffix=".webm",
           settings={"container": "webm", "video_codec": "libvpx-vp9", "crf": 32, "pixel_format": "yuv420p",
                     "audio_codec": "libopus", "audio_bitrate": "128k"}),
    Preset(name="prores", description="ProRes 422 HQ in .mov with PCM audio, for finishing in an editor", suffix=".mov",
           settings={"container": "mov", "video_codec": "prores_ks", "pixel_format": "yuv422p10le",
                     "audio_codec": "pcm_s16le"}),
    Preset(name="gif", description="Animated GIF preview (480 px wide, 12 fps, no sound)", suffix=".gif",
           settings={"container": "gif", "video_codec": "gif", "pixel_format": "rgb24"}, max_width=480, max_fps=12),
    Preset(name="webp", description="Animated WebP preview (480 px wide, 15 fps, no sound)", suffix=".webp",
           settings={"container": "webp", "video_codec": "libwebp_anim", "crf": 25, "pixel_format": "yuva420p"},
           max_width=480, max_fps=15),
    Preset(name="preview", description="Fast low-resolution H.264 check (360p, ultrafast)", suffix=".mp4",
           settings={"container": "mp4", "video_codec": "libx264", "crf": 30, "preset": "ultrafast",
                     "pixel_format": "yuv420p", "audio_codec": "aac", "audio_bitrate": "96k"}, max_width=640),
]}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise InvalidInputError(f"unknown export preset {name!r}", hint=f"choose one of {', '.join(PRESETS)}") from None


def apply_preset(settings: OutputSettings, name: str) -> OutputSettings:
    preset = get_preset(name)
    update: dict[str, Any] = {**preset.settings, "preset_name": preset.name, "video_bitrate": None}
    width, height = settings.width, settings.height
    if preset.max_width and max(width, height) > preset.max_width:
        factor = preset.max_width / max(width, height)
        width, height = max(16, round(width * factor / 2) * 2), max(16, round(height * factor / 2) * 2)
    update.update(width=width, height=height)
    if preset.max_fps and settings.fps > preset.max_fps:
        update["fps"] = preset.max_fps
    return settings.model_copy(update=update)


class SetOutputArgs(BaseModel):
    preset: str | None = Field(default=None, description=f"One of: {', '.join(PRESETS)}.")
    aspect_ratio: str | None = Field(default=None, description="16:9, 9:16, 1:1 or 4:5 (with resolution).")
    resolution: str | None = Field(default=None, description="Short side: 360p 480p 540p 720p 1080p 1440p 2160p.")
    width: int | None = Field(default=None, ge=16, le=7680)
    height: int | None = Field(default=None, ge=16, le=4320)
    fps: float | None = Field(default=None, gt=0, le=120)
    crf: int | None = Field(default=None, ge=0, le=63, description="Constant quality: lower is better and bigger.")
    video_bitrate: str | None = Field(default=None, description="e.g. 8M instead of crf.")
    audio_bitrate: str | None = Field(default=None, description="e.g. 192k.")
    fit: FitMode | None = None


_BITRATE = __import__("re").compile(r"^\d+(\.\d+)?[kKmM]?$")


@edit_tool("set_output", "Set the export: a preset (web, social, hevc, webm, prores, gif, webp, preview), size, "
                         "frame rate and quality.", SetOutputArgs)
def set_output(ctx: ToolContext, args: SetOutputArgs) -> EditResult:
    store = require_store(ctx)
    timeline = store.project.timeline.model_copy(deep=True)
    settings = timeline.output
    if args.preset:
        settings = apply_preset(settings, args.preset)
    update: dict[str, Any] = {}
    if args.aspect_ratio or args.resolution:
        aspect = args.aspect_ratio or _aspect_of(settings)
        if aspect not in ASPECT_RATIOS:
            raise InvalidInputError(f"aspect ratio {aspect!r} is not one of {', '.join(ASPECT_RATIOS)}")
        resolution = args.resolution or f"{min(settings.width, settings.height)}p"
        if resolution not in RESOLUTIONS:
            raise InvalidInputError(f"resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
        update["width"], update["height"] = frame_size(aspect, resolution)
    for name in ("width", "height", "fps", "crf", "fit"):
        value = getattr(args, name)
        if value is not None:
            update[name] = value
    for name in ("video_bitrate", "audio_bitrate"):
        value = getattr(args, name)
        if value is not None:
            if not _BITRATE.match(value):
                raise InvalidInputError(f"{name.replace('_', ' ')} {value!r} is not a bitrate such as 8M or 192k")
            update[name] = value
    timeline.output = validated(OutputSettings, {**settings.model_dump(), **update}, "output settings")
    o = timeline.output
    message = f"output {o.width}x{o.height} {o.fps:g} fps {o.video_codec} ({o.container})"
    if planned(store):
        # A planned project's frame follows its production settings (see Project.sync_cut): keep the
        # new size and rate there, or the next save would put the old ones back.
        if abs(o.fps - round(o.fps)) > 1e-6:
            raise InvalidInputError(f"{o.fps:g} fps: a project made from a brief uses a whole frame rate",
                                    hint="use 24, 25, 30, 50 or 60")
        production = store.project.production
        size = (o.width, o.height)
        derived = frame_size(production.output_aspect or store.project.plan.aspect_ratio, production.resolution)
        store.project.production = production.model_copy(update={"fps": int(round(o.fps)),
                                                                 "output_size": None if size == derived else size})
        store.project.timeline = timeline
        return commit_plan(store, store.project.plan, message)
    return commit(store, timeline, message)


def _aspect_of(settings: OutputSettings) -> str:
    ratio = settings.width / settings.height
    return min(ASPECT_RATIOS, key=lambda a: abs(ratio - int(a.split(":")[0]) / int(a.split(":")[1])))
