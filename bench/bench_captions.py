"""Caption timing: how far estimated word times fall from the true onsets of the synthesised speech.

OpenAI speech returns no word timings, so its captions come from
:func:`shotsmith.backends.voice.estimate_word_timings` (energy voice activity
plus syllable counts). espeak-ng reports its true word onsets, so speaking a
corpus with espeak and estimating the times from its audio alone measures
the estimate: mean and worst onset offset, and the share of words within
100 ms / 250 ms. espeak's own timings (what captions use with the offline
voice) and ElevenLabs' grouped character alignment are exact by construction
and are checked, not estimated, in the tests.

    .venv/bin/python bench/bench_captions.py            # prints a table and JSON
"""

from __future__ import annotations

import json
import statistics

import numpy as np

from shotsmith.backends.espeak import EspeakBackend
from shotsmith.backends.voice import estimate_word_timings

CORPUS = [
    "Grind the beans. Pour slowly in circles.",
    "Here's how to brew pour-over coffee.",
    "Start with everything you need, laid out and ready.",
    "Rinse the paper filter with hot water, then discard the water.",
    "Add twenty grams of coffee and level the bed.",
    "Bloom for thirty seconds: the coffee releases its gases.",
    "Pour in slow spirals, keeping the water level steady.",
    "Open daily from seven. Come and see for yourself.",
    "A barista pouring latte art, happy customers, morning light.",
    "Fresh bread at dawn, flour on hands, warm croissants.",
    "The total brew time should be about three minutes.",
    "Taste it. Adjust the grind next time if it is bitter or sour.",
    "Our new running shoes weigh less than two hundred grams.",
    "Sign up today and get your first month free.",
    "Every detail, made with care.",
    "Unbelievably comfortable, surprisingly affordable, remarkably durable.",
]
VOICES = [("en-us", 165), ("en-us+f3", 165), ("en", 140), ("en-us+m3", 200)]


def measure() -> dict:
    offsets: list[float] = []
    per_voice = {}
    for voice, wpm in VOICES:
        backend = EspeakBackend(rate_wpm=wpm)
        mine = []
        for text in CORPUS:
            samples, rate, truth = backend.synthesize(text, voice)
            estimate = estimate_word_timings(text, samples.astype(np.float32) / 32768, rate)
            assert [w.word for w in estimate] == [w.word for w in truth], text
            mine += [abs(e.start_s - t.start_s) for e, t in zip(estimate, truth)]
        per_voice[f"{voice} @ {wpm} wpm"] = summary(mine)
        offsets += mine
    return {"words": len(offsets), "all": summary(offsets), "by_voice": per_voice}


def summary(values: list[float]) -> dict:
    return {"mean_ms": round(statistics.mean(values) * 1000, 1), "median_ms": round(statistics.median(values) * 1000, 1),
            "worst_ms": round(max(values) * 1000, 1),
            "within_100ms": round(sum(v <= 0.1 for v in values) / len(values), 3),
            "within_250ms": round(sum(v <= 0.25 for v in values) / len(values), 3)}


if __name__ == "__main__":
    result = measure()
    print(f"{result['words']} words: mean {result['all']['mean_ms']} ms, median {result['all']['median_ms']} ms, "
          f"worst {result['all']['worst_ms']} ms, {result['all']['within_100ms']:.0%} within 100 ms, "
          f"{result['all']['within_250ms']:.0%} within 250 ms")
    print(json.dumps(result, indent=1))
