"""Incremental render: encode only the stretches of the cut that changed, join the rest from a cache.

Why: after "make shot 2 slower" the one-pass renderer re-encodes the whole
timeline, although most of its frames are the same as last time.

How:

* The cut is divided into **segments** at clip boundaries: each clip's *body*
  (its frames no transition touches) is one segment, and each transition's
  overlap is a segment of its own, so a transition never straddles two
  segments. Changing one shot touches its body and the transitions on either
  side, nothing else.
* A segment's **identity** is the graph the existing compiler builds for it
  (:func:`~shotsmith.tools.render.compile_timeline` with ``window=``: the same
  code as a full render, only the clips and layers the window can show), with
  every file it reads stamped (path, size, mtime; small scratch files such as
  title text by content), plus the encoder settings and the ffmpeg build. Its
  hash names the cached file in ``PROJECT/.shotsmith/segments/``.
* Titles, overlays and captions are drawn *inside* segments on the timeline's
  global clock (the window's frames carry their global times), so a title
  spanning a boundary is part of the graph, and so of the key, of every
  segment it shows in. Boundaries are therefore never moved for layers.
* Missing segments are encoded, consecutive ones in one ffmpeg process that
  splits its output with the ``segment`` muxer at forced IDR frames (closed
  GOPs, every segment starts on a keyframe); when the load average leaves a
  core idle, the runs are split in two at a segment boundary and encoded by two
  processes at once (:func:`parallel_jobs`); with the same encoder settings as
  every other segment; then all segments are joined by the concat demuxer
  **without re-encoding**, and the sound is muxed in by copying.
* **The sound** is the whole timeline's mix, exactly as a full render mixes it
  (measured first for a loudness target), encoded once into the same cache,
  keyed on its own graph (:func:`sound_key`: every source, range, speed,
  volume, fade, duck, loop and the loudness target). A picture-only edit (a
  title, a colour, a still redrawn) reuses it: no mix, no loudness pass. When
  it must be mixed, that runs beside the picture's encode (it needs nothing of it).
* **Previews** are incremental renders at the preview's settings (``fast``) into
  their own cache: the first decodes the sources once, later ones make only
  what an edit changed.
* **Smart render**: a body segment that is a plain, whole source clip whose
  packets already are what the encoder would be asked to make (same codec
  parameter sets as this encoder writes, size, frame rate, pixel format; speed
  1; nothing drawn over it; its frames a run of whole closed GOPs) is copied
  packet for packet instead of encoded.

The result equals a from-scratch render frame for frame within encoder noise
(tests/tools/test_incremental.py compares them losslessly and at the normal
quality). Formats other than H.264/H.265 in MP4/MOV/MKV render in one pass.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel, Field

from shotsmith.atomic import atomic_output, atomic_write_text
from shotsmith.errors import InvalidInputError, MediaError, ShotsmithError
from shotsmith.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from shotsmith.media.probe import frame_rate_fraction, probe
from shotsmith.timeline import OutputSettings, Timeline
from shotsmith.tools.encoding import (audio_encoder_args, container_args, preview_settings, settings_for_output,
                                     video_encoder_args)
from shotsmith.tools.render import (IMAGE_SUFFIXES, LoudnessReached, RenderResult, _check_output, _fps_text, _is_image,
                                    _result, compile_sound, compile_timeline, graph_args, normalising_measurement,
                                    place_clips, reached_loudness,
                                    render_timeline, subtitle_track_args, timeline_sources)
from shotsmith.tools.cache_files import DEFAULT_CACHE_BYTES, prune
from shotsmith.tools.run_cost import clip_costs, output_frame_cost, stretch_cost
from shotsmith.tools.spec import ToolContext, edit_tool

#: Bump when the meaning of a cached segment changes (anything the key does not see).
KEY_VERSION = "segments-1"
#: Containers and codecs whose segments the concat demuxer joins by copying.
JOINABLE_CONTAINERS = {"mp4", "mov", "mkv"}
JOINABLE_CODECS = {"libx264": "h264", "libx265": "hevc"}
#: Files up to this size referenced by a graph (title text, ASS scripts) are keyed by content.
CONTENT_KEY_LIMIT = 1 << 20


@dataclass(frozen=True)
class Segment:
    """Output frames [start, end) of the cut and the clips (timeline indices) they show."""

    start: int
    end: int
    clips: tuple[int, ...]

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass
class SegmentPlan:
    segment: Segment
    key: str
    path: Path
    #: "cached" (reused), "encode", or "copy" (smart render: the source's packets)
    action: str = "encode"


@dataclass
class IncrementalResult:
    render: RenderResult
    segments: list[SegmentPlan] = field(default_factory=list)
    #: the mixed sound: "cached" (reused: no mix, no loudness measurement), "mixed", or None (one-pass render)
    sound: str | None = None

    def count(self, action: str) -> int:
        return sum(1 for s in self.segments if s.action == action)


def segment_encoder_args(settings: OutputSettings) -> list[str]:
    """How every segment is encoded: the render's encoder settings, forced keyframes as IDR frames, and
    fixed colour tags (BT.709 from 720 lines up, else BT.601).

    The tags matter because x264 writes the frames' colour description into the
    parameter sets: segments cut from sources tagged differently would carry different
    ones, and a concatenated stream must have one set for every segment to be copied.
    The pixels are the full render's; only these tags may differ from it.
    """
    hd = settings.height >= 720
    return [*video_encoder_args(settings), "-forced-idr", "1", "-color_range", "tv",
            "-colorspace", "bt709" if hd else "smpte170m", "-color_primaries", "bt709" if hd else "smpte170m",
            "-color_trc", "bt709" if hd else "smpte170m"]


def supports(settings: OutputSettings) -> bool:
    """Whether segments in these settings can be joined without re-encoding."""
    return settings.container in JOINABLE_CONTAINERS and settings.video_codec in JOINABLE_CODECS


def _placed(timeline: Timeline, settings: OutputSettings):
    return place_clips(timeline, settings.fps)


def plan_segments(timeline: Timeline, settings: OutputSettings) -> list[Segment]:
    """Cut the timeline at every clip boundary and at both edges of every transition's overlap."""
    placed = _placed(timeline, settings)
    total = placed[-1].end_frame
    edges = {0, total}
    for a, b in zip(placed, placed[1:]):
        edges.update((b.start_frame, a.end_frame))  # equal for a hard cut
    points = sorted(edges)
    segments = []
    for start, end in zip(points, points[1:]):
        shown = tuple(p.index for p in placed if p.start_frame < end and p.end_frame > start)
        segments.append(Segment(start, end, shown))
    return segments


# ---------------------------------------------------------------------------------------------
# keys

def _stamp(path: Path) -> list:
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def _file_key(value: str, scratch: Path) -> list | None:
    """What a file named in the graph contributes to the key: content for small files, else its stamp."""
    path = Path(value)
    try:
        st = path.stat()
        if not path.is_file():
            return None
        if st.st_size <= CONTENT_KEY_LIMIT:
            name = str(path).replace(str(scratch), "<scratch>")
            return [name, _content_digest(str(path), st.st_size, st.st_mtime_ns)]
        return _stamp(path)
    except OSError:
        return None


@functools.lru_cache(maxsize=256)
def _content_digest(path: str, size: int, mtime_ns: int) -> str:
    """A file's SHA-256, once per version of it (a font is named by every segment's titles and slates)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _ffmpeg_stamp() -> list:
    try:
        return _stamp(Path(ffmpeg_exe()))
    except (OSError, ShotsmithError):
        return ["ffmpeg"]


def _graph_payload(graph, scratch: Path) -> dict:
    """What a compiled graph makes, as key material: its text, every input stamped, every file it names."""
    files = []
    for chain in graph.chains:
        for f in chain.filters:
            for _, value in f.options:
                if isinstance(value, (str, Path)) and ("/" in str(value) or "\\" in str(value)):
                    stamp = _file_key(str(value), scratch)
                    if stamp is not None:
                        files.append(stamp)
    return {
        "ffmpeg": _ffmpeg_stamp(),
        "graph": graph.serialise().replace(str(scratch), "<scratch>"),
        "inputs": [[inp.options, _stamp(Path(inp.path))] for inp in graph.inputs],
        "files": files,
    }


def _digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def segment_key(timeline: Timeline, settings: OutputSettings, segment: Segment, *, resolve: Callable[[str], Path],
                scratch: Path, infos: dict | None = None, fast: bool = False) -> str:
    """The content address of a segment: its compiled graph, the files it reads and how it is encoded."""
    compiled = compile_timeline(timeline, settings, resolve=resolve, scratch=scratch, output="segment.mp4",
                                window=(segment.start, segment.end), infos=infos, fast=fast)
    return _digest({"v": KEY_VERSION, **_graph_payload(compiled.graph, scratch),
                    "encoder": [*segment_encoder_args(settings), "fps", _fps_text(settings.fps),
                                "frames", segment.frames]})


# ---------------------------------------------------------------------------------------------
# the mixed sound: cached like a segment, keyed on the whole audio graph

#: Bump when the meaning of a cached mix changes.
SOUND_KEY_VERSION = "sound-2"  # 2: the reached loudness is kept beside the mix


def sound_key(timeline: Timeline, settings: OutputSettings, *, resolve: Callable[[str], Path], scratch: Path,
              infos: dict | None = None) -> str:
    """The content address of the timeline's encoded sound.

    Keyed on the sound graph *before* loudness (every clip's sound, range, speed, volume and
    mute, the music and voice-over tracks with their fades, ducking and loops, the length:
    all of it is in that graph, and every file it reads is stamped), plus the loudness target
    and the sound encoder. The loudness measurement is a function of exactly these, so a
    cached mix also stands for its measurement: a picture-only edit repeats neither.
    """
    unmeasured = compile_sound(timeline, settings.model_copy(update={"loudness_lufs": None}), resolve=resolve,
                               scratch=scratch, infos=infos)
    return _digest({"v": SOUND_KEY_VERSION, **_graph_payload(unmeasured.graph, scratch),
                    "loudness": settings.loudness_lufs, "container": settings.container,
                    "encoder": audio_encoder_args(settings)})


def _sound_file(cache: Path, key: str, settings: OutputSettings) -> Path:
    # AAC keeps its priming in an MP4-family file, so copying it into the output changes nothing
    return cache / f"sound-{key}{'.m4a' if settings.audio_codec == 'aac' else '.mka'}"


def _sound_note(sound: Path) -> Path:
    """Beside a cached mix: the loudness it reached (a cached render reports it as the mix did)."""
    return sound.with_name(sound.name + ".json")


def cached_loudness(sound: Path) -> tuple[bool, LoudnessReached | None]:
    """(whether the mix at ``sound`` is cached with its note, the loudness it reached)."""
    try:
        data = json.loads(_sound_note(sound).read_text(encoding="utf-8"))
        reached = data.get("loudness")
        return sound.is_file(), None if reached is None else LoudnessReached.model_validate(reached)
    except (OSError, ValueError, AttributeError):  # no note (or a torn one): the mix is made again
        return False, None


def mix_sound(timeline: Timeline, settings: OutputSettings, dest: Path, *, resolve: Callable[[str], Path],
              scratch: Path, cancel: threading.Event | None = None, infos: dict | None = None) -> LoudnessReached | None:
    """Mix and encode the whole timeline's sound into ``dest`` (measured first when there is a loudness target);
    returns the loudness it reached, also kept beside it for a later render that reuses the mix."""
    loudness = normalising_measurement(timeline, settings, resolve=resolve, scratch=scratch, cancel=cancel)
    sound = compile_sound(timeline, settings, resolve=resolve, scratch=scratch, loudness=loudness, infos=infos)
    with atomic_output(dest) as tmp:
        run_ffmpeg([*sound.args, "-map", f"[{sound.audio}]", *audio_encoder_args(settings),
                    "-f", "mp4" if dest.suffix == ".m4a" else "matroska", str(tmp)],
                   duration_s=sound.duration_s, cancel=cancel, what="mixing the sound")
    reached = reached_loudness(loudness, settings)
    atomic_write_text(_sound_note(dest), json.dumps({"loudness": reached.model_dump() if reached else None}) + "\n")
    return reached


# ---------------------------------------------------------------------------------------------
# smart render: a source clip that already is the segment

@dataclass
class _CopyRange:
    source: Path
    packets_from: int  # pts of the first frame
    packets_to: int | None  # pts of the frame after the last (None: to the end)


def _encoder_extradata(settings: OutputSettings, cache: Path) -> bytes:
    """The codec parameter sets (avcC/hvcC) this encoder writes for ``settings``: encoded once, kept."""
    import av

    args = segment_encoder_args(settings)
    name = hashlib.sha256(json.dumps([args, settings.width, settings.height, _fps_text(settings.fps),
                                      _ffmpeg_stamp()]).encode()).hexdigest()[:24]
    kept = cache / f"encoder-{name}.bin"
    if kept.is_file():
        return kept.read_bytes()
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        sample = Path(tmp) / "one.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", f"color=c=black:s={settings.width}x{settings.height}:r={_fps_text(settings.fps)}",
                    "-frames:v", "2", "-r", _fps_text(settings.fps), *args, "-an", str(sample)],
                   what="reading the encoder's parameters")
        with av.open(str(sample)) as container:
            extradata = bytes(container.streams.video[0].codec_context.extradata or b"")
    with atomic_output(kept) as out:
        out.write_bytes(extradata)
    return extradata


def _covered(timeline: Timeline, start_s: float, end_s: float) -> bool:
    """Whether a title, an overlay or a burned caption can show between these times."""
    def hits(a: float, b: float | None) -> bool:
        return a <= end_s and (b is None or b >= start_s)

    cs = timeline.caption_settings
    burned = cs.mode == "burn" and (cs.srt or any(hits(c.start_s, c.end_s) for c in timeline.captions))
    return (any(hits(t.start_s, t.end_s) for t in timeline.titles)
            or any(hits(o.start_s, o.end_s) for o in timeline.overlays) or bool(burned))


def copy_range(timeline: Timeline, settings: OutputSettings, segment: Segment, *, resolve: Callable[[str], Path],
               extradata: Callable[[], bytes]) -> _CopyRange | None:
    """The source packets that already are ``segment``, or None when it must be encoded.

    Only a whole clip between two hard cuts qualifies, at speed 1, with nothing drawn
    over it, read from a file in this encoder's codec with the same parameter sets, size,
    frame rate and pixel format, starting on a keyframe and ending where a keyframe (or the
    file) does, with no frame of the range referring outside it.
    """
    import av

    if len(segment.clips) != 1:
        return None
    index = segment.clips[0]
    clip = timeline.clips[index]
    placed = _placed(timeline, settings)[index]
    fps = frame_rate_fraction(settings.fps)
    if (placed.start_frame, placed.end_frame) != (segment.start, segment.end) or clip.speed != 1:
        return None
    if _covered(timeline, segment.start / settings.fps, segment.end / settings.fps):
        return None
    if Path(clip.source).suffix.lower() in IMAGE_SUFFIXES:
        return None  # a still is always drawn (moved, fitted): nothing to copy, no need to open it
    try:
        path = Path(resolve(clip.source))
        info = probe(path)
    except (ShotsmithError, OSError, ValueError):
        return None
    v = info.video
    if _is_image(path, info) or v is None or v.rotation % 360 or (v.width, v.height) != (settings.width, settings.height):
        return None
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            ctx = stream.codec_context
            if (ctx.name != JOINABLE_CODECS[settings.video_codec] or ctx.format is None
                    or ctx.format.name != settings.pixel_format or stream.average_rate != fps
                    or (ctx.sample_aspect_ratio not in (None, 0, Fraction(1, 1)))):
                return None
            if bytes(ctx.extradata or b"") != extradata():
                return None
            tb = stream.time_base
            origin = Fraction(container.start_time or 0, 1_000_000)
            packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.pts is not None and p.size]
    except (av.error.FFmpegError, OSError, ValueError, KeyError):
        return None
    decode_order = packets
    by_time = sorted(packets)
    step = Fraction(1) / fps
    tolerance = step / 4
    wanted_start = Fraction(clip.in_s).limit_denominator(1_000_000)
    first = next((i for i, (pts, _) in enumerate(by_time) if pts * tb - origin >= wanted_start - tolerance), None)
    if first is None or first + segment.frames > len(by_time):
        return None
    frames = by_time[first:first + segment.frames]
    t0 = frames[0][0] * tb - origin
    if abs(t0 - wanted_start) > tolerance or not frames[0][1]:
        return None
    if any(abs((pts * tb - origin) - (t0 + j * step)) > tolerance for j, (pts, _) in enumerate(frames)):
        return None  # not constant frame rate over the range
    after = by_time[first + segment.frames] if first + segment.frames < len(by_time) else None
    if after is not None and not after[1]:
        return None  # the range ends inside a GOP
    start_pts, end_pts = frames[0][0], (after[0] if after else None)
    # closed: the packets decoded from the first keyframe up to the next boundary are exactly the range
    begin = decode_order.index(frames[0])
    stop = decode_order.index(after) if after else len(decode_order)
    decoded = {pts for pts, _ in decode_order[begin:stop]}
    if decoded != {pts for pts, _ in frames}:
        return None
    return _CopyRange(path, start_pts, end_pts)


def write_copy(span: _CopyRange, dest: Path) -> None:
    """Copy the range's packets, untouched, into ``dest`` (timestamps start at 0)."""
    import av

    with av.open(str(span.source)) as src, av.open(str(dest), "w", format="mp4") as out:
        stream = src.streams.video[0]
        target = out.add_stream_from_template(stream)
        target.time_base = stream.time_base
        taking = False
        for packet in src.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            if packet.pts == span.packets_from:
                taking = True
            elif span.packets_to is not None and packet.pts == span.packets_to:
                break
            if not taking:
                continue
            packet.pts -= span.packets_from
            packet.dts = None if packet.dts is None else packet.dts - span.packets_from
            packet.stream = target
            out.mux(packet)


# ---------------------------------------------------------------------------------------------
# encoding runs of segments

def _runs(plans: list[SegmentPlan]) -> list[list[SegmentPlan]]:
    """Consecutive segments to encode, each run one ffmpeg process."""
    runs: list[list[SegmentPlan]] = []
    for i, plan in enumerate(plans):
        if plan.action != "encode":
            continue
        if runs and runs[-1][-1] is plans[i - 1]:
            runs[-1].append(plan)
        else:
            runs.append([plan])
    return runs


def parallel_jobs() -> int:
    """How many runs to encode at once: two on a machine that is not saturated, so its second core works
    on the other half of the cut; on a busy one (load average a core's worth above the cores) one, which costs least.
    ``SHOTSMITH_RENDER_JOBS`` sets it."""
    forced = os.environ.get("SHOTSMITH_RENDER_JOBS", "").strip()
    if forced.isdigit() and int(forced) > 0:
        return int(forced)
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    # The 1-minute load average trails: it still counts the ffmpeg of a render (or a bench round) that just
    # ended, so up to one process per core beyond the cores is not yet "busy" (measured on a quiet 2-core
    # machine: the demo at 1.82x a bare encode with 2 runs vs 1.91x with 1; at load 3-5 two runs cost nothing).
    return min(2, cores) if load < cores + 1 else 1


def _share(runs: list[list[SegmentPlan]], jobs: int, cost: Callable[[list[SegmentPlan]], float]) -> list[list[SegmentPlan]]:
    """Split runs at segment boundaries until there are ``jobs`` of them of about equal ``cost`` (the
    boundaries already start on IDR frames, so a split costs no extra keyframe). The cost, not the length:
    halves of equal length can differ in work by half (:mod:`shotsmith.tools.run_cost`)."""
    runs = [list(r) for r in runs]
    while runs and len(runs) < jobs:  # none: every segment was copied or cached
        longest = max(runs, key=cost)
        if len(longest) < 2:
            break
        cut = min(range(1, len(longest)), key=lambda k: max(cost(longest[:k]), cost(longest[k:])))
        i = runs.index(longest)
        runs[i:i + 1] = [longest[:cut], longest[cut:]]
    return runs


def _encode_runs(timeline: Timeline, settings: OutputSettings, runs: list[list[SegmentPlan]], *, resolve,
                 scratch: Path, cache: Path, cancel: threading.Event | None,
                 on_progress: Callable[[float], None] | None, infos: dict, fast: bool, jobs: int) -> None:
    """Encode the runs, ``jobs`` ffmpeg processes at a time, each in its own scratch folder."""
    if jobs > 1:
        costs = clip_costs(timeline, settings, resolve=resolve, infos=infos)
        per_frame = output_frame_cost(settings)

        def cost(run: list[SegmentPlan]) -> float:
            touched = {i for plan in run for i in plan.segment.clips}
            return stretch_cost(touched, sum(plan.segment.frames for plan in run), costs, per_frame)

        runs = _share(runs, jobs, cost)
    done = [0.0] * len(runs)
    lock = threading.Lock()
    stop = cancel or threading.Event()

    def one(k: int) -> None:
        def progress(seconds: float) -> None:
            if on_progress is not None:
                with lock:
                    done[k] = seconds
                    on_progress(sum(done))

        folder = scratch / f"run{k}"
        folder.mkdir(exist_ok=True)
        try:
            _encode_run(timeline, settings, runs[k], resolve=resolve, scratch=folder, cache=cache, cancel=stop,
                        progress=progress, infos=infos, fast=fast)
        except BaseException:
            if cancel is None:
                stop.set()  # the other run stops too: the render has failed
            raise

    if jobs <= 1 or len(runs) == 1:
        for k in range(len(runs)):
            one(k)
        return
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="shotsmith-run") as pool:
        for future in [pool.submit(one, k) for k in range(len(runs))]:
            future.result()


def _encode_run(timeline: Timeline, settings: OutputSettings, run: list[SegmentPlan], *, resolve, scratch: Path,
                cache: Path, cancel: threading.Event | None, progress: Callable[[float], None],
                infos: dict | None = None, fast: bool = False) -> None:
    start, end = run[0].segment.start, run[-1].segment.end
    compiled = compile_timeline(timeline, settings, resolve=resolve, scratch=scratch, output="run.mp4",
                                window=(start, end), infos=infos, fast=fast)
    splits = [p.segment.start - start for p in run[1:]]
    args = [*graph_args(compiled.graph, scratch, "run-graph.txt"), "-map", f"[{compiled.video}]",
            "-r", _fps_text(settings.fps), "-frames:v", str(end - start), *segment_encoder_args(settings),
            "-an", "-sn", "-dn"]
    with tempfile.TemporaryDirectory(prefix="run-", dir=cache) as tmp:
        if splits:
            args += ["-force_key_frames", "expr:" + "+".join(f"eq(n,{n})" for n in splits),
                     "-f", "segment", "-segment_format", "mp4", "-segment_frames", ",".join(map(str, splits)),
                     "-reset_timestamps", "1", str(Path(tmp) / "seg%05d.mp4")]
        else:
            args.append(str(Path(tmp) / "seg00000.mp4"))
        run_ffmpeg(args, duration_s=(end - start) / settings.fps, cancel=cancel, on_progress=progress,
                   what=f"rendering frames {start}-{end}")
        made = sorted(Path(tmp).glob("seg*.mp4"))
        if len(made) != len(run):
            raise MediaError(f"the render of frames {start}-{end} made {len(made)} segments, not {len(run)}")
        for plan, path in zip(run, made):
            os.replace(path, plan.path)


# ---------------------------------------------------------------------------------------------
# the render entry point

def _concat_list(plans: list[SegmentPlan], dest: Path) -> None:
    lines = ["ffconcat version 1.0"]
    for plan in plans:
        quoted = str(plan.path.resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")


def render_incremental(timeline: Timeline, output: Path, *, cache: Path, resolve: Callable[[str], Path] | None = None,
                       protected: Iterable[Path] = (), on_progress: Callable[[float], None] | None = None,
                       cancel: threading.Event | None = None, settings: OutputSettings | None = None,
                       smart: bool = True, max_cache_bytes: int = DEFAULT_CACHE_BYTES, fast: bool = False,
                       jobs: int | None = None, picture_resolve: Callable[[str], Path] | None = None
                       ) -> IncrementalResult:
    """Render ``timeline`` to ``output`` reusing every unchanged segment cached in ``cache``.

    ``fast`` compiles as a preview does (fastest scaler, no deblocking; ``settings`` are then the
    preview's). ``jobs``: ffmpeg processes encoding runs at once (None: :func:`parallel_jobs`).
    ``picture_resolve`` names the files the picture is read from (a preview's proxies,
    :func:`shotsmith.tools.proxies.proxy_resolver`); the sound is always mixed from ``resolve``'s.
    Falls back on the one-pass render for formats whose segments cannot be joined by
    copying (GIF, WebP, WebM, ProRes).
    """
    output = Path(output)
    resolve = resolve or (lambda s: Path(s))
    picture = picture_resolve or resolve
    settings = settings_for_output(settings or timeline.output, output)
    if not supports(settings):
        return IncrementalResult(render_timeline(timeline, output, resolve=resolve, protected=protected,
                                                 on_progress=on_progress, cancel=cancel, settings=settings,
                                                 fast=fast))
    target = _check_output(output, timeline_sources(timeline, resolve), protected)
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    segments = plan_segments(timeline, settings)
    total_s = segments[-1].end / settings.fps
    with tempfile.TemporaryDirectory(prefix="shotsmith-render-") as scratch_dir:
        scratch = Path(scratch_dir)
        infos: dict = {}  # every compile of this render probes each source once
        plans = []
        for segment in segments:
            key = segment_key(timeline, settings, segment, resolve=picture, scratch=scratch, infos=infos, fast=fast)
            path = cache / f"{key}.mp4"
            plans.append(SegmentPlan(segment, key, path, "cached" if path.is_file() else "encode"))
        if smart:
            reference: list[bytes] = []

            def extradata() -> bytes:
                if not reference:
                    reference.append(_encoder_extradata(settings, cache))
                return reference[0]

            for plan in plans:
                if plan.action != "encode":
                    continue
                span = copy_range(timeline, settings, plan.segment, resolve=picture, extradata=extradata)
                if span is not None:
                    with atomic_output(plan.path) as tmp:
                        write_copy(span, tmp)
                    plan.action = "copy"
        # the whole timeline's sound, mixed and encoded as a full render does, or reused when its graph is unchanged;
        # it needs nothing of the picture, so it is mixed while the picture's runs are encoded
        sound_path = _sound_file(cache, sound_key(timeline, settings, resolve=resolve, scratch=scratch, infos=infos),
                                 settings)
        cached_mix, reached = cached_loudness(sound_path)
        sound_action = "cached" if cached_mix else "mixed"
        stop = cancel or threading.Event()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shotsmith-sound") as pool:
            mixing = None
            if sound_action == "mixed":
                (scratch / "sound").mkdir()
                mixing = pool.submit(mix_sound, timeline, settings, sound_path, resolve=resolve,
                                     scratch=scratch / "sound", cancel=stop, infos=infos)
            else:
                os.utime(sound_path)
                os.utime(_sound_note(sound_path))
            try:
                _encode_runs(timeline, settings, _runs(plans), resolve=picture, scratch=scratch, cache=cache,
                             cancel=stop, on_progress=on_progress, infos=infos, fast=fast,
                             jobs=parallel_jobs() if jobs is None else jobs)
            except BaseException:
                if cancel is None:
                    stop.set()  # the picture failed: the sound stops too (the pool waits for it)
                raise
            if mixing is not None:
                reached = mixing.result()
        for plan in plans:
            if plan.action == "cached":
                os.utime(plan.path)  # recently used: pruning keeps it
        # join: the picture and the sound copied. auto_convert off: the demuxer would turn H.264 into Annex B and
        # back, adding parameter sets to every segment's first packet (no longer the packets cached or copied)
        listing = scratch / "segments.ffconcat"
        _concat_list(plans, listing)
        track_in, track_out = subtitle_track_args(timeline, settings, scratch, 2, total_s)
        args = ["-f", "concat", "-safe", "0", "-auto_convert", "0", "-i", str(listing), "-i", str(sound_path),
                *track_in]
        tag = ["-tag:v", "hvc1"] if settings.video_codec == "libx265" else []
        try:
            with atomic_output(target) as tmp:
                args += ["-map", "0:v", "-map", "1:a", *track_out, "-c:v", "copy", *tag, "-c:a", "copy",
                         *container_args(settings), str(tmp)]
                run_ffmpeg(args, duration_s=total_s, cancel=cancel, what=f"joining {target.name}")
        except PermissionError as exc:
            raise ShotsmithError(f"cannot write {target}: {exc.strerror or exc}",
                                 hint="check that the output folder is writable") from exc
    prune(cache, keep=[*(p.path for p in plans), sound_path, _sound_note(sound_path)], max_bytes=max_cache_bytes)
    compiled_like = _Summary(settings=settings, duration_s=total_s)
    result = _result(target, compiled_like)  # type: ignore[arg-type]
    result.loudness = reached
    if timeline.caption_settings.mode == "srt" and timeline.captions:
        from shotsmith.tools.subtitles import write_sidecars

        result.sidecars = [str(p) for p in write_sidecars(timeline.captions, target, total_s)]
    if on_progress:
        on_progress(total_s)
    return IncrementalResult(result, plans, sound_action)


@dataclass
class _Summary:
    """What :func:`shotsmith.tools.render._result` reads from a compiled render."""

    settings: OutputSettings
    duration_s: float


def render(timeline: Timeline, output: Path, *, cache: Path | None, full: bool = False, preview: bool = False,
           preview_cache: Path | None = None, proxies: Path | None = None, **kwargs) -> RenderResult:
    """The render front ends call: incremental into ``cache`` for a final render, one pass with ``full=True``
    (from scratch) or without a cache.

    A preview (small, fastest settings: :func:`~shotsmith.tools.encoding.preview_settings`) of a project is
    incremental too, into its own ``preview_cache``: the first one decodes the sources once, its runs
    encoded in parallel on an idle machine; after an edit only the segments it changed are made again.
    Its picture is read from the sources' proxies in ``proxies`` where they are ready
    (:mod:`shotsmith.tools.proxies`; made in the background as clips arrive).
    """
    if preview:
        settings = preview_settings(settings_for_output(kwargs.pop("settings", None) or timeline.output, Path(output)))
        if preview_cache is None or full or not supports(settings):
            return render_timeline(timeline, output, preview=True, settings=settings, **kwargs)
        picture = None
        if proxies is not None:
            from shotsmith.tools.proxies import proxy_resolver

            picture = proxy_resolver(kwargs.get("resolve") or Path, settings, proxies)
        return render_incremental(timeline, output, cache=preview_cache, settings=settings, fast=True, smart=False,
                                  picture_resolve=picture, **kwargs).render
    if full or cache is None:
        return render_timeline(timeline, output, **kwargs)
    return render_incremental(timeline, output, cache=cache, **kwargs).render


# ---------------------------------------------------------------------------------------------
# the tool (here, not in render.py: the render tool picks between the one-pass and the incremental render)

class RenderArgs(BaseModel):
    output: str = Field(default="renders/final.mp4",
                        description="Output file inside the project; the suffix picks the format (.mp4 .mov .webm .gif .webp).")
    preset: str | None = Field(default=None, description="Export preset name (see the presets tool); None keeps the timeline's settings.")
    preview: bool = Field(default=False, description="Fast low-resolution preview instead of the final quality.")


def require_store(ctx: ToolContext):
    if ctx.store is None:
        raise InvalidInputError("this tool needs an open project")
    return ctx.store


@edit_tool("render", "Render the project's timeline to a video file (a final render re-encodes only what changed; "
                     "a preview is a fast small proxy render).", RenderArgs)
def render_tool(ctx: ToolContext, args: RenderArgs) -> RenderResult:
    store = require_store(ctx)
    cut = store.project.sync_cut()  # a planned project renders the cut its plan derives, all of it
    if cut is not None:
        cut.require_complete()
    timeline = store.project.timeline
    settings = timeline.output
    if args.preset:
        from shotsmith.tools.presets import apply_preset

        settings = apply_preset(settings, args.preset)
    output = store.resolve(args.output, allow_inputs=False)
    return render(timeline, output, cache=store.root / ".shotsmith" / "segments", resolve=store.resolve,
                      protected=store.source_paths(), on_progress=ctx.on_progress, cancel=ctx.cancel,
                      settings=settings, preview=args.preview, preview_cache=store.root / ".shotsmith" / "previews",
                      proxies=store.root / ".shotsmith" / "proxies")
