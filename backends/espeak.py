"""The offline ``espeak`` voice: espeak-ng through ctypes, with true word timings. A scratch voice.

espeak-ng is small (the ``espeakng-loader`` wheel ships ``libespeak-ng`` 1.52
and its data, ~21 MB), needs no model download and no GPU, and reports when
each word starts (its WORD events), so captions from it are exact. It sounds
robotic: like the ``animatic`` backend is labelled previz, this voice is a
scratch track for timing a cut, not a voice for delivery (use a cloud or
local neural voice for that; ``docs/voice.md``).

Protocol (espeak-ng ``speak_lib.h``, API revision 13; see
``shared/reference/image-voice-apis.md`` section D): ``espeak_Initialize`` in
SYNCHRONOUS mode with the wheel's data path and ``espeakINITIALIZE_DONT_EXIT``
(otherwise a missing data folder calls ``exit(1)``); a synth callback collects
16-bit mono PCM and WORD events (1-based *character* offset, length, and
``audio_position`` in ms from the start of the ``espeak_Synth`` call). A word
ends where the next word starts, or at the end of the audio, with trailing
silence (a clause pause) trimmed off by the sample energy.

The engine state (voice, rate) is process-global in libespeak-ng, so every
call is serialised by one lock. espeak-ng is GPL-3.0-or-later; it is loaded
as a separate shared library, not linked into shotsmith.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

import shotsmith
from shotsmith.backends.base import (Backend, Capabilities, CostEstimate, GenerationMode, GenerationRequest,
                                     GenerationResult, ProgressCallback, ProgressEvent, WordTiming)
from shotsmith.backends.voice import voice_result, write_wav
from shotsmith.errors import BackendError, CancelledError, InvalidInputError

SAMPLE_RATE = 22050
DEFAULT_VOICE = "en-us"
DEFAULT_RATE_WPM = 165
#: Constants from speak_lib.h.
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_DONT_EXIT = 0x8000
POS_CHARACTER = 1
CHARS_UTF8 = 1
ENDPAUSE = 0x1000
EVENT_LIST_TERMINATED, EVENT_WORD = 0, 1
PARAM_RATE = 1
EE_OK = 0
#: Regional tags whose espeak voice has another name.
LANGUAGE_VOICES = {"en-gb": "en", "en-uk": "en", "pt-pt": "pt", "es-es": "es", "fr-fr": "fr", "de-de": "de"}
#: Trailing audio below this share of the clip's peak counts as the pause after a word.
SILENCE_FRACTION = 0.02


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class _Engine:
    """libespeak-ng, initialised once per process; :meth:`speak` holds the lock for a whole synthesis."""

    lock = threading.Lock()
    _instance: "_Engine | None" = None

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise BackendError("the espeak voice needs the espeakng-loader package",
                               hint="pip install espeakng-loader (a core dependency of shotsmith)") from exc
        try:
            self.data_path = espeakng_loader.get_data_path()
            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except (OSError, RuntimeError) as exc:
            raise BackendError(f"cannot load libespeak-ng: {exc}",
                               hint="reinstall espeakng-loader (it ships the library and its data)") from exc
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(self.data_path).encode(), INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise BackendError(f"libespeak-ng failed to initialise (data at {self.data_path})",
                               hint="reinstall espeakng-loader")
        self.sample_rate = rate
        self._pcm = bytearray()
        self._words: list[tuple[int, int, int]] = []
        self._cancel: threading.Event | None = None

        def on_audio(wav, count, events) -> int:
            if wav and count > 0:
                self._pcm.extend(ctypes.string_at(wav, 2 * count))
            i = 0
            while events[i].type != EVENT_LIST_TERMINATED:
                if events[i].type == EVENT_WORD:
                    self._words.append((events[i].text_position, events[i].length, events[i].audio_position))
                i += 1
            return 1 if (self._cancel is not None and self._cancel.is_set()) else 0

        self._callback = _CALLBACK(on_audio)  # kept referenced: ctypes must not collect it
        lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> "_Engine":
        with cls.lock:
            if cls._instance is None:
                cls._instance = _Engine()
            return cls._instance

    def speak(self, text: str, voice: str, rate_wpm: int,
              cancel: threading.Event | None = None) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        """Synthesise ``text``: (int16 samples at ``sample_rate``, [(char position 1-based, length, ms)])."""
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                raise InvalidInputError(f"espeak has no voice {voice!r}",
                                        hint="`shotsmith backends info espeak` lists them (e.g. en-us, en-us+f3, fr)")
            self.lib.espeak_SetParameter(PARAM_RATE, int(rate_wpm), 0)
            self._pcm, self._words, self._cancel = bytearray(), [], cancel
            data = text.encode("utf-8") + b"\0"
            status = self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8 | ENDPAUSE, None, None)
            self._cancel = None
            if cancel is not None and cancel.is_set():
                raise CancelledError("speech synthesis was cancelled")
            if status != EE_OK:
                raise BackendError(f"espeak failed to synthesise the text (error {status})")
            return np.frombuffer(bytes(self._pcm), dtype="<i2").copy(), list(self._words)


def word_timings(text: str, events: list[tuple[int, int, int]], samples: np.ndarray,
                 rate: int) -> list[WordTiming]:
    """Turn WORD events into words with start and end times.

    A word is the token of the text at the event's character span (events count
    characters, 1-based), with its punctuation. It ends where the next word starts or the audio ends, less the
    silence before that point (so the pause after a full stop is not part of it).
    """
    total = len(samples) / rate
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    floor = peak * SILENCE_FRACTION
    hop = max(1, rate // 100)
    out: list[WordTiming] = []
    ordered = sorted(events, key=lambda e: (e[2], e[0]))
    at_token = None
    for n, (position, length, ms) in enumerate(ordered):
        word = _token(text, position - 1, length)
        if not word:
            continue
        start = ms / 1000
        token = _token_start(text, position - 1)
        if token == at_token and out:  # '20%' is spoken 'twenty percent': one written word, timed to its last part
            start = out.pop().start_s
        at_token = token
        end = ordered[n + 1][2] / 1000 if n + 1 < len(ordered) else total
        a, b = int(start * rate), min(len(samples), int(end * rate))
        tail = np.abs(samples[a:b])
        if len(tail) > hop and peak > 0:
            frames = len(tail) // hop
            loud = np.flatnonzero(tail[: frames * hop].reshape(frames, hop).max(axis=1) > floor)
            if len(loud):
                end = min(end, start + (loud[-1] + 1) * hop / rate)
        out.append(WordTiming(word=word, start_s=round(start, 3), end_s=round(max(end, start + 0.01), 3)))
    return _every_word(text, out)


def _every_word(text: str, timed: list[WordTiming]) -> list[WordTiming]:
    """Every word of the text, in order: espeak speaks some pairs as one dictionary entry ("at a") and gives
    them one WORD event; the words it folded in share that event's time, split by their lengths, so no
    word is missing from the captions."""
    import re

    tokens = re.findall(r"\S+", text)
    out: list[WordTiming] = []
    i = 0
    for n, word in enumerate(timed):
        try:
            at = tokens.index(word.word, i)
        except ValueError:  # not found in order: keep the event as it is
            out.append(word)
            continue
        group = [word.word, *tokens[at + 1:_next_index(tokens, timed, n, at)]]
        i = at + len(group)
        if len(group) == 1:
            out.append(word)
            continue
        span, total = word.end_s - word.start_s, sum(len(w) for w in group)
        start = word.start_s
        for token in group:
            end = start + span * len(token) / total
            out.append(WordTiming(word=token, start_s=round(start, 3), end_s=round(max(end, start + 0.01), 3)))
            start = end
    return out


def _next_index(tokens: list[str], timed: list[WordTiming], n: int, at: int) -> int:
    """Where the next timed word stands in the text (or the end): the tokens before it belong to word ``n``."""
    if n + 1 >= len(timed):
        return len(tokens)
    try:
        return tokens.index(timed[n + 1].word, at + 1)
    except ValueError:
        return at + 1


def _token_start(text: str, at: int) -> int:
    """Where the whitespace-delimited token holding character ``at`` begins."""
    while at > 0 and not text[at - 1].isspace():
        at -= 1
    return at


def _token(text: str, at: int, length: int) -> str:
    """The whitespace-delimited token around a word event's span, punctuation included ("beans." not "beans"),
    so captions read as written."""
    if not text[at: at + length].strip():
        return ""
    start, end = at, at + length
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end].strip()


@lru_cache(maxsize=1)
def installed_voices() -> tuple[list[str], list[str]]:
    """(language voices such as ``en-us``, variants such as ``f3``) from the wheel's data folder."""
    try:
        import espeakng_loader

        data = Path(espeakng_loader.get_data_path())
    except (ImportError, RuntimeError):
        return [], []
    languages = sorted({p.name.lower() for p in (data / "lang").rglob("*") if p.is_file()})
    variants = sorted(p.name for p in (data / "voices" / "!v").glob("*") if p.is_file())
    return languages, variants


class EspeakBackend(Backend):
    """Options: ``voice`` (default ``en-us``), ``rate_wpm`` (words per minute, 80-450, default 165)."""

    name = "espeak"
    description = ("Offline scratch voice (espeak-ng, robotic; for timing and previz, not delivery). Free, instant, "
                   "exact word timings for captions.")
    model = "espeak-ng-1.52"

    def __init__(self, *, voice: str | None = None, rate_wpm: int | None = None, **unknown) -> None:
        if unknown:
            raise InvalidInputError(f"backend espeak: unknown option(s) {', '.join(sorted(unknown))}",
                                    hint="known: voice, rate_wpm")
        self.voice = voice or DEFAULT_VOICE
        self.rate_wpm = int(rate_wpm or DEFAULT_RATE_WPM)
        if not 80 <= self.rate_wpm <= 450:
            raise InvalidInputError(f"espeak rate {self.rate_wpm} wpm is out of range", hint="use 80-450 (175 is normal)")

    def capabilities(self) -> Capabilities:
        languages, variants = installed_voices()
        first = [self.voice] if self.voice in languages or "+" in self.voice else []
        voices = first + [v for v in languages if v != self.voice]
        return Capabilities(modes=[GenerationMode.TEXT_TO_SPEECH], min_duration_s=0.1, max_duration_s=3600.0,
                            max_prompt_chars=20000, max_concurrency=1, costs_money=False, local=True,
                            voices=voices or [DEFAULT_VOICE], word_timings=True)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        return CostEstimate(amount=0.0, unit="USD", source="local compute (espeak-ng)")

    def cache_identity(self) -> dict:
        return {"rate_wpm": self.rate_wpm}

    def voice_for(self, request: GenerationRequest) -> str:
        """The voice to use: the request's, else one for its language, else the backend's.

        A bare language that the default voice speaks keeps the default (``en`` -> ``en-us``: espeak's
        own ``en`` is British); a regional tag picks the installed voice of that name, else its
        language's (``en-GB`` -> ``en``, ``fr-CA`` -> ``fr``).
        """
        if request.voice:
            return request.voice
        if not request.language:
            return self.voice
        lang = request.language.lower().replace("_", "-")
        base = self.voice.split("+")[0]
        if lang in (base, base.split("-")[0]):
            return self.voice
        if lang in LANGUAGE_VOICES:
            return LANGUAGE_VOICES[lang]
        languages = installed_voices()[0]
        if lang in languages:
            return lang
        return lang.split("-")[0]

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        # The voice is checked here, not by the base: any installed language plus a variant is a voice.
        voice = self.voice_for(request)
        ready, warnings = super().prepare(request.model_copy(update={"voice": None, "instructions": None}))
        languages, variants = installed_voices()
        base, _, variant = voice.partition("+")
        label = f"shot {request.shot_index}: " if request.shot_index is not None else ""
        if languages and base.lower() not in languages:
            # the house rule for what a backend lacks: the nearest thing it has, said in a warning
            fallback = self.voice if self.voice.split("+")[0] in languages else DEFAULT_VOICE
            warnings.append(f"{label}espeak has no voice {base!r}; using {fallback!r} (e.g. en-us, en, fr, de; "
                            "`shotsmith backends info espeak` lists them)")
            base, variant = fallback.partition("+")[0], fallback.partition("+")[2]
        if variant and variants and variant not in variants:
            warnings.append(f"{label}espeak has no voice variant {variant!r}; using {base!r} without one "
                            f"(variants: {', '.join(variants[:8])}, ...)")
            variant = ""
        voice = f"{base}+{variant}" if variant else base
        if request.instructions:
            warnings.append("espeak does not take speaking instructions; they are ignored")
        return ready.model_copy(update={"voice": voice}), warnings

    def synthesize(self, text: str, voice: str | None = None,
                   cancel: threading.Event | None = None) -> tuple[np.ndarray, int, list[WordTiming]]:
        """Speak ``text``: (int16 samples, sample rate, word timings). The building block tests and bench use."""
        engine = _Engine.get()
        samples, events = engine.speak(text, voice or self.voice, self.rate_wpm, cancel)
        if len(samples) == 0:
            raise BackendError("espeak produced no audio", hint="check that the text has words in the voice's language")
        return samples, engine.sample_rate, word_timings(text, events, samples, engine.sample_rate)

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        voice = self.voice_for(request)
        samples, rate, timings = await asyncio.to_thread(self.synthesize, request.prompt, voice, cancel)
        await asyncio.to_thread(write_wav, Path(dest), samples, rate)
        on_progress(ProgressEvent(shot_index=request.shot_index, state="running", percent=100))
        return voice_result(Path(dest), word_timings=timings, cost=self.estimate_cost(request))


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(EspeakBackend)
