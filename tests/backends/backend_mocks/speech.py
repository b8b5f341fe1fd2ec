"""What the voice mocks share: real speech (espeak-ng) to answer with, in the format asked for."""

from __future__ import annotations

import io
import threading

import av
import numpy as np

from shotsmith.backends.base import WordTiming

_lock = threading.Lock()
_cache: dict[str, tuple[np.ndarray, int, list[WordTiming]]] = {}


def speech(text: str) -> tuple[np.ndarray, int, list[WordTiming]]:
    """(int16 samples, rate, true word timings) of ``text`` spoken by espeak-ng (cached per text)."""
    from shotsmith.backends.espeak import EspeakBackend

    with _lock:
        if text not in _cache:
            _cache[text] = EspeakBackend().synthesize(text)
        return _cache[text]


def encode(samples: np.ndarray, rate: int, fmt: str, out_rate: int | None = None) -> bytes:
    """Encode mono int16 samples as ``wav``, ``mp3`` or ``opus`` bytes (``pcm``: raw 16-bit LE)."""
    out_rate = out_rate or rate
    if fmt == "pcm":
        return _resample(samples, rate, out_rate).astype("<i2").tobytes()
    container_format = {"wav": "wav", "mp3": "mp3", "opus": "ogg"}[fmt]
    codec = {"wav": "pcm_s16le", "mp3": "libmp3lame", "opus": "libopus"}[fmt]
    if fmt == "opus":
        out_rate = 48000
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=out_rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.int16), format="s16", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=out_rate)
        for piece in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(piece):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def _resample(samples: np.ndarray, rate: int, out_rate: int) -> np.ndarray:
    if rate == out_rate:
        return samples
    n = int(len(samples) * out_rate / rate)
    return np.interp(np.linspace(0, len(samples) - 1, n), np.arange(len(samples)), samples).astype(np.int16)


def char_alignment(text: str, words: list[WordTiming]) -> dict:
    """An ElevenLabs-style per-character alignment of ``text`` built from true word timings.

    Each word's characters share its span evenly; the characters between words
    (spaces, punctuation outside a word) span the gap.
    """
    chars, starts, ends = list(text), [0.0] * len(text), [0.0] * len(text)
    pos, last_end = 0, 0.0
    for word in words:
        at = text.find(word.word, pos)
        if at < 0:
            continue
        for i in range(pos, at):  # spaces span the gap; punctuation is a blink at the word's end
            starts[i], ends[i] = (last_end, word.start_s) if text[i].isspace() else (last_end, last_end)
        step = (word.end_s - word.start_s) / max(1, len(word.word))
        for k in range(len(word.word)):
            starts[at + k] = round(word.start_s + k * step, 3)
            ends[at + k] = round(word.start_s + (k + 1) * step, 3)
        pos, last_end = at + len(word.word), word.end_s
    for i in range(pos, len(text)):
        starts[i], ends[i] = last_end, last_end
    return {"characters": chars, "character_start_times_seconds": starts, "character_end_times_seconds": ends}
