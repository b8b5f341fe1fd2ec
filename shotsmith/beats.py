"""Cut to the beat: find a music bed's beats and move the plan's cuts onto them.

Beat tracking uses librosa (optional extra ``shotsmith[beats]``), chosen over
aubio after measuring both on click tracks with known beats (``bench/beats_compare.py``,
figures in ``bench/README.md`` and ``docs/voice.md``): librosa found every beat
of a clean 120 BPM click track and 31 of 31 under noise, aubio half as many on
the clean track; aubio is tiny but has had no release since 2019 and ships no
wheels (it compiles at install), librosa is maintained and ships wheels, at
the price of ~430 MB of dependencies (scipy, numba, scikit-learn), which is why
it is an extra and not a core dependency.

:func:`snap_to_beats` is a plain plan edit with no library behind it: each cut
(the end of every shot but the last) moves to the nearest beat within
``max_shift_s``, in order, never leaving a shot shorter than ``min_shot_s``,
and the durations are rounded to whole frames. The final end is not moved, so
the cut keeps its length.
"""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np

from shotsmith.brief import ShotPlan
from shotsmith.errors import InvalidInputError, MediaError, ShotsmithError

ANALYSIS_RATE = 22050


def _decode(path: Path, start_s: float, duration_s: float | None) -> np.ndarray:
    import av

    try:
        with av.open(str(path)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise MediaError(f"{path.name} has no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=ANALYSIS_RATE)
            chunks = []
            for frame in container.decode(stream):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name} is not decodable audio: {exc}") from exc
    y = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    first = int(start_s * ANALYSIS_RATE)
    last = None if duration_s is None else first + int(duration_s * ANALYSIS_RATE)
    return y[first:last].astype(np.float32)


def detect_beats(path: str | Path, *, start_s: float = 0.0, duration_s: float | None = None) -> list[float]:
    """Beat times (seconds from ``start_s`` in the file) of a music file, by librosa's beat tracker."""
    try:
        import librosa
    except ImportError as exc:
        raise ShotsmithError("cutting to the beat needs librosa",
                             hint="pip install 'shotsmith[beats]' (librosa; ~430 MB with scipy and numba)") from exc
    y = _decode(Path(path), start_s, duration_s)
    if len(y) < ANALYSIS_RATE:
        raise MediaError(f"{Path(path).name}: less than a second of audio to find beats in")
    _, beats = librosa.beat.beat_track(y=y, sr=ANALYSIS_RATE, units="time")
    return [round(float(b), 3) for b in np.asarray(beats).reshape(-1)]


def snap_to_beats(plan: ShotPlan, beats: list[float], *, max_shift_s: float = 0.5, min_shot_s: float = 0.5,
                  offset_s: float = 0.0) -> ShotPlan:
    """A copy of ``plan`` whose cuts sit on beats.

    ``beats`` are in the music file's time; the music starts ``offset_s`` into
    the timeline. A cut with no beat within ``max_shift_s`` stays where it is.
    Shots keep at least ``min_shot_s`` (and a transition's length), the last
    shot's end (the cut's total length) does not move, and every duration is a
    whole number of frames at ``plan.fps``.
    """
    if max_shift_s < 0 or min_shot_s <= 0:
        raise InvalidInputError("max_shift_s must be >= 0 and min_shot_s > 0")
    times = sorted(b + offset_s for b in beats)
    frame = 1.0 / plan.fps
    ends, t = [], 0.0
    for shot in plan.shots:
        t += shot.duration_s
        ends.append(t)
    total = ends[-1]
    new_ends = list(ends)
    previous = 0.0
    for i, shot in enumerate(plan.shots[:-1]):
        shortest = max(min_shot_s, shot.transition_to_next.duration_s)
        low = previous + shortest
        high = total - min_shot_s * (len(plan.shots) - 1 - i)  # room for the shots after it
        target = ends[i]
        k = bisect.bisect_left(times, target)
        candidates = [b for b in times[max(0, k - 1): k + 1] if abs(b - target) <= max_shift_s and low <= b <= high]
        if candidates:
            target = min(candidates, key=lambda b: abs(b - target))
        target = round(target / frame) * frame
        if target < low - 1e-9:
            target = low
        new_ends[i] = round(target, 6)
        previous = new_ends[i]
    out = plan.model_copy(deep=True)
    start = 0.0
    for shot, end in zip(out.shots, new_ends):
        shot.duration_s = round(max(frame, end - start), 6)
        start = end
    return out


def cut_points(plan: ShotPlan) -> list[float]:
    """Timeline times of the plan's cuts (the end of every shot but the last)."""
    out, t = [], 0.0
    for shot in plan.shots[:-1]:
        t += shot.duration_s
        out.append(round(t, 6))
    return out
