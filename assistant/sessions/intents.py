"""Reading the common conversational edits without a language model.

The offline session understands a small, fixed vocabulary ("make shot 2
slower" (speed), "make shot 2 longer" (duration), "swap the last two", "vertical for Reels", "use my clip beach.mp4 as
the opener", "shot 3: a dog running on a beach", "generate", "render") and
says so when it does not understand; it never guesses at anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shotsmith.assistant.planner import parse_aspect_ratio

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


@dataclass
class Intent:
    kind: str
    args: dict = field(default_factory=dict)


def _shot_ref(token: str, count: int) -> int | None:
    token = token.lower().strip()
    if token.isdigit():
        return int(token)
    if token in ("last", "final"):
        return count
    return _ORDINALS.get(token)


_SHOT = r"(?:shot|scene|clip)\s*#?\s*(\d+|last|final|first|second|third|fourth|fifth|sixth)"
_SHOT_ALT = r"(?:the\s+)?(last|final|first|second|third|fourth|fifth|sixth)\s+(?:shot|scene)"


def _find_shot(text: str, count: int) -> int | None:
    match = re.search(_SHOT, text, re.I) or re.search(_SHOT_ALT, text, re.I)
    return _shot_ref(match.group(1), count) if match else None


def parse_intent(text: str, *, shot_count: int) -> Intent | None:
    """The edit or command ``text`` asks for, or None when it is not one of the known forms."""
    t = text.strip()
    low = t.lower()
    if re.fullmatch(r"(?:y|yes|ok|okay|approve|go|go ahead|do it|sure)[.!]?", low):
        return Intent("approve")
    if re.fullmatch(r"(?:n|no|nope|cancel|stop|don'?t)[.!]?", low):
        return Intent("decline")

    # "this is Mara: mara.png" / "this is @mara (mara1.jpg, mara2.jpg), a woman with red hair" / "Mara is in mara.png"
    match = re.search(r"(?:this\s+is\s+@?([A-Za-z][\w]{1,15})\b|@?([A-Za-z][\w]{1,15})\s+is\s+(?:in|at|shown in)\b)"
                      r"(.*)$", t, re.I)
    if match:
        images = re.findall(r"[\w./\\-]+\.(?:png|jpe?g|webp)\b", match.group(3), re.I)
        if images:
            rest = re.sub(r"[\w./\\-]+\.(?:png|jpe?g|webp)\b", "", match.group(3), flags=re.I)
            description = re.sub(r"^[\s:,;()-]+|[\s,;()-]+$", "", re.sub(r"\(\s*[,\s]*\)", "", rest))
            description = re.sub(r"^(?:and\s+|,\s*)", "", description).strip(" ,;:")
            return Intent("cast", {"name": match.group(1) or match.group(2), "images": images,
                                   "description": description})

    match = re.search(r"use\s+(?:my\s+)?(?:clip|footage|video|file|shot)?\s*['\"]?([\w./\\-]+\.\w{2,4})['\"]?"
                      r"(?:\s+as\s+(?:the\s+)?(opener|opening(?:\s+shot)?|intro|first\s+shot|closer|ending|last\s+shot|"
                      + _SHOT + r"))?", t, re.I)
    if match:
        where = (match.group(2) or "opener").lower()
        if where.startswith(("closer", "ending", "last")):
            index = shot_count
        elif re.match(_SHOT, where, re.I):
            index = _find_shot(where, shot_count) or 1
        else:
            index = 1
        return Intent("footage", {"path": match.group(1), "index": index})

    match = re.search(r"swap\s+(?:the\s+)?last\s+two", low)
    if match:
        return Intent("swap", {"a": shot_count - 1, "b": shot_count})
    match = re.search(r"swap\s+(?:shots?\s*)?(\d+)\s*(?:and|with|&)\s*(?:shot\s*)?(\d+)", low)
    if match:
        return Intent("swap", {"a": int(match.group(1)), "b": int(match.group(2))})
    match = re.search(r"move\s+" + _SHOT + r"\s+to\s+(?:the\s+)?(?:position\s+)?(\d+|start|beginning|end|front)", low)
    if match:
        dest = match.group(2)
        position = 1 if dest in ("start", "beginning", "front") else shot_count if dest == "end" else int(dest)
        return Intent("move", {"index": _shot_ref(match.group(1), shot_count), "to": position})

    match = re.search(r"^(?:change\s+|make\s+|set\s+)?" + _SHOT + r"\s*(?::|to be|to show|should show|=)\s*(.+)$", t, re.I)
    if match and len(match.group(2).split()) >= 2:
        return Intent("prompt", {"index": _shot_ref(match.group(1), shot_count), "prompt": match.group(2).strip()})

    index = _find_shot(t, shot_count)
    if index is not None:
        # Slower/faster change the playback speed (the same footage, shown longer or shorter: free);
        # longer/shorter change the time on screen (a longer shot may need a new clip).
        if re.search(r"\b(slower|slow(?:-|\s)?mo(?:tion)?|slow (?:it|that) down)\b", low):
            return Intent("speed", {"index": index, "factor": 1 / 1.5})
        if re.search(r"\b(faster|quicker|speed (?:it|that) up)\b", low):
            return Intent("speed", {"index": index, "factor": 1.5})
        if re.search(r"\b(longer|linger|more time|stretch)\b", low):
            return Intent("duration", {"index": index, "factor": 1.5})
        if re.search(r"\b(shorter|snappier|less time|tighten)\b", low):
            return Intent("duration", {"index": index, "factor": 1 / 1.5})
        match = re.search(r"(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b", low)
        if match and re.search(r"\b(make|set|last|lasts|should be)\b", low):
            return Intent("duration", {"index": index, "seconds": float(match.group(1))})
        for words, camera in ((r"push[\s-]?in|zoom in", "zoom_in"), (r"pull[\s-]?back|zoom out", "zoom_out"),
                              (r"pan left", "pan_left"), (r"pan right|pan\b", "pan_right"), (r"tilt up", "tilt_up"),
                              (r"tilt down", "tilt_down"), (r"static|locked[\s-]?off|still camera", "static")):
            if re.search(words, low):
                return Intent("camera", {"index": index, "camera": camera})

    ratio = parse_aspect_ratio(t)
    if ratio and len(t.split()) <= 8:
        return Intent("aspect", {"aspect_ratio": ratio})
    if re.search(r"\b(preview)\b", low):
        return Intent("preview")
    if re.search(r"\b(generate|render|export|make (?:it|the video)|produce|build it|finish)\b", low):
        return Intent("produce")
    if re.search(r"\b(show|print|what is|what's)\b.*\bplan\b|^plan\??$", low):
        return Intent("show")
    if re.search(r"\b(cost|price|estimate|how much)\b", low):
        return Intent("estimate")
    return None
