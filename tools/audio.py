"""Sound: music beds and voice-overs (volume, fades, trim, ducking), clip audio, loudness."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shotsmith.errors import InvalidInputError, MediaError
from shotsmith.timeline import AudioTrack
from shotsmith.tools.editing import EditResult, clip_number, commit, media, require_store
from shotsmith.tools.spec import ToolContext, edit_tool


class AddAudioArgs(BaseModel):
    source: str = Field(description="An audio (or video) file in the project or a registered input.")
    role: Literal["music", "voiceover"] = "music"
    start_s: float = Field(default=0.0, ge=0, description="Timeline time the track starts.")
    in_s: float = Field(default=0.0, ge=0, description="Where in the file to start.")
    out_s: float | None = Field(default=None, description="Where in the file to stop; None: its end.")
    volume: float = Field(default=1.0, ge=0, le=4, description="Gain, 1 = unchanged.")
    fade_in_s: float = Field(default=0.0, ge=0, le=30)
    fade_out_s: float = Field(default=0.0, ge=0, le=30)
    duck: bool = Field(default=True, description="Music: lower it automatically while a voice-over speaks.")
    loop: bool = Field(default=False, description="Repeat the music to the end of the timeline.")


@edit_tool("add_audio", "Lay a music bed or a voice-over under the picture, with volume, fades, trim and ducking.",
           AddAudioArgs)
def add_audio(ctx: ToolContext, args: AddAudioArgs) -> EditResult:
    store = require_store(ctx)
    ref, _path, info = media(store, args.source, f"{args.role} track")
    if not info.has_audio:
        raise MediaError(f"{args.source} has no audio stream")
    if args.in_s >= info.duration_s:
        raise InvalidInputError(f"in point {args.in_s:g}s is past the end of {args.source} ({info.duration_s:g}s)")
    if args.out_s is not None and (args.out_s <= args.in_s or args.out_s > info.duration_s + 1e-3):
        raise InvalidInputError(f"out point {args.out_s:g}s must lie after the in point and inside {args.source} "
                                f"({info.duration_s:g}s)")
    timeline = store.project.timeline.model_copy(deep=True)
    if timeline.clips and args.start_s >= timeline.duration_s:
        raise InvalidInputError(f"start {args.start_s:g}s is after the end of the timeline ({timeline.duration_s:g}s)")
    timeline.audio.append(AudioTrack(**{**args.model_dump(), "source": ref}))
    return commit(store, timeline, f"added {args.role} {ref}")


class RemoveAudioArgs(BaseModel):
    number: int = Field(ge=1, description="Audio track number, 1 = the first added.")


@edit_tool("remove_audio", "Remove a music or voice-over track by number.", RemoveAudioArgs)
def remove_audio(ctx: ToolContext, args: RemoveAudioArgs) -> EditResult:
    store = require_store(ctx)
    timeline = store.project.timeline.model_copy(deep=True)
    if not 1 <= args.number <= len(timeline.audio):
        raise InvalidInputError(f"there is no audio track {args.number}; the timeline has {len(timeline.audio)}")
    track = timeline.audio.pop(args.number - 1)
    return commit(store, timeline, f"removed {track.role} {track.source}")


class ClipAudioArgs(BaseModel):
    clip: int | None = Field(default=None, ge=1, description="Clip number; None: every clip.")
    mute: bool = Field(default=True, description="Mute (true) or restore (false) the clip's own sound.")
    volume: float | None = Field(default=None, ge=0, le=4)


@edit_tool("mute_clip_audio", "Mute or un-mute the original sound of one clip or all clips (and set its volume).",
           ClipAudioArgs)
def mute_clip_audio(ctx: ToolContext, args: ClipAudioArgs) -> EditResult:
    store = require_store(ctx)
    timeline = store.project.timeline.model_copy(deep=True)
    indices = [clip_number(timeline, args.clip)] if args.clip is not None else range(len(timeline.clips))
    for i in indices:
        timeline.clips[i].mute = args.mute
        if args.volume is not None:
            timeline.clips[i].volume = args.volume
    which = f"clip {args.clip}" if args.clip is not None else "every clip"
    return commit(store, timeline, f"{'muted' if args.mute else 'un-muted'} {which}")


class LoudnessArgs(BaseModel):
    target_lufs: float | None = Field(default=-14.0, ge=-70, le=-5,
                                      description="Integrated loudness target; -14 suits web/social, -23 broadcast; None: off.")


@edit_tool("normalize_loudness", "Normalise the mix to a loudness target (EBU R128, default -14 LUFS).", LoudnessArgs)
def normalize_loudness(ctx: ToolContext, args: LoudnessArgs) -> EditResult:
    store = require_store(ctx)
    timeline = store.project.timeline.model_copy(deep=True)
    timeline.output.loudness_lufs = args.target_lufs
    return commit(store, timeline, "loudness normalisation off" if args.target_lufs is None
                  else f"loudness target {args.target_lufs:g} LUFS")
