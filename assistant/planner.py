"""The offline planner: a deterministic brief-to-shot-plan reader, no LLM.

It is the fallback whenever no language model is configured, and it says so.
It reads what the brief fixes (total duration, aspect ratio, shot count), then
separates what the video is *about* (its subjects and their actions, the
setting) from how it should look and be shot (style, camera, lighting and
framing words, read by ``vocabulary``), so "gritty, handheld" becomes a style
and a camera phrase rather than a subject. Each shot's prompt carries the
elements video models respond to: subject, action, setting, camera movement,
lighting, style.

When a brief asks for more shots than it names beats (a long or capped brief),
the beats are covered again with varied shot sizes, action moments, setting
details and camera moves, chosen so that no two shots repeat: a 60-shot plan of
one subject is 60 different shots, not 60 copies of one prompt.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from shotsmith.assistant.vocabulary import PLATFORM, Reading, content_words, read_phrase, strip_cues
from shotsmith.brief import Brief, Shot, ShotPlan
from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove, Transition, TransitionKind
from shotsmith.narration import VOICE_CUE

OFFLINE_PLANNER = "offline planner"
MIN_TOTAL_S = 2.0
MAX_TOTAL_S = 600.0
DEFAULT_TOTAL_S = 15.0
MIN_SHOT_S = 1.0
MAX_SHOTS = 60

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45,
    "fifty": 50, "sixty": 60, "ninety": 90, "a": 1, "an": 1, "single": 1,
}
_NUM = r"(?<![\w.])(\d+(?:\.\d+)?|" + "|".join(sorted((w for w in _NUMBER_WORDS if w not in {"a", "an", "single"}), key=len, reverse=True)) + r")"
_SECONDS = re.compile(_NUM + r"[\s-]*(?:s|sec|secs|second|seconds)\b", re.I)
_MINUTES = re.compile(r"(?:" + _NUM + r"|\ba|\ban|\bhalf an?)[\s-]*(?:min|mins|minute|minutes)\b", re.I)
_HOURS = re.compile(r"(?:" + _NUM + r"|\ban?)[\s-]*(?:h|hr|hrs|hour|hours)\b", re.I)
# \b keeps "drone shot" from reading as "one shot" and "someone" as "one".
#: "a two-shot" / "the two-shot" is a framing (two people in one frame), not a count of shots.
_SHOTS = re.compile(r"(?!(?<=\ba )two-shot\b|(?<=\bthe )two-shot\b)"
                    r"(?:\b" + _NUM + r"|\bsingle|\bone)[\s-]+(?:shots?|scenes?|cuts?|clips?)\b", re.I)

_ASPECTS: list[tuple[str, str]] = [
    (r"\b9\s*[:x/]\s*16\b|\bvertical\b|\bportrait\b(?!\s+of\b)|\btik\s?tok\b|\breels?\b|\bshorts\b|\bstor(?:y|ies)\b", "9:16"),
    (r"\b4\s*[:x/]\s*5\b", "4:5"),
    # "an old man in a square" or "Times Square" is a place, not a format.
    (r"\b1\s*[:x/]\s*1\b|(?<!\bin a )(?<!\bin the )(?<!\bon a )(?<!\bon the )(?<!\bat a )(?<!\bat the )(?<!\bacross the )"
     r"(?<!\btown )(?<!\bcity )(?<!\bmarket )(?<!\bmain )(?<!\bvillage )(?<!\bpublic )(?<!\btimes )\bsquare\b", "1:1"),
    (r"\b16\s*[:x/]\s*9\b|\blandscape\b|\bwidescreen\b|\byoutube\b", "16:9"),
]
# Phrases that only say how long the video runs: "2 minutes long", "in total".
_LENGTH_WORDS = re.compile(r"\b(?:in total|runtime|run time)\b", re.I)
# The user's own files ("use my clip beach.mp4 as the opener") are placed by the caller, not read for cues.
_FOOTAGE = re.compile(r"(?:\b(?:use|using|with|from|plus)\s+)?(?:\b(?:my|our|the|this)\s+)?(?:own\s+)?"
                      r"(?:[\w-]+\s+){0,2}?[\w/-]+\.(?:mp4|mov|m4v|mkv|webm|avi|jpe?g|png|webp|gif)\b"
                      r"(?:\s+as\s+(?:the\s+)?\w+)?", re.I)
_SPLIT = re.compile(r"[;!?\n()\[\]\u2026/|\"\u201c\u201d]+|\.(?!\w)|,\s*|\s[-\u2013\u2014]+\s|\band then\b|\bthen\b", re.I)
_LEADING = re.compile(r"^\s*(?:and|with|plus|also|finally|ending on|ends on|end on|starting with|opening on|opens on"
                      r"|closing on|closes on|followed by)\s+", re.I)
# A phrase of one or two adverbs says how the phrase before it happens ("..., slowly").
_ADVERBS = re.compile(r"(?:(?:very|really|so)\s+)?(?!(?:family|lily|belly|jelly|rally|holy|only|italy|july|ugly|"
                      r"fly|sly|ally|bully|curly|early|daily|friendly|lovely|lonely|elderly|chilly|hilly|silly)\b)"
                      r"[a-z]{2,}ly", re.I)
# How people ask, which is not what they ask for: "make me a moody thing about...".
_REQUEST = re.compile(r"^\s*(?:(?:please|pls|hey|hi)[\s,]+)?(?:(?:can|could|would) you\s+|i(?:'d| would) like\s+|"
                      r"i (?:want|need)\s+|we (?:want|need)\s+)?(?:(?:please\s+)?(?:make|create|generate|produce|"
                      r"build|cut|edit|give)(?:\s+(?:me|us))?\s+)?", re.I)

# -- coverage: what changes from shot to shot when beats are covered more than once --------
# Repeats of one beat step through lists of framings (8), action moments (11), setting
# details (9), compositions (13) and camera moves (7) by the same index. The lengths are
# pairwise coprime and nearly every pair multiplies past MAX_SHOTS, so two shots of one beat
# share at most two of the five, and still differ in two when the brief fixes the framing
# and the camera move.
_FRAMINGS = ["Medium shot", "Close-up", "Wide shot", "Insert shot", "Over-the-shoulder shot", "Low-angle shot",
             "Extreme close-up", "High-angle shot"]
_WIDE_FRAMINGS = ["Wide shot", "Extreme wide shot", "High-angle wide shot", "Bird's-eye view", "Sweeping wide view",
                  "Wide shot from above", "Extreme wide view", "Top-down wide view"]
_CLOSE_FRAMINGS = ["Close-up", "Extreme close-up", "Insert shot", "Macro close-up", "Tight detail shot",
                   "Close-up from a low angle", "Close-up from above", "Extreme macro detail"]
_AERIAL = {"aerial drone shot", "FPV drone flythrough", "aerial flyover"}
_FRAMING_FAMILIES = {**{f: _CLOSE_FRAMINGS for f in ("Close-up", "Extreme close-up", "Medium close-up", "Insert shot")},
                     **{f: _WIDE_FRAMINGS for f in ("Wide shot", "Extreme wide shot", "Wide establishing shot")}}
_FALLBACK_ACTIONS = ["moving naturally through the frame", "in candid, natural motion", "revealed in fine detail",
                     "with subtle, lifelike movement", "entering the frame from one side",
                     "caught in a quiet, still moment", "seen from a distance, small in the frame",
                     "filling the frame, every texture sharp", "with movement passing in the foreground",
                     "catching the light as it shifts", "at the centre of the action"]
_MOMENTS = ["as the moment begins", "in mid-motion", "as the moment comes to an end", "seen from a new angle",
            "in a quieter beat", "with energy building", "caught between movements", "in fine, tactile detail",
            "with movement in the foreground", "as the light shifts", "at the peak of the action"]
_SETTING_DETAILS = ["{where}", "in a quiet corner of {place}", "at the edge of {place}", "in the heart of {place}",
                    "near the entrance to {place}", "with {place} in the background", "deep inside {place}",
                    "just outside {place}", "among the small details of {place}"]
_BACKDROPS = ["against a softly blurred background", "with layers of depth behind", "framed by foreground detail",
              "with open space around the subject", "against a clean, simple backdrop",
              "with the surroundings in soft focus", "with texture and detail in the background",
              "with gentle movement in the background", "silhouetted against a bright background"]
# A repeat that still reads like an earlier shot (difflib ratio) tries the next variants.
_MAX_SIMILARITY = 0.88
_RETRIES = 12
# Where the camera stands, for repeats only (13).
_COMPOSITIONS = ["at eye level", "from a three-quarter angle", "seen in profile", "head-on, centred in the frame",
                 "seen from behind", "from slightly above", "from slightly below", "with negative space on the left",
                 "with negative space on the right", "with strong leading lines", "off-centre on the left third",
                 "off-centre on the right third", "with a slow rack of focus"]
_CAMERA_CYCLE = [CameraMove.ZOOM_IN, CameraMove.PAN_RIGHT, CameraMove.STATIC, CameraMove.PAN_LEFT,
                 CameraMove.TILT_UP, CameraMove.ZOOM_OUT, CameraMove.TILT_DOWN]
# A moving camera ("handheld camera") and a locked-off one contradict each other.
_MOVING_CAMERA = {"handheld camera", "FPV drone flythrough", "aerial flyover", "smooth gimbal movement",
                  "aerial drone shot", "orbiting camera", "whip pan"}
_NOT_VERBS = {"morning", "evening", "lighting", "building", "ceiling", "something", "nothing", "clothing", "wedding",
              "king", "ring", "thing", "spring", "string", "wing", "swing", "everything", "anything", "ending",
              "opening", "during", "amazing", "stunning", "sing", "bring", "setting", "packaging", "branding",
              "grading", "sibling", "dumpling", "pudding", "icing", "frosting", "filling", "interesting",
              "awning", "earring", "seasoning", "living", "dining", "stuffing", "topping", "toppings", "offering",
              "railing"}
# What a video is "for" that is not a place to put its shots in.
_NOT_PLACES = {"song", "track", "single", "album", "band", "artist", "app", "brand", "product", "company", "startup",
               "launch", "campaign", "drop", "listing", "channel", "podcast", "charity", "client", "service", "website",
               "site", "game", "course", "label", "newsletter", "collection", "release", "fundraiser", "cause"}
_BEFORE_NOUNS = {"a", "an", "the", "in", "on", "at", "of", "with", "into", "onto", "my", "our", "your", "his", "her",
                 "their", "its", "some", "this", "that", "these", "those", "through", "from", "by"}
_S_VERBS = {"walks", "runs", "pours", "smiles", "laughs", "drinks", "opens", "turns", "looks", "dances", "jumps",
            "flies", "rides", "drives", "holds", "sips", "enters", "leaves", "sings", "plays", "cooks", "eats",
            "climbs", "swims", "falls", "rises", "spins", "waves", "reaches", "lifts", "throws", "catches", "kicks",
            "writes", "reads", "waits", "sits", "stands", "stirs", "cuts", "slices", "bakes", "paints", "glides",
            "grinds", "serves", "steams", "brews", "greets", "hands", "shapes", "kneads", "takes", "wipes", "pulls",
            "pushes", "carries", "hugs", "kisses", "makes", "taps", "tastes", "wraps", "sprinkles", "dusts", "fills",
            "arranges", "pets", "nods", "points", "picks", "places", "puts", "watches", "builds", "shows"}


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
    """Remove the duration/aspect/shot-count/platform phrases and the user's files so they don't become beats.

    The user's files are placed by the caller (first named file, first shot), so
    a phrase naming one is not a beat to generate.
    """
    text = _FOOTAGE.sub(" ", text)
    for pattern in (_HOURS, _MINUTES, _SECONDS):  # "2 minutes long", "an hour-long film"
        text = re.sub(pattern.pattern + r"(?:[\s-]+long\b)?", " ", text, flags=re.I)
    text = _SHOTS.sub(" ", text)
    # "a TikTok for a bakery", "a reel for a gym": the platform word also names the video.
    text = re.sub(r"\b(?:tik\s?toks?|reels?|shorts|stor(?:y|ies))\b", " video ", text, flags=re.I)
    for pattern, _ in _ASPECTS:
        text = re.sub(pattern, " ", text, flags=re.I)
    text = PLATFORM.sub(" ", text)
    text = _LENGTH_WORDS.sub(" ", text)
    text = re.sub(r"#(\w)", r"\1", text)  # hashtags read as words
    text = VOICE_CUE.sub(" ", text)  # "with a voice-over" asks for narration (shotsmith.narration), not a shot
    return re.sub(r"[ \t]+", " ", text).strip(" ,.;:-")


def _split(text: str) -> list[str]:
    """The phrases of a brief: split at punctuation (any the user typed, repeated or not) and "then"."""
    parts = []
    for part in _SPLIT.split(text):
        part = _unshout(_LEADING.sub("", (part or "").strip()).strip(" .,:-"))
        if part:
            parts.append(part)
    return parts


def _has_verb(words: list[str]) -> bool:
    return _verb_index(words) is not None


def _verb_index(words: list[str]) -> int | None:
    """Where the action starts: the first -ing word (or common -s verb) after the subject.

    An -ing word right after an article or preposition describes a noun ("a
    glowing booth", "the living room"), so it does not start the action.
    """
    for i, word in enumerate(words):
        bare = word.lower().strip(",.")
        if (i > 0 and bare.endswith("ing") and len(bare) > 4 and bare not in _NOT_VERBS
                and words[i - 1].lower() not in _BEFORE_NOUNS):
            return i
    for i, word in enumerate(words):
        bare = word.lower().strip(",.")
        if i > 0 and (bare in _S_VERBS or (bare + "s" in _S_VERBS and _plural_subject(words[:i]))
                      or (_looks_like_s_verb(words, i) and words[i - 1].lower() not in _BEFORE_NOUNS)):
            return i
    return None


#: Words that follow a verb and hardly ever a plural noun: "ties her shoes", "sprints up", "plates the dish".
_AFTER_VERBS = {"a", "an", "the", "her", "his", "their", "its", "them", "it", "my", "our", "your", "up", "down",
                "out", "off", "back", "away", "into", "onto", "some"}


def _looks_like_s_verb(words: list[str], i: int) -> bool:
    """A verb the lists do not know, by its shape: an -s word followed by an object or a particle."""
    bare = words[i].lower().strip(",.")
    return (len(bare) > 3 and bare.endswith("s") and not bare.endswith(("ss", "us", "is")) and bare.isalpha()
            and i + 1 < len(words) and words[i + 1].lower().strip(",.") in _AFTER_VERBS)


def _plural_subject(words: list[str]) -> bool:
    """Whether the words before a bare verb name more than one ("@mara and @theo open", "two baristas pour"),
    so the verb's plural form ("open") starts the action as its -s form would."""
    lowered = [w.lower().strip(",.") for w in words]
    last = lowered[-1] if lowered else ""
    return ("and" in lowered or last in {"they", "we", "you", "people"}
            or (len(last) > 3 and last.endswith("s") and not last.endswith("ss")))


def _subject_action(beat: str) -> tuple[str, str]:
    words = beat.split()
    idx = _verb_index(words)
    if idx is None:
        return _clean_subject(beat), ""
    return _clean_subject(" ".join(words[:idx])), " ".join(words[idx:])


def _clean_subject(subject: str) -> str:
    """Drop what a relative clause leaves around a subject: "ad where a barista" -> "a barista" (the format
    word went earlier), "a woman who" -> "a woman"."""
    lead = re.search(r"\b(?:where|in which|which|whereby)\s+(\S.*)$", subject, re.IGNORECASE)
    if lead:
        subject = lead.group(1)
    subject = re.sub(r"\s+(?:who|that|which)$", "", subject, flags=re.IGNORECASE)
    how = re.match(r"\s*how\s+to\s+([a-z]+)\b(.*)$", subject, re.IGNORECASE)
    if how:  # "how to brew pour-over coffee" shows the doing: "brewing pour-over coffee"
        subject = _gerund(how.group(1)) + how.group(2)
    return subject.strip() or subject


def _gerund(verb: str) -> str:
    """brew -> brewing, make -> making, cut -> cutting, see -> seeing (English spelling rules, short verbs)."""
    v = verb.lower()
    if v.endswith("ie"):
        return v[:-2] + "ying"
    if v.endswith("e") and not v.endswith(("ee", "ye", "oe")) and len(v) > 2:
        return v[:-1] + "ing"
    if (len(v) <= 4 and re.fullmatch(r"[^aeiou]*[aeiou][bdfgklmnprstvz]", v)):
        return v + v[-1] + "ing"
    return v + "ing"


def _setting_from(text: str, *, prepositions: str = "for|in|at|inside|on") -> tuple[str, str]:
    """The place a brief names and the phrase that puts a shot there: ("a rooftop", "on a rooftop").

    A named place without an article counts when it is capitalised: "in Bangkok".
    """
    for match in re.finditer(rf"\b({prepositions})\s+(?:a|an|the|my|our|your|their)\s+([\w' -]+)", text, re.I):
        place = re.split(r"\b(?:with|that|which|where|who|featuring|showing|and|in|at|on|about|of|for|from|to|by|"
                         r"during|while|as)\b", match.group(2))[0].strip()
        if not place or not content_words(place):
            continue
        if match.group(1).lower() == "for" and place.split()[-1].lower() in _NOT_PLACES:
            continue  # "for a synthwave song" names what the video is for, not where it happens
        article = "an" if place[0].lower() in "aeiou" else "a"
        preposition = "in" if match.group(1).lower() == "for" else match.group(1).lower()
        return f"{article} {place}", f"{preposition} {article} {place}"
    named = re.search(r"\b(in|at|inside|around|across)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)", text)
    if named and content_words(named.group(2)):
        return named.group(2), f"{named.group(1)} {named.group(2)}"
    return "", ""


@dataclass
class _Reading:
    """A whole brief, read: its beats and the cues that apply to every shot."""

    topic: str = ""
    setting: str = ""
    where: str = ""
    beats: list[tuple[str, Reading]] = field(default_factory=list)
    moves: list[CameraMove] = field(default_factory=list)
    camera: list[str] = field(default_factory=list)
    framing: str | None = None
    style: list[str] = field(default_factory=list)
    lighting: list[str] = field(default_factory=list)

    def take_cues(self, reading: Reading) -> None:
        """Cues from the clause naming the video, or from a phrase of nothing but cues, apply to every shot."""
        _extend(self.moves, reading.moves)
        _extend(self.camera, reading.camera)
        _extend(self.style, reading.style)
        _extend(self.lighting, reading.lighting)
        self.framing = self.framing or reading.framing


def _extend(into: list, items: list) -> None:
    """Append the items not already there (case-insensitively): "gritty" said twice is one style."""
    seen = {str(i).lower() for i in into}
    for item in items:
        if str(item).lower() not in seen:
            into.append(item)
            seen.add(str(item).lower())


def _read_brief(text: str) -> _Reading:
    """Find the clause that names the video (the head), the beats, and the brief-wide cues."""
    head, sep, tail = text.partition(":")
    parts = _split(tail) if sep and head.strip() and tail.strip() else _split(text)
    head = head.strip() if sep and tail.strip() else ""
    read = _Reading()
    if not head:  # no colon: the head is the first phrase with content, if it names the video
        for i, part in enumerate(parts):
            reading = read_phrase(part, names_format=True)
            if reading.text or reading.format_noun:
                if reading.format_noun:
                    head = parts.pop(i)
                break
    head_reading = read_phrase(head, names_format=True) if head else None
    if head_reading is not None:
        read.take_cues(head_reading)
        read.topic = head_reading.text
        read.setting, read.where = _setting_from(strip_cues(head))
    for part in parts:
        if read.beats and _ADVERBS.fullmatch(part.strip()):  # "a barista pouring, slowly": how, not what
            text, reading = read.beats[-1]
            read.beats[-1] = (f"{text} {part.strip().lower()}", reading)
            continue
        reading = read_phrase(part)
        if reading.text:
            read.beats.append((_lower_article(_unshout(reading.text)), reading))
        else:
            read.take_cues(reading)
    if not read.setting and head_reading is None:
        read.setting, read.where = _setting_from(strip_cues(text), prepositions="in|at|inside")
    if read.topic and read.where and read.where.lower() in read.topic.lower():
        rest = re.sub(re.escape(read.where), " ", read.topic, flags=re.I)
        rest = " ".join(rest.split()).strip(" ,")
        if content_words(rest):
            read.topic = rest
    read.topic = _lower_article(_unshout(read.topic))
    # The head's topic is a beat of its own when it shows something ("a film of a fisherman mending a net")
    # or stands in a list of peers ("handheld street food vlog, Bangkok night market"), unless it is the place.
    peers = not sep or not tail.strip()
    place = re.sub(r"^an? ", "", read.setting.lower())
    about_place = bool(place) and place in read.topic.lower()  # "a hotel in Paris" is the establishing shot
    if read.topic and (_has_verb(read.topic.split()) or (peers and not about_place)):
        read.beats.insert(0, (read.topic, Reading(text=read.topic)))
    read.beats = _carry_subjects(read.beats)
    return read


def _leading_verb(words: list[str], i: int = 0) -> str | None:
    """The -ing form of ``words[i]`` when it is a verb ("pours" -> "pouring", "pouring" stays), else None."""
    bare = words[i].lower().strip(",.")
    if bare.endswith("ing") and len(bare) > 4 and bare not in _NOT_VERBS:
        return bare
    if bare + "s" in _S_VERBS:  # a plural subject's verb ("…, pour coffee")
        return _gerund(bare)
    if bare not in _S_VERBS and not _looks_like_s_verb(words, i):
        return None
    if bare.endswith("ies"):
        stem = bare[:-1] if len(bare) <= 4 else bare[:-3] + "y"  # ties -> tie, carries -> carry
    elif bare.endswith(("ches", "shes", "sses", "xes", "zes", "oes")):
        stem = bare[:-2]
    else:
        stem = bare[:-1]
    return _gerund(stem)


def _carry_subjects(beats: list[tuple[str, Reading]]) -> list[tuple[str, Reading]]:
    """A beat that starts with its verb ("…, pours a latte") is done by the subject of the beat before it:
    "a barista pouring a latte". Without it the prompt read "Close-up of pours a latte" and the model drew no one.
    A verb in its -s form becomes its -ing form, so every prompt reads "<framing> of <someone> <doing>"."""
    subject = ""
    carried: list[tuple[str, Reading]] = []
    for text, reading in beats:
        words = text.split()
        verb = _leading_verb(words) if words else None
        rest = words[1:]
        if verb and not words[0].lower().endswith("ing") and (
                any(w.lower().endswith("ing") and w.lower() not in _NOT_VERBS for w in rest)
                or _verb_index(rest) is not None
                or not (subject or (rest and rest[0].lower() in _AFTER_VERBS | {"at", "to", "across", "around"}))):
            verb = None  # "waves crashing on the rocks", "waves on the beach": a plural noun, not a verb
        if verb is not None:
            doing = " ".join([subject or "someone", verb, *words[1:]])
            plain = " ".join([subject or "someone", *words])  # "opening" also names a thing: "they open the door"
            text = doing if _subject_action(doing)[0] == (subject or "someone") else plain
        else:
            who, action = _subject_action(text)
            if who and (action or not subject):  # a verbless beat names the subject only when none came before
                subject = who
            acts = action.split()
            verb = _leading_verb(acts) if acts and not acts[0].lower().endswith("ing") else None
            if verb:  # "a baker kneads dough" reads as a shot: "a baker kneading dough"
                doing = " ".join([who, verb, *acts[1:]])
                text = doing if _subject_action(doing)[0] == who else text  # "opening" also names a thing
        carried.append((text, reading))
    return carried


def _unshout(text: str) -> str:
    """A phrase typed in capitals ("COFFEE SHOP") reads as ordinary words; "an SUV" keeps its capitals."""
    letters = [c for c in text if c.isalpha()]
    return text.lower() if len(letters) > 3 and all(c.isupper() for c in letters) else text


def _lower_article(text: str) -> str:
    """ "A couple walking" (a sentence start) reads "a couple walking" inside a prompt."""
    return text[0].lower() + text[1:] if text.startswith(("A ", "An ", "The ")) else text


def _merge(beats: list[tuple[str, Reading]]) -> tuple[str, Reading]:
    """Neighbouring beats sharing one shot, read as one shot: the first beat's subject leads and its actions
    join ("a barista grinding beans and pouring a latte"); a beat that only names that subject adds nothing;
    other subjects are what the shot also shows ("a cat running, with a bird flying"). Joining the texts
    with "and" made "a cat and a dog running and a bird flying", and "a barista and pours a latte"."""
    who: dict[str, tuple[str, list[str]]] = {}
    for text, _ in beats:
        subject, action = _subject_action(text)
        key = subject.lower()
        if key not in who:
            who[key] = (subject if action else text, [])
        if action:
            who[key][1].append(action)
    def listed(items: list[str]) -> str:  # "a, b and c"
        return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)

    phrases = [" ".join([subject, listed(actions)]).strip() for subject, actions in who.values()]
    text = phrases[0] + (", with " + listed(phrases[1:]) if len(phrases) > 1 else "")
    merged = Reading(text=text)
    for _, reading in beats:
        _extend(merged.moves, reading.moves)
        _extend(merged.camera, reading.camera)
        _extend(merged.style, reading.style)
        _extend(merged.lighting, reading.lighting)
        merged.framing = merged.framing or reading.framing
    return merged.text, merged


# -- building the plan ---------------------------------------------------------------
def _durations(total: float, count: int) -> list[float]:
    base = round(total / count, 2)
    values = [base] * count
    values[-1] = round(total - base * (count - 1), 2)
    return values


@dataclass
class _ShotText:
    """The parts of one shot's prompt, kept apart so coverage can vary them and compare variants."""

    framing: str
    subject: str
    action: str
    where: str
    camera: CameraMove
    camera_phrases: list[str]
    lighting: str
    style: str

    @property
    def variant(self) -> tuple[str, str, str, CameraMove]:
        return self.framing, self.action, self.where, self.camera

    @property
    def prompt(self) -> str:
        parts = [f"{self.framing} of {self.subject} {self.action}".strip(), self.where, self.camera.phrase,
                 *self.camera_phrases, self.lighting, self.style]
        return ", ".join(p for p in parts if p)


def _stride(beats: int) -> int:
    """The smallest step >= ``beats`` that shares no factor with the coverage list lengths (2, 3, 7, 11, 13)."""
    step = max(1, beats)
    while any(step % p == 0 for p in (2, 3, 7, 11, 13)):
        step += 1
    return step


def _framings_for(camera_phrases: list[str]) -> list[str]:
    """Shot sizes a camera allows: a drone sees wide, a macro lens sees close."""
    if any(p in _AERIAL for p in camera_phrases):
        return _WIDE_FRAMINGS
    if "macro lens" in camera_phrases:
        return _CLOSE_FRAMINGS
    return _FRAMINGS


def _cover(read: _Reading, count: int, genre: Genre) -> list[_ShotText]:
    """One shot per beat, and when there are more shots than beats, varied coverage of the beats again.

    Shot ``k`` of the cycle takes its framing, action moment, setting detail,
    composition and camera move from lists whose lengths are pairwise coprime,
    so repeats of a beat never line up (see the note on ``_FRAMINGS``). What the
    brief fixes (a camera move, a shot size, a long style) is shared by every
    repeat and can still make two read alike, so a repeat too close to an
    earlier shot tries the next variants.
    """
    content = list(read.beats)
    if not content:
        subject = read.topic or read.setting or "the scene"
        content = [(subject, Reading(text=subject))]
    establish = bool(read.setting) and count >= 3 and len(content) < count
    remaining = count - int(establish)
    if len(content) > remaining:  # more beats than shots: neighbours share a shot so none is dropped
        groups: list[list[tuple[str, Reading]]] = [[] for _ in range(remaining)]
        for i, beat in enumerate(content):
            groups[i * remaining // len(content)].append(beat)
        content = [_merge(g) for g in groups]
    moving = any(p in _MOVING_CAMERA for p in read.camera)
    cycle = [m for m in _CAMERA_CYCLE if not (moving and m is CameraMove.STATIC)]
    lighting_all = ", ".join(read.lighting) or "soft natural light"
    place = read.setting

    def style_for(reading: Reading) -> str:
        styles: list[str] = list(read.style)
        _extend(styles, reading.style)
        return ", ".join(styles) or genre.style

    shots: list[_ShotText] = []
    if establish:
        camera = read.moves[0] if read.moves else cycle[0]
        shots.append(_ShotText("Wide establishing shot", place, "setting the scene", "", camera, list(read.camera),
                               lighting_all, style_for(Reading(text=""))))
    beats = len(content)
    stride = _stride(beats)

    def shot_at(k: int, b: int, r: int, last: bool) -> _ShotText:
        text, reading = content[b]
        subject, action = _subject_action(text)
        phrases = list(read.camera)
        _extend(phrases, reading.camera)
        framings = _framings_for(phrases)
        asked = read.framing or reading.framing
        if asked and r:  # repeats keep the size asked for, in its variants: close-ups stay close
            framings = _FRAMING_FAMILIES.get(asked, [asked])
        framing = asked if asked and not r else framings[k % len(framings)]
        if action:
            action = f"{action}, {_MOMENTS[k % len(_MOMENTS)]}" if r else action
        else:
            action = _FALLBACK_ACTIONS[k % len(_FALLBACK_ACTIONS)]
        in_beat = bool(place) and re.sub(r"^an? ", "", place.lower()) in text.lower()
        if place and not in_beat:
            detail = _SETTING_DETAILS[k % len(_SETTING_DETAILS)]
            where = read.where if r == 0 else detail.format(where=read.where, place=place)
        else:
            where = "" if r == 0 else _BACKDROPS[k % len(_BACKDROPS)]
        if r:
            where = ", ".join(p for p in (where, _COMPOSITIONS[k % len(_COMPOSITIONS)]) if p)
        if reading.moves:
            camera = reading.moves[r % len(reading.moves)]
        elif read.moves:
            camera = read.moves[k % len(read.moves)]
        elif last and count > 2 and shots[-1].camera is not CameraMove.ZOOM_OUT:
            camera = CameraMove.ZOOM_OUT  # the film ends by pulling back
        else:
            camera = cycle[k % len(cycle)]
        lighting = ", ".join(reading.lighting) or lighting_all
        return _ShotText(framing, subject, action, where, camera, phrases, lighting, style_for(reading))

    earlier: list[_ShotText] = []  # the shots so far, beats and repeats
    for i in range(remaining):
        b, r = i % beats, i // beats
        k = r * stride + b + int(establish)  # repeats of a beat step by `stride`, coprime to every list length
        last = len(shots) == count - 1
        shot = shot_at(k, b, r, last)
        if r:  # a repeat: if a long shared style still makes it read like an earlier shot, try the next variants
            best = _closest(shot, earlier)
            for j in range(1, _RETRIES + 1):
                if best < _MAX_SIMILARITY:
                    break
                other = shot_at(k + j, b, r, last)
                similarity = _closest(other, earlier)
                if similarity < best:
                    shot, best = other, similarity
        shots.append(shot)
        earlier.append(shot)
    return shots


def _closest(shot: _ShotText, earlier: list[_ShotText]) -> float:
    """The highest difflib similarity of ``shot``'s prompt to an earlier shot.

    Shots that differ in three or more of framing, action, placement and camera
    move are far apart in practice, so only the others are compared (difflib is
    slow, and a 60-shot plan has 1,770 pairs).
    """
    best = 0.0
    prompt = shot.prompt.lower()
    for other in earlier:
        if sum(a == b for a, b in zip(shot.variant, other.variant)) < 2:
            continue
        matcher = difflib.SequenceMatcher(None, prompt, other.prompt.lower())
        if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
            best = max(best, matcher.ratio())
    return best


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
        count = max(1, min(MAX_SHOTS, round(total / genre.shot_s)))
    if total / count < MIN_SHOT_S:
        fitted = max(1, int(total // MIN_SHOT_S))
        notices.append(f"{count} shots do not fit in {total:g} s at {MIN_SHOT_S:g} s each; planning {fitted}.")
        count = fitted
    if count > MAX_SHOTS:
        notices.append(f"{count} shots are more than shotsmith plans in one go; capped at {MAX_SHOTS}.")
    count = max(1, min(MAX_SHOTS, count))

    covered = _cover(_read_brief(_REQUEST.sub("", _strip_specs(text))), count, genre)
    durations = _durations(total, count)
    transition_s = round(min(0.5, min(durations) * 0.25), 2)
    shots: list[Shot] = []
    for i, (shot, seconds) in enumerate(zip(covered, durations, strict=True)):
        kind = genre.transition if i < count - 1 else TransitionKind.CUT
        transition = Transition(kind=kind, duration_s=transition_s if kind is not TransitionKind.CUT else 0.0)
        # The setting is the placement phrase of the prompt ("at the edge of a coffee shop"), as in a model's
        # drafts, so an edit that recomposes the prompt from the parts keeps it.
        shots.append(Shot(index=i + 1, prompt=shot.prompt, duration_s=seconds, camera=shot.camera, style=shot.style,
                          aspect_ratio=ratio, transition_to_next=transition, subject=shot.subject, action=shot.action,
                          setting=shot.where, lighting=shot.lighting))

    brief = Brief(text=text, duration_s=total, aspect_ratio=ratio, shot_count=count, notices=notices)
    plan = ShotPlan(shots=shots, aspect_ratio=ratio, fps=fps, planner=OFFLINE_PLANNER)
    return PlanResult(brief=brief, plan=plan, notices=notices)
