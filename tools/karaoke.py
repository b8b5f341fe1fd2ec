"""Burned captions that follow the voice: an ASS script rendered by libass (ffmpeg's ``ass`` filter).

Why ASS: libass lays out and wraps the text, outlines it and switches a
word's colour at an exact time, which drawtext cannot do without one filter
per word. The script is written with ``PlayResX/Y`` equal to the output size,
so font sizes and margins are in output pixels, and uses the bundled DejaVu
Sans (``fontsdir``), so the render looks the same on every machine.

Two highlight modes (``CaptionSettings.highlight_mode``):

* ``word``: only the word being spoken is in the highlight colour; one event
  per word span, the cue's text with that word recoloured.
* ``fill``: ASS karaoke (``\\k``): each word turns to the highlight colour at its
  onset and stays lit (the classic sing-along look).

Cues without word times are shown plain for their whole span.
"""

from __future__ import annotations

from pathlib import Path

from shotsmith.timeline import Caption
from shotsmith.tools.colors import parse_color


def ass_color(value: str, *, alpha: float = 1.0) -> str:
    """A colour as ASS writes it: ``&HAABBGGRR`` (alpha 00 = opaque)."""
    rgb, a = parse_color(value, what="caption colour")
    transparency = round((1 - a * alpha) * 255)
    return f"&H{transparency:02X}{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}"


def ass_time(seconds: float) -> str:
    cs = max(0, round(seconds * 100))
    h, rest = divmod(cs, 360000)
    m, rest = divmod(rest, 6000)
    s, cs = divmod(rest, 100)
    return f"{h}:{m:02d}:{s:02d}.{cs:02d}"


def ass_text(text: str) -> str:
    """User text made inert: braces would start override blocks, a backslash an escape."""
    return (text.replace("\\", "\u29f5").replace("{", "(").replace("}", ")")
            .replace("\r\n", "\n").replace("\n", "\\N"))


def ass_script(captions: list[Caption], *, width: int, height: int, size: int, highlight: str = "yellow",
               mode: str = "word", color: str = "white", clear: list[tuple[float, float, int]] = ()) -> str:
    """``clear``: ``(start_s, end_s, pixels)`` spans during which the bottom ``pixels`` of the frame are taken
    (an animatic slate's label strip, measured by the renderer from the slate's own geometry): a cue on
    screen during one sits above it (the event's own MarginV) instead of over the labels."""
    margin = max(8, height // 9)  # clear of player controls
    outline = max(1.0, size / 14)
    style = (f"Style: Default,DejaVu Sans,{size},{ass_color(color)},{ass_color(highlight)},&H00000000,&H80000000,"
             f"0,0,0,0,100,100,0,0,1,{outline:.1f},0,2,{margin},{margin},{margin},1")
    lines = ["[Script Info]", "ScriptType: v4.00+", f"PlayResX: {width}", f"PlayResY: {height}",
             "WrapStyle: 0", "ScaledBorderAndShadow: yes", "",
             "[V4+ Styles]",
             "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
             "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
             "Alignment, MarginL, MarginR, MarginV, Encoding",
             style, "", "[Events]",
             "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"]
    lit, plain = ass_color(highlight), ass_color(color)
    gap = max(4, size // 4)
    for cue in sorted(captions, key=lambda c: c.start_s):
        taken = max((px for s, e, px in clear if s < cue.end_s and cue.start_s < e), default=0)
        lift = taken + gap if taken + gap > margin else 0  # 0: the style's margin
        for start, end, text in _events(cue, mode, lit, plain):
            if end - start >= 0.01:
                lines.append(f"Dialogue: 0,{ass_time(start)},{ass_time(end)},Default,,0,0,{lift},,{text}")
    return "\n".join(lines) + "\n"


def _events(cue: Caption, mode: str, lit: str, plain_color: str) -> list[tuple[float, float, str]]:
    words = [w for w in cue.words if w.start_s < cue.end_s]
    if not words:
        return [(cue.start_s, cue.end_s, ass_text(cue.text))]
    if mode == "fill":
        # \k counts centiseconds from the event start: a lead-in, then each word until the next one starts
        parts = []
        lead = round((words[0].start_s - cue.start_s) * 100)
        if lead > 0:
            parts.append(f"{{\\k{lead}}}")
        for i, w in enumerate(words):
            nxt = words[i + 1].start_s if i + 1 < len(words) else w.end_s
            parts.append(f"{{\\k{max(1, round((nxt - w.start_s) * 100))}}}{ass_text(w.word)}"
                         + (" " if i + 1 < len(words) else ""))
        # the karaoke colours: SecondaryColour before a word's time, PrimaryColour after, so swap them here
        return [(cue.start_s, cue.end_s, f"{{\\1c{lit}\\2c{plain_color}}}" + "".join(parts))]
    events = []
    plain = " ".join(ass_text(w.word) for w in words)
    if words[0].start_s > cue.start_s:
        events.append((cue.start_s, words[0].start_s, plain))
    for i, w in enumerate(words):
        end = words[i + 1].start_s if i + 1 < len(words) else cue.end_s
        text = " ".join(f"{{\\1c{lit}}}{ass_text(x.word)}{{\\r}}" if j == i else ass_text(x.word)
                        for j, x in enumerate(words))
        events.append((w.start_s, end, text))
    return events


def write_ass(captions: list[Caption], path: Path, **kwargs) -> Path:
    path.write_text(ass_script(captions, **kwargs), encoding="utf-8")
    return path
