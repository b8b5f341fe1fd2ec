"""Reading the common conversational edits without a language model.

The offline session understands a small, fixed vocabulary ("make shot 2
slower" (speed), "make shot 2 longer" (duration), "swap the last two", "vertical for Reels", "use my clip beach.mp4 as
the opener", "shot 3: a dog running on a beach", "generate", "render"), the
storyboard review ("show the storyboard", "approve 2", "approve all", "looks
good", "redo 3 with a lower angle") and narration edits ("shorter", "say 'open
daily from 7'", "on shot 3 say '…'", "no voice-over", "add a voice-over"), a new
take of a shot as it is ("another take of shot 3", "redo shot 3", "regenerate shot 2
(same prompt)"), and says so when it does not understand; it never guesses at anything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shotsmith.assistant.planner import parse_aspect_ratio
from shotsmith.assistant.production.music import parse_request as parse_music_request
from shotsmith.cast import infer_kind

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


_SHOTS = re.compile(r"\b(?:shots|scenes|clips)\s+(\d+(?:\s*(?:,|and|&|-|to|through)\s*\d+)+)", re.I)
_EVERY_SHOT = re.compile(r"\b(?:all(?:\s+the)?|every|each)\s+(?:shots?|scenes?|clips?)\b|\b(?:shots?|scenes?) all\b", re.I)


def _find_shots(text: str, count: int) -> list[int] | None:
    """Several shots named at once: "shots 1 and 2", "shots 1, 3 and 4", "shots 2-4", "all shots"."""
    if _EVERY_SHOT.search(text):
        return list(range(1, count + 1)) or None
    match = _SHOTS.search(text)
    if not match:
        return None
    found: list[int] = []
    for a, sep, b in re.findall(r"(\d+)(?:\s*(-|to|through)\s*(\d+))?", match.group(1)):
        start, end = int(a), int(b) if sep else int(a)
        found += [i for i in range(min(start, end), max(start, end) + 1) if i not in found]
    return found if len(found) > 1 else None


_IMAGE = r"[\w./\\-]+\.(?:png|jpe?g|webp)\b"
#: Words before a cast member's name that are not the name ("this is my friend Mara", "this is the shop").
_CAST_FILLER = {"my", "our", "your", "the", "a", "an", "this", "friend", "character", "hero", "heroine", "protagonist",
                "product", "mascot", "brand", "location", "place", "actor", "actress", "model", "colleague"}


def _cast_name(words: str) -> str:
    parts = words.strip().lstrip("@").split()
    while len(parts) > 1 and parts[0].lower() in _CAST_FILLER:
        parts = parts[1:]
    return " ".join(parts)


_LINE_WORDS = r"(?:voice[- ]?over|voiceover|narration|narrator|voice|line|words)"


def _narration_line(t: str, shot_count: int) -> Intent | None:
    """A shot's line set or silenced in words other than "say '…'": "change the voice-over on shot 2 to '…'",
    "set shot 3's line to '…'", "don't say anything on shot 1", "no voice-over on shot 2". The shot must be
    named (never guessed), so the rest of the message cannot be mistaken for a new brief."""
    set_line = (re.fullmatch(r"(?:change|set|make|replace)\s+(?:the\s+)?" + _LINE_WORDS
                             + r"\s+(?:on|for|of|in|over)\s+(?P<where>.+?)\s+(?:to|into|with)\s*:?\s*" + _QUOTED
                             + r"\s*[.!]?", t, re.I)
                or re.fullmatch(r"(?:change|set|make|replace)\s+(?P<where>.+?)['’]s\s+" + _LINE_WORDS
                                + r"\s+(?:to|into|with)\s*:?\s*" + _QUOTED + r"\s*[.!]?", t, re.I))
    silence = (re.fullmatch(r"(?:don['’]?t|do\s+not)\s+say\s+anything\s+(?:on|in|over|for|during)\s+(?P<where>.+?)"
                            r"[.!]?", t, re.I)
               or re.fullmatch(r"(?:no|remove|drop|delete|mute)\s+(?:the\s+)?" + _LINE_WORDS
                               + r"\s+(?:on|for|of|in|from|over)\s+(?P<where>.+?)[.!]?", t, re.I))
    match = set_line or silence
    if match is None or len(match.group("where").split()) > 3:
        return None
    index = _find_shot(match.group("where"), shot_count)
    if index is None:
        return None
    return Intent("narration", {"change": "line", "shot": index, "text": match.group(2) if set_line else ""})


def parse_intent(text: str, *, shot_count: int) -> Intent | None:
    """The edit or command ``text`` asks for, or None when it is not one of the known forms."""
    t = text.strip()
    low = t.lower()
    if re.fullmatch(r"(?:y|yes|ok|okay|approve|go|go ahead|do it|sure)[.!]?", low):
        return Intent("approve")
    if re.fullmatch(r"(?:n|no|nope|cancel|stop|don'?t)[.!]?", low):
        return Intent("decline")
    music = parse_music_request(t)  # "add calm music from ~/music", "cut to the beat", "no music"
    if music is not None:
        return Intent("music", music)

    take = parse_new_take(t, shot_count=shot_count)  # before the storyboard's "redo 3 with …"
    if take is not None:
        return take

    review = parse_storyboard_or_narration(t, shot_count=shot_count)
    if review is not None:
        return review

    # "this is Mara: mara.png" / "this is @mara (mara1.jpg, mara2.jpg), a woman with red hair" / "Mara is in mara.png"
    # The name is every word before the ':' / ',' / '(' / first image ("this is my friend Mara" is Mara; "this is
    # Mara Lee" is refused by the cast's one-word rule, rather than adding "Mara" described as "Lee").
    match = re.search(r"(?:this\s+is\s+(@?[^\W\d]\w*(?:\s+[^\W\d]\w*){0,3}?)\s*(?=[:,(]|" + _IMAGE + r"|$)"
                      r"|@?([A-Za-z][\w]{1,15})\s+is\s+(?:in|at|shown in)\b)(.*)$", t, re.I)
    if match:
        images = re.findall(_IMAGE, match.group(3), re.I)
        if images:
            rest = re.sub(_IMAGE, "", match.group(3), flags=re.I)
            description = re.sub(r"^[\s:,;()-]+|[\s,;()-]+$", "", re.sub(r"\(\s*[,\s]*\)", "", rest))
            description = re.sub(r"^(?:and\s+|,\s*)", "", description).strip(" ,;:")
            description = "" if description.lower() in ("and", "or") else description
            said = " ".join([match.group(1) or match.group(2), *description.split()[:3]])  # "the shop", "our new X"
            return Intent("cast", {"name": _cast_name(match.group(1)) if match.group(1) else match.group(2),
                                   "images": images, "description": description, "kind": infer_kind(said)})

    match = re.search(r"use\s+(?:my\s+)?(?:clip|footage|video|file|shot)?\s*['\"]?([\w./\\-]+\.\w{2,4})['\"]?"
                      r"(?:\s+as\s+(?:the\s+)?(opener|opening(?:\s+shot)?|intro|first\s+shot|closer|ending|last\s+shot|"
                      + _SHOT + r"))?", t, re.I)
    if match:
        where = (match.group(2) or "opener").lower()
        if where.startswith(("closer", "ending", "last")):
            index = shot_count
        elif re.match(_SHOT, where, re.I):
            found = _find_shot(where, shot_count)  # "shot 0" stays 0: the edit refuses it (shots count from 1)
            index = 1 if found is None else found
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

    # "continue shot 3 from shot 2", "make shot 3 continue from 2", "the last shot continues from shot 3"
    source = r"\s+from\s+(?:the\s+)?(?:shot\s*)?(\d+|last|first|second|third|fourth|fifth|sixth)\b"
    match = re.search(r"\bcontinue\s+(?:" + _SHOT + "|" + _SHOT_ALT + ")" + source, low) or \
        re.search(r"(?:" + _SHOT + "|" + _SHOT_ALT + r")\s+(?:should\s+)?continues?(?:\s+on)?" + source, low)
    if match:
        return Intent("continue", {"index": _shot_ref(match.group(1) or match.group(2), shot_count),
                                   "source": _shot_ref(match.group(3), shot_count)})

    narrated = _narration_line(t, shot_count)  # before the shot forms: "change the voice-over on shot 2 to '…'"
    if narrated is not None:
        return narrated

    match = re.search(r"^(?:change\s+|make\s+|set\s+)?" + _SHOT + r"\s*(?::|to be|to show|should show|=)\s*(.+)$", t, re.I)
    if match and len(match.group(2).split()) >= 2:
        return Intent("prompt", {"index": _shot_ref(match.group(1), shot_count), "prompt": match.group(2).strip()})

    several = _find_shots(t, shot_count)
    index = several[0] if several else _find_shot(t, shot_count)
    if index is not None:
        # Slower/faster change the playback speed (the same footage, shown longer or shorter: free);
        # longer/shorter change the time on screen (a longer shot may need a new clip). "shots 1 and 2 faster"
        # changes each of them (one edit, one undo step).
        which = {"index": index, "indices": several or [index]}
        if re.search(r"\b(slower|slow(?:-|\s)?mo(?:tion)?|slow (?:it|that|them) down)\b", low):
            return Intent("speed", {**which, "factor": 1 / 1.5})
        if re.search(r"\b(faster|quicker|speed (?:it|that|them) up)\b", low):
            return Intent("speed", {**which, "factor": 1.5})
        if re.search(r"\b(longer|linger|more time|stretch)\b", low):
            return Intent("duration", {**which, "factor": 1.5})
        if re.search(r"\b(shorter|snappier|less time|tighten)\b", low):
            return Intent("duration", {**which, "factor": 1 / 1.5})
        match = re.search(r"(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b", low)
        if match and re.search(r"\b(make|set|last|lasts|should be)\b", low):
            return Intent("duration", {**which, "seconds": float(match.group(1))})
        for words, camera in ((r"push[\s-]?in|zoom in", "zoom_in"), (r"pull[\s-]?back|zoom out", "zoom_out"),
                              (r"pan left", "pan_left"), (r"pan right|pan\b", "pan_right"), (r"tilt up", "tilt_up"),
                              (r"tilt down", "tilt_down"), (r"static|locked[\s-]?off|still camera", "static")):
            if re.search(words, low):
                return Intent("camera", {**which, "camera": camera})

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


# -- a new take: the same shot generated again, unchanged ----------------------------------------------
_WHICH = r"(?:(?:shot|scene|clip)\s*#?\s*(?P<n>\d+|last|final|first|second|third|fourth|fifth|sixth)" \
         r"|(?:the\s+)?(?P<o>last|final|first|second|third|fourth|fifth|sixth)\s+(?:shot|scene|clip))"
#: What may follow the shot in a new-take request without being a change to it ("(same prompt)", "again").
_SAME = (r"(?:\s*[,(:;-]?\s*(?:with\s+|using\s+|keep(?:ing)?\s+)?(?:the\s+|a\s+)?(?:same(?:\s+prompt)?|as\s+(?:it\s+)?is|"
         r"unchanged|no\s+changes?|(?:new|fresh|different|another|other)\s+seed|again|once\s+more|please|"
         r"new\s+take|another\s+take|from\s+scratch)\s*\)?)*")
_NEW_TAKE = (
    # "redo shot 3", "regenerate shot 2 (same prompt)", "re-roll the last shot", "regenerate 2"
    r"(?:please\s+)?(?:redo|remake|regenerate|re-?generate|re-?roll|re-?shoot|re-?take|re-?do)\s+(?:the\s+)?"
    r"(?:" + _WHICH + r"|(?P<bare>\d+))",
    # "another take of shot 3", "new take of 3", "give me a fresh take of the last shot", "one more take on shot 2"
    r"(?:please\s+)?(?:(?:give\s+me|make|do|shoot|try|let'?s\s+(?:have|try|do))\s+)?(?:an?\s+|one\s+)?"
    r"(?:another|new|fresh|second|different|more|other)\s+(?:take|version|generation|go)\s+(?:of|for|on|at)\s+"
    r"(?:the\s+)?(?:" + _WHICH + r"|(?P<bare>\d+))",
    # "generate shot 2 again", "try shot 3 again", "shot 3 again"
    r"(?:please\s+)?(?:(?:generate|make|shoot|try|render|do)\s+)?(?:the\s+)?" + _WHICH + r"\s+(?:again|once\s+more)",
    # "another take" with no shot named: asked which (never guessed)
    r"(?:please\s+)?(?:(?:give\s+me|make|do|shoot|try)\s+)?(?:an?\s+|one\s+)?(?:another|new|fresh|different|more)\s+"
    r"take",
)
#: "redo" and a bare number is the history ("redo 3": three steps forward), never a take.
_HISTORY_REDO = re.compile(r"/?redo\s+\d+")


def parse_new_take(text: str, *, shot_count: int) -> Intent | None:
    """"another take of shot 3", "redo shot 3", "regenerate shot 2 (same prompt)": the shot made again as it
    is (``Intent("take", {"index": n})``). Only the whole message counts: "redo 3 with a lower angle" is a
    change (the storyboard's), and "redo 3" alone is the history's."""
    t = text.strip().rstrip(".!?").strip()
    if _HISTORY_REDO.fullmatch(t.lower()):
        return None
    for form in _NEW_TAKE:
        match = re.fullmatch(form + _SAME, t, re.I)
        if match:
            found = match.groupdict()
            which = found.get("n") or found.get("o") or found.get("bare") or ""
            return Intent("take", {"index": _shot_ref(which, shot_count)})
    return None


# -- the storyboard review and the narration (kept apart from the shot edits above) ----------------
_QUOTED = r"[\"“‘']\s*(.+?)\s*[\"”’']"
_NUMBERS = r"(\d+(?:\s*(?:,|and|&)\s*\d+)*)"
_CAMERA_WORDS = ((r"push[\s-]?in|zoom in|closer", "zoom_in"), (r"pull[\s-]?back|zoom out|wider", "zoom_out"),
                 (r"pan left", "pan_left"), (r"pan right", "pan_right"), (r"tilt up", "tilt_up"),
                 (r"tilt down", "tilt_down"), (r"static|locked[\s-]?off|still camera", "static"))


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def parse_storyboard_or_narration(text: str, *, shot_count: int) -> Intent | None:
    """The storyboard review and narration edits; None when ``text`` is neither."""
    t = text.strip()
    low = t.lower().rstrip(".!")
    if re.fullmatch(r"(?:show|see|view|open|make|draw|print)?\s*(?:me\s+)?(?:the\s+|a\s+)?storyboard(?:\s+panels?)?\??"
                    r"|(?:show|see)\s+(?:me\s+)?(?:the\s+)?(?:panels|keyframes|stills)", low):
        return Intent("storyboard")
    if re.fullmatch(r"(?:approve|ok|accept)\s+(?:them\s+)?all(?:\s+(?:the\s+)?(?:panels|stills|keyframes))?|"
                    r"(?:that\s+|it\s+|they\s+|the storyboard\s+|storyboard\s+)?looks?\s+good|"
                    r"approve\s+(?:the\s+)?(?:storyboard|panels|stills|keyframes)|all good|lgtm", low):
        return Intent("approve_panels", {"shots": None})
    match = re.fullmatch(r"(?:approve|accept|ok)\s+(?:shots?\s+|panels?\s+|stills?\s+|keyframes?\s+)?#?" + _NUMBERS,
                         low)
    if match:
        return Intent("approve_panels", {"shots": _numbers(match.group(1))})
    # "redo 3 with a lower angle", "redraw shot 3: from above", "redo panel 2 push in"
    match = re.fullmatch(r"(?:redo|redraw|remake)\s+(?:the\s+)?(?:shot|panel|still|keyframe|frame)?\s*#?"
                         r"(\d+|last|first|second|third|fourth|fifth|sixth)(?:'s\s+(?:still|panel|keyframe))?"
                         r"(?:\s*(with|:|,|-|as|from|but|so|showing)?\s+(.*))?", t.rstrip("."), re.I)
    if match and not re.fullmatch(r"redo\s+\d+", low):  # "redo 3" alone is three steps back in the history
        change = (match.group(3) or "").strip(" .,;:-")
        if change.lower() in ("with", "as", "from", "but", "so", "showing"):  # "redo 3 with": nothing said yet
            change = ""
        joiner = (match.group(2) or "").lower()
        note = f"{joiner} {change}" if change and joiner in ("from", "as", "showing") else change or None
        camera = next((cam for words, cam in _CAMERA_WORDS if re.search(words, change, re.I)), None)
        return Intent("redo_panel", {"index": _shot_ref(match.group(1), shot_count), "note": note, "camera": camera})

    # -- narration ------------------------------------------------------------------------
    voice = r"(?:voice[- ]?over|voiceover|narration|narrator|voice)"
    if re.fullmatch(r"(?:no|remove|drop|delete|turn off|switch off|without|mute)\s+(?:the\s+|a\s+)?" + voice +
                    r"(?:\s+please)?|" + voice + r"\s+off", low):
        return Intent("narration", {"change": "off"})
    if re.fullmatch(r"(?:add|turn on|switch on|with|put back|bring back)\s+(?:the\s+|a\s+)?" + voice +
                    r"(?:\s+please)?|" + voice + r"\s+on", low):
        return Intent("narration", {"change": "on"})
    # "say 'open daily from 7'", "on shot 3 say '…'", "shot 3 should say '…'", "make the narrator say '…'"
    match = re.search(r"\bsays?\s*:?\s*" + _QUOTED + r"\s*(?:on|over|in|for)?\s*(.*)$", t, re.I)
    if match and len(t[:match.start()].split()) <= 6:
        where = t[:match.start()] + " " + match.group(2)
        index = _find_shot(where, shot_count)
        if index is None and re.search(r"\b(?:opener|opening|first)\b", where, re.I):
            index = 1
        return Intent("narration", {"change": "line", "shot": shot_count if index is None else index,  # 0 is named
                                    "text": match.group(1)})
    if re.fullmatch(r"(?:make\s+)?(?:the\s+|it\s+)?(?:" + voice + r"\s+)?(?:a\s+bit\s+|much\s+)?shorter"
                    r"(?:\s+(?:lines|narration|voice[- ]?over|please))?|"
                    r"(?:make\s+)?(?:the\s+)?" + voice + r"(?:'s)?\s+(?:lines\s+)?(?:a\s+bit\s+|much\s+)?shorter|"
                    r"shorten\s+(?:the\s+)?" + voice + r"(?:\s+lines)?|(?:the\s+)?" + voice +
                    r"\s+is\s+too\s+long|shorter\s+(?:lines|narration|voice[- ]?over)", low):
        return Intent("narration", {"change": "shorter", "shot": None})
    match = re.fullmatch(r"(?:make\s+|shorten\s+)?(?:the\s+)?" + voice + r"\s+(?:on|of|for|over)\s+" + _SHOT +
                         r"(?:\s+shorter)?", low)
    if match:
        return Intent("narration", {"change": "shorter", "shot": _shot_ref(match.group(1), shot_count)})
    return None
