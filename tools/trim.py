"""Frame-accurate trim, plus the frame table, path rules and probe tool the footage tools share.

A trim names frames, not seconds: the in-point is the frame shown at the
requested time, the out-point is exclusive, and the output holds exactly the
frames in between. Two ways to produce it:

* **stream copy** (fast, lossless) is used only when it is exact: the in-point
  is a keyframe, and the out-point is a keyframe, the end of the file, or the
  stream has no frame reordering (no B-frames), so "the first N packets" are
  "the first N frames";
* otherwise **re-encode just the trim**: ffmpeg seeks to the keyframe before
  the in-point, decodes and drops up to it, and encodes only the kept frames.

ffmpeg's ``-ss`` works in microseconds while frame times are fractions, so the
seek point is rounded *up* for a copy (a seek just before a keyframe would
land on the previous one) and *down* for a re-encode (frames before the seek
point are dropped, and the in-point frame must not be).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
from pydantic import BaseModel, Field

from shotsmith.atomic import atomic_output
from shotsmith.errors import InvalidInputError, MediaError, PathSafetyError
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import MediaInfo, open_video, probe
from shotsmith.tools.spec import ToolContext, edit_tool
from shotsmith.tools.timecode import TimeUnit, check_range, format_hms, frame_number, parse_time

TimeInput = str | float | int
"""A time as the user wrote it: seconds, a timecode, or a frame number (see :mod:`timecode`)."""

_COPY_FAMILY = {".mp4", ".m4v", ".mov", ".mkv"}
_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


# -- paths -------------------------------------------------------------------------
def resolve_source(ctx: ToolContext, raw: str) -> Path:
    """An input path, checked against the project when there is one."""
    path = ctx.store.resolve(raw) if ctx.store is not None else Path(raw).expanduser().resolve()
    if not path.is_file():
        raise MediaError(f"{raw}: no such file")
    return path


def resolve_output(ctx: ToolContext, raw: str, *sources: Path) -> Path:
    """An output path inside the project (when there is one) that overwrites no source."""
    path = ctx.store.resolve(raw, allow_inputs=False) if ctx.store is not None else Path(raw).expanduser().resolve()
    protected = {Path(s).resolve() for s in sources}
    if ctx.store is not None:
        project = ctx.store.project
        protected |= {Path(p).resolve() for p in project.inputs}
        protected |= {ctx.store.resolve(c.source) for c in project.timeline.clips if _safe(ctx, c.source)}
    if path in protected:
        raise PathSafetyError(f"output {raw} would overwrite a source file", hint="pick another output name")
    if path.is_dir():
        raise InvalidInputError(f"output {raw} is a folder; give a file name")
    return path


def _safe(ctx: ToolContext, raw: str) -> bool:
    try:
        ctx.store.resolve(raw)  # type: ignore[union-attr]
    except PathSafetyError:
        return False
    return True


def is_reserved(path: Path, ctx: ToolContext) -> bool:
    """True when writing ``path`` would touch a project input (used for folders of outputs)."""
    if ctx.store is None:
        return False
    return str(path.resolve()) in {str(Path(p).resolve()) for p in ctx.store.project.inputs}


# -- the frame table ---------------------------------------------------------------
@dataclass(frozen=True)
class FrameTable:
    """When every video frame is shown and which frames are keyframes.

    Read from packets alone (no decoding), so it is cheap, and it is the truth
    for variable-frame-rate files where ``n / fps`` is not.
    """

    times: tuple[Fraction, ...]
    """Presentation time of each frame in display order, seconds from the file's start."""
    keyframes: frozenset[int]
    end: Fraction
    """When the last frame stops being shown."""
    reordered: bool
    """Decode order differs from display order (B-frames)."""

    def __len__(self) -> int:
        return len(self.times)

    def time_of(self, index: int) -> Fraction:
        return self.end if index >= len(self.times) else self.times[index]

    def index_at(self, seconds: Fraction) -> int:
        """The frame whose start is nearest ``seconds``; ``len(self)`` means the end."""
        points = self.times + (self.end,)
        i = bisect.bisect_left(points, seconds)
        if i == 0:
            return 0
        if i >= len(points):
            return len(self.times)
        return i if points[i] - seconds <= seconds - points[i - 1] else i - 1

    def keyframe_at_or_before(self, index: int) -> int:
        earlier = [k for k in self.keyframes if k <= index]
        return max(earlier) if earlier else 0


def read_frame_table(path: Path) -> FrameTable:
    with open_video(path) as (container, stream):
        origin = Fraction(container.start_time or 0, av.time_base)
        tb = stream.time_base
        decode_order: list[int] = []
        keys: set[int] = set()
        durations: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                decode_order.append(packet.pts)
                if packet.is_keyframe:
                    keys.add(packet.pts)
                if packet.duration:
                    durations.append(packet.duration)
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: corrupt video data after {len(decode_order)} frames ({exc.strerror or exc})") from exc
    if not decode_order:
        raise MediaError(f"{path}: the video stream holds no frames")
    display = sorted(decode_order)
    last_duration = durations[-1] if durations else (display[-1] - display[-2] if len(display) > 1 else 0)
    times = tuple(Fraction(p) * tb - origin for p in display)
    return FrameTable(
        times=times,
        keyframes=frozenset(i for i, p in enumerate(display) if p in keys),
        end=Fraction(display[-1] + last_duration) * tb - origin,
        reordered=decode_order != display,
    )


def resolve_point(value: TimeInput, table: FrameTable, info: MediaInfo, *, unit: TimeUnit, what: str) -> int:
    """The frame index a user's time names, refusing times outside the media."""
    frame = frame_number(value, unit=unit)
    if frame is not None:
        if frame > len(table):
            raise InvalidInputError(f"{what} frame {frame} is past the last frame of {info.path} ({len(table) - 1})")
        return frame
    rate = info.video.rate if info.video else None
    seconds = parse_time(value, fps=rate, unit=unit, what=what)
    check_range(seconds, float(table.end), what=what, path=info.path)
    return table.index_at(seconds)


def seek_arg(seconds: Fraction, *, up: bool) -> str:
    """``seconds`` as an ffmpeg -ss value, rounded to whole microseconds up or down."""
    micros = math.ceil(seconds * 1_000_000) if up else math.floor(seconds * 1_000_000)
    micros = max(0, micros)
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def video_encoder_args(output: Path, *, crf: int, preset: str) -> list[str]:
    """Encoder options for a re-encode, picked by the output container."""
    if output.suffix.lower() == ".webm":
        return ["-c:v", "libvpx-vp9", "-crf", str(min(crf + 12, 63)), "-b:v", "0", "-row-mt", "1", "-c:a", "libopus"]
    return ["-c:v", "libx264", "-crf", str(crf), "-preset", preset, "-c:a", "aac", "-b:a", "192k"]


# -- the tool ----------------------------------------------------------------------
class TrimArgs(BaseModel):
    """Cut ``source`` to the frames from ``start`` (inclusive) to ``end`` (exclusive)."""

    source: str = Field(min_length=1, description="Media file to cut from (never modified).")
    output: str = Field(min_length=1, description="File to write (.mp4, .mov, .mkv or .webm).")
    start: TimeInput = Field(default=0, description="In-point: seconds (12.5), HH:MM:SS.mmm, MM:SS, HH:MM:SS:FF or a frame number (f123).")
    end: TimeInput | None = Field(default=None, description="Out-point (exclusive), same forms; default: the end of the source.")
    unit: TimeUnit = Field(default="seconds", description="How bare numbers are read: seconds or frames.")
    mode: Literal["auto", "copy", "reencode"] = Field(default="auto", description="auto: stream copy only when exact.")
    crf: int = Field(default=18, ge=0, le=51, description="Quality of a re-encode (lower is better).")
    preset: Literal[_PRESETS] = "veryfast"  # type: ignore[valid-type]


class TrimResult(BaseModel):
    output: str
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    frames: int
    method: Literal["copy", "reencode"]
    reason: str = Field(description="Why this method was used.")


def copy_is_exact(table: FrameTable, start: int, end: int) -> tuple[bool, str]:
    if start not in table.keyframes:
        before = table.keyframe_at_or_before(start)
        return False, f"the in-point (frame {start}) is not a keyframe (the one before is frame {before})"
    if end >= len(table) or end in table.keyframes or not table.reordered:
        return True, f"the in-point (frame {start}) is a keyframe"
    return False, f"the out-point (frame {end}) is not a keyframe and the stream reorders frames (B-frames)"


@edit_tool("trim", "Cut a media file to a frame-exact range (stream copy when exact, else re-encode only the range).", TrimArgs)
def trim(ctx: ToolContext, args: TrimArgs) -> TrimResult:
    source = resolve_source(ctx, args.source)
    output = resolve_output(ctx, args.output, source)
    info = probe(source, need_video=True)
    table = read_frame_table(source)
    start = resolve_point(args.start, table, info, unit=args.unit, what="start")
    end = len(table) if args.end is None else resolve_point(args.end, table, info, unit=args.unit, what="end")
    if end <= start:
        raise InvalidInputError(
            f"end ({format_hms(table.time_of(end))}, frame {end}) must be after start ({format_hms(table.time_of(start))}, frame {start})")
    return cut_range(ctx, source, output, info, table, start, end, mode=args.mode, crf=args.crf, preset=args.preset)


def cut_range(ctx: ToolContext, source: Path, output: Path, info: MediaInfo, table: FrameTable, start: int, end: int, *,
              mode: str = "auto", crf: int = 18, preset: str = "veryfast") -> TrimResult:
    """Write frames ``[start, end)`` of ``source`` to ``output``; also used by ``split``."""
    exact, reason = copy_is_exact(table, start, end)
    container_ok = output.suffix.lower() in _COPY_FAMILY and source.suffix.lower() in _COPY_FAMILY
    if exact and not container_ok:
        exact, reason = False, f"{source.suffix or 'the source'} cannot be stream-copied into {output.suffix or 'that file'}"
    if mode == "copy" and not exact:
        raise InvalidInputError(f"cannot stream-copy this trim exactly: {reason}", hint="use mode auto or reencode")
    use_copy = exact and mode != "reencode"
    if mode == "reencode":
        reason = "re-encode was asked for"
    t0, t1 = table.time_of(start), table.time_of(end)
    duration = t1 - t0
    frames = end - start
    args: list[str] = ["-noautorotate", "-ss", seek_arg(t0, up=use_copy), "-i", str(source),
                       "-map", "0:v:0", "-map", "0:a:0?", "-frames:v", str(frames), "-fps_mode", "passthrough"]
    if use_copy:
        # -t would let the muxer's edit list round the last frame away; atrim bounds the audio instead.
        args += ["-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-af", f"atrim=end={float(duration):.6f}"]
    else:
        args += ["-t", f"{float(duration):.6f}", *video_encoder_args(output, crf=crf, preset=preset)]
    args += ["-map_metadata", "0", "-dn", "-sn"]
    with atomic_output(output) as tmp:
        run_ffmpeg([*args, str(tmp)], duration_s=float(duration), on_progress=ctx.on_progress, cancel=ctx.cancel,
                   what=f"trim of {source.name}")
    return TrimResult(output=str(output), start_s=float(t0), end_s=float(t1), start_frame=start, end_frame=end,
                      frames=frames, method="copy" if use_copy else "reencode", reason=reason)


# -- probe as a tool (it lives here with the other shared footage helpers) ---------
class ProbeArgs(BaseModel):
    """Describe a media file before cutting it."""

    source: str = Field(min_length=1, description="Media file to describe.")
    need_video: bool = Field(default=False, description="Fail if the file has no picture (audio-only).")


@edit_tool("probe", "Describe a media file: duration, fps (and whether it varies), size, rotation, pixel format, audio streams.", ProbeArgs)
def probe_tool(ctx: ToolContext, args: ProbeArgs) -> MediaInfo:
    return probe(resolve_source(ctx, args.source), need_video=args.need_video)
