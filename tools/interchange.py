"""Timeline interchange with OpenTimelineIO, so a cut can be finished in an NLE.

Export writes the project Timeline as an OTIO timeline: one video track with
the clips and their transitions, one audio track per music bed or voice-over,
titles as markers. OTIO's own format (``.otio``) also carries everything OTIO
has no word for (titles, overlays, captions, output settings, per-clip speed,
volume, fit) under ``metadata["shotsmith"]``, so a round trip through
shotsmith loses nothing. EDL (CMX 3600) and FCP 7 XML go through OTIO's
adapter plug-ins (``otio-cmx3600-adapter``, ``otio-fcp-adapter``) when they are
installed; :func:`available_formats` says which are.

How transitions map: shotsmith overlaps two clips by ``d`` seconds (clip A's
last ``d`` seconds blend with clip B's first ``d``). OTIO instead keeps clips
butted and centres a transition on the cut, reading handles beyond each
clip's visible range. So A's visible range ends ``d/2`` early, B's starts
``d/2`` late, and the transition has ``in_offset = out_offset = d/2``. Import
inverts this exactly, including asymmetric offsets written by an NLE.

Speed changes are written as OTIO ``LinearTimeWarp`` effects on clips whose
source range stays the span read from the media; OTIO does not fold effects
into track time, so the exported track of a sped-up cut is longer than the
shotsmith timeline until an NLE applies the effect.

Import accepts only local media: every clip must point at a file that exists
(a relative URL is taken relative to the ``.otio`` file), and files outside the
project are registered as the project's inputs.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import opentimelineio as otio
from pydantic import BaseModel, Field

from shotsmith.atomic import atomic_output
from shotsmith.errors import InvalidInputError, MediaError, ProjectError
from shotsmith.formats import Transition, TransitionKind
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore
from shotsmith.timeline import AudioTrack, ClipRef, Timeline
from shotsmith.tools.spec import ToolContext, edit_tool
from shotsmith.tools.timecode import format_hms
from shotsmith.tools.trim import resolve_output, resolve_source

ExportFormat = Literal["otio", "edl", "fcpxml"]

#: Our format names -> (OTIO adapter, file suffix, package that provides it).
FORMATS: dict[str, tuple[str, str, str]] = {
    "otio": ("otio_json", ".otio", "opentimelineio"),
    "edl": ("cmx_3600", ".edl", "otio-cmx3600-adapter"),
    "fcpxml": ("fcp_xml", ".xml", "otio-fcp-adapter"),
}
META = "shotsmith"
_DISSOLVES = {TransitionKind.FADE, TransitionKind.DISSOLVE}


def available_formats() -> dict[str, bool]:
    """Which export formats the installed OTIO adapters can write."""
    names = set(otio.adapters.available_adapter_names())
    return {fmt: adapter in names for fmt, (adapter, _, _) in FORMATS.items()}


def _require_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInputError(f"unknown interchange format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not available_formats()[fmt]:
        adapter, _, package = FORMATS[fmt]
        have = ", ".join(f for f, ok in available_formats().items() if ok)
        raise InvalidInputError(f"{fmt} export needs the OTIO adapter {adapter!r}, which is not installed (available: {have})",
                                hint=f"pip install {package}")
    return FORMATS[fmt][0]


# -- export ------------------------------------------------------------------------
def _rate_of(path: Path, fallback: float) -> float:
    try:
        info = probe(path)
    except MediaError:
        return fallback
    return info.video.fps if info.video and info.video.fps > 0 and not info.is_image else fallback


def _rt(seconds: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(seconds * rate, rate)


def _range(start_s: float, duration_s: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_rt(start_s, rate), _rt(duration_s, rate))


def _media_ref(path: Path, rate: float) -> otio.schema.ExternalReference:
    ref = otio.schema.ExternalReference(target_url=path.resolve().as_uri())
    try:
        info = probe(path)
        if not info.is_image and info.duration_s > 0:
            ref.available_range = _range(0.0, info.duration_s, rate)
    except MediaError:
        pass  # exported anyway: the NLE will show it offline, which is what it is
    return ref


def timeline_to_otio(timeline: Timeline, resolve, *, name: str = "shotsmith cut") -> otio.schema.Timeline:
    """Build the OTIO timeline; ``resolve`` maps a clip's source string to a file path."""
    fps = float(timeline.output.fps)
    result = otio.schema.Timeline(name=name, global_start_time=otio.opentime.RationalTime(0, fps))
    result.metadata[META] = {
        "output": timeline.output.model_dump(mode="json"),
        "titles": [t.model_dump(mode="json") for t in timeline.titles],
        "overlays": [o.model_dump(mode="json") for o in getattr(timeline, "overlays", [])],
        "captions": [c.model_dump(mode="json") for c in getattr(timeline, "captions", [])],
    }
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    clips = timeline.clips
    for i, clip in enumerate(clips):
        path = Path(resolve(clip.source))
        rate = _rate_of(path, fps)
        head = clips[i - 1].transition_to_next.overlap_s / 2 if i > 0 else 0.0
        tail = clip.transition_to_next.overlap_s / 2 if i < len(clips) - 1 else 0.0
        visible = clip.source_length_s - head - tail
        if visible <= 0:
            raise InvalidInputError(f"clip {i + 1} ({clip.source}) is shorter than its transitions")
        item = otio.schema.Clip(name=path.name, media_reference=_media_ref(path, rate),
                                source_range=_range(clip.in_s + head, visible, rate))
        item.metadata[META] = clip.model_dump(mode="json", exclude={"transition_to_next"})
        if clip.speed != 1.0:
            item.effects.append(otio.schema.LinearTimeWarp(name="speed", time_scalar=clip.speed))
        video.append(item)
        trans = clip.transition_to_next
        if i < len(clips) - 1 and trans.overlap_s > 0:
            half = _rt(trans.overlap_s / 2, rate)
            kind = "SMPTE_Dissolve" if trans.kind in _DISSOLVES else "Custom_Transition"
            t = otio.schema.Transition(name=trans.kind.value, transition_type=kind, in_offset=half, out_offset=half)
            t.metadata[META] = trans.model_dump(mode="json")
            video.append(t)
    for title in timeline.titles:
        end = title.end_s if title.end_s is not None else timeline.duration_s
        marker = otio.schema.Marker(name=title.text, marked_range=_range(title.start_s, max(0.0, end - title.start_s), fps),
                                    color=otio.schema.MarkerColor.YELLOW)
        video.markers.append(marker)
    result.tracks.append(video)
    for n, track in enumerate(timeline.audio, start=1):
        path = Path(resolve(track.source))
        audio = otio.schema.Track(name=f"A{n} {track.role}", kind=otio.schema.TrackKind.Audio)
        if track.start_s > 0:
            audio.append(otio.schema.Gap(source_range=_range(0.0, track.start_s, fps)))
        end = track.out_s
        if end is None:
            try:
                end = probe(path).duration_s
            except MediaError:
                end = track.in_s + max(0.0, timeline.duration_s - track.start_s)
        item = otio.schema.Clip(name=path.name, media_reference=_media_ref(path, fps),
                                source_range=_range(track.in_s, max(0.0, end - track.in_s), fps))
        item.metadata[META] = track.model_dump(mode="json")
        audio.append(item)
        result.tracks.append(audio)
    return result


def _for_legacy(timeline: otio.schema.Timeline, fmt: str) -> tuple[otio.schema.Timeline, list[str]]:
    """EDL and FCP XML know whole frames and dissolves only; round and simplify a copy."""
    notes: list[str] = []
    copy = timeline.deepcopy()

    def whole(t: otio.opentime.RationalTime) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(round(t.value), t.rate)

    for track in copy.tracks:
        for item in track:
            if isinstance(item, otio.schema.Transition):
                item.in_offset, item.out_offset = whole(item.in_offset), whole(item.out_offset)
                if item.transition_type != "SMPTE_Dissolve":
                    notes.append(f"{fmt}: the {item.name} transition is written as a dissolve")
                    item.transition_type = "SMPTE_Dissolve"
            elif item.source_range is not None:
                r = item.source_range
                item.source_range = otio.opentime.TimeRange(whole(r.start_time), whole(r.duration))
        if fmt == "edl":
            track.markers.clear()  # CMX 3600 has no ranged markers; titles live in the .otio only
    if fmt == "edl":
        audio = [t for t in copy.tracks if t.kind == otio.schema.TrackKind.Audio]
        if audio:
            notes.append(f"edl: {len(audio)} audio track(s) left out (an EDL here carries the picture cut)")
            for t in audio:
                copy.tracks.remove(t)
    return copy, notes


class ExportOtioArgs(BaseModel):
    """Export the project's timeline for an NLE."""

    output: str = Field(min_length=1, description="File to write: .otio, .edl or .xml.")
    format: ExportFormat | None = Field(default=None, description="otio, edl or fcpxml; default from the output suffix.")


class ExportOtioResult(BaseModel):
    output: str
    format: ExportFormat
    clips: int
    transitions: int
    notes: list[str] = Field(default_factory=list)
    available_formats: dict[str, bool]


def _format_for(output: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    by_suffix = {suffix: name for name, (_, suffix, _) in FORMATS.items()}
    if output.suffix.lower() not in by_suffix:
        raise InvalidInputError(f"cannot tell the format of {output.name}; use .otio, .edl or .xml, or pass a format")
    return by_suffix[output.suffix.lower()]


def _store(ctx: ToolContext) -> ProjectStore:
    if ctx.store is None:
        raise ProjectError("this needs a project (the timeline lives in one)")
    return ctx.store


@edit_tool("export_otio", "Export the timeline to OpenTimelineIO (.otio), or EDL / FCP XML where the adapters are installed.", ExportOtioArgs)
def export_otio(ctx: ToolContext, args: ExportOtioArgs) -> ExportOtioResult:
    store = _store(ctx)
    return export_timeline(store, resolve_output(ctx, args.output), args.format)


def export_timeline(store: ProjectStore, output: Path, fmt: str | None = None) -> ExportOtioResult:
    """Write ``store``'s timeline to ``output`` (path rules are the caller's: the tool or the CLI)."""
    timeline = store.project.timeline
    if not timeline.clips:
        raise InvalidInputError("the timeline has no clips to export")
    fmt = _format_for(output, fmt)
    adapter = _require_format(fmt)
    built = timeline_to_otio(timeline, store.resolve, name=store.project.name)
    notes: list[str] = []
    if fmt != "otio":
        built, notes = _for_legacy(built, fmt)
    try:
        text = otio.adapters.write_to_string(built, adapter_name=adapter)
    except Exception as exc:  # adapters raise their own exception types
        raise InvalidInputError(f"{fmt} export failed: {exc}") from exc
    with atomic_output(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    transitions = sum(isinstance(i, otio.schema.Transition) for i in built.tracks[0])
    return ExportOtioResult(output=str(output), format=fmt, clips=len(timeline.clips), transitions=transitions,
                            notes=notes, available_formats=available_formats())


# -- import ------------------------------------------------------------------------
@dataclass
class _Imported:
    clips: list[ClipRef] = field(default_factory=list)
    audio: list[AudioTrack] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _local_path(ref, base: Path, clip_name: str) -> Path:
    if ref is None or isinstance(ref, otio.schema.MissingReference) or not hasattr(ref, "target_url"):
        raise MediaError(f"clip {clip_name!r} has no media reference (offline media)")
    url = ref.target_url or ""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme in ("", "file"):
        raw = urllib.parse.unquote(parsed.path if parsed.scheme == "file" else url)
        path = Path(raw)
        path = path if path.is_absolute() else (base / path)
    elif len(parsed.scheme) == 1:  # a Windows drive letter, C:\...
        path = Path(url)
    else:
        raise MediaError(f"clip {clip_name!r} points at {url}, which is not a local file")
    if not path.is_file():
        raise MediaError(f"clip {clip_name!r}: media file {path} does not exist")
    return path.resolve()


def _edl_incoming(item: otio.schema.Clip) -> otio.schema.ExternalReference | None:
    """The media of a clip entered by a dissolve in an EDL.

    The CMX 3600 reader (otio-cmx3600-adapter 1.0) gives such a clip the
    outgoing clip's file; the right one is in its ``* TO CLIP:`` comment.
    """
    meta = item.metadata.get("cmx_3600") if hasattr(item.metadata, "get") else None
    comments = list(meta.get("comments", [])) if meta is not None and hasattr(meta, "get") else []
    for comment in comments:
        if str(comment).startswith("TO CLIP:"):
            return otio.schema.ExternalReference(target_url=str(comment).split(":", 1)[1].strip())
    return None


def _seconds(t: otio.opentime.RationalTime) -> float:
    return float(t.to_seconds())


def _transition_from(item: otio.schema.Transition) -> Transition:
    meta = item.metadata.get(META) if hasattr(item.metadata, "get") else None
    duration = _seconds(item.in_offset) + _seconds(item.out_offset)
    if meta:
        kind = TransitionKind(dict(meta).get("kind", "dissolve"))
    else:
        kind = TransitionKind.DISSOLVE
        try:
            kind = TransitionKind(item.name)
        except ValueError:
            pass
    return Transition(kind=kind, duration_s=round(min(duration, 5.0), 6))


def otio_to_timeline(source: otio.schema.Timeline, *, base: Path, register) -> tuple[Timeline, list[str]]:
    """A Timeline from an OTIO one; ``register(path) -> str`` turns a media path into a clip source."""
    videos = [t for t in source.tracks if t.kind == otio.schema.TrackKind.Video]
    if not videos:
        raise InvalidInputError("the OTIO timeline has no video track")
    got = _Imported()
    if len(videos) > 1:
        got.notes.append(f"{len(videos) - 1} extra video track(s) ignored; only the first is imported")
    items = list(videos[0])
    pending_head = 0.0
    for pos, item in enumerate(items):
        if isinstance(item, otio.schema.Transition):
            if not got.clips:
                got.notes.append(f"a transition at the start of the track ({item.name}) was ignored")
                continue
            transition = _transition_from(item)
            got.clips[-1] = got.clips[-1].model_copy(update={
                "out_s": got.clips[-1].out_s + _seconds(item.out_offset), "transition_to_next": transition})
            pending_head = _seconds(item.in_offset)
            continue
        if isinstance(item, otio.schema.Gap):
            got.notes.append(f"a gap of {_seconds(item.duration()):.3f}s was closed up (shotsmith tracks have no gaps)")
            pending_head = 0.0
            continue
        if not isinstance(item, otio.schema.Clip):
            raise InvalidInputError(f"track item {pos + 1} is a {type(item).__name__}; only clips, gaps and transitions can be imported")
        path = _local_path(_edl_incoming(item) or item.media_reference, base, item.name)
        r = item.trimmed_range()
        start = _seconds(r.start_time) - pending_head
        end = _seconds(r.end_time_exclusive())
        pending_head = 0.0
        meta = dict(item.metadata.get(META, {})) if hasattr(item.metadata, "get") else {}
        extra = {k: meta[k] for k in ("mute", "volume", "speed", "fit", "motion", "shot_index") if k in meta}
        if "speed" not in extra:
            for effect in item.effects:
                if isinstance(effect, otio.schema.LinearTimeWarp) and effect.time_scalar > 0:
                    extra["speed"] = effect.time_scalar
        if start < 0:
            raise InvalidInputError(f"clip {item.name!r} starts {-start:.3f}s before its media (its transition needs handles)")
        _check_inside(path, end, item.name)
        got.clips.append(ClipRef(source=register(path), in_s=round(start, 6), out_s=round(end, 6), **extra))
    for track in source.tracks:
        if track.kind != otio.schema.TrackKind.Audio:
            continue
        for item in track:
            if not isinstance(item, otio.schema.Clip):
                continue
            path = _local_path(item.media_reference, base, item.name)
            r = item.trimmed_range()
            placed = track.range_of_child(item)
            meta = dict(item.metadata.get(META, {})) if hasattr(item.metadata, "get") else {}
            keep = {k: meta[k] for k in ("role", "volume", "fade_in_s", "fade_out_s", "duck", "loop") if k in meta}
            _check_inside(path, _seconds(r.end_time_exclusive()), item.name)
            got.audio.append(AudioTrack(source=register(path), start_s=round(_seconds(placed.start_time), 6),
                                        in_s=round(_seconds(r.start_time), 6), out_s=round(_seconds(r.end_time_exclusive()), 6), **keep))
    if not got.clips:
        raise InvalidInputError("the OTIO timeline's video track holds no clips")
    data: dict = {"clips": got.clips, "audio": got.audio}
    meta = dict(source.metadata.get(META, {})) if hasattr(source.metadata, "get") else {}
    for key in ("output", "titles", "overlays", "captions"):
        if key in meta and key in Timeline.model_fields:
            data[key] = _plain(meta[key])
    return Timeline.model_validate(data), got.notes


def _plain(value):
    """OTIO's AnyDictionary/AnyVector as plain dicts and lists, for pydantic."""
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or type(value).__name__ == "AnyVector":
        return [_plain(v) for v in value]
    return value


def _check_inside(path: Path, end_s: float, name: str) -> None:
    info = probe(path)
    if not info.is_image and end_s > info.duration_s + 0.05:
        raise InvalidInputError(f"clip {name!r} ends at {format_hms(end_s)}, past the end of {path.name} ({format_hms(info.duration_s)})")


class ImportOtioArgs(BaseModel):
    """Replace the project's clips and audio with those of an OTIO timeline."""

    path: str = Field(min_length=1, description="The .otio (or .edl / .xml, where an adapter is installed) to read.")


class ImportOtioResult(BaseModel):
    clips: int
    audio_tracks: int
    duration_s: float
    notes: list[str] = Field(default_factory=list)


@edit_tool("import_otio", "Import an OpenTimelineIO timeline whose media is local into the project timeline.", ImportOtioArgs)
def import_otio(ctx: ToolContext, args: ImportOtioArgs) -> ImportOtioResult:
    store = _store(ctx)
    path = resolve_source(ctx, args.path)  # the CLI registers a file the user names as an input first
    # An EDL counts frames without saying at what rate; read it at the project's rate.
    extra = {"rate": store.project.timeline.output.fps} if path.suffix.lower() == ".edl" else {}
    try:
        source = otio.adapters.read_from_file(str(path), **extra)
    except Exception as exc:  # adapters and the JSON reader raise their own types
        raise InvalidInputError(f"{path.name} is not a timeline OTIO can read ({type(exc).__name__}: {exc})") from exc
    if isinstance(source, otio.schema.SerializableCollection):
        timelines = list(source.find_children(descended_from_type=otio.schema.Timeline)) or [t for t in source if isinstance(t, otio.schema.Timeline)]
        if not timelines:
            raise InvalidInputError(f"{path.name} holds no timeline")
        source = timelines[0]
    if not isinstance(source, otio.schema.Timeline):
        raise InvalidInputError(f"{path.name} holds a {type(source).__name__}, not a timeline")

    def register(media: Path) -> str:
        if store.is_inside(media):
            return store.relative(media)
        return str(store.add_input(media))

    timeline, notes = otio_to_timeline(source, base=path.parent, register=register)
    current = store.project.timeline
    keep = {k: getattr(current, k) for k in type(current).model_fields if k not in ("clips", "audio")
            and k not in timeline.model_fields_set}
    store.project.timeline = timeline.model_copy(update=keep)
    store.save()
    return ImportOtioResult(clips=len(timeline.clips), audio_tracks=len(timeline.audio),
                            duration_s=store.project.timeline.duration_s, notes=notes)
