"""Compare beat trackers on click tracks with known beats (run once per scratch venv; see bench/README.md).

    python bench/beats_compare.py librosa   # in a venv with librosa
    python bench/beats_compare.py aubio     # in a venv with aubio

Each signal is synthesised here (numpy only), so the true beat times are
exact: a click track at 120 BPM; 97 BPM clicks under a noise bed and a low
pad (what a music bed looks like to an onset detector); and 128 BPM kick-like
thumps with an off-beat hi-hat (the off-beats must not be taken for beats).
Scores: F-measure with a ±70 ms window (the MIREX convention), and the mean
and worst offset of matched beats, in ms.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

SR = 22050


def click_track(bpm: float, seconds: float, *, noise_db: float | None = None, pad: bool = False,
                offbeat: bool = False, kick: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    y = np.zeros(n, dtype=np.float64)
    period = 60.0 / bpm
    beats = np.arange(0.5, seconds - 0.5, period)
    t = np.arange(int(0.08 * SR)) / SR
    if kick:
        hit = np.sin(2 * np.pi * (60 + 90 * np.exp(-t * 40)) * t) * np.exp(-t * 25)
    else:
        hit = np.sin(2 * np.pi * 1000 * t) * np.exp(-t * 60)
    for b in beats:
        i = int(b * SR)
        y[i:i + len(hit)] += hit[: max(0, min(len(hit), n - i))]
    if offbeat:
        hat = rng.standard_normal(int(0.03 * SR)) * np.exp(-np.arange(int(0.03 * SR)) / SR * 150) * 0.3
        for b in beats + period / 2:
            i = int(b * SR)
            if i + len(hat) < n:
                y[i:i + len(hat)] += hat
    if pad:
        tt = np.arange(n) / SR
        y += 0.2 * np.sin(2 * np.pi * 110 * tt) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * tt))
    if noise_db is not None:
        y += rng.standard_normal(n) * 10 ** (noise_db / 20)
    return (y / np.abs(y).max() * 0.8).astype(np.float32), beats


SIGNALS = {
    "clicks 120 BPM": dict(bpm=120, seconds=20),
    "clicks 97 BPM + noise + pad": dict(bpm=97, seconds=20, noise_db=-18, pad=True, seed=1),
    "kicks 128 BPM + off-beat hats": dict(bpm=128, seconds=20, offbeat=True, kick=True, seed=2),
}


def track_librosa(y: np.ndarray) -> np.ndarray:
    import librosa

    _, beats = librosa.beat.beat_track(y=y, sr=SR, units="time")
    return np.asarray(beats, dtype=float)


def track_aubio(y: np.ndarray) -> np.ndarray:
    import aubio

    hop = 256
    tempo = aubio.tempo("default", 1024, hop, SR)
    out = []
    for i in range(0, len(y) - hop, hop):
        if tempo(y[i:i + hop].astype(np.float32)):
            out.append(tempo.get_last_s())
    return np.asarray(out, dtype=float)


def score(found: np.ndarray, truth: np.ndarray, window: float = 0.07) -> dict:
    used, offsets = set(), []
    for b in truth:
        if len(found) == 0:
            break
        k = int(np.argmin(np.abs(found - b)))
        if abs(found[k] - b) <= window and k not in used:
            used.add(k)
            offsets.append(found[k] - b)
    hits = len(offsets)
    precision = hits / len(found) if len(found) else 0.0
    recall = hits / len(truth)
    f = 2 * precision * recall / (precision + recall) if hits else 0.0
    return {"f_measure": round(f, 3), "mean_offset_ms": round(float(np.mean(np.abs(offsets))) * 1000, 1) if offsets else None,
            "worst_offset_ms": round(float(np.max(np.abs(offsets))) * 1000, 1) if offsets else None,
            "found": int(len(found)), "true": int(len(truth))}


def main() -> None:
    which = sys.argv[1]
    tracker = {"librosa": track_librosa, "aubio": track_aubio}[which]
    tracker(click_track(120, 3)[0])  # warm up (numba compiles on first use)
    results = {}
    for name, spec in SIGNALS.items():
        y, truth = click_track(**spec)
        start = time.perf_counter()
        found = tracker(y)
        results[name] = {**score(found, truth), "seconds": round(time.perf_counter() - start, 3)}
    print(json.dumps({which: results}, indent=1))


if __name__ == "__main__":
    main()
