"""The offline planner: a deterministic brief-to-shot-plan reader, no LLM.

It is the fallback whenever no language model is configured, and it says so.
It reads what the brief fixes (total duration, aspect ratio, shot count), splits
the rest into beats, and writes one prompt per shot carrying the elements that
video models respond to (subject, action, setting, camera movement,
style/mood, lighting), so its plans are also a fair starting point for a
real backend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shotsmith.brief import Brief, Shot, ShotPlan
from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove, Transition, TransitionKind

OFFLINE_PLANNER = "offline planner"
MIN_TOTAL_S = 2.0
MAX_TOTAL_S = 600.0
DEFAULT_TOTAL_S = 15.0
MIN_SHOT_S = 1.0

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45,
    "fifty": 50, "sixty": 60, "ninety": 90, "a": 1, "an": 1, "single": 1,
}
_NUM = r"(\d+(?:\.\d+)?|" + "|".join(sorted((w for w in _NUMBER_WORDS if w not in {"a", "an", "single"}), key=len, reverse=True)) + r")"
_SECONDS = re.compile(_NUM + r"[\s-]*(?:s|sec|secs|second|seconds)\b", re.I)
_MINUTES = re.compile(r"(?:" + _NUM + r"|\ba|\ban|\bhalf an?)[\s-]*(?:min|mins|minute|minutes)\b", re.I)
_HOURS = re.compile(r"(?:" + _NUM + r"|\ban?)[\s-]*(?:h|hr|hrs|hour|hours)\b", re.I)
# \b keeps "drone shot" from reading as "one shot" and "someone" as "one".
_SHOTS = re.compile(r"(?:\b" + _NUM + r"|\bsingle|\bone)[\s-]+(?:shots?|scenes?|cuts?|clips?)\b", re.I)

_ASPECTS: list[tuple[str, str]] = [
    (r"\b9\s*[:x/]\s*16\b|\bvertical\b|\bportrait\b|\btik\s?tok\b|\breels?\b|\bshorts\b|\bstor(?:y|ies)\b", "9:16"),
    (r"\b4\s*[:x/]\s*5\b", "4:5"),
    (r"\b1\s*[:x/]\s*1\b|\bsquare\b", "1:1"),
    (r"\b16\s*[:x/]\s*9\b|\blandscape\b|\bwidescreen\b|\byoutube\b", "16:9"),
]

_STYLE_WORDS = ("cinematic", "grade", "graded", "grading", "film look", "filmic", "look", "style", "aesthetic", "vintage",
                "retro", "noir", "pastel", "neon", "moody", "minimal", "minimalist", "vibrant", "warm", "cool", "dreamy",
                "documentary", "35mm", "16mm", "anamorphic", "lut", "palette", "tone", "mood", "colour", "color",
                "black and white", "monochrome", "glossy", "gritty", "whimsical", "playful", "elegant", "epic")
_LIGHT_WORDS = ("light", "lighting", "lit", "sunlight", "sunlit", "golden hour", "sunrise", "sunset", "dawn", "dusk",
                "glow", "candle", "backlit", "shadows", "morning", "night", "evening", "overcast", "daylight", "neon")
_CAMERA_HINTS: list[tuple[str, CameraMove]] = [
    (r"push[\s-]?in|zoom(?:s|ing)? in|dolly in|close in", CameraMove.ZOOM_IN),
    (r"pull[\s-]?(?:back|out)|zoom(?:s|ing)? out|dolly out|reveal", CameraMove.ZOOM_OUT),
    (r"pan(?:s|ning)? left", CameraMove.PAN_LEFT),
    (r"pan(?:s|ning)?(?: right)?|tracking|track(?:s)? (?:along|alongside)|truck", CameraMove.PAN_RIGHT),
    (r"tilt(?:s|ing)? up|crane up|rising", CameraMove.TILT_UP),
    (r"tilt(?:s|ing)? down|crane down|descending", CameraMove.TILT_DOWN),
    (r"static|locked[\s-]off|tripod|still frame", CameraMove.STATIC),
]
_CAMERA_PATTERN = [CameraMove.ZOOM_IN, CameraMove.PAN_RIGHT, CameraMove.STATIC, CameraMove.PAN_LEFT,
                   CameraMove.TILT_UP, CameraMove.ZOOM_IN, CameraMove.PAN_LEFT, CameraMove.TILT_DOWN]
_FRAMINGS = ["Medium shot", "Close-up", "Wide shot", "Detail shot", "Over-the-shoulder shot", "Low-angle shot"]
_FALLBACK_ACTIONS = ["moving naturally through the frame", "in candid, natural motion", "revealed in fine detail",
                     "with subtle, lifelike movement"]
_NOT_VERBS = {"morning", "evening", "lighting", "building", "ceiling", "something", "nothing", "clothing", "wedding",
              "king", "ring", "thing", "spring", "string", "wing", "swing", "everything", "anything", "ending",
              "opening", "during", "amazing", "stunning", "sing", "bring", "setting", "packaging", "branding",
              "clothing", "grading", "sibling", "dumpling", "pudding", "icing", "frosting", "filling"}


@dataclass(frozen=True)
class Genre:
    name: str
    keywords: tuple[str, ...]
    shot_s: float
    transition: TransitionKind
    style: str


_GENRES = [
    Genre("music video", ("music video", "music-video", "song", "band", "beat"), 2.5, TransitionKind.CUT, "stylised, high-energy"),
    Genre("trailer", ("trailer", "teaser"), 3.5, TransitionKind.FADE_BLACK, "cinematic, dramatic contrast"),
    Genre("explainer", ("explainer", "explain", "tutorial", "how to", "how-to", "demo"), 4.0, TransitionKind.WIPE_LEFT, "clean, bright, minimal"),
    Genre("social", ("tiktok", "reels", "shorts", "story", "stories", "social"), 2.5, TransitionKind.SLIDE_LEFT, "punchy, vibrant"),
    Genre("ad", ("ad", "advert", "advertisement", "commercial", "promo", "spot"), 3.0, TransitionKind.FADE, "polished commercial look"),
]
_DEFAULT_GENRE = Genre("film", (), 3.5, TransitionKind.FADE, "cinematic")


@dataclass
class PlanResult:
    brief: Brief
    plan: ShotPlan
    notices: list[str] = field(default_factory=list)


# -- reading the brief -------------------------------------------------------------
def _number(token: str | None) -> float | None:
    if token is None:
        return None
    token = token.strip().lower()
    if token in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token])
    try:
        return float(token)
    except ValueError:
        return None


def parse_duration(text: str) -> float | None:
    """Total seconds the brief asks for ("15 second", "30s", "1 minute", "1 min 30 s"), or None."""
    total = 0.0
    found = False
    for match in _HOURS.finditer(text):
        total += (_number(match.group(1)) or 1.0) * 3600
        found = True
    for match in _MINUTES.finditer(text):
        raw = match.group(0).lower()
        value = 0.5 if raw.startswith("half") else (_number(match.group(1)) or 1.0)
        total += value * 60
        found = True
    for match in _SECONDS.finditer(text):
        value = _number(match.group(1))
        if value is not None:
            total += value
            found = True
    return total if found else None


def parse_aspect_ratio(text: str) -> str | None:
    for pattern, ratio in _ASPECTS:
        if re.search(pattern, text, re.I):
            return ratio
    return None


def parse_shot_count(text: str) -> int | None:
    match = _SHOTS.search(text)
    if not match:
        return None
    if match.group(1) is None:
        return 1
    value = _number(match.group(1))
    return int(value) if value else None


def detect_genre(text: str) -> Genre:
    lowered = text.lower()
    for genre in _GENRES:
        if any(re.search(rf"\b{re.escape(k)}\b", lowered) for k in genre.keywords):
            return genre
    return _DEFAULT_GENRE


def _strip_specs(text: str) -> str:
    """Remove the duration/aspect/shot-count phrases so they don't become beats."""
    for pattern in (_HOURS, _MINUTES, _SECONDS, _SHOTS):
        text = pattern.sub(" ", text)
    for pattern, _ in _ASPECTS:
        text = re.sub(pattern, " ", text, flags=re.I)
    return re.sub(r"\s+", " ", text).strip(" ,.;:-")


def _segments(text: str) -> tuple[str, list[str]]:
    """Split a brief into its head clause and a list of beats."""
    head, _, tail = text.partition(":")
    if not tail.strip():
        parts = [p for p in re.split(r"[.;\n]+|,\s*|\bthen\b|\band then\b", text) if p.strip()]
        head, rest = (parts[0], parts[1:]) if parts else (text, [])
    else:
        rest = [p for p in re.split(r"[.;\n]+|,\s*|\bthen\b", tail) if p.strip()]
    beats = []
    for part in rest:
        part = re.sub(r"^\s*(?:and|with|plus|also|finally|ending on|ends on|end on)\s+", "", part.strip(), flags=re.I)
        if part:
            beats.append(part.strip(" ."))
    return head.strip(" ."), beats


def _has_word(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(w)}\b", lowered) for w in words)


def _verb_index(words: list[str]) -> int | None:
    for i, word in enumerate(words):
        bare = word.lower().strip(",.")
        if i > 0 and bare.endswith("ing") and len(bare) > 4 and bare not in _NOT_VERBS:
            return i
    for i, word in enumerate(words):
        if i > 0 and word.lower() in {"walks", "runs", "pours", "smiles", "laughs", "drinks", "opens", "turns", "looks",
                                      "dances", "jumps", "flies", "rides", "drives", "holds", "sips", "enters", "leaves"}:
            return i
    return None


def _subject_action(beat: str) -> tuple[str, str]:
    words = beat.split()
    idx = _verb_index(words)
    if idx is None:
        return beat, ""
    return " ".join(words[:idx]), " ".join(words[idx:])


def _setting_from(text: str) -> tuple[str, str]:
    """The place a brief names and the phrase that puts a shot there: ("a rooftop", "on a rooftop")."""
    match = re.search(r"\b(for|in|at|inside|on)\s+(?:a|an|the|my|our|your|their)\s+([\w' -]+)", text, re.I)
    if not match:
        return "", ""
    place = re.split(r"\b(?:with|that|which|where|who|featuring|showing|and|in|at|on)\b", match.group(2))[0].strip()
    if not place:
        return "", ""
    preposition = "in" if match.group(1).lower() == "for" else match.group(1).lower()
    return f"a {place}", f"{preposition} a {place}"


_GENRE_NOUNS = r"(?:ad|advert|advertisement|commercial|promo|spot|explainer|tutorial|trailer|teaser|music[\s-]video|video|film|clip|story|reel|short)"


def _topic_from(head: str) -> str:
    """What a head clause is about: "An explainer about how solar panels work" -> "how solar panels work"."""
    topic = re.sub(rf"^\s*(?:an?|the|my|our)?\s*(?:[\w-]+\s+)?{_GENRE_NOUNS}\s+(?:for|about|of|on|showing)?\s*", "", head, flags=re.I)
    return topic.strip(" ,") or head


def _camera_for(beat: str) -> CameraMove | None:
    for pattern, move in _CAMERA_HINTS:
        if re.search(rf"\b(?:{pattern})\b", beat, re.I):
            return move
    return None


# -- building the plan ---------------------------------------------------------------
def _durations(total: float, count: int) -> list[float]:
    base = round(total / count, 2)
    values = [base] * count
    values[-1] = round(total - base * (count - 1), 2)
    return values


def plan_brief(text: str, *, duration_s: float | None = None, aspect_ratio: str | None = None,
               shot_count: int | None = None, fps: int = 30) -> PlanResult:
    """Read ``text`` into a Brief and a ShotPlan. Explicit arguments override what the text says."""
    text = (text or "").strip()
    if not text:
        raise InvalidInputError("the brief is empty", hint='describe the video, e.g. "a 15 second ad for a bakery"')
    notices = [f"Planned by the {OFFLINE_PLANNER} (no language model configured): deterministic rules, no LLM."]

    total = duration_s if duration_s is not None else parse_duration(text)
    if total is None:
        total = DEFAULT_TOTAL_S
        notices.append(f"No duration in the brief; planning {total:g} s.")
    if total < MIN_TOTAL_S:
        notices.append(f"A duration of {total:g} s is too short to plan; using the minimum of {MIN_TOTAL_S:g} s.")
        total = MIN_TOTAL_S
    elif total > MAX_TOTAL_S:
        notices.append(f"A duration of {total:g} s is longer than shotsmith plans in one go; capped at {MAX_TOTAL_S:g} s.")
        total = MAX_TOTAL_S

    ratio = aspect_ratio or parse_aspect_ratio(text) or "16:9"
    if aspect_ratio is None and parse_aspect_ratio(text) is None:
        notices.append("No aspect ratio in the brief; using 16:9.")

    genre = detect_genre(text)
    count = shot_count if shot_count is not None else parse_shot_count(text)
    if count is None:
        count = max(1, min(60, round(total / genre.shot_s)))
    if total / count < MIN_SHOT_S:
        fitted = max(1, int(total // MIN_SHOT_S))
        notices.append(f"{count} shots do not fit in {total:g} s at {MIN_SHOT_S:g} s each; planning {fitted}.")
        count = fitted
    count = max(1, min(60, count))

    head, beats = _segments(_strip_specs(text))
    beats = [b for b in beats if len(re.findall(r"[a-z]{3,}", b.lower())) >= 1 and b.lower() not in {"in", "and", "with"}]
    setting, where_phrase = _setting_from(head)
    if not setting:
        setting, where_phrase = _setting_from(text)
    style_parts = [b for b in beats if _has_word(b, _STYLE_WORDS) and _verb_index(b.split()) is None]
    light_parts = [b for b in beats if b not in style_parts and _has_word(b, _LIGHT_WORDS)
                   and len(b.split()) <= 5 and _verb_index(b.split()) is None]
    content = [b for b in beats if b not in style_parts and b not in light_parts]
    style = ", ".join(style_parts) or genre.style
    lighting = ", ".join(light_parts) or "soft natural light"
    if not content:
        content = [_topic_from(head) if head else setting or text]

    # The first shot establishes the place when the brief names one and there is room.
    beats_for_shots: list[tuple[str, str]] = []  # (framing, beat)
    if setting and count >= 3 and len(content) < count:
        beats_for_shots.append(("Wide establishing shot", setting))
    remaining = count - len(beats_for_shots)
    if len(content) > remaining:
        # More beats than shots: group neighbouring beats so none is dropped.
        groups: list[list[str]] = [[] for _ in range(remaining)]
        for i, beat in enumerate(content):
            groups[i * remaining // len(content)].append(beat)
        content = [" and ".join(g) for g in groups]
    for i in range(remaining):
        beat = content[i % len(content)]
        repeat = i // len(content)
        framing = _FRAMINGS[(i + repeat) % len(_FRAMINGS)] if repeat or len(content) < remaining else _FRAMINGS[i % 2]
        beats_for_shots.append((framing, beat))

    durations = _durations(total, count)
    transition_s = round(min(0.5, min(durations) * 0.25), 2)
    shots: list[Shot] = []
    for i, ((framing, beat), seconds) in enumerate(zip(beats_for_shots, durations, strict=True)):
        subject, action = _subject_action(beat)
        if framing == "Wide establishing shot":
            subject, action = beat, "setting the scene"
        action = action or _FALLBACK_ACTIONS[i % len(_FALLBACK_ACTIONS)]
        camera = _camera_for(beat) or (CameraMove.ZOOM_OUT if i == count - 1 and count > 2 else _CAMERA_PATTERN[i % len(_CAMERA_PATTERN)])
        where = where_phrase if setting and setting.lower().removeprefix("a ") not in beat.lower() else ""
        prompt = ", ".join(p for p in (f"{framing} of {subject} {action}".strip(), where, camera.phrase, lighting, style) if p)
        kind = genre.transition if i < count - 1 else TransitionKind.CUT
        transition = Transition(kind=kind, duration_s=transition_s if kind is not TransitionKind.CUT else 0.0)
        shots.append(Shot(index=i + 1, prompt=prompt, duration_s=seconds, camera=camera, style=style,
                          aspect_ratio=ratio, transition_to_next=transition, subject=subject, action=action,
                          setting=setting, lighting=lighting))

    brief = Brief(text=text, duration_s=total, aspect_ratio=ratio, shot_count=count, notices=notices)
    plan = ShotPlan(shots=shots, aspect_ratio=ratio, fps=fps, planner=OFFLINE_PLANNER)
    return PlanResult(brief=brief, plan=plan, notices=notices)
