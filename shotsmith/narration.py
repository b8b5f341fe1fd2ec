"""The narration script: voice-over lines per shot, written to fit, placed on the cut, checked after synthesis.

Why its own model: a voice-over line belongs to a shot (it is cut, moved and
re-timed with it), but its length is set by speech, not by the picture. So the
script is written against a speaking rate (:data:`WORDS_PER_S`, about 2.5 words
a second in English), and once the voice exists, :func:`fit` checks each line
against its shot with the voice's real word timings: a line either ends before
its shot does (less a small tail), or the report says by how much it runs over
and offers the two fixes an editor would, with numbers: a longer shot, or a
shorter line (how many words fit). A voice clip is never cut: the render plays
each line whole from :func:`place`'s start, so no word is cut at a boundary.

Editing in chat ("shorter", "say 'open daily from 7'") works on the same
model: :meth:`NarrationScript.with_line` replaces one line, :func:`shorter`
condenses every line to fewer words (deterministically: filler and describing
words go first, then the line is cut at a word boundary), so each change is a
new script the project history keeps, and only a changed line is spoken again
(speech is cached per line).

The offline planner's :func:`write_script` is deliberately plain (no model):
the brief's own phrases become lines, an explainer gets an opening and a
closing line about its topic; an LLM planner writes better ones through the
same model (``NarrationScript``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from shotsmith.brief import Brief, ShotPlan
from shotsmith.errors import InvalidInputError
from shotsmith.timeline import AudioTrack

#: Typical narration speaking rates, words per second (voice-over pace, a little under conversation).
WORDS_PER_S: dict[str, float] = {"en": 2.5, "de": 2.2, "fr": 2.6, "es": 2.7, "it": 2.6, "pt": 2.6, "nl": 2.4}
DEFAULT_WORDS_PER_S = 2.4
#: The voice starts this long after its shot does, and ends at least this long before the shot ends.
LEAD_IN_S = 0.15
TAIL_S = 0.25

_NARRATION = re.compile(r"\b(narrat\w*|voice[- ]?overs?|voiceovers?|explainer|narrator)\b", re.IGNORECASE)
_HOW_TO = re.compile(r"\bhow\s+to\s+([^.,;:!?]+)", re.IGNORECASE)
_FILLER_END = {"a", "an", "the", "and", "or", "of", "to", "with", "in", "on", "for", "at", "by", "from", "your", "our"}


class NarrationLine(BaseModel):
    """What is said over one shot (empty: nothing)."""

    shot_index: int = Field(ge=1)
    text: str = ""

    @property
    def words(self) -> int:
        return len(self.text.split())


class NarrationScript(BaseModel):
    """The voice-over: one line per shot, the language and voice it is spoken in."""

    lines: list[NarrationLine] = Field(default_factory=list)
    language: str = "en"
    voice: str | None = Field(default=None, description="backend:voice, e.g. espeak:en-us+f3; None: the default voice.")
    words_per_s: float | None = Field(default=None, gt=0, description="Speaking rate the lines are written to; "
                                                                      "None: the language's.")

    @property
    def rate(self) -> float:
        return self.words_per_s or words_per_second(self.language)

    def line(self, shot_index: int) -> NarrationLine | None:
        return next((line for line in self.lines if line.shot_index == shot_index), None)

    def with_line(self, shot_index: int, text: str) -> "NarrationScript":
        """A copy with shot ``shot_index``'s line replaced ("say 'open daily from 7'")."""
        lines = [line for line in self.lines if line.shot_index != shot_index]
        lines.append(NarrationLine(shot_index=shot_index, text=" ".join(text.split())))
        return self.model_copy(update={"lines": sorted(lines, key=lambda line: line.shot_index)})


def words_per_second(language: str) -> float:
    return WORDS_PER_S.get(language.split("-")[0].lower(), DEFAULT_WORDS_PER_S)


def wants_narration(text: str) -> bool:
    """True when a brief asks for a voice (narration, voice-over, explainer): ``--voiceover auto`` turns it on."""
    return bool(_NARRATION.search(text))


def word_budget(duration_s: float, rate: float) -> int:
    """How many words fit in a shot of ``duration_s`` at ``rate`` words per second, lead-in and tail left free."""
    return max(0, math.floor((duration_s - LEAD_IN_S - TAIL_S) * rate))


def trim_to(text: str, max_words: int) -> str:
    """``text`` cut to at most ``max_words`` at a word boundary, without a dangling "and"/"the", ending in a stop."""
    words = text.split()
    if len(words) <= max_words:
        return text.strip()
    words = words[:max_words]
    while words and words[-1].lower().strip(",;:") in _FILLER_END:
        words.pop()
    if not words:
        return ""
    return " ".join(words).rstrip(",;:").rstrip(".!?") + "."


#: Words a shorter line loses first: they carry no meaning of their own ("really", "just").
_FILLER = {"just", "really", "very", "simply", "quite", "so", "truly", "actually", "also", "even", "still", "totally"}
#: Describing words a shorter line loses next (a small list plus common adjective endings; no tagger needed).
_ADJECTIVES = {"warm", "fresh", "small", "little", "big", "great", "good", "new", "nice", "perfect", "beautiful",
               "lovely", "golden", "soft", "bright", "gentle", "slow", "quick", "rich", "smooth", "whole", "careful",
               "happy", "cosy", "cozy", "hot", "cold", "early", "favourite", "favorite", "own", "special",
               "delicious", "amazing", "wonderful", "cinematic"}
_ADJECTIVE_ENDINGS = ("ful", "ous", "ive", "ible", "able", "ly")
_ARTICLES = {"a", "an", "the"}
_KEEP_SHORT = 3


def _bare(word: str) -> str:
    return word.lower().strip(".,;:!?\"'()")


def _drop(words: list[str], max_words: int, droppable) -> list[str]:
    """Words that ``droppable`` accepts removed from the end backwards (never the first) until ``max_words``."""
    words = list(words)
    for position in range(len(words) - 1, 0, -1):
        if len(words) <= max_words:
            break
        word = words[position]
        if droppable(_bare(word)) and not any(ch.isdigit() for ch in word):
            punctuation = word[len(word.rstrip(".,;:!?")):]
            del words[position]
            if punctuation:  # a sentence's or clause's stop stays with the word before it
                words[position - 1] = words[position - 1].rstrip(".,;:!?") + punctuation
    return words


def _leading_clauses(words: list[str], max_words: int) -> list[str]:
    """The longest run of whole leading clauses (split at , ; :) within ``max_words``; [] when under three words."""
    kept: list[str] = []
    for clause in re.split(r"(?<=[,;:.!?])\s+", " ".join(words)):
        if len(kept) + len(clause.split()) > max_words:
            break
        kept += clause.split()
    return kept if len(kept) >= min(_KEEP_SHORT, max_words) else []


#: The opening formula of a line ("Here's how to", "This is"): said for rhythm, it goes before the topic does.
_FORMULA = re.compile(r"^(?:here's|here\s+is|that's|that\s+is|this\s+is|these\s+are|meet)\s+(?:how\s+to\s+)?",
                      re.IGNORECASE)
#: Words of a shot's prompt that say how it is filmed, not what the video is about.
_CAMERA_WORDS = {"shot", "close-up", "closeup", "wide", "medium", "insert", "establishing", "framed", "frame",
                 "camera", "angle", "lens", "locked-off", "handheld", "tracking", "pan", "tilt", "zoom", "slow",
                 "motion", "natural", "naturally", "candid", "detail", "details", "fine", "lifelike", "movement",
                 "subtle", "scene", "setting", "revealed", "moving", "through", "light", "lighting", "soft", "shallow",
                 "depth", "field", "cinematic", "style", "look", "grade", "colour", "color", "into", "over", "under"}


def topic_words(plan: ShotPlan) -> set[str]:
    """The content words of the plan's subjects, actions, settings and prompts: what the video is about.

    A shorter line keeps these over verbs and filler ("Here's how to brew pour-over
    coffee." keeps "pour-over coffee"); camera and style vocabulary of the prompts is left out.
    """
    words: set[str] = set()
    for shot in plan.shots:
        for text in (shot.subject, shot.action, shot.setting, shot.prompt):
            for word in (text or "").split():
                bare = _bare(word)
                if (len(bare) > 2 and bare not in _FILLER_END
                        and bare not in _FILLER and bare not in _CAMERA_WORDS and not bare.isdigit()):
                    words.add(bare)
    return words


def _is_topic(word: str, keep: set[str] | frozenset[str]) -> bool:
    return bool(keep) and (word in keep or word.rstrip("s") in keep or word + "s" in keep)


def _keeps_topic(words: list[str], kept: list[str], keep) -> bool:
    """Whether ``kept`` still says every topic word that ``words`` said."""
    said = {_bare(w) for w in words if _is_topic(_bare(w), keep)}
    return said <= {_bare(w) for w in kept}


def condense(text: str, max_words: int, *, keep: set[str] | frozenset[str] = frozenset()) -> str:
    """``text`` in at most ``max_words`` words, keeping the words that carry its meaning.

    In order, while the line is too long: filler goes ("just", "really"); the
    leading whole clauses are kept when they fit and keep the topic (``keep``,
    the brief's topic words, see :func:`topic_words`); the opening formula goes
    ("Here's how to brew pour-over coffee." -> "Brew pour-over coffee.", not
    "Here's how to brew."); the leading whole clauses are kept when they fit
    ("Start with what you need, laid out and ready." -> "Start with what you
    need."); describing words that are not topic words go ("warm", "beautiful",
    "-ly" adverbs), then articles; last, the line is cut at a word boundary
    without a dangling "and"/"the" (:func:`trim_to`). The first word and numbers
    ("from 7") always stay; the result ends in a stop.
    """
    words = text.split()
    if len(words) <= max_words:
        return text.strip()
    if max_words <= 0:
        return ""
    words = _drop(words, max_words, lambda w: w in _FILLER)
    if len(words) > max_words:
        clauses = _leading_clauses(words, max_words)
        if clauses and _keeps_topic(words, clauses, keep):
            words = clauses
    if len(words) > max_words:
        formula = _FORMULA.match(" ".join(words))
        rest = " ".join(words)[formula.end():].split() if formula else []
        if len(rest) >= min(_KEEP_SHORT, max_words):
            words = [rest[0][:1].upper() + rest[0][1:]] + rest[1:]
    if len(words) > max_words:
        words = _leading_clauses(words, max_words) or words
    words = _drop(words, max_words, lambda w: not _is_topic(w, keep) and (
        w in _ADJECTIVES or (len(w) > 5 and w.endswith(_ADJECTIVE_ENDINGS))))
    words = _drop(words, max_words, lambda w: w in _ARTICLES)
    if len(words) > max_words:
        words = _leading_clauses(words, max_words) or words
    words = trim_to(" ".join(words), max_words).split()
    while len(words) > 1 and _bare(words[-1]) in _FILLER_END:
        words.pop()
    return _sentence(" ".join(words).rstrip(",;:").rstrip(".!?")) if words else ""


def shorter(script: NarrationScript, plan: ShotPlan, *, factor: float = 0.7,
            shots: list[int] | None = None) -> NarrationScript:
    """Every line (or those of ``shots``) condensed to about ``factor`` of its words, and within its shot.

    The target is a shorter time at the script's speaking rate: a line of 10
    words (4 s at 2.5 words/s) becomes one of 7 (2.8 s). Lines of three words
    or four words are left alone (shorter would say nothing, or drop what the user asked to be said); a line that is still
    longer than its shot's word budget is condensed to that budget.
    """
    durations = {s.index: s.duration_s for s in plan.shots}
    keep = topic_words(plan)  # "pour-over coffee" outlasts "Here's how to" and the verb
    lines = []
    for line in script.lines:
        if (shots is not None and line.shot_index not in shots) or line.words <= _KEEP_SHORT + 1:
            lines.append(line)
            continue
        target = max(_KEEP_SHORT, math.floor(line.words * factor))
        if line.shot_index in durations:
            target = min(target, max(_KEEP_SHORT, word_budget(durations[line.shot_index], script.rate)))
        lines.append(line.model_copy(update={"text": condense(line.text, target, keep=keep)}))
    return script.model_copy(update={"lines": lines})


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip(" ,;:-")
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


#: What asks for the voice rather than says something: "with a voice-over", "narrated", "with narration".
VOICE_CUE = re.compile(r"\b(?:with\s+(?:an?\s+)?)?(?:narrat\w*|voice[- ]?overs?|voiceovers?|narrator)\b"
                        r"(?:\s+by\s+\w+)?", re.IGNORECASE)
#: "A 10 second ad where a barista pours…": the format words before a scene; the scene is a line, not a topic.
_FORMAT_LEAD = re.compile(r"^\s*(?:an?\s+)?(?:[\w.-]+[\s-]+){0,4}?(?:ad|advert|video|film|reel|spot|promo|"
                          r"explainer|clip|short)\s+(?:where|in which|showing|of)\s+", re.IGNORECASE)


def _topic_and_phrases(text: str) -> tuple[str, list[str]]:
    """(what the brief is about, its listed phrases): "an ad for a café: morning light, latte art" ->
    ("a café", ["morning light", "latte art"]). The words that ask for the voice itself ("with a
    voice-over") and the format before a scene ("a 10 second ad where …") are never said."""
    text = VOICE_CUE.sub(" ", text)
    how = _HOW_TO.search(text)
    scene = None if how else _FORMAT_LEAD.match(text)
    match = None
    if scene:  # the scene itself is the first thing said; there is no "this is …" topic
        phrases = [p.strip() for p in re.split(r"[,;:]|\band\b(?=\s+(?:a|an|the|then)\b)", text[scene.end():])
                   if len(p.split()) >= 2]
    else:
        head, _, tail = text.partition(":")
        body = tail if tail.strip() else head
        phrases = [p.strip() for p in re.split(r"[,;]|\band\b", body) if len(p.split()) >= 2]
        if how:
            phrases = [p for p in phrases if not _HOW_TO.search(p) and how.group(1).strip() not in p]
        else:
            match = re.search(r"\b(?:ad|advert|video|film|reel|explainer|spot|promo)\s+(?:for|about|on)\s+([^:,.;]+)",
                              head, re.IGNORECASE)
    style = re.compile(r"\b(grade|cinematic|style|look|tone|colour|color|vertical|square|format|music)\b", re.I)
    # "…, 3 shots", "…, 20 seconds", "a 10 second ad": how the video is cut, not something to say
    shape = re.compile(r"^\s*(?:an?\s+)?(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)[\s-]+"
                       r"(?:shots?|scenes?|clips?|seconds?|secs?|s)\b", re.I)
    phrases = [p for p in phrases if not style.search(p) and not shape.search(p)]
    if how:
        topic = how.group(1).strip()
    elif scene:
        topic = ""
    else:
        topic = match.group(1).strip() if match else (phrases[0] if phrases else "")
    return topic, phrases


def write_script(plan: ShotPlan, brief: Brief | str, *, language: str = "en",
                 words_per_s: float | None = None) -> NarrationScript:
    """Voice-over lines for the offline planner, each within its shot's word budget.

    An explainer ("how to X") opens with "Here's how to X." and closes with
    "That's how to X."; the brief's listed phrases ("morning light, latte art")
    become the lines in between, and generic step lines fill what is left. An
    ad closes on an invitation. Every line is trimmed to what its shot can hold.
    """
    text = brief.text if isinstance(brief, Brief) else str(brief)
    rate = words_per_s or words_per_second(language)
    topic, phrases = _topic_and_phrases(text)
    how = _HOW_TO.search(text)
    shots = plan.shots
    middle = [_sentence(p) for p in phrases]
    if how:
        first, last = f"Here's how to {topic}.", f"That's how to {topic}. Enjoy."
        fillers = ["Start with everything you need, laid out and ready.", "Take it one step at a time.",
                   "Go slowly here: this is the step that matters.", "Watch the details; they make the difference.",
                   "Give it a moment, then check the result."]
    else:
        first = _sentence(f"this is {topic}") if topic and topic.lower() not in (p.lower() for p in phrases) else None
        last = "Come and see for yourself." if re.search(r"\b(ad|advert|shop|café|cafe|store|brand|promo)\b",
                                                         text, re.I) else None
        fillers = ["Every detail, made with care.", "Take a closer look.", "This is what it's all about."]
    keep = topic_words(plan)
    lines: list[str] = []
    for n in range(len(shots)):
        if n == 0 and first:
            lines.append(first)
        elif n == len(shots) - 1 and last and len(shots) > 1:
            lines.append(last)
        elif middle:
            lines.append(middle.pop(0))
        else:
            lines.append(fillers[(n - 1) % len(fillers)])
    out = []
    for shot, line in zip(shots, lines):
        out.append(NarrationLine(shot_index=shot.index,
                                 text=condense(line, word_budget(shot.duration_s, rate), keep=keep)))
    return NarrationScript(lines=out, language=language, words_per_s=words_per_s)


def script_from_text(text: str, plan: ShotPlan, *, language: str = "en") -> NarrationScript:
    """The user's own narration (``--voiceover FILE``) spread over the shots.

    As many non-empty lines as shots: one line per shot. Otherwise the text's
    sentences are dealt out in order, each shot taking sentences while they fit
    its word budget (a shot gets at least one sentence while any are left); the
    last shot takes the rest, and :func:`fit` reports what then runs long.
    """
    rows = [r.strip() for r in text.replace("\r\n", "\n").split("\n") if r.strip()]
    shots = plan.shots
    if not rows:
        raise InvalidInputError("the narration text is empty")
    if len(rows) == len(shots):
        return NarrationScript(lines=[NarrationLine(shot_index=s.index, text=r) for s, r in zip(shots, rows)],
                               language=language)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(rows)) if s.strip()]
    rate = words_per_second(language)
    lines = []
    for n, shot in enumerate(shots):
        budget = word_budget(shot.duration_s, rate)
        taken: list[str] = []
        while sentences and (not taken or sum(len(s.split()) for s in taken) + len(sentences[0].split()) <= budget):
            taken.append(sentences.pop(0))
        if n == len(shots) - 1:
            taken += sentences
        lines.append(NarrationLine(shot_index=shot.index, text=" ".join(taken)))
    return NarrationScript(lines=lines, language=language)


# -- placing lines on the cut and checking they fit ----------------------------------------------------

class Timed(Protocol):
    word: str
    start_s: float
    end_s: float


def shot_starts(plan: ShotPlan) -> dict[int, float]:
    """Timeline time each shot starts (transitions overlap the shots they join)."""
    starts, t = {}, 0.0
    for shot in plan.shots:
        starts[shot.index] = round(t, 6)
        t += shot.duration_s
    return starts


@dataclass
class Placement:
    """Where one line's voice clip plays: from ``start_s`` (timeline time), whole, ``speech_s`` long."""

    shot_index: int
    start_s: float
    speech_s: float

    @property
    def end_s(self) -> float:
        return round(self.start_s + self.speech_s, 6)


def speech_length(words: list[Timed] | None, text: str, rate: float) -> float:
    """Seconds from the clip's start to its last word's end; estimated from the rate when not synthesised yet."""
    if words:
        return max(w.end_s for w in words)
    return len(text.split()) / rate


def place(plan: ShotPlan, script: NarrationScript, timings: dict[int, list[Timed]] | None = None) -> list[Placement]:
    """Where each line's voice starts: :data:`LEAD_IN_S` into its shot. Lines never overlap: a line that
    would start while the previous one is still speaking waits for it (plus a short breath)."""
    timings = timings or {}
    starts = shot_starts(plan)
    out: list[Placement] = []
    for shot in plan.shots:
        line = script.line(shot.index)
        if line is None or not line.text.strip():
            continue
        start = starts[shot.index] + LEAD_IN_S
        if out and out[-1].end_s + 0.1 > start:
            start = out[-1].end_s + 0.1
        out.append(Placement(shot.index, round(start, 6),
                             round(speech_length(timings.get(shot.index), line.text, script.rate), 6)))
    return out


@dataclass
class Offer:
    """One way to make a line fit: ``longer_shot`` (``duration_s``) or ``shorter_line`` (``max_words``, ``text``)."""

    kind: Literal["longer_shot", "shorter_line"]
    shot_index: int
    duration_s: float | None = None
    max_words: int | None = None
    text: str | None = None

    def describe(self) -> str:
        if self.kind == "longer_shot":
            return f"make shot {self.shot_index} {self.duration_s:g} s long"
        if not self.text:
            return f"shorten shot {self.shot_index}'s line to {self.max_words} words"
        count = len(self.text.split())  # the offer's own words (whole clauses may leave fewer than fit)
        fit = f" (up to {self.max_words} fit)" if self.max_words is not None and count < self.max_words else ""
        return f"shorten shot {self.shot_index}'s line to {count} words{fit}: \"{self.text}\""


@dataclass
class LineFit:
    shot_index: int
    text: str
    speech_s: float
    available_s: float
    #: The first word not finished when the shot ends (being said, or still to come), if the line runs past it.
    crossing_word: str | None = None
    offers: list[Offer] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return self.speech_s <= self.available_s + 1e-6

    @property
    def over_s(self) -> float:
        return round(max(0.0, self.speech_s - self.available_s), 3)


@dataclass
class FitReport:
    lines: list[LineFit]
    placements: list[Placement]
    #: The cut's length: a voice-over placed past it would be cut off there (mid-word).
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        """Every line fits its shot; then no line is pushed and nothing runs past the end of the cut."""
        return all(line.fits for line in self.lines)

    @property
    def past_end_s(self) -> float:
        """How far the placed voice-over runs past the end of the cut (0 when it does not)."""
        end = max((p.end_s for p in self.placements), default=0.0)
        return round(max(0.0, end - self.duration_s), 3)

    @property
    def too_long(self) -> list[LineFit]:
        return [line for line in self.lines if not line.fits]

    def message(self) -> str:
        """What to tell the user: nothing to do, or each line that runs long with its two offers."""
        if self.ok:
            return "the narration fits the shots"
        parts = []
        for line in self.too_long:
            where = f" (from \"{line.crossing_word}\" on)" if line.crossing_word else ""
            offers = " or ".join(o.describe() for o in line.offers)
            parts.append(f"shot {line.shot_index}: the line runs {line.over_s:.1f} s past the shot{where}; {offers}")
        if self.past_end_s > 0:
            parts.append(f"as placed, the voice-over runs {self.past_end_s:.1f} s past the end of the video and "
                         "would be cut off there")
        return "; ".join(parts)


def fit(plan: ShotPlan, script: NarrationScript, timings: dict[int, list[Timed]] | None = None) -> FitReport:
    """Check each line against its shot, with the voice's word timings where they exist (else the rate).

    A line fits when its speech ends :data:`TAIL_S` before its shot does. A line
    that does not gets two offers: the shot lengthened to hold it (rounded up
    to a tenth of a second), and the line shortened to the words that do fit
    (counted on the real word ends when timed).
    """
    timings = timings or {}
    starts = shot_starts(plan)
    placements = place(plan, script, timings)
    by_shot = {p.shot_index: p for p in placements}
    results = []
    for shot in plan.shots:
        line = script.line(shot.index)
        placement = by_shot.get(shot.index)
        if line is None or placement is None:
            continue
        # Each line is judged from its own shot's start (a line pushed later by a long previous one is
        # that one's problem, and fixing it fixes both).
        offset = starts[shot.index] + LEAD_IN_S
        shot_end = starts[shot.index] + shot.duration_s
        available = round(shot_end - TAIL_S - offset, 6)
        result = LineFit(shot.index, line.text, placement.speech_s, max(0.0, available))
        if not result.fits:
            words = timings.get(shot.index)
            cut_at = shot_end - offset
            if words:
                crossing = next((w for w in words if w.end_s > cut_at), None)
                result.crossing_word = crossing.word if crossing else None
                keep = sum(1 for w in words if w.end_s <= result.available_s)
            else:
                keep = math.floor(result.available_s * script.rate)
            needed = LEAD_IN_S + placement.speech_s + TAIL_S
            result.offers.append(Offer("longer_shot", shot.index, duration_s=math.ceil(needed * 10 - 1e-6) / 10))
            result.offers.append(Offer("shorter_line", shot.index, max_words=keep, text=condense(line.text, keep) or None))
        results.append(result)
    return FitReport(results, placements, duration_s=round(sum(s.duration_s for s in plan.shots), 6))


def voiceover_tracks(placements: list[Placement], clips: dict[int, str], *, volume: float = 1.0) -> list[AudioTrack]:
    """The timeline's voice-over tracks: each shot's voice clip (``clips[shot_index]``, a project-relative
    path) played whole from its placement. A shot without a clip is skipped."""
    return [AudioTrack(source=clips[p.shot_index], role="voiceover", start_s=round(p.start_s, 3), volume=volume)
            for p in placements if p.shot_index in clips]
