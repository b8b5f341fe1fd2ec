"""Captions: SRT in and out, burn-in (libass with the bundled font) and sidecar export."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from shotsmith.atomic import atomic_write_text
from shotsmith.errors import InvalidInputError
from shotsmith.timeline import Caption
from shotsmith.tools.editing import EditResult, commit, require_store
from shotsmith.tools.spec import ToolContext, edit_tool

_TIME = re.compile(r"^\s*(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*$")


def srt_time(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def parse_srt_time(text: str) -> float:
    match = _TIME.match(text)
    if not match:
        raise InvalidInputError(f"{text.strip()!r} is not an SRT time (HH:MM:SS,mmm)")
    h, m, s, ms = match.groups()
    if int(m) > 59 or int(s) > 59:
        raise InvalidInputError(f"{text.strip()!r} is not an SRT time (minutes and seconds must be below 60)")
    return (int(h) * 3_600_000 + int(m) * 60_000 + int(s) * 1000 + int(ms.ljust(3, "0"))) / 1000


def captions_to_srt(captions: list[Caption]) -> str:
    blocks = []
    for n, cue in enumerate(sorted(captions, key=lambda c: c.start_s), start=1):
        text = "\n".join(line for line in cue.text.replace("\r\n", "\n").split("\n") if line.strip()) or " "
        blocks.append(f"{n}\n{srt_time(cue.start_s)} --> {srt_time(cue.end_s)}\n{text}\n")
    return "\n".join(blocks)


def parse_srt(text: str, *, name: str = "subtitles") -> list[Caption]:
    """Parse SRT text into captions; malformed blocks raise InvalidInputError naming the block."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    captions: list[Caption] = []
    for n, block in enumerate(re.split(r"\n\s*\n", text.strip()), start=1):
        lines = [line for line in block.split("\n")]
        if not block.strip():
            continue
        if "-->" not in lines[0] and len(lines) > 1:
            lines = lines[1:]  # the cue number
        if "-->" not in lines[0]:
            raise InvalidInputError(f"{name}: block {n} has no 'start --> end' line")
        start_text, _, end_text = lines[0].partition("-->")
        start, end = parse_srt_time(start_text), parse_srt_time(end_text.split()[0] if end_text.split() else "")
        body = "\n".join(lines[1:]).strip()
        if end <= start:
            raise InvalidInputError(f"{name}: block {n} ends before it starts")
        if body:
            captions.append(Caption(start_s=start, end_s=end, text=body[:1000]))
    return captions


def stack_offsets(cues: list[tuple[float, float, int]]) -> list[int]:
    """Heights above the caption line for cues ``(start_s, end_s, height_px)`` that never collide.

    Cues are placed in start order; each takes the lowest height at which it overlaps
    (in pixels) none of the cues already placed that are on screen at the same time,
    so a cue that overlaps another in time is drawn above it, not over it.
    """
    placed: list[tuple[float, float, int, int]] = []
    offsets = [0] * len(cues)
    for i in sorted(range(len(cues)), key=lambda k: (cues[k][0], k)):
        start, end, height = cues[i]
        busy = sorted((o, o + h) for s, e, o, h in placed if s < end and start < e)
        offset = 0
        for low, high in busy:
            if offset + height <= low:
                break
            offset = max(offset, high)
        offsets[i] = offset
        placed.append((start, end, offset, height))
    return offsets


def check_captions_fit(captions: list[Caption], duration_s: float) -> None:
    """Refuse a cue that starts at or after the end of the timeline (it would never be shown)."""
    for n, cue in enumerate(captions, start=1):
        if cue.start_s >= duration_s:
            raise InvalidInputError(f"caption {n} ({cue.text[:30]!r}) starts at {cue.start_s:g}s, after the end of "
                                    f"the timeline ({duration_s:g}s)", hint="move it earlier or lengthen the cut")


class CaptionCue(BaseModel):
    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)
    text: str = Field(min_length=1, max_length=1000)


class AddCaptionsArgs(BaseModel):
    srt: str | None = Field(default=None, description="An .srt file whose cues become the captions.")
    cues: list[CaptionCue] = Field(default_factory=list, description="Cues to add (timeline time).")
    burn: bool = Field(default=True, description="Burn the captions into the picture (they can always be exported).")
    size: int = Field(default=0, ge=0, le=200, description="Font size in pixels; 0: from the frame height.")
    replace: bool = Field(default=False, description="Replace the existing captions instead of adding.")


@edit_tool("add_captions", "Add captions (from an SRT file or cues) to burn into the picture and/or export as SRT.",
           AddCaptionsArgs)
def add_captions(ctx: ToolContext, args: AddCaptionsArgs) -> EditResult:
    store = require_store(ctx)
    new: list[Caption] = []
    if args.srt:
        path = store.resolve(args.srt)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read {args.srt}: {exc}") from exc
        new += parse_srt(text, name=args.srt)
    for cue in args.cues:
        if cue.end_s <= cue.start_s:
            raise InvalidInputError(f"caption {cue.text[:30]!r} ends before it starts")
        new.append(Caption(**cue.model_dump()))
    if not new:
        raise InvalidInputError("no captions given", hint="pass an srt file or some cues")
    timeline = store.project.timeline.model_copy(deep=True)
    if timeline.clips:
        check_captions_fit(sorted(new, key=lambda c: c.start_s), timeline.duration_s)
    timeline.captions = (new if args.replace else [*timeline.captions, *new])
    timeline.captions.sort(key=lambda c: c.start_s)
    timeline.caption_settings.burn = args.burn
    timeline.caption_settings.size = args.size
    return commit(store, timeline, f"{len(timeline.captions)} caption(s){' burned in' if args.burn else ''}")


class ExportSrtArgs(BaseModel):
    output: str = Field(default="renders/captions.srt", description="Where to write the sidecar .srt (inside the project).")


class ExportSrtResult(BaseModel):
    path: str
    cues: int


def write_srt(captions: list[Caption], output: Path) -> int:
    if not captions:
        raise InvalidInputError("the timeline has no captions to export", hint="add some with add_captions")
    atomic_write_text(output, captions_to_srt(captions))
    return len(captions)


@edit_tool("export_srt", "Write the timeline's captions as a sidecar .srt file.", ExportSrtArgs)
def export_srt(ctx: ToolContext, args: ExportSrtArgs) -> ExportSrtResult:
    store = require_store(ctx)
    output = store.resolve(args.output, allow_inputs=False)
    if output.suffix.lower() != ".srt":
        raise InvalidInputError(f"{args.output} should end in .srt")
    if output in store.source_paths():
        from shotsmith.errors import PathSafetyError

        raise PathSafetyError(f"refusing to overwrite the source file {output}")
    count = write_srt(store.project.timeline.captions, output)
    return ExportSrtResult(path=str(output), cues=count)
