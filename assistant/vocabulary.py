"""The words of a brief that are not its subject: style, camera, lighting, framing, format.

A brief mixes what the video is *about* ("street food in Bangkok") with how it
should look and be shot ("gritty, handheld"). The offline planner used to take
every leftover phrase for a subject, so "handheld" became "Medium shot of
handheld in candid, natural motion". This module keeps one vocabulary per
kind of word, reads a phrase into the words left for the subject plus the cues
it carried, and never lets a cue stay behind in the subject.

Terms come in two strengths. *Strong* terms ("handheld", "gritty", "slow
motion", "at dusk", "close-up") are lifted out of any phrase, wherever they
stand, because they practically never name a subject. *Weak* terms ("warm",
"dark", "neon", "drone", "sunset") are also ordinary descriptions ("a dark
alley", "a delivery drone", "sunset over the ocean"), so they count as cues only
in a phrase that has nothing else in it ("warm and dark", "drone").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shotsmith.formats import CameraMove

# A camera or framing word often comes with a noun for the shot itself: "drone shot", "handheld footage".
_SHOT_NOUN = r"(?:[\s-]+(?:shots?|footage|views?|angles?|camera|cam|lens|moves?|movements?|work|b-roll))?"
# Word edges that treat hyphens as part of a word and keep "aerial.mp4" (a file name) whole.
_START = r"(?<![\w-])"
_END = r"(?![\w-]|\.[A-Za-z0-9])"


@dataclass(frozen=True)
class Term:
    """One vocabulary entry: how to find it, what kind of cue it is, and what it becomes in a prompt."""

    kind: str  # "camera", "framing", "style", "lighting" or "format"
    pattern: re.Pattern[str]
    move: CameraMove | None = None  # a camera word that maps onto one of the plan's moves
    phrase: str = ""  # what the prompt says instead (camera phrase, framing, lighting)
    noun: bool = False  # names a shot/video, so an "of"/"about" after it leads to the subject


def _term(kind: str, pattern: str, *, move: CameraMove | None = None, phrase: str = "", noun: bool = False,
          shot_noun: bool = False) -> Term:
    body = "(?:" + pattern + ")" + (_SHOT_NOUN if shot_noun else "")
    return Term(kind, re.compile(_START + "(?:" + body + ")" + _END, re.I), move, phrase, noun)


# -- camera: moves where one of the plan's moves fits, a prompt phrase where none does -----
_CAMERA: list[Term] = [
    _term("camera", r"crash[\s-]zoom(?:s|ing)?(?:[\s-]in)?", move=CameraMove.ZOOM_IN, shot_noun=True, noun=True),
    _term("camera", r"(?:slow[\s-])?push(?:es|ing)?[\s-]?ins?|zoom(?:s|ing)?[\s-]in|dolly(?:ing)?[\s-]in"
                    r"|(?:slow[\s-])?creep(?:s|ing)?[\s-]in|(?:slow[\s-])?move[\s-]in", move=CameraMove.ZOOM_IN,
          shot_noun=True, noun=True),
    _term("camera", r"(?:slow[\s-])?pull(?:s|ing)?[\s-]?(?:back|out)s?|zoom(?:s|ing)?[\s-]out"
                    r"|dolly(?:ing)?[\s-](?:out|back)|(?:slow[\s-])?reveal", move=CameraMove.ZOOM_OUT,
          shot_noun=True, noun=True),
    _term("camera", r"dolly[\s-]zooms?|vertigo[\s-](?:shot|effect)", phrase="dolly zoom", shot_noun=True, noun=True),
    _term("camera", r"dolly", move=CameraMove.ZOOM_IN, shot_noun=True, noun=True),
    _term("camera", r"pan(?:s|ning)?[\s-](?:to[\s-](?:the[\s-])?)?left|truck(?:s|ing)?[\s-]left",
          move=CameraMove.PAN_LEFT, shot_noun=True, noun=True),
    _term("camera", r"pan(?:s|ning)?[\s-](?:to[\s-](?:the[\s-])?)?right|truck(?:s|ing)?[\s-]right"
                    r"|pan(?:s|ning)?[\s-](?:across|over|along)|panning|tracking|track(?:s|ing)?[\s-](?:along|alongside|with)",
          move=CameraMove.PAN_RIGHT, shot_noun=True, noun=True),
    _term("camera", r"(?:tilt|crane|pedestal)(?:s|ing)?[\s-]up", move=CameraMove.TILT_UP, shot_noun=True, noun=True),
    _term("camera", r"(?:tilt|crane|pedestal)(?:s|ing)?[\s-]down", move=CameraMove.TILT_DOWN, shot_noun=True, noun=True),
    _term("camera", r"static|locked[\s-]off|lock[\s-]off|tripod|still[\s-]frame|fixed[\s-]camera",
          move=CameraMove.STATIC, shot_noun=True, noun=True),
    _term("camera", r"hand[\s-]?held|shaky[\s-]?cam(?:era)?|run[\s-]and[\s-]gun", phrase="handheld camera",
          shot_noun=True, noun=True),
    _term("camera", r"fpv(?:[\s-]drone)?(?:[\s-]fly[\s-]?(?:throughs?|overs?))?", phrase="FPV drone flythrough",
          shot_noun=True, noun=True),
    _term("camera", r"drone(?=[\s-]+(?:shots?|footage|views?|cam|camera|video|film|clip|reel|flyovers?"
                    r"|fly[\s-]?(?:over|through)s?|orbits?|sweeps?|passes?|pull|push|reveal|tracking|tracks?|rising|ascends?))"
                    r"|(?:shot[\s-])?(?:by|from|on|via)[\s-](?:a[\s-])?drone", phrase="aerial drone shot",
          shot_noun=True, noun=True),
    _term("camera", r"(?:(?:drone|aerial)[\s-]+)?(?:fly[\s-]?overs?|fly[\s-]?throughs?|flybys?)", phrase="aerial flyover",
          shot_noun=True, noun=True),
    _term("camera", r"aerials?|bird'?s?[\s-]eye(?:[\s-]view)?", phrase="aerial drone shot", shot_noun=True, noun=True),
    _term("camera", r"(?:in[\s-])?slow[\s-]?mo(?:tion)?|slo[\s-]?mo", phrase="slow motion", shot_noun=True, noun=True),
    _term("camera", r"time[\s-]?lapses?", phrase="time-lapse", shot_noun=True, noun=True),
    _term("camera", r"hyper[\s-]?lapses?", phrase="hyperlapse", shot_noun=True, noun=True),
    _term("camera", r"macro", phrase="macro lens", shot_noun=True, noun=True),
    _term("camera", r"steadicam|gimbal", phrase="smooth gimbal movement", shot_noun=True, noun=True),
    _term("camera", r"pov|first[\s-]person(?:[\s-]view)?|point[\s-]of[\s-]view", phrase="first-person POV",
          shot_noun=True, noun=True),
    _term("camera", r"fish[\s-]?eye", phrase="fisheye lens", shot_noun=True, noun=True),
    _term("camera", r"wide[\s-]angle(?:[\s-]lens)?", phrase="wide-angle lens", shot_noun=True, noun=True),
    _term("camera", r"shallow[\s-](?:depth[\s-]of[\s-]field|focus|dof)|bokeh", phrase="shallow depth of field", noun=True),
    _term("camera", r"rack[\s-]focus(?:es|ing)?", phrase="rack focus", shot_noun=True, noun=True),
    _term("camera", r"(?:overhead[\s-]+)?(?:top[\s-]down|flat[\s-]?lay)|overhead(?=[\s-]+(?:shots?|views?|angles?|cam))",
          phrase="overhead top-down angle", shot_noun=True, noun=True),
    _term("camera", r"(?:dutch|canted)[\s-]angle", phrase="dutch angle", shot_noun=True, noun=True),
    _term("camera", r"(?:360[\s-]*(?:degrees?[\s-]+)?)?(?:orbit(?:ing)?|arc|360)(?=[\s-]+(?:shots?|camera|cam|move))",
          phrase="orbiting camera",
          shot_noun=True, noun=True),
    _term("camera", r"whip[\s-]pans?", phrase="whip pan", shot_noun=True, noun=True),
    _term("camera", r"go[\s-]?pro|action[\s-]cam(?:era)?", phrase="action camera", shot_noun=True, noun=True),
    _term("camera", r"(?:shot[\s-])?on[\s-](?:an?[\s-])?(?:iphone|phone|smartphone|android|mobile)(?:[\s-]camera)?",
          phrase="smartphone camera", noun=True),
    _term("camera", r"long[\s-]takes?|oners?|(?:one|single)[\s-]takes?|continuous[\s-](?:shot|take)s?",
          phrase="one continuous take", noun=True),
    _term("camera", r"split[\s-]screens?", phrase="split screen", noun=True),
    _term("camera", r"underwater(?:[\s-](?:shots?|footage|camera|housing))?", phrase="underwater camera", noun=True),
    # Editing words name the cut, not what is in it: "whip pan transitions between street musicians".
    _term("camera", r"(?:(?:match|jump|smash|quick|fast|hard)[\s-]cuts?|cross[\s-]?fades?)(?:[\s-]transitions?)?"
                    r"(?:[\s-](?:between|from|to))?|transitions?(?:[\s-](?:between|from|to))?", noun=True),
]

# -- framing: how much of the subject the shot shows ------------------------------------
_FRAMING: list[Term] = [
    _term("framing", r"extreme[\s-]close[\s-]?ups?|ecu", phrase="Extreme close-up", shot_noun=True, noun=True),
    _term("framing", r"medium[\s-]close[\s-]?ups?", phrase="Medium close-up", shot_noun=True, noun=True),
    _term("framing", r"close[\s-]?ups?|tight[\s-]shots?", phrase="Close-up", shot_noun=True, noun=True),
    _term("framing", r"(?:medium|mid)(?:[\s-]wide)?[\s-]shots?", phrase="Medium shot", noun=True),
    _term("framing", r"extreme[\s-](?:wide|long)(?:[\s-]shots?)?", phrase="Extreme wide shot", noun=True),
    _term("framing", r"(?:wide[\s-])?establishing(?:[\s-]shots?)?", phrase="Wide establishing shot", noun=True),
    _term("framing", r"(?:wide|long)[\s-]shots?|wides", phrase="Wide shot", noun=True),
    _term("framing", r"inserts?(?:[\s-]shots?)?|detail[\s-]shots?|cutaways?", phrase="Insert shot", noun=True),
    _term("framing", r"over[\s-]the[\s-]shoulder(?:[\s-]shots?)?", phrase="Over-the-shoulder shot", noun=True),
    _term("framing", r"low[\s-]angle(?:[\s-]shots?)?", phrase="Low-angle shot", noun=True),
    _term("framing", r"high[\s-]angle(?:[\s-]shots?)?", phrase="High-angle shot", noun=True),
]

# -- lighting: a time of day after a preposition, and words that only ever describe light ----
_TIMES_OF_DAY = {
    "dawn": "dawn light", "daybreak": "dawn light", "first light": "dawn light", "sunrise": "sunrise light",
    "dusk": "dusk light", "twilight": "twilight", "sunset": "sunset light", "golden hour": "golden hour light",
    "magic hour": "golden hour light", "blue hour": "blue hour light", "night": "night-time light",
    "nightfall": "night-time light", "nighttime": "night-time light", "night-time": "night-time light",
    "midday": "bright midday sun", "noon": "bright midday sun", "morning": "morning light", "evening": "evening light",
}
_LIGHTING: list[Term] = [
    _term("lighting", r"(?:at|during|by|in|around|after|before)[\s-](?:the[\s-])?(?:"
          + "|".join(re.escape(t).replace(r"\ ", r"[\s-]") for t in sorted(_TIMES_OF_DAY, key=len, reverse=True)) + ")"),
    _term("lighting", r"by[\s-](?:candle|moon|fire)[\s-]?light|under[\s-](?:the[\s-])?(?:neon|street|stage)[\s-]?lights?"
                      r"|under[\s-](?:the[\s-])?moonlight"),
    _term("lighting", r"(?:back|sun|candle|moon|neon|rim|fire)[\s-]?lit|low[\s-]key(?:[\s-]light(?:ing)?)?"
                      r"|high[\s-]key(?:[\s-]light(?:ing)?)?|golden[\s-]hour(?:[\s-]light)?|blue[\s-]hour|chiaroscuro"
                      r"|lens[\s-]flares?|volumetric(?:[\s-]light(?:ing)?)?|god[\s-]rays"),
]

# -- style, mood and grade --------------------------------------------------------------
_STYLE: list[Term] = [
    _term("style", r"cinematic(?:ally)?|filmic|film[\s-]look|(?:heavy[\s-])?film[\s-]grain|grainy|gritty|moody|dreamy"
                   r"|dreamlike|ethereal|(?:film[\s-])?noir|whimsical|styli[sz]ed|lo[\s-]?fi|desaturated"
                   r"|(?:high|low)[\s-]contrast|black[\s-](?:and|&)[\s-]white|monochrome|monochromatic|sepia"
                   r"|(?:super[\s-]?)?8[\s-]?mm|16[\s-]?mm|35[\s-]?mm|65[\s-]?mm|70[\s-]?mm|super[\s-]?8|vhs|anamorphic"
                   r"|documentary[\s-]style|doc[\s-]style|vlog[\s-]style|photo[\s-]?real(?:istic)?|hyper[\s-]?real(?:istic)?"
                   r"|surreal|minimalist(?:ic)?|atmospheric|nostalgic|melancholic|melancholy|upbeat|energetic|punchy"
                   r"|vibrant|playful|elegant|luxurious|polished|glossy|sleek|dramatic|suspenseful|eerie|ominous|quirky"
                   r"|cyberpunk|vaporwave|teal[\s-](?:and|&)[\s-]orange|saturated|epic|high[\s-]energy|fast[\s-]paced"
                   r"|slow[\s-]paced|glitch(?:y)?|retro[\s-]futuristic|stop[\s-]motion|claymation|painterly|technicolou?r"
                   r"|behind[\s-]the[\s-]scenes|[2468][\s-]?k|uhd|hdr|\d+[\s-]?fps|ultra[\s-]?(?:realistic|hd|detailed)"
                   r"|hyper[\s-]?detailed|highly[\s-]detailed|high[\s-]resolution|hi[\s-]?res"),
]

# -- format: what kind of video it is; these name the video, never what is in it ----------
_FORMAT: list[Term] = [
    _term("format", r"music[\s-]video|lyric[\s-]video|short[\s-]film|sizzle[\s-]reel|highlights?(?:[\s-]reel)?"
                    r"|advert(?:isement)?|ad|commercial|promo|spot|explainer|tutorial|demo|walkthrough|trailer|teaser"
                    r"|video|film|movie|clip|reel|vlog|documentary|doc|montage|recap|loop|post|animation|sequence"
                    r"|edit|sting|bumper|intro|outro|showcase|testimonial|footage|b-roll|tour|thing|something|piece|content"
                    r"|series|episode|short|(?:the[\s-])?making[\s-]of", noun=True),
]
# Platforms say where the video goes (and so its aspect), never what it shows.
PLATFORM = re.compile(_START + r"(?:instagram|insta|ig|facebook|fb|linkedin|snapchat|pinterest|twitter|youtube|tiktok"
                      r"|reels?|shorts|vimeo|twitch|social[\s-]media|(?:for[\s-])?social|(?:the[\s-])?feed)" + _END, re.I)

# Weak cue words: cues only in a phrase that holds nothing else.
_WEAK_STYLE = frozenset(
    "warm cool cold dark bright clean soft calm friendly bold fun minimal modern classic simple colourful colorful "
    "natural vintage retro neon golden crisp fresh cosy cozy serene gentle fast slow quiet calming inspiring "
    "inspirational emotional heartfelt joyful happy sad documentary pastel luxury premium stylish aesthetic artsy "
    "trendy chill relaxed lively dynamic smooth subtle rich deep airy earthy organic authentic candid funny cute sweet "
    "mysterious tense creepy spooky scary romantic magical festive corporate professional futuristic indie urban "
    "rustic industrial tropical wintry summery autumnal hopeful uplifting striking stunning beautiful gorgeous "
    "sci-fi horror comedic dreamy muted grain film-grain fantasy highlights vignette vignetting halation contrast "
    "saturation hues tint bloom flare flares heavy strong slight thick".split())
_WEAK_LIGHTING = frozenset(
    "light lights lighting lit glow glowing sunlight daylight moonlight candlelight shadow shadows morning evening "
    "night dawn dusk sunrise sunset overcast backlight hard harsh diffused dappled ambient practical studio window "
    "foggy misty hazy haze fog mist silhouette silhouettes".split())
_WEAK_CAMERA = {"drone": "aerial drone shot", "overhead": "overhead top-down angle", "orbit": "orbiting camera",
                "orbiting": "orbiting camera", "zoom": "slow push-in"}
# Nouns that make a phrase a style or lighting phrase: "warm vintage 16mm look", "soft window light".
_STYLE_HEADS = frozenset("look looks grade grading graded style aesthetic palette tone tones vibe vibes feel feeling "
                         "mood treatment finish lut colours colors colour color stock energy pace".split())
_LIGHTING_HEADS = frozenset("light lighting lit glow backlight backlighting shadows".split())
# Words that carry no content of their own.
FILLER = frozenset(
    "a an the and or with in on of very really super slightly lots lot some all plus throughout mostly mainly "
    "please make it its it's keep use using go for to be should that is are but also more overall bit little kind "
    "sort shot shots footage camera lens work movement movements moves feel vibe vibes look style shot filmed long "
    "short quick brief total length duration approx approximately roughly".split())
_ARTICLES = r"(?:a|an|the|some|lots[\s-]of|plenty[\s-]of|more)"
_LEAD_PREPOSITIONS = (r"(?:of|over|across|through|above|about|for|on|showing|featuring|starring|following|with|from"
                      r"|into|along|alongside|around|to)")


@dataclass
class Reading:
    """What one phrase of a brief says: the words left for its subject and the cues it carried."""

    text: str  # the subject (and action) words, "" when the phrase was all cues
    moves: list[CameraMove] = field(default_factory=list)
    camera: list[str] = field(default_factory=list)  # prompt phrases for camera words no move fits
    framing: str | None = None
    style: list[str] = field(default_factory=list)
    lighting: list[str] = field(default_factory=list)
    format_noun: bool = False  # the phrase named the video ("an ad", "a vlog")


def _matches(text: str, terms: list[Term]) -> list[tuple[int, int, Term]]:
    """Non-overlapping matches, earliest first and, at one place, the longest."""
    found = sorted(((m.start(), m.end(), t) for t in terms for m in t.pattern.finditer(text)),
                   key=lambda f: (f[0], -(f[1] - f[0])))
    kept: list[tuple[int, int, Term]] = []
    for start, end, term in found:
        if not kept or start >= kept[-1][1]:
            kept.append((start, end, term))
    return kept


def _first_format_only(text: str, found: list[tuple[int, int, Term]]) -> list[tuple[int, int, Term]]:
    """Only the words that name the video are format words: "a film about a sunny spot" keeps its spot."""
    kept, named_end = [], None
    for start, end, term in found:
        if term.kind == "format":
            if named_end is not None and text[named_end:start].strip():
                continue
            named_end = end
        kept.append((start, end, term))
    return kept


def _lighting_phrase(words: str) -> str:
    """ "at dusk" -> "dusk light"; "backlit" stays "backlit"."""
    bare = re.sub(r"^(?:at|during|by|in|around|after|before)[\s-](?:the[\s-])?", "", words.lower()).replace("-", " ")
    bare = re.sub(r"\s+", " ", bare)
    return _TIMES_OF_DAY.get(bare, _TIMES_OF_DAY.get(bare.replace(" ", "-"), words.strip()))


def _fix_articles(marked: str) -> str:
    """Articles left behind by a removed word: "an [aerial] street" -> "a street", "a [static] of" -> "of".

    Works on the marked phrase so that only articles next to a removed word
    change: "an SUV" stays as the user wrote it.
    """
    marks = r"(?:\s*[\x01\x02])+\s*"
    marked = re.sub(rf"\b(?:a|an|the)(?={marks}(?:(?:a|an|the|of|with|in|on|at|and|or)\b|$))", "", marked, flags=re.I)

    def article(m: re.Match[str]) -> str:
        word = m.group(2)
        want = "an" if word[0].lower() in "aeiou" and not word.lower().startswith(("uni", "use", "one", "eu")) else "a"
        return (want.capitalize() if m.group(1)[0].isupper() else want) + " " + word

    return re.sub(rf"\b(an?){marks}(\w+)", article, marked, flags=re.I)


def _tidy(text: str) -> str:
    text = re.sub(r"[^\w\s'&.-]", " ", text)
    text = re.sub(r"\s+", " ", text).strip(" .-&")
    for _ in range(3):  # conjunctions and prepositions left dangling at either end
        text = re.sub(r"^(?:and|or|with|plus|also|then|finally|in|on|of|at|to|by|as)\s+", "", text, flags=re.I)
        text = re.sub(r"\s+(?:and|or|with|of|by|as|the|a|an)$", "", text, flags=re.I)
    return text.strip(" .-&")


def content_words(text: str) -> list[str]:
    """The words of ``text`` that are not filler or weak cue words."""
    words = re.findall(r"[\w'&-]+", text.lower())
    return [w for w in words if w not in FILLER and w not in _WEAK_STYLE and w not in _WEAK_LIGHTING
            and w not in _WEAK_CAMERA and w not in _STYLE_HEADS and w not in _LIGHTING_HEADS and not w.isdigit()]


def read_phrase(text: str, *, names_format: bool = False) -> Reading:
    """Split one phrase into its subject words and its style/camera/lighting/framing cues.

    ``names_format`` reads format nouns too ("ad", "vlog", "documentary"): the
    planner asks for it on the clause that names the video, where "a street
    food vlog" is about street food, not about a vlog. A phrase with no subject
    words left ("warm cinematic grade", "handheld", "low-key lighting") is all
    cues, and its style or lighting keeps the user's own wording.
    """
    terms = _CAMERA + _FRAMING + _LIGHTING + _STYLE + (_FORMAT if names_format else [])
    reading = Reading(text="")
    pieces: list[str] = []  # the phrase with every term replaced by a marker
    looks: list[str] = []  # the phrase without its camera and framing words
    last = 0
    for start, end, term in _first_format_only(text, _matches(text, terms)):
        pieces.append(text[last:start])
        looks.append(text[last:start])
        words = text[start:end]
        if term.kind == "camera":
            if term.move is not None:
                reading.moves.append(term.move)
            if term.phrase:
                reading.camera.append(term.phrase)
        elif term.kind == "framing":
            reading.framing = reading.framing or term.phrase
        elif term.kind == "lighting":
            reading.lighting.append(_lighting_phrase(words))
            looks.append(words)
        elif term.kind == "style":
            reading.style.append(words.strip())
            looks.append(words)
        else:
            reading.format_noun = True
        pieces.append(" \x01 " if term.noun else " \x02 ")
        last = end
    pieces.append(text[last:])
    looks.append(text[last:])
    marked = "".join(pieces)
    # A phrase that opens with a shot or video noun is about what follows its "of"/"about":
    # "a static close-up of a glass" -> "a glass", "a documentary about a keeper" -> "a keeper".
    lead = re.match(rf"^(.*?)\x01\s*{_LEAD_PREPOSITIONS}\s+", marked, re.I)
    if lead and _opens_with_cues(lead.group(1), names_format):
        marked = marked[lead.end():]
    # "interior shot of the driver", "a view of the sea": the words before a shot noun frame the shot.
    marked = re.sub(rf"^\s*(?:{_ARTICLES}\s+)?(?:[\x01\x02]\s+)*(?:[\w-]+\s+)?(?:[\x01\x02]\s+)*(?:shots?|views?|angles?"
                    r"|footage|scenes?|portraits?)\s+(?:of|from|over|across|on)\s+", "", marked, flags=re.I)
    reading.text = _tidy(re.sub(r"\s*[\x01\x02]\s*", " ", _fix_articles(marked)))
    if reading.text and (is_style_phrase(reading.text) or is_lighting_phrase(reading.text)) \
            and not _shows_action(reading.text):
        looks = [text]  # "pixel-art aesthetic", "soft window light": a look, in the user's words
        reading.text = ""
    if not content_words(reading.text):
        _read_cues_only(_tidy(" ".join(" ".join(looks).split())), reading)
        reading.text = ""
    return reading


_ING_NOUNS = frozenset("morning evening lighting backlighting ceiling building ring spring string king thing nothing "
                       "something everything wedding clothing setting ending opening".split())


def _shows_action(text: str) -> bool:
    """An -ing word after the first ("light spilling out") means the phrase shows something happen."""
    words = re.findall(r"[\w-]+", text.lower())[1:]
    return any(w.endswith("ing") and len(w) > 4 and w not in _ING_NOUNS for w in words)


def _opens_with_cues(lead: str, names_format: bool) -> bool:
    """Only drop the words before a shot noun when they describe the video, not the subject.

    "product demo of a thermostat" drops "product" (the head clause names the
    video); in a beat, "interior close-up of the dashboard" keeps "interior of".
    """
    words = [w for w in re.findall(r"[\w'-]+", lead.lower()) if not re.fullmatch(_ARTICLES, w)]
    return names_format or not words


def _read_cues_only(looks: str, reading: Reading) -> None:
    """A phrase with no subject words: one style or one lighting cue in the user's words, plus weak camera words."""
    words = re.findall(r"[\w'&-]+", looks.lower())
    for word in words:
        if word in _WEAK_CAMERA and _WEAK_CAMERA[word] not in reading.camera:
            reading.camera.append(_WEAK_CAMERA[word])
    rest = _tidy(" ".join(w for w in re.findall(r"[\w'&-]+", looks) if w.lower() not in _WEAK_CAMERA))
    rest = re.sub(rf"^{_ARTICLES}\s+", "", rest, flags=re.I)
    kept = {w.lower() for w in re.findall(r"[\w'&-]+", rest)} - FILLER
    if not kept or not re.search(r"[a-z]{3,}", rest.lower()):
        reading.style, reading.lighting = [], []
        return
    lighting = (is_lighting_phrase(rest) or bool(reading.lighting)
                or (bool(kept & _WEAK_LIGHTING) and not reading.style and not kept & _STYLE_HEADS))
    rest = re.sub(r"\b[A-Z]{2,}\b", lambda m: m.group(0).lower(), rest)  # a shouted "GRITTY" is still just gritty
    reading.style, reading.lighting = ([], [rest]) if lighting else ([rest], [])


def is_lighting_phrase(text: str) -> bool:
    """A short phrase about light: "morning light", "soft window light", "diffused light through fog".

    The word for light must follow another word: "light rain" is weather.
    """
    words = re.findall(r"[\w'-]+", text.lower())
    return 0 < len(words) <= 7 and any(w in _LIGHTING_HEADS for w in words[1:])


def is_style_phrase(text: str) -> bool:
    """A short phrase that ends on a word for a look: "warm vintage 16mm look", "documentary style"."""
    words = re.findall(r"[\w'-]+", text.lower())
    return 0 < len(words) <= 6 and words[-1] in _STYLE_HEADS


def strip_cues(text: str) -> str:
    """``text`` without its style, camera, lighting and framing words, prepositions and all else kept.

    The planner looks for the setting ("in Bangkok", "for a coffee shop") here,
    so "in slow motion" or "at dusk" is never taken for a place.
    """
    out, last = [], 0
    for start, end, _ in _matches(text, _CAMERA + _FRAMING + _LIGHTING + _STYLE):
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    return " ".join(" ".join(out).split())
