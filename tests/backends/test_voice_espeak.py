"""The offline espeak voice: real speech, true word timings, voices, errors, the lock."""

from __future__ import annotations

import asyncio
import threading
import wave

import numpy as np
import pytest

from shotsmith.backends.base import GenerationMode, GenerationRequest, MediaKind
from shotsmith.backends.espeak import EspeakBackend, installed_voices
from shotsmith.backends.voice import decode_mono, speech_segments
from shotsmith.errors import InvalidInputError


def speak_request(text: str, **kw) -> GenerationRequest:
    return GenerationRequest(prompt=text, mode=GenerationMode.TEXT_TO_SPEECH, duration_s=5, **kw)


def test_generate_writes_a_22050_hz_mono_wav_of_speech_with_word_timings(tmp_path):
    backend = EspeakBackend()
    request, warnings = backend.prepare(speak_request("Grind the beans, then pour slowly."))
    assert warnings == [] and request.voice == "en-us"
    dest = tmp_path / "voice.wav"
    result = asyncio.run(backend.generate(request, dest, on_progress=lambda e: None, cancel=threading.Event()))
    with wave.open(str(dest)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (22050, 1, 2)
    samples, rate = decode_mono(dest)
    assert result.kind is MediaKind.VOICE and result.has_audio
    assert abs(result.duration_s - len(samples) / rate) < 0.01
    assert 20 * np.log10(np.sqrt(np.mean(samples ** 2))) > -40, "speech, not silence"
    assert [w.word for w in result.word_timings] == ["Grind", "the", "beans,", "then", "pour", "slowly."]
    starts = [w.start_s for w in result.word_timings]
    assert starts == sorted(starts) and all(w.end_s > w.start_s for w in result.word_timings)
    assert result.word_timings[-1].end_s <= result.duration_s
    # each word's span holds sound: its loudest 20 ms is far above the quiet between sentences
    for w in result.word_timings:
        part = samples[int(w.start_s * rate): int(w.end_s * rate)]
        assert np.abs(part).max() > 0.05, w


def test_word_onsets_are_where_the_sound_starts():
    backend = EspeakBackend()
    samples, rate, words = backend.synthesize("Coffee. Milk. Sugar.")
    audio = samples.astype(np.float32) / 32768
    segments = speech_segments(audio, rate)
    assert len(segments) == 3, segments  # three words separated by full-stop pauses
    for (start, end), word in zip(segments, words):
        assert abs(word.start_s - start) < 0.12, (word, start)
        assert word.end_s <= end + 0.05  # the pause after the full stop is not part of the word


def test_voices_come_from_the_installed_data_and_variants_change_the_sound():
    languages, variants = installed_voices()
    assert {"en-us", "en", "fr", "de"} <= set(languages) and {"f3", "m1"} <= set(variants)
    backend = EspeakBackend()
    caps = backend.capabilities()
    assert caps.voices[0] == "en-us" and caps.word_timings and not caps.costs_money
    plain, _, _ = backend.synthesize("hello there", "en-us")
    female, _, _ = backend.synthesize("hello there", "en-us+f3")
    assert not np.array_equal(plain[: len(female)], female[: len(plain)])


def test_language_picks_the_voice_and_unknown_voices_are_refused():
    backend = EspeakBackend()
    request, _ = backend.prepare(speak_request("Bonjour à tous", language="fr"))
    assert request.voice == "fr"
    for language, voice in (("en", "en-us"), ("en-US", "en-us"), ("en-GB", "en"), ("fr-CA", "fr"), ("de", "de")):
        assert backend.prepare(speak_request("hello", language=language))[0].voice == voice, language
    assert EspeakBackend(voice="en-us+f3").prepare(speak_request("hi", language="en"))[0].voice == "en-us+f3"
    ready, warnings = backend.prepare(speak_request("hello", voice="klingon"))
    assert ready.voice == "en-us" and "no voice 'klingon'" in warnings[0]
    ready, warnings = backend.prepare(speak_request("hello", voice="en-us+nobody"))
    assert ready.voice == "en-us" and "variant" in warnings[0]
    ready, warnings = backend.prepare(speak_request("hello", voice="de+m3"))
    assert ready.voice == "de+m3" and warnings == []
    _, warnings = backend.prepare(speak_request("hello", instructions="cheerful"))
    assert "ignored" in warnings[0]


def test_non_ascii_text_maps_character_offsets_to_words():
    backend = EspeakBackend()
    _, _, words = backend.synthesize("Café crème, déjà prêt.", "fr")
    assert [w.word for w in words][:2] == ["Café", "crème,"]


def test_calls_from_threads_are_serialised():
    # espeak varies its timing slightly from call to call, so compare words and lengths, not samples
    backend = EspeakBackend()
    texts = ["one two three", "four five six seven", "eight nine"]
    alone = {t: len(backend.synthesize(t)[0]) for t in texts}
    results: dict[str, list] = {t: [] for t in texts}

    def speak(text: str) -> None:
        samples, _, words = backend.synthesize(text)
        results[text].append((len(samples), [w.word for w in words]))

    threads = [threading.Thread(target=speak, args=(t,)) for t in texts * 3]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for text in texts:
        for length, words in results[text]:
            assert words == text.split(), "interleaved calls mixed their word events"
            assert abs(length - alone[text]) < 0.05 * alone[text], "interleaved calls mixed their audio"


def test_options_are_checked():
    with pytest.raises(InvalidInputError, match="out of range"):
        EspeakBackend(rate_wpm=20)
    with pytest.raises(InvalidInputError, match="unknown option"):
        EspeakBackend(speed=2)
    fast, _, _ = EspeakBackend(rate_wpm=300).synthesize("a quick sentence about coffee beans")
    slow, _, _ = EspeakBackend(rate_wpm=120).synthesize("a quick sentence about coffee beans")
    assert len(fast) < 0.7 * len(slow)


def test_words_espeak_speaks_as_one_entry_keep_their_own_captions():
    """espeak gives "at a" one WORD event; the captions must still carry both words, in order, in time."""
    import asyncio
    import threading

    from shotsmith.backends.base import GenerationMode, GenerationRequest
    from shotsmith.backends.espeak import EspeakBackend

    backend = EspeakBackend()
    text = "Take it one step at a time."
    request, _ = backend.prepare(GenerationRequest(prompt=text, mode=GenerationMode.TEXT_TO_SPEECH, duration_s=3))
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(backend.generate(request, Path(folder) / "s.wav", on_progress=lambda e: None,
                                              cancel=threading.Event()))
    assert [w.word for w in result.word_timings] == text.split()
    starts = [w.start_s for w in result.word_timings]
    assert starts == sorted(starts)
