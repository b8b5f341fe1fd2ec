"""Sound: music beds and voice-overs (volume, fades, trim, ducking), clip audio, loudness.

A music bed comes from the user's file, or from a folder: with a tagged
library (a ``music.yaml`` or ``tags.json`` sidecar naming each track's moods)
the track whose moods best match the brief is chosen, otherwise the files are
taken in name order (:func:`choose_music`). :func:`music_bed` lays it under the
whole cut: looped when short, faded in and out, ducked under the voice; the
renderer's two-pass loudness then brings the mix to the preset's target.

Sidecar formats (in the music folder; documented in ``docs/voice.md``)::

    # music.yaml
    tracks:
      - file: sunny-morning.mp3
        moods: [warm, upbeat, morning]
        bpm: 104            # optional
      - file: night-drive.wav
        moods: [moody, night, calm]

    // tags.json: the same, or the short form {"sunny-morning.mp3": ["warm", "upbeat"]}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
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


# -- music beds from the user's library ----------------------------------------------------------------

AUDIO_SUFFIXES = {".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus"}
SIDECARS = ("music.yaml", "music.yml", "tags.json")
#: Brief words that mean a mood under another name (brief word -> library tag).
MOOD_SYNONYMS = {"cozy": "warm", "cosy": "warm", "energetic": "upbeat", "lively": "upbeat", "happy": "upbeat",
                 "fun": "upbeat", "playful": "upbeat", "relaxed": "calm", "relaxing": "calm", "chill": "calm",
                 "peaceful": "calm", "dark": "moody", "mysterious": "moody", "epic": "cinematic",
                 "dramatic": "cinematic", "inspiring": "uplifting", "hopeful": "uplifting", "sad": "melancholic"}


@dataclass
class MusicTrack:
    path: Path
    moods: list[str] = field(default_factory=list)
    bpm: float | None = None


def read_library(folder: Path) -> list[MusicTrack]:
    """The tracks of a music folder: from its sidecar (moods, bpm) when it has one, else every audio file."""
    folder = Path(folder)
    sidecar = next((folder / name for name in SIDECARS if (folder / name).is_file()), None)
    if sidecar is None:
        return [MusicTrack(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in AUDIO_SUFFIXES]
    try:
        text = sidecar.read_text(encoding="utf-8")
        if sidecar.suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read the music library {sidecar}: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError
        raise InvalidInputError(f"{sidecar} is not valid YAML: {exc}") from exc
    if isinstance(data, dict) and "tracks" not in data:  # {"file": [moods]} short form
        entries = [{"file": name, "moods": moods} for name, moods in data.items()]
    elif isinstance(data, dict):
        entries = data.get("tracks") or []
    else:
        raise InvalidInputError(f"{sidecar}: expected a 'tracks' list (see docs/voice.md)")
    tracks = []
    for n, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not entry.get("file"):
            raise InvalidInputError(f"{sidecar}: track {n} has no 'file'")
        path = folder / str(entry["file"])
        if not path.is_file():
            raise InvalidInputError(f"{sidecar}: track {n} names {entry['file']}, which is not in {folder}")
        moods = entry.get("moods") or entry.get("tags") or []
        if isinstance(moods, str):
            moods = [m.strip() for m in moods.split(",")]
        bpm = entry.get("bpm")
        tracks.append(MusicTrack(path, [str(m).strip().lower() for m in moods if str(m).strip()],
                                 float(bpm) if bpm else None))
    return tracks


def mood_words(text: str) -> set[str]:
    """The words of a brief, with mood synonyms mapped onto library tags ("cozy" also means "warm")."""
    words = set(re.findall(r"[a-z][a-z-]+", text.lower()))
    return words | {MOOD_SYNONYMS[w] for w in words if w in MOOD_SYNONYMS}


def folder_tracks(path: Path, source: str | Path) -> list[MusicTrack]:
    """The tracks of the music folder ``path`` (``source`` as the user named it); one clear line when it is
    not a folder or holds no audio, so choosing a track and checking a --music value say the same."""
    if not path.is_dir():
        raise InvalidInputError(f"music {source} is neither a file nor a folder")
    tracks = read_library(path)
    if not tracks:
        raise InvalidInputError(f"the music folder {path} has no audio files",
                                hint=f"add {', '.join(sorted(AUDIO_SUFFIXES))} files, or a music.yaml")
    return tracks


def choose_music(source: str | Path, brief: str = "") -> tuple[Path, str]:
    """(the music file, why it was chosen) from a file or a folder, by the brief's moods.

    A tagged library: the track sharing most moods with the brief (ties: the
    first listed). An untagged folder: a file whose name shares a word with
    the brief, else the first by name.
    """
    path = Path(source).expanduser()
    if path.is_file():
        return path, "the file given"
    tracks = folder_tracks(path, source)
    wanted = mood_words(brief)
    scored = [(len(wanted & set(t.moods)), -n, t) for n, t in enumerate(tracks)]
    best, _, track = max(scored, key=lambda s: (s[0], s[1]))
    if best:
        return track.path, f"moods {', '.join(sorted(wanted & set(track.moods)))} match the brief"
    named = [t for t in tracks if wanted & set(re.findall(r"[a-z]+", t.path.stem.lower()))]
    if named:
        return named[0].path, "its name matches the brief"
    return tracks[0].path, "no mood matched; the first track"


#: A bed sits under the voice: about -12 dB before the loudness pass (ducking takes it lower while words play).
BED_VOLUME = 0.25


def music_bed(path: str, *, duration_s: float, length_s: float, volume: float = BED_VOLUME,
              fade_in_s: float = 1.0, fade_out_s: float = 2.0) -> AudioTrack:
    """The music track for a cut of ``duration_s``: looped when shorter (``length_s`` is the file's),
    faded in and out (fades never longer than a third of the cut), ducked under any voice-over."""
    fade_in = min(fade_in_s, duration_s / 3)
    fade_out = min(fade_out_s, duration_s / 3)
    return AudioTrack(source=path, role="music", volume=volume, fade_in_s=round(fade_in, 3),
                      fade_out_s=round(fade_out, 3), duck=True, loop=length_s < duration_s)
