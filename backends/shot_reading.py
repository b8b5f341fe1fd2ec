"""What a storyboard panel must show, read from a shot's request: framing, people, setting, light.

The planner writes prompts as "<Framing> of <subject> <action>, <where>,
<camera>, <lighting>, <style>" (and users write freer ones), so the panel is
read from the words: the framing phrase (wide, medium, close-up, over-the-
shoulder, two-shot, insert), whether the subject is a person and how many,
the kind of place, and where the light comes from. Kept apart from the
drawing so the reading can be tested on its own and reused (contact sheets,
captions for panels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from shotsmith.backends.base import GenerationRequest


class Framing(StrEnum):
    EXTREME_WIDE = "extreme wide"
    WIDE = "wide"
    MEDIUM = "medium"
    MEDIUM_CLOSE = "medium close-up"
    CLOSE = "close-up"
    EXTREME_CLOSE = "extreme close-up"
    OVER_SHOULDER = "over-the-shoulder"
    TWO_SHOT = "two-shot"
    INSERT = "insert"


#: Framing phrases, most specific first (the first match in the prompt's opening words wins).
FRAMING_WORDS: list[tuple[str, Framing]] = [
    (r"extreme[\s-]close[\s-]?up|\becu\b|macro|tight detail", Framing.EXTREME_CLOSE),
    (r"medium[\s-]close[\s-]?up|\bmcu\b", Framing.MEDIUM_CLOSE),
    (r"over[\s-]the[\s-]shoulder|\bots\b", Framing.OVER_SHOULDER),
    (r"two[\s-]shot", Framing.TWO_SHOT),
    (r"close[\s-]?up|tight shot|portrait", Framing.CLOSE),
    (r"\binsert|detail shot|cutaway|hands? (?:holding|hold|pick|pour|tap|open)", Framing.INSERT),
    (r"extreme[\s-](?:wide|long)|bird'?s[\s-]eye|aerial|top[\s-]down|drone|establishing|sweeping wide",
     Framing.EXTREME_WIDE),
    (r"\bwide\b|long shot|full shot|wides\b", Framing.WIDE),
    (r"medium|mid[\s-]shot|waist", Framing.MEDIUM),
]

#: Camera height words: a low angle puts the horizon low (the subject looms), a high angle high.
#: "a lower angle" is how a redo asks for it ("redo 3 with a lower angle").
ANGLE_WORDS = [(r"low(?:er)?[\s-]angle|low(?:er)? camera|worm'?s[\s-]eye", "low"),
               (r"high(?:er)?[\s-]angle|high(?:er)? camera|bird'?s[\s-]eye|top[\s-]down|overhead shot", "high")]
#: Viewpoint phrases the planner adds for variety ("from slightly above"): weaker than an angle named as such, so
#: "Low-angle shot of …, from slightly above" stays a low angle.
VIEWPOINT_WORDS = [(r"from (?:slightly )?below", "low"), (r"from (?:slightly )?above", "high")]

PERSON_WORDS = set("""person people man men woman women girl girls boy boys child children kid kids baby toddler
teen teenager couple family friend friends crowd team group audience fan fans guest guests customer customers
shopper shoppers barista baristas chef chefs cook baker worker workers runner runners athlete dancer dancers singer
musician detective doctor nurse teacher student students farmer driver rider cyclist skater surfer hiker climber
player players host presenter model owner founder artist painter mother father mum mom dad grandmother
grandfather grandma grandpa someone character hero heroine actor actress employee engineer scientist mechanic
pilot soldier officer firefighter waiter waitress bartender barber stylist florist gardener fisherman sailor
traveller traveler tourist tourists commuter commuters passenger passengers vendor seller buyer entrepreneur
he she they her him lady ladies gentleman gentlemen bride groom king queen knight wizard astronaut explorer
reader writer photographer filmmaker boxer yogi swimmer skier gamer coach""".split())
#: Words that put two people in the shot, or a group.
PAIR_WORDS = re.compile(r"\b(couple|pair|duo|two (?:people|friends|men|women|kids)|both|two[\s-]shot|"
                        r"together with|and (?:his|her|their) (?:friend|partner|wife|husband))\b")
GROUP_WORDS = re.compile(r"\b(crowd|people|team|group|family|friends|audience|customers|guests|students|"
                         r"dancers|players|workers|tourists|commuters|passengers|fans)\b")

#: Places by the way they are drawn; interiors first ("a coffee shop in the old town" is inside), unless the
#: words put the camera outside the building (:data:`EXTERIOR`).
SETTING_KINDS: list[tuple[str, str]] = [
    (r"\b(shop|caf[eé]|kitchen|room|office|studio|bar|restaurant|store|interior|inside|home|house|apartment|flat|"
     r"gym|lab|library|hall|corridor|bedroom|lobby|classroom|bakery|salon|workshop|garage|warehouse|counter|"
     r"window|table|desk|stage|oven|ceiling)\b", "interior"),
    (r"\b(beach|sea|ocean|lake|river|coast|shore|harbou?r|waves?|pier|bay|sand|dunes?|surf)\b", "water"),
    (r"\b(forest|park|garden|field|mountains?|hills?|meadow|woods|trees|countryside|farm|valley|jungle|trail|"
     r"vineyard|orchard)\b", "nature"),
    (r"\b(street|city|town|road|downtown|urban|alley|market|neighbou?rhood|square|rooftop|skyline|avenue|"
     r"crossing|station|bridge|building|pavement|sidewalk|storefront|shopfront|doorstep|porch|terrace|patio)\b",
     "street"),
]
#: The camera outside a building ("just outside a coffee shop", "in front of the bakery"): a street, not a room.
EXTERIOR = re.compile(r"\b(outside|in front of|out front|exterior|facade|façade|storefront|shopfront|doorstep)\b")
#: A trade or its things with no place named: "a baker shaping sourdough", "brewing pour-over coffee" happen indoors.
INDOOR_WORK = re.compile(r"\b(barista|baker|bakers|chef|chefs|cook|bartender|waiter|waitress|sourdough|dough|loaf|"
                         r"loaves|bread|pastr(?:y|ies)|croissants?|cakes?|latte|espresso|pour[\s-]over|brew(?:ing|s)?|"
                         r"coffee|tea|laptop|keyboard)\b")

#: Prepositions a setting clause starts with ("in a bakery", "just outside a coffee shop").
PLACE_PREPOSITIONS = ("in ", "at ", "on ", "near ", "by ", "inside ", "outside ", "under ", "along ", "across ",
                      "beside ", "behind ", "through ", "around ", "within ", "into ", "over ", "among ",
                      "in front of ", "next to ")
#: How a place is qualified before its preposition: "just outside", "deep inside", "right by".
PLACE_QUALIFIER = re.compile(r"^(?:just|right|deep|far|somewhere|way|high|low|out)\s+(?=\w)", re.I)
#: What follows "in"/"on" in planner padding and is no place: "in mid-motion", "in a quieter beat", "in soft
#: focus", "in the rain" (weather), "in profile".
NOT_PLACES = re.compile(r"\b(motion|moment|beat|focus|frame|detail|details|profile|light|lighting|shadows?|rain|"
                        r"snow|fog|mist|haze|silence|style|time|background|foreground|depth|space|backdrop|colou?rs?|"
                        r"tones?|grade|look|mood|silhouette|slow|candid|view|shot|close-up|angle|sequence|"
                        # who is looked at, not where: "waves at the camera", "smiles at the viewer"
                        r"camera|lens|viewers?|audience|screen)\b")
#: A place inside a clause: preposition, determiner, the place's words (up to the next preposition or the end).
PLACE_IN_CLAUSE = re.compile(r"\b(?:(?:just|right|deep)\s+)?(in front of|next to|outside|inside|in|at|on|near|by|"
                             r"beside|behind|over|along)\s+((?:the|a|an|her|his|their|its|our)\s+[\w\s'’-]+?)"
                             r"(?=\s+(?:in|at|on|with|as|while|during|for|near|by|under)\b|$)", re.I)

#: Words for the light, most telling first: (pattern, key). See :class:`Light`.
LIGHT_WORDS: list[tuple[str, str]] = [
    (r"back[\s-]?lit|backlight|\brim light|silhouett|contre[\s-]jour", "back"),
    (r"golden hour|sunset|dusk|evening sun|late afternoon", "golden"),
    (r"morning|sunrise|dawn|early light", "morning"),
    (r"side[\s-]?light|side[\s-]lit|window light|chiaroscuro|rembrandt|low[\s-]key", "side"),
    (r"top[\s-]?light|overhead|midday|noon|harsh sun|spotlight", "top"),
    (r"night|moon|neon|after dark|streetlight|street light", "night"),
]


@dataclass(frozen=True)
class Light:
    """Where the light comes from and its colour: ``x``/``y`` in frame fractions (may lie outside the frame)."""

    key: str
    x: float
    y: float
    colour: tuple[int, int, int]
    strength: float
    sun: bool  # draw the source itself (a low sun, the moon)


LIGHTS = {
    "morning": Light("morning", 0.12, 0.30, (255, 236, 190), 0.55, True),
    "golden": Light("golden", 0.86, 0.42, (255, 170, 80), 0.75, True),
    "side": Light("side", -0.25, 0.35, (255, 244, 220), 0.6, False),
    "back": Light("back", 0.5, 0.52, (255, 230, 180), 0.85, True),
    "top": Light("top", 0.5, -0.35, (255, 252, 240), 0.6, False),
    "night": Light("night", 0.82, 0.16, (190, 210, 255), 0.35, True),
    "soft": Light("soft", 0.2, -0.3, (255, 250, 240), 0.35, False),
}


@dataclass(frozen=True)
class ShotReading:
    framing: Framing
    angle: str  # "eye", "low" or "high"
    subject: str  # the short subject label
    setting: str  # the short setting label ("" when the prompt names no place)
    setting_kind: str  # "interior", "street", "nature", "water" or "open"
    people: int  # 0 (an object), 1, 2 or 3 (a group)
    object_kind: str  # what to draw when the subject is a thing: cup, bottle, device, cluster, box
    light: Light
    subject_is_place: bool = False  # "a coffee shop", "the street": the setting is what the shot shows
    hands: bool = False  # "hands dust flour": a hand at work rather than a whole figure


def _clauses(prompt: str) -> list[str]:
    return [c.strip() for c in re.split(r"[,;]\s*|\.\s+", prompt) if c.strip()]


def read_framing(prompt: str) -> Framing:
    head = prompt.lower()[:80]
    for pattern, framing in FRAMING_WORDS:
        if re.search(pattern, head):
            return framing
    return Framing.MEDIUM


def read_angle(prompt: str) -> str:
    """The camera height the prompt names last: a redo's note is appended, so it overrides the planner's words.
    An angle named as such ("low-angle", "a higher angle") wins over a viewpoint phrase ("from slightly above")."""
    text = prompt.lower()
    for words in (ANGLE_WORDS, VIEWPOINT_WORDS):
        found = [(m.start(), angle) for pattern, angle in words for m in re.finditer(pattern, text)]
        if found:
            return max(found)[1]
    return "eye"


#: How planner prompts pad an action ("revealed in fine detail", "with subtle, lifelike movement"): cut from labels.
FILLER = re.compile(r"\s+(?:with (?:subtle|movement|energy)|in (?:candid|fine|mid-motion|a quieter)|revealed|caught|"
                    r"seen from|filling the frame|catching the light|at the cent(?:re|er) of|entering the frame|"
                    r"moving naturally|as the moment|between movements)\b.*$", re.I)


def read_subject(prompt: str) -> str:
    """The first clause without its framing phrase and filler: "Close-up of a barista pours latte art" -> "a barista…"."""
    first = _clauses(prompt)[0] if _clauses(prompt) else prompt
    match = re.match(r"^[\w\s'’-]*?\b(?:shot|view|close[\s-]?up|insert|wide|two[\s-]shot|detail)\b[\w\s-]*?\bof\s+",
                     first, re.I)
    if match:
        first = first[match.end():]
    return FILLER.sub("", first).strip()


def _place_clause(clause: str) -> str | None:
    """``clause`` as a setting label when it names a place ("just outside a coffee shop" -> "outside a coffee
    shop", "in a bakery" -> "a bakery"), or None ("in mid-motion", "in a quieter beat" are padding)."""
    text = PLACE_QUALIFIER.sub("", clause)
    low = text.lower()
    if not low.startswith(PLACE_PREPOSITIONS) or NOT_PLACES.search(low):
        return None
    return re.sub(r"^(in|inside|at|within)\s+", "", text, flags=re.I)


def read_setting(prompt: str) -> str:
    """Where the shot is: a later clause that names a place, else a place inside the subject's clause
    ("a woman waits just outside a coffee shop in the rain" -> "outside a coffee shop"), else ""."""
    for clause in _clauses(prompt)[1:]:
        place = _place_clause(clause)
        if place:
            return place
    for match in PLACE_IN_CLAUSE.finditer(read_subject(prompt)):
        preposition, place = match.group(1).lower(), match.group(2)
        if not NOT_PLACES.search(place.lower()):
            return place if preposition in ("in", "inside", "at") else f"{preposition} {place}"
    return _place_phrase(read_subject(prompt))


#: Words that open a noun phrase naming a place ("her coffee shop", "the oven").
DETERMINERS = {"the", "a", "an", "her", "his", "their", "its", "our", "my", "your"}


def _place_phrase(text: str) -> str:
    """A place the subject names without a preposition, a determiner and up to three words ending in a place
    word: "mara opens her coffee shop" -> "her coffee shop", "loaves coming out of the oven" -> "the oven"."""
    words = text.split()
    for i, word in enumerate(words):
        if word.lower() in DETERMINERS:
            for end in range(i + 2, min(i + 4, len(words)) + 1):
                if _named_place_kind(words[end - 1]) != "open":
                    return " ".join(words[i:end])
    return ""


def read_people(text: str, *, characters: int = 0) -> int:
    low = text.lower()
    if GROUP_WORDS.search(low):
        return 3
    if PAIR_WORDS.search(low) or characters >= 2:
        return 2
    words = set(re.findall(r"[a-z]+", low))
    if words & PERSON_WORDS or characters or "@" in text:
        return 1
    return 0


def read_object(text: str) -> str:
    low = text.lower()
    for pattern, kind in ((r"\b(cups?|mugs?|coffee|latte|espresso|tea|cappuccino)\b", "cup"),
                          (r"\b(bottles?|wine|beer|drink|perfume|juice|soda)\b", "bottle"),
                          (r"\b(phones?|laptops?|screens?|app|device|tablet|watch|camera)\b", "device"),
                          (r"\b(beans|seeds|berries|coins|stones|grains|candies|pills|nuts|flowers|leaves)\b",
                           "cluster")):
        if re.search(pattern, low):
            return kind
    return "box"


def _named_place_kind(text: str) -> str:
    """The kind of the place ``text`` names in so many words, or "open" (no place word)."""
    low = text.lower()
    outside = bool(EXTERIOR.search(low))
    for pattern, kind in SETTING_KINDS:
        if outside and kind == "interior":
            continue  # the building is seen from outside: its street, unless water or nature is named
        if re.search(pattern, low):
            return kind
    return "street" if outside else "open"


def read_setting_kind(text: str) -> str:
    """How the place is drawn: the place named, else indoors for indoor work (a baker, brewing coffee), else
    "open" (a plain horizon)."""
    kind = _named_place_kind(text)
    if kind == "open" and INDOOR_WORK.search(text.lower()):
        return "interior"
    return kind


def read_light(text: str) -> Light:
    low = text.lower()
    for pattern, key in LIGHT_WORDS:
        if re.search(pattern, low):
            return LIGHTS[key]
    return LIGHTS["soft"]


def shorten(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:- ")
    return f"{cut}…"


#: Words ending in -ing that are things or places, not the verb that ends a subject's noun phrase.
ING_NOUNS = {"building", "ceiling", "crossing", "clearing", "landing", "wing", "ring", "spring", "morning", "evening",
             "painting", "clothing", "railing", "string", "king", "ping", "thing", "something", "nothing"}


def _head_phrase(subject: str) -> str:
    """The subject's noun phrase, before its first preposition or -ing verb: "a cup of coffee on the counter" ->
    "a cup", "a coffee shop setting the scene" -> "a coffee shop", "flour dusting the counter" -> "flour"."""
    head = re.split(r"\s(?:on|in|at|by|with|near|of|under|over|from|inside|outside of)\s", subject, maxsplit=1)[0]
    words = head.split()
    for i, word in enumerate(words[1:], 1):
        if word.lower().endswith("ing") and word.lower() not in ING_NOUNS:
            return " ".join(words[:i])
    return head


def _is_place(head: str) -> bool:
    """Whether a subject's noun phrase is a place ("a neighbourhood coffee shop", "the street"), not a sentence
    that mentions one ("mara and theo open their coffee shop")."""
    words = head.split()
    return _named_place_kind(head) != "open" and bool(words) and (words[0].lower() in DETERMINERS or len(words) <= 4)


def read_shot(request: GenerationRequest) -> ShotReading:
    """Everything the panel draws, from the prompt, the style and the cast references."""
    prompt = request.prompt
    subject = read_subject(prompt)
    setting = read_setting(prompt)
    characters = sum(1 for r in request.references if r.role == "character")
    framing = read_framing(prompt)
    people = read_people(subject or prompt, characters=characters)
    if framing is Framing.TWO_SHOT:
        people = max(people, 2)
    if framing is Framing.OVER_SHOULDER:
        people = max(people, 1)
    return ShotReading(framing=framing, angle=read_angle(prompt), subject=subject, setting=setting,
                       setting_kind=read_setting_kind(setting or prompt), people=people,
                       object_kind=read_object(subject or prompt), light=read_light(f"{prompt} {request.style}"),
                       subject_is_place=people == 0 and _is_place(_head_phrase(subject)),
                       hands=bool(re.search(r"\bhands?\b", subject.lower())))
