"""Cut to the beat: cuts move onto beats within reach, shots keep their minimum, the length is kept."""

from __future__ import annotations

import numpy as np
import pytest

from shotsmith.beats import cut_points, detect_beats, snap_to_beats
from shotsmith.brief import Shot, ShotPlan
from shotsmith.errors import InvalidInputError


def plan_of(*durations: float, fps: int = 30) -> ShotPlan:
    return ShotPlan(shots=[Shot(index=n, prompt=f"shot {n}", duration_s=d) for n, d in enumerate(durations, 1)],
                    fps=fps)


def test_cuts_land_on_the_nearest_beat_within_reach():
    plan = plan_of(3.1, 2.8, 4.3, 2.0)  # cuts at 3.1, 5.9, 10.2; ends at 12.2
    beats = list(np.arange(0.0, 13.0, 0.5))  # 120 BPM
    snapped = snap_to_beats(plan, beats, max_shift_s=0.3)
    assert cut_points(snapped) == pytest.approx([3.0, 6.0, 10.0])
    assert sum(s.duration_s for s in snapped.shots) == pytest.approx(12.2)
    assert plan.shots[0].duration_s == 3.1, "the input plan is not changed"
    assert [s.prompt for s in snapped.shots] == [s.prompt for s in plan.shots]


def test_music_offset_frames_and_reach():
    plan = plan_of(2.0, 2.0, 2.0, fps=24)
    snapped = snap_to_beats(plan, [1.53, 3.71], offset_s=0.25, max_shift_s=0.3)  # beats at 1.78 and 3.96
    points = cut_points(snapped)
    assert points == pytest.approx([round(1.78 * 24) / 24, round(3.96 * 24) / 24])
    for shot in snapped.shots:
        assert abs(shot.duration_s * 24 - round(shot.duration_s * 24)) < 1e-4, "whole frames (to the microsecond)"
    far = snap_to_beats(plan, [3.0], max_shift_s=0.2)
    assert cut_points(far) == pytest.approx([2.0, 4.0]), "no beat within reach: the cut stays"


def test_shots_keep_their_minimum_and_order():
    plan = plan_of(1.0, 0.6, 3.0)
    snapped = snap_to_beats(plan, [0.8, 1.2], max_shift_s=0.5, min_shot_s=0.5)
    assert all(s.duration_s >= 0.5 - 1e-9 for s in snapped.shots)
    points = cut_points(snapped)
    assert points == sorted(points)
    with pytest.raises(InvalidInputError):
        snap_to_beats(plan, [1.0], min_shot_s=0)


def test_detect_beats_on_a_click_track(tmp_path):
    pytest.importorskip("librosa")
    from shotsmith.backends.voice import write_wav

    rate, bpm = 22050, 120
    y = np.zeros(rate * 8, dtype=np.float32)
    t = np.arange(int(0.05 * rate)) / rate
    click = (np.sin(2 * np.pi * 1000 * t) * np.exp(-t * 60)).astype(np.float32)
    truth = np.arange(0.5, 7.5, 60 / bpm)
    for b in truth:
        y[int(b * rate): int(b * rate) + len(click)] += click
    write_wav(tmp_path / "clicks.wav", y * 0.8, rate)
    found = np.array(detect_beats(tmp_path / "clicks.wav"))
    hits = [b for b in truth if np.min(np.abs(found - b)) < 0.07]
    assert len(hits) >= 0.9 * len(truth)
