"""Captions: SRT in and out, burn-in (libass with the bundled font) and sidecar export."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from shotsmith.atomic import atomic_write_text
from shotsmith.errors import InvalidInputError
from shotsmith.timeline import Caption, CaptionWord
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


def vtt_time(seconds: float) -> str:
    return srt_time(seconds).replace(",", ".")


def captions_to_vtt(captions: list[Caption]) -> str:
    """WebVTT: the same cues as the SRT (browsers' <track> and most players read it)."""
    blocks = ["WEBVTT\n"]
    for cue in sorted(captions, key=lambda c: c.start_s):
        text = "\n".join(line for line in cue.text.replace("\r\n", "\n").split("\n") if line.strip()) or " "
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")
        blocks.append(f"{vtt_time(cue.start_s)} --> {vtt_time(cue.end_s)}\n{text}\n")
    return "\n".join(blocks)


def clip_captions(captions: list[Caption], duration_s: float) -> list[Caption]:
    """The cues as shown in a render of ``duration_s``: those starting after it dropped, the rest ended by it."""
    out = []
    for cue in sorted(captions, key=lambda c: c.start_s):
        if cue.start_s >= duration_s - 1e-3:
            continue
        end = min(cue.end_s, duration_s)
        words = [w.model_copy(update={"end_s": min(w.end_s, end)}) for w in cue.words if w.start_s < end]
        out.append(cue.model_copy(update={"end_s": end, "words": words}))
    return out


#: Cue shaping for captions from speech: short cues read at a glance on a phone.
MAX_CUE_WORDS = 7
MAX_CUE_CHARS = 32
MAX_CUE_S = 3.5
#: A silence this long between two words ends a cue.
CUE_GAP_S = 0.6
#: A cue stays up this long after its last word ends (unless the next cue starts sooner).
CUE_HOLD_S = 0.3


def captions_from_words(words, *, offset_s: float = 0.0, max_words: int = MAX_CUE_WORDS,
                        max_chars: int = MAX_CUE_CHARS, max_cue_s: float = MAX_CUE_S,
                        until_s: float | None = None) -> list[Caption]:
    """Cues from spoken words (a voice backend's ``WordTiming`` list, or anything with word/start_s/end_s).

    ``offset_s`` is where the voice clip starts on the timeline. The words are
    first split into phrases at sentence ends and at pauses of :data:`CUE_GAP_S`;
    a phrase longer than ``max_words``/``max_chars``/``max_cue_s`` is split into
    the fewest cues that respect them, balanced by length and preferring a
    comma (so "Here's how to brew pour-over coffee." reads "Here's how to" /
    "brew pour-over coffee.", never leaving one word alone). A cue starts at its
    first word's onset and stays :data:`CUE_HOLD_S` after its last word, never
    past the next cue or ``until_s``. Each cue keeps its words' times, so a
    burned cue can highlight the word being spoken.
    """
    items = [(str(w.word).strip(), float(w.start_s) + offset_s, float(w.end_s) + offset_s) for w in words]
    items = [i for i in items if i[0]]
    phrases: list[list[tuple[str, float, float]]] = []
    for item in items:
        if phrases and phrases[-1][-1][0][-1] not in ".!?;:" and item[1] - phrases[-1][-1][2] < CUE_GAP_S:
            phrases[-1].append(item)
        else:
            phrases.append([item])
    groups = [chunk for phrase in phrases for chunk in _balanced(phrase, max_words, max_chars, max_cue_s)]
    cues: list[Caption] = []
    for n, group in enumerate(groups):
        start = group[0][1]
        end = group[-1][2] + CUE_HOLD_S
        if n + 1 < len(groups):
            end = min(end, groups[n + 1][0][1])
        if until_s is not None:
            end = min(end, until_s)
        end = max(end, group[-1][2], start + 0.05)
        cue_words = [CaptionWord(word=w, start_s=round(a, 3), end_s=round(max(b, a + 0.01), 3)) for w, a, b in group]
        cues.append(Caption(start_s=round(start, 3), end_s=round(end, 3), text=" ".join(w for w, _, _ in group),
                            words=cue_words))
    return cues


def _balanced(phrase: list[tuple[str, float, float]], max_words: int, max_chars: int,
              max_cue_s: float) -> list[list[tuple[str, float, float]]]:
    """``phrase`` in the fewest chunks within the limits, cut where the text is most evenly shared."""

    def ok(chunk) -> bool:
        text = " ".join(w for w, _, _ in chunk)
        return (len(chunk) <= max_words and (len(text) <= max_chars or len(chunk) == 1)
                and (chunk[-1][2] - chunk[0][1] <= max_cue_s or len(chunk) == 1))

    if ok(phrase):
        return [phrase]
    lengths = [len(w) + 1 for w, _, _ in phrase]
    total = sum(lengths)
    cumulative = [sum(lengths[:i]) for i in range(len(phrase) + 1)]
    for n in range(2, len(phrase) + 1):
        cuts, previous = [], 0
        for k in range(1, n):
            ideal = total * k / n
            candidates = range(previous + 1, len(phrase) - (n - k) + 1)
            best = min(candidates, key=lambda i: abs(cumulative[i] - ideal)
                       - (0.25 * total / n if phrase[i - 1][0][-1] in ",;:" else 0.0))
            cuts.append(best)
            previous = best
        chunks = [phrase[a:b] for a, b in zip([0, *cuts], [*cuts, len(phrase)])]
        if all(chunks) and all(ok(c) for c in chunks):
            return chunks
    return [[item] for item in phrase]


def captions_for_voiceover(placements, timings: dict, *, duration_s: float | None = None) -> list[Caption]:
    """Cues for a whole voice-over: each placed line's words (``timings[shot_index]``) moved to where its
    clip plays (``placement.start_s``, see :func:`shotsmith.narration.place`), no cue running into the
    next line or past ``duration_s``."""
    cues: list[Caption] = []
    ordered = sorted(placements, key=lambda p: p.start_s)
    for n, placement in enumerate(ordered):
        words = timings.get(placement.shot_index) or []
        limit = ordered[n + 1].start_s if n + 1 < len(ordered) else duration_s
        cues += captions_from_words(words, offset_s=placement.start_s, until_s=limit)
    if duration_s is None:
        return cues
    # Speech past the end of the video is cut there (the fit check tells the user): so are its captions.
    return [_cut_at(cue, duration_s) for cue in cues if cue.start_s < duration_s - 0.05]


def _cut_at(cue: Caption, end_s: float) -> Caption:
    """``cue`` ending by ``end_s``: the words spoken after it are left out."""
    if cue.end_s <= end_s:
        return cue
    words = [w.model_copy(update={"end_s": min(w.end_s, end_s)}) for w in cue.words if w.start_s < end_s]
    return cue.model_copy(update={"end_s": end_s, "words": words,
                                  "text": " ".join(w.word for w in words) if words else cue.text})


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
    style: Literal["burn", "srt", "track", "off"] | None = Field(
        default=None, description="burn, srt (sidecar .srt/.vtt), track (embedded subtitle stream) or off; "
                                  "None: burn or off as `burn` says.")


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
    timeline.caption_settings.burn = args.burn if args.style is None else args.style == "burn"
    timeline.caption_settings.style = args.style
    timeline.caption_settings.size = args.size
    mode = timeline.caption_settings.mode
    shown = {"burn": " burned in", "srt": " as sidecar SRT/VTT", "track": " as a subtitle track", "off": ""}[mode]
    return commit(store, timeline, f"{len(timeline.captions)} caption(s){shown}")


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


def write_vtt(captions: list[Caption], output: Path) -> int:
    if not captions:
        raise InvalidInputError("the timeline has no captions to export", hint="add some with add_captions")
    atomic_write_text(output, captions_to_vtt(captions))
    return len(captions)


def write_sidecars(captions: list[Caption], video: Path, duration_s: float) -> list[Path]:
    """``video.srt`` and ``video.vtt`` beside a render, with the cues clipped to its length."""
    cues = clip_captions(captions, duration_s)
    if not cues:
        return []
    paths = [video.with_suffix(".srt"), video.with_suffix(".vtt")]
    write_srt(cues, paths[0])
    write_vtt(cues, paths[1])
    return paths


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
