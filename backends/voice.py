"""What every voice backend shares: WAV writing, decoding, word timings and their estimate.

Kept apart from the adapters so the offline voice, the cloud voices and the
caption code agree on one definition of a word and its times:

* :func:`words_from_chars` groups a per-character alignment (ElevenLabs'
  ``/with-timestamps``) into words: a word is a run of non-space characters.
* :func:`estimate_word_timings` is the alignment used when a provider returns no
  timings (OpenAI speech): energy-based voice activity on the decoded audio
  finds the spoken stretches, and the words are laid over them in proportion to
  their length in letters (measured better than syllable counts). ``bench/bench_captions.py`` measures it against
  espeak-ng's true word onsets; the figures are in ``docs/voice.md``.
"""

from __future__ import annotations

import re
import wave
from pathlib import Path

import numpy as np

from shotsmith.backends.base import CostEstimate, GenerationResult, MediaKind, WordTiming
from shotsmith.errors import MediaError

#: Voice activity: 20 ms frames; a frame is speech when its RMS is within this many dB of the loudest frame.
FRAME_S = 0.02
SPEECH_DB_BELOW_PEAK = 35.0
#: Gaps shorter than this inside speech are bridged (stop consonants, short breaths).
MIN_GAP_S = 0.12


def write_wav(path: Path, pcm: np.ndarray, sample_rate: int) -> None:
    """Write mono 16-bit PCM (an int16 array, or floats in [-1, 1]) as a WAV file."""
    if pcm.dtype != np.int16:
        pcm = (np.clip(pcm, -1.0, 1.0) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.astype("<i2").tobytes())


def decode_mono(path: Path) -> tuple[np.ndarray, int]:
    """Decode any audio file PyAV reads to mono float32 samples and their rate."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise MediaError(f"{path.name} has no audio stream")
            rate = stream.codec_context.sample_rate or 24000
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            chunks = []
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name} is not decodable audio: {exc}") from exc
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return samples, int(rate)


def audio_duration(path: Path) -> float:
    samples, rate = decode_mono(path)
    return len(samples) / rate if rate else 0.0


def speech_segments(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """Stretches of speech ``(start_s, end_s)`` by frame energy relative to the loudest frame.

    Relative, not absolute, so it works whatever level the provider delivers;
    short gaps are bridged so a word's stop consonant does not split it.
    """
    hop = max(1, int(rate * FRAME_S))
    frames = len(samples) // hop
    if frames == 0:
        return []
    rms = np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop).astype(np.float64) ** 2, axis=1) + 1e-12)
    db = 20 * np.log10(rms)
    voiced = db > db.max() - SPEECH_DB_BELOW_PEAK
    segments: list[list[float]] = []
    for i, v in enumerate(voiced):
        if not v:
            continue
        start, end = i * FRAME_S, (i + 1) * FRAME_S
        if segments and start - segments[-1][1] < MIN_GAP_S:
            segments[-1][1] = end
        else:
            segments.append([start, end])
    return [(round(s, 3), round(e, 3)) for s, e in segments]


_VOWELS = re.compile(r"[aeiouy]+", re.IGNORECASE)


def syllables(word: str) -> int:
    """A rough syllable count (vowel groups, a silent final e dropped); at least 1.

    Digits count one per digit (they are read out as words); other scripts fall
    back on characters / 3, which keeps long words long.
    """
    letters = re.sub(r"[^\w]", "", word)
    if not letters:
        return 1
    if letters.isdigit():
        return 2 * len(letters)
    if not letters.isascii():
        return max(1, round(len(letters) / 3))
    groups = len(_VOWELS.findall(letters))
    if letters.lower().endswith("e") and groups > 1 and not letters.lower().endswith(("le", "ee")):
        groups -= 1
    return max(1, groups)


#: A word's share of speaking time = a*syllables + b*letters + c. Fitted by a grid search on half of
#: bench/bench_captions.py's corpus and checked on the other half: letters alone won (mean onset error
#: 65 ms on either half, against 73-91 ms for syllables + a constant), so syllables are weighted 0.
WEIGHT_SYLLABLE, WEIGHT_LETTER, WEIGHT_WORD = 0.0, 1.0, 0.0
#: A digit is read as a word ("20" -> "twenty"): it counts as this many letters.
LETTERS_PER_DIGIT = 4


def word_weight(word: str) -> float:
    letters = re.sub(r"[^\w]", "", word)
    count = sum(LETTERS_PER_DIGIT if ch.isdigit() else 1 for ch in letters) or 1
    return WEIGHT_SYLLABLE * syllables(word) + WEIGHT_LETTER * count + WEIGHT_WORD


def estimate_word_timings(text: str, samples: np.ndarray, rate: int) -> list[WordTiming]:
    """Word times for audio whose provider gave none: words laid over the detected speech by length.

    The speech stretches are joined into one "speaking time" axis. Each pause
    between stretches is anchored to the word boundary nearest it in that axis
    (a boundary after punctuation is preferred: speakers pause at commas and
    full stops), and between anchors the words share the time in proportion to
    :func:`word_weight` (their letters; see the constants' note). So a pause
    the audio has is skipped, not spread over the words, and an error in one
    sentence does not carry into the next.
    """
    words = text.split()
    if not words:
        return []
    total_s = len(samples) / rate if rate else 0.0
    segments = speech_segments(samples, rate) or [(0.0, total_s)]
    weights = np.array([word_weight(w) for w in words], dtype=float)
    lengths = [e - s for s, e in segments]
    offsets = np.cumsum([0.0] + lengths)  # speaking-time offset where each stretch starts; last = total
    spoken = float(offsets[-1])
    cumulative = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * spoken
    average = spoken / len(words)
    anchors: list[tuple[int, float]] = [(0, 0.0)]
    for pause in offsets[1:-1]:
        best, best_cost = None, 1.0
        for j in range(anchors[-1][0] + 1, len(words)):
            cost = abs(cumulative[j] - pause) / average - (0.7 if words[j - 1][-1] in ".,;:!?" else 0.0)
            if cost < best_cost:
                best, best_cost = j, cost
        if best is not None:
            anchors.append((best, float(pause)))
    anchors.append((len(words), spoken))
    bounds = np.zeros(len(words) + 1)
    for (j0, t0), (j1, t1) in zip(anchors[:-1], anchors[1:]):
        share = np.cumsum(weights[j0:j1])
        bounds[j0 + 1: j1 + 1] = t0 + share / share[-1] * (t1 - t0)

    def to_time(t: float, *, end: bool) -> float:
        for (s, e), off in zip(segments, offsets[:-1]):
            if t < off + (e - s) - 1e-9 or (end and t <= off + (e - s) + 1e-9):
                return s + max(0.0, t - off)
        return segments[-1][1]

    timings = []
    for word, a, b in zip(words, bounds[:-1], bounds[1:]):
        start, stop = to_time(float(a), end=False), to_time(float(b), end=True)
        timings.append(WordTiming(word=word, start_s=round(start, 3), end_s=round(max(stop, start + 0.01), 3)))
    return timings


def words_from_chars(chars: list[str], starts: list[float], ends: list[float]) -> list[WordTiming]:
    """Group a per-character alignment into words (runs of non-space characters)."""
    words: list[WordTiming] = []
    current, first, last = "", 0.0, 0.0
    for ch, s, e in zip(chars, starts, ends):
        if ch.isspace():
            if current:
                words.append(WordTiming(word=current, start_s=round(first, 3), end_s=round(max(last, first), 3)))
            current = ""
            continue
        if not current:
            first = float(s)
        current += ch
        last = float(e)
    if current:
        words.append(WordTiming(word=current, start_s=round(first, 3), end_s=round(max(last, first), 3)))
    return words


def voice_result(path: Path, *, word_timings: list[WordTiming] | None, cost: CostEstimate | None,
                 remote_task_id: str | None = None, warnings: list[str] | None = None) -> GenerationResult:
    """The result of a voice generation, after checking the file decodes to some sound."""
    samples, rate = decode_mono(path)
    if len(samples) == 0:
        raise MediaError(f"{path.name}: the voice clip is empty")
    return GenerationResult(path=str(path), duration_s=round(len(samples) / rate, 3), width=0, height=0,
                            remote_task_id=remote_task_id, cost=cost, warnings=warnings or [],
                            kind=MediaKind.VOICE, word_timings=word_timings, has_audio=True)


def split_voice(name: str | None) -> tuple[str | None, str | None]:
    """``"espeak:en-us+f3"`` -> ``("espeak", "en-us+f3")``; ``"coral"`` -> ``(None, "coral")``."""
    if not name:
        return None, None
    backend, sep, voice = name.partition(":")
    if not sep:
        return None, name
    return backend or None, voice or None


#: The voice used when nothing is asked for: offline, free, with true word timings.
DEFAULT_VOICE_BACKEND = "espeak"


def resolve_voice(name: str | None, **options):
    """``--voice NAME`` -> (backend instance, voice or None).

    ``backend:voice`` picks both (``espeak:en-us+f3``, ``openai-speech:coral``,
    ``elevenlabs:<voice_id>``, ``piper:en_US-lessac-medium``); a bare backend
    name (``elevenlabs``) takes its default voice; a bare voice (``coral``) is
    looked up in the installed voice backends' voice lists; nothing at all is
    the offline espeak voice. ``options`` go to the backend's constructor.
    """
    from shotsmith.backends.registry import backend_classes, get_backend
    from shotsmith.errors import InvalidInputError

    backend_name, voice = split_voice(name)
    classes = backend_classes()
    voice_backends = sorted(n for n, cls in classes.items() if _makes_voice(cls))
    if backend_name is None and voice in classes:
        backend_name, voice = voice, None
    if backend_name is None and voice is not None:
        for candidate in [DEFAULT_VOICE_BACKEND, *[n for n in voice_backends if n != DEFAULT_VOICE_BACKEND]]:
            try:
                caps = get_backend(candidate, **options).capabilities()
            except Exception:  # a backend that cannot even describe itself here (missing extra)
                continue
            if voice in caps.voices:
                backend_name = candidate
                break
        else:
            raise InvalidInputError(f"no installed voice backend has a voice {voice!r}",
                                    hint=f"name it as backend:voice; voice backends: {', '.join(voice_backends)}")
    backend_name = backend_name or DEFAULT_VOICE_BACKEND
    if backend_name not in classes:
        raise InvalidInputError(f"unknown voice backend {backend_name!r}", hint=f"voice backends: {', '.join(voice_backends)}")
    if not _makes_voice(classes[backend_name]):
        raise InvalidInputError(f"backend {backend_name} does not speak", hint=f"voice backends: {', '.join(voice_backends)}")
    return get_backend(backend_name, **options), voice


def _makes_voice(cls) -> bool:
    from shotsmith.backends.base import GenerationMode

    try:
        return GenerationMode.TEXT_TO_SPEECH in cls().capabilities().modes
    except Exception:  # a backend that cannot be built without options is not offered as a voice
        return False
