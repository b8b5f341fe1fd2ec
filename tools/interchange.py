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

Speed changes are OTIO ``LinearTimeWarp`` effects; a clip's source range starts at
the media time first shown and lasts its *track* time (OTIO's convention: the
media read is the duration times the time scalar), so the exported track is as
long as the shotsmith cut. EDL writes them as M2 events (source span = record span
times the speed), FCP XML as the standard ``Time Remap`` filter.

Rates: ``.otio`` keeps each clip at its media's own rate. EDL and FCP XML count
frames of one rate, so the cut is conformed to the output rate: every boundary a
whole frame, placed as the renderer places it (FCP XML's ``<file>`` elements keep
the media's native rate). An EDL never says its rate: import takes ``rate``
(``--rate``), else the project's (29.97 for drop-frame timecode), and refuses frame
numbers the rate cannot have.

Import accepts only local media: every clip must point at a file that exists
(a relative URL is taken relative to the ``.otio`` file), and files outside the
project are registered as the project's inputs.
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import opentimelineio as otio
from pydantic import BaseModel, Field, ValidationError

from shotsmith.atomic import atomic_output
from shotsmith.errors import InvalidInputError, MediaError, ProjectError
from shotsmith.formats import Transition, TransitionKind
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore
from shotsmith.timeline import AudioTrack, ClipRef, Timeline
from shotsmith.tools.spec import ToolContext, edit_tool
from shotsmith.tools.editplan import explain_validation, unknown_key_message
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


@dataclass
class _Span:
    """Where one clip goes in OTIO terms: its visible part, and the transition after it.

    Times are seconds; ``head``/``tail`` are the track time its neighbouring transitions
    take from it (handles beyond the visible range), ``in_part``/``out_part`` the
    outgoing transition's halves before and after the cut.
    """

    head: float
    visible: float
    media_start: float
    in_part: float = 0.0
    out_part: float = 0.0


def _spans(timeline: Timeline, conform_rate: float | None) -> list[_Span]:
    """Each clip's visible range and transition halves.

    Exact (OTIO's own format): a transition of ``d`` is centred on the cut, ``d/2`` each side.
    Conformed to one rate (EDL, FCP XML): every boundary is a whole frame at that rate, placed
    as the renderer places it, and a transition of ``n`` frames takes ``n // 2`` before the cut
    and the rest after, so readers that centre it on integer frames get the same cut back.
    """
    clips = timeline.clips
    if conform_rate is None:
        overlaps = [c.transition_to_next.overlap_s for c in clips[:-1]]
        halves = [(o / 2, o / 2) for o in overlaps]
        lengths = [c.length_s for c in clips]
    else:
        from shotsmith.tools.render import place_clips

        r = conform_rate
        conformed = timeline.model_copy(update={"output": timeline.output.model_copy(update={"fps": r})})
        placed = place_clips(conformed)
        frames = [max(0, placed[i].end_frame - placed[i + 1].start_frame) for i in range(len(placed) - 1)]
        halves = [((n // 2) / r, (n - n // 2) / r) for n in frames]
        lengths = [p.frames / r for p in placed]
    spans = []
    for i, clip in enumerate(clips):
        head = halves[i - 1][0] if i > 0 else 0.0
        in_part, out_part = halves[i] if i < len(halves) else (0.0, 0.0)
        visible = lengths[i] - head - out_part
        if visible <= 1e-9:
            raise InvalidInputError(f"clip {i + 1} ({clip.source}) is shorter than its transitions")
        spans.append(_Span(head=head, visible=visible, media_start=clip.in_s + head * clip.speed,
                           in_part=in_part, out_part=out_part))
    return spans


def timeline_to_otio(timeline: Timeline, resolve, *, name: str = "shotsmith cut",
                     conform_rate: float | None = None) -> otio.schema.Timeline:
    """Build the OTIO timeline; ``resolve`` maps a clip's source string to a file path.

    A clip's source range starts at the media time its visible part starts and lasts
    its *track* time; a speed change is a ``LinearTimeWarp`` (OTIO's convention: the
    media read is the duration times the time scalar). Without ``conform_rate`` every
    clip keeps its media's own rate; with it (EDL and FCP XML, which count one rate's
    frames), every time is whole frames at that rate.
    """
    fps = float(conform_rate or timeline.output.fps)
    result = otio.schema.Timeline(name=name, global_start_time=otio.opentime.RationalTime(0, fps))
    result.metadata[META] = {
        "output": timeline.output.model_dump(mode="json"),
        "titles": [t.model_dump(mode="json") for t in timeline.titles],
        "overlays": [o.model_dump(mode="json") for o in getattr(timeline, "overlays", [])],
        "captions": [c.model_dump(mode="json") for c in getattr(timeline, "captions", [])],
    }
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    clips = timeline.clips
    for i, (clip, span) in enumerate(zip(clips, _spans(timeline, conform_rate))):
        path = Path(resolve(clip.source))
        rate = conform_rate or _rate_of(path, fps)
        item = otio.schema.Clip(name=path.name, media_reference=_media_ref(path, rate),
                                source_range=_range(span.media_start, span.visible, rate))
        item.metadata[META] = clip.model_dump(mode="json", exclude={"transition_to_next"})
        if clip.speed != 1.0:
            item.effects.append(otio.schema.LinearTimeWarp(name="speed", time_scalar=clip.speed))
        video.append(item)
        trans = clip.transition_to_next
        if i < len(clips) - 1 and span.in_part + span.out_part > 0:
            kind = "SMPTE_Dissolve" if trans.kind in _DISSOLVES else "Custom_Transition"
            t = otio.schema.Transition(name=trans.kind.value, transition_type=kind,
                                       in_offset=_rt(span.in_part, rate), out_offset=_rt(span.out_part, rate))
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


_EDL_EVENT = re.compile(r"^(?P<num>\d{3,})(?P<mid>\s+\S+\s+\S+\s+(?:C|D|W\d+|K\S*)(?:\s+\d{3})?\s+)"
                        r"(?P<src_in>\d\d:\d\d:\d\d[:;]\d\d) (?P<src_out>\d\d:\d\d:\d\d[:;]\d\d) "
                        r"(?P<rec>\d\d:\d\d:\d\d[:;]\d\d \d\d:\d\d:\d\d[:;]\d\d)\s*$")


def _fix_edl_speeds(text: str, timeline: Timeline, rate: float) -> str:
    """Write speed-changed events as an NLE (and OTIO's reader) expects them.

    The CMX writer derives a speed clip's source out as ``in + record / speed`` (and a
    dissolved-into clip's source in by subtracting track time from media time), so the
    source span matches the record span and OTIO's reader then drops the M2 speed. In
    an EDL the source in is the media frame at the record in and the source span is the
    record span times the speed; this rewrites those two fields of each speed clip's
    event line (and the entry timecode of its M2 line).
    """
    if all(c.speed == 1 for c in timeline.clips):
        return text
    lines = text.split("\n")
    events: dict[str, list[int]] = {}
    for n, line in enumerate(lines):
        m = _EDL_EVENT.match(line)
        if m:
            events.setdefault(m["num"], []).append(n)
    owners = [numbers[-1] for numbers in events.values()]  # an event's last line is its clip's
    if len(owners) != len(timeline.clips):
        return text  # not the shape this writer makes; leave it as written
    tc = lambda frames: otio.opentime.to_timecode(otio.opentime.RationalTime(frames, rate), rate)  # noqa: E731
    for i, (clip, n) in enumerate(zip(timeline.clips, owners)):
        if clip.speed == 1:
            continue
        m = _EDL_EVENT.match(lines[n])
        rec_in, rec_out = (otio.opentime.from_timecode(t, rate).to_frames(rate) for t in m["rec"].split())
        dissolved_into = len(events[m["num"]]) > 1
        head = 0.0 if dissolved_into else _spans(timeline, rate)[i].head  # a cut shows the visible start
        src_in = round((clip.in_s + head * clip.speed) * rate)
        src_out = src_in + round((rec_out - rec_in) * clip.speed)
        lines[n] = f"{m['num']}{m['mid']}{tc(src_in)} {tc(src_out)} {m['rec']}"
        for k in range(n + 1, len(lines)):
            if _EDL_EVENT.match(lines[k]):
                break
            if lines[k].startswith("M2 "):  # OTIO's reader only takes 00:00:00:00 here
                lines[k] = re.sub(r"\S+$", tc(src_in).replace(";", ":"), lines[k])
    return "\n".join(lines)


def _finish_fcp_xml(text: str, timeline: Timeline, resolve) -> str:
    """Two things OTIO's FCP writer does not do: native file rates and speed.

    The cut is conformed to the sequence rate (the writer mixes rates when a clip's
    differs), so each ``<file>`` is given back its media's own rate and length; and a
    speed change becomes the standard ``Time Remap`` filter (speed in percent) on its
    clipitem, which FCP 7, Premiere and Resolve read and :func:`otio_to_timeline` reads back.
    """
    import xml.etree.ElementTree as ET

    declaration, _, body = text.partition("?>") if text.startswith("<?xml") else ("", "", text)
    root = ET.fromstring(body.strip())
    sequence = root.find(".//sequence")
    tracks = sequence.findall("./media/video/track") if sequence is not None else []
    items = [e for e in tracks[0] if e.tag == "clipitem"] if tracks else []
    if len(items) != len(timeline.clips):
        return text
    for clip, item in zip(timeline.clips, items):
        file_e = item.find("./file")
        path = Path(resolve(clip.source))
        if file_e is not None and file_e.find("./rate") is not None:
            rate = _rate_of(path, 0.0)
            if rate > 0:
                file_e.remove(file_e.find("./rate"))
                file_e.insert(2, _fcp_rate(rate))
                duration = file_e.find("./duration")
                if duration is not None:
                    try:
                        duration.text = str(round(probe(path).duration_s * rate))
                    except MediaError:
                        pass
        if clip.speed != 1:
            item.append(_time_remap(clip.speed))
    ET.indent(root, space="    ")
    return declaration + ("?>\n" if declaration else "") + ET.tostring(root, encoding="unicode") + "\n"


def _fcp_rate(fps: float):
    import math
    import xml.etree.ElementTree as ET

    rate = ET.Element("rate")
    ET.SubElement(rate, "timebase").text = str(int(math.ceil(fps)))
    ET.SubElement(rate, "ntsc").text = "FALSE" if math.ceil(fps) == fps else "TRUE"
    return rate


def _time_remap(speed: float):
    import xml.etree.ElementTree as ET

    filter_e = ET.Element("filter")
    effect = ET.SubElement(filter_e, "effect")
    for tag, value in (("name", "Time Remap"), ("effectid", "timeremap"), ("effectcategory", "motion"),
                       ("effecttype", "motion"), ("mediatype", "video")):
        ET.SubElement(effect, tag).text = value
    for pid, value in (("variablespeed", "0"), ("speed", f"{speed * 100:g}"), ("reverse", "FALSE"),
                       ("frameblending", "FALSE")):
        param = ET.SubElement(effect, "parameter")
        ET.SubElement(param, "parameterid").text = pid
        ET.SubElement(param, "name").text = pid
        ET.SubElement(param, "value").text = value
    return filter_e


def _speed_of(item: otio.schema.Clip) -> float | None:
    """A clip's speed: OTIO's LinearTimeWarp (OTIO, EDL M2), or FCP XML's Time Remap filter."""
    for effect in item.effects:
        if isinstance(effect, otio.schema.LinearTimeWarp) and effect.time_scalar > 0:
            return float(effect.time_scalar)
        meta = effect.metadata.get("fcp_xml") if hasattr(effect.metadata, "get") else None
        if effect.effect_name in ("Time Remap", "timeremap") or (meta is not None and meta.get("effectid") == "timeremap"):
            params = meta.get("parameter", []) if meta is not None else []
            params = [params] if hasattr(params, "get") else list(params)
            for param in params:
                if param.get("parameterid") == "speed":
                    try:
                        value = float(param.get("value")) / 100
                    except (TypeError, ValueError):
                        continue
                    if value > 0:
                        return value
    return None


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
    # EDL and FCP XML count frames of one rate (the sequence's): conform the cut to the output rate
    rate = None if fmt == "otio" else _exact_rate(timeline.output.fps)
    built = timeline_to_otio(timeline, store.resolve, name=store.project.name, conform_rate=rate)
    notes: list[str] = []
    if fmt != "otio":
        built, notes = _for_legacy(built, fmt)
    try:
        text = otio.adapters.write_to_string(built, adapter_name=adapter, **({"rate": rate} if fmt == "edl" else {}))
    except Exception as exc:  # adapters raise their own exception types
        raise InvalidInputError(f"{fmt} export failed: {exc}") from exc
    if fmt == "edl":
        text = _fix_edl_speeds(text, timeline, rate)
    elif fmt == "fcpxml":
        text = _finish_fcp_xml(text, timeline, store.resolve)
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
        try:
            kind = TransitionKind(dict(meta).get("kind", "dissolve"))
        except ValueError:
            raise InvalidInputError(f"transition {item.name!r}: unknown kind {dict(meta).get('kind')!r}") from None
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
    pending_head = 0.0  # track time the last transition takes before the next clip's visible start
    for pos, item in enumerate(items):
        if isinstance(item, otio.schema.Transition):
            if not got.clips:
                got.notes.append(f"a transition at the start of the track ({item.name}) was ignored")
                continue
            transition = _transition_from(item)
            last = got.clips[-1]  # it runs on for the part after the cut, at its own speed
            got.clips[-1] = last.model_copy(update={
                "out_s": round(last.out_s + _seconds(item.out_offset) * last.speed, 6), "transition_to_next": transition})
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
        meta = dict(item.metadata.get(META, {})) if hasattr(item.metadata, "get") else {}
        _check_meta(meta, ClipRef, item.name)
        extra = {k: meta[k] for k in ("mute", "volume", "speed", "fit", "motion", "shot_index") if k in meta}
        if "speed" not in extra:
            speed = _speed_of(item)
            if speed is not None:
                extra["speed"] = speed
        speed = float(extra.get("speed", 1.0))
        # OTIO: the source range starts at the media time shown first and lasts track time;
        # the media read is that duration times the speed
        start = _seconds(r.start_time) - pending_head * speed
        end = _seconds(r.start_time) + _seconds(r.duration) * speed
        pending_head = 0.0
        if start < -1e-6:
            raise InvalidInputError(f"clip {item.name!r} starts {-start:.3f}s before its media (its transition needs handles)")
        _check_inside(path, end, item.name)
        got.clips.append(_model(ClipRef, dict(source=register(path), in_s=round(max(0.0, start), 6), out_s=round(end, 6),
                                              **extra), f"clip {item.name!r}"))
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
            _check_meta(meta, AudioTrack, item.name)
            keep = {k: meta[k] for k in ("role", "volume", "fade_in_s", "fade_out_s", "duck", "loop") if k in meta}
            _check_inside(path, _seconds(r.end_time_exclusive()), item.name)
            got.audio.append(_model(AudioTrack, dict(source=register(path), start_s=round(_seconds(placed.start_time), 6),
                                                     in_s=round(_seconds(r.start_time), 6),
                                                     out_s=round(_seconds(r.end_time_exclusive()), 6), **keep),
                                    f"audio clip {item.name!r}"))
    if not got.clips:
        raise InvalidInputError("the OTIO timeline's video track holds no clips")
    data: dict = {"clips": got.clips, "audio": got.audio}
    meta = dict(source.metadata.get(META, {})) if hasattr(source.metadata, "get") else {}
    for key in meta:
        if key not in ("output", "titles", "overlays", "captions"):
            raise InvalidInputError(f"the timeline's shotsmith metadata: "
                                    f"{unknown_key_message(key, ('output', 'titles', 'overlays', 'captions'))}")
        data[key] = _plain(meta[key])
    return _model(Timeline, data, "the timeline's shotsmith metadata"), got.notes


def _check_meta(meta: dict, model: type[BaseModel], name: str) -> None:
    """Our metadata on an OTIO item may only hold the model's keys (a hand-edited typo is named)."""
    for key in meta:
        if key not in model.model_fields:
            raise InvalidInputError(f"{name!r} shotsmith metadata: {unknown_key_message(key, model.model_fields)}")


def _model(model: type[BaseModel], data: dict, what: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise explain_validation(exc, what, model) from None


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
    rate: float | None = Field(default=None, gt=0, le=120,
                               description="EDL only: the frame rate it was made at (an EDL does not say); "
                                           "default: the project's, or 29.97 for drop-frame timecode.")


class ImportOtioResult(BaseModel):
    clips: int
    audio_tracks: int
    duration_s: float
    notes: list[str] = Field(default_factory=list)


def _is_drop_rate(rate: float) -> bool:
    return any(abs(rate - r) < 0.01 for r in (29.97, 59.94))


def _exact_rate(fps: float) -> float:
    """29.97 as 30000/1001 and so on: OTIO's timecodes accept only the exact NTSC rates."""
    from shotsmith.media.probe import frame_rate_fraction

    return float(frame_rate_fraction(float(fps)))


def edl_rate(path: Path, requested: float | None, project_rate: float, notes: list[str]) -> float:
    """The rate to read an EDL at: the one asked for, else the project's, checked against its timecodes.

    An EDL's timecodes count frames of a rate it never names. Drop-frame timecodes
    (``;``) mean 29.97 or 59.94; a frame number at or above the rate means the EDL was
    made at a higher one. Both are refused with a clear line instead of a shifted cut.
    """
    import math

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    stamps = re.findall(r"\b\d\d:\d\d:\d\d([:;])(\d\d)\b", text)
    drop = any(sep == ";" for sep, _ in stamps)
    top = max((int(ff) for _, ff in stamps), default=0)
    if requested is not None:
        rate = float(requested)
        if drop and not _is_drop_rate(rate):
            raise InvalidInputError(f"{path.name} uses drop-frame timecode (;), which is 29.97 or 59.94 fps, not {rate:g}")
    else:
        rate = float(project_rate)
        if drop and not _is_drop_rate(rate):
            rate = 29.97 if rate < 45 else 59.94
        notes.append(f"{path.name} read at {rate:g} fps ({'drop-frame timecode' if drop else 'the project rate'}; "
                     f"an EDL does not say its rate): pass --rate if it was made at another")
    rate = _exact_rate(rate)
    if top >= math.ceil(rate - 1e-6):
        raise InvalidInputError(f"{path.name} counts frames up to {top}, so it was not made at {rate:g} fps",
                                hint="pass its frame rate with --rate (e.g. 25, 29.97, 30)")
    return rate


@edit_tool("import_otio", "Import an OpenTimelineIO timeline whose media is local into the project timeline.", ImportOtioArgs)
def import_otio(ctx: ToolContext, args: ImportOtioArgs) -> ImportOtioResult:
    store = _store(ctx)
    path = resolve_source(ctx, args.path)  # the CLI registers a file the user names as an input first
    notes: list[str] = []
    extra: dict = {}
    if path.suffix.lower() == ".edl":
        extra["rate"] = edl_rate(path, args.rate, store.project.timeline.output.fps, notes)
    elif args.rate is not None:
        notes.append(f"--rate is for EDLs; {path.name} says its own rates")
    try:
        source = otio.adapters.read_from_file(str(path), **extra)
    except Exception as exc:  # adapters and the JSON reader raise their own types
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        if extra and "duration don't match" in first:
            raise InvalidInputError(f"{path.name}: read at {extra['rate']:g} fps its source and record lengths disagree, "
                                    f"so it was made at another rate", hint="pass its frame rate with --rate") from None
        raise InvalidInputError(f"{path.name} is not a timeline OTIO can read ({type(exc).__name__}: {first})") from None
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

    inputs = list(store.project.inputs)
    try:
        timeline, found = otio_to_timeline(source, base=path.parent, register=register)
    except BaseException:
        store.project.inputs = inputs  # a refused import registers nothing
        raise
    notes += found
    current = store.project.timeline
    keep = {k: getattr(current, k) for k in type(current).model_fields if k not in ("clips", "audio")
            and k not in timeline.model_fields_set}
    from shotsmith.tools.editing import adopt_timeline

    adopt_timeline(store, timeline.model_copy(update=keep), f"imported {path.name}")
    return ImportOtioResult(clips=len(timeline.clips), audio_tracks=len(timeline.audio),
                            duration_s=store.project.timeline.duration_s, notes=notes)


@contextlib.contextmanager
def project_for_import(project_dir: Path) -> Iterator[ProjectStore]:
    """Open the project an import goes into, or create it; if the import fails, leave no trace.

    A project created for the import is removed again: a new folder as a whole, in a
    folder that was already there only what creating the project added. An existing
    project is left untouched (the import saves only when it succeeds).
    """
    import shutil

    from shotsmith.store import PROJECT_FILE

    root = Path(project_dir).expanduser()
    if (root / PROJECT_FILE).is_file():
        yield ProjectStore.open(root)
        return
    top = root.absolute()  # the highest folder that does not exist yet: removed as a whole on failure
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    existed = set(root.iterdir()) if root.is_dir() else None
    store = ProjectStore.create(root)
    try:
        yield store
    except BaseException:
        if existed is None:
            shutil.rmtree(top, ignore_errors=True)
        else:
            for entry in set(root.iterdir()) - existed:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        raise
