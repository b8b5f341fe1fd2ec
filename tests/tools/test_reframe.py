"""Reframing (crop / pad / blurred fill) and speed changes with pitch kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shotsmith.errors import InvalidInputError
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore
from shotsmith.timeline import ClipRef, OutputSettings, Timeline
from shotsmith.tools import catalogue
from shotsmith.tools.render import atempo_chain, render_timeline
from shotsmith.tools.spec import TOOLS, ToolContext

catalogue.load_all()

SMALL = OutputSettings(width=320, height=240, fps=30, preset="ultrafast", crf=30)


@pytest.fixture
def project(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir, source="color=c=yellow")
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=1.0)], output=SMALL)
    store.save()
    return store


@pytest.mark.parametrize("mode", ["crop", "pad", "blur"])
def test_reframe_to_vertical(project, frame_at, mode):
    ctx = ToolContext(store=project)
    TOOLS["reframe"](ctx, {"aspect_ratio": "9:16", "mode": mode})
    result = TOOLS["render"](ctx, {"output": f"renders/{mode}.mp4"})
    info = probe(result.path)
    assert (info.video.width, info.video.height) == (240, 426)
    frame = frame_at(Path(result.path), 0.5).astype(int)
    top, middle = frame[10, 120], frame[213, 120]
    assert middle[0] > 200 and middle[1] > 200 and middle[2] < 80  # the yellow picture in the middle
    if mode == "crop":
        assert top[0] > 200 and top[2] < 80  # filled to the edge
    elif mode == "pad":
        assert top.max() < 30  # black bars
    else:
        assert top[0] > 120 and top[1] > 120  # a blurred copy of the yellow, not black


def test_reframe_to_square_and_named_resolution(project):
    ctx = ToolContext(store=project)
    TOOLS["reframe"](ctx, {"aspect_ratio": "1:1", "resolution": "360p", "mode": "pad"})
    out = project.project.timeline.output
    assert (out.width, out.height, out.fit) == (360, 360, "contain")
    TOOLS["reframe"](ctx, {"aspect_ratio": "4:5", "resolution": "360p"})
    assert (project.project.timeline.output.width, project.project.timeline.output.height) == (360, 450)
    with pytest.raises(InvalidInputError):
        TOOLS["reframe"](ctx, {"aspect_ratio": "4:5", "resolution": "99p"})


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    mono = samples.mean(axis=0)[int(0.1 * rate):-int(0.1 * rate)]
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("speed,expected", [(2.0, 1.0), (0.5, 2.0), (4.0, 0.5), (0.25, 2.0)])
def test_speed_changes_length_keeps_pitch_and_sync(make_clip, tmp_path, durations, audio_of, speed, expected):
    span = expected * speed
    clip = make_clip("a.mp4", duration=max(span, 0.5) + 0.1, tone_hz=600)
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=span, speed=speed)], output=SMALL)
    assert timeline.duration_s == pytest.approx(expected)
    out = Path(render_timeline(timeline, tmp_path / "s.mp4").path)
    got = durations(out)
    assert abs(got["video"] - expected) <= 1 / 30 and abs(got["audio"] - got["video"]) <= 1 / 30
    samples, rate = audio_of(out)
    assert _dominant_hz(samples, rate) == pytest.approx(600, rel=0.05)


def test_atempo_chain_multiplies_to_the_speed():
    for speed in (0.25, 0.3, 0.5, 1.0, 1.7, 2.0, 3.3, 4.0):
        product = 1.0
        for f in atempo_chain(speed):
            (_, value), = f.options
            assert 0.5 <= value <= 2.0
            product *= value
        assert product == pytest.approx(speed)


def test_set_speed_tool_validates(project):
    ctx = ToolContext(store=project)
    TOOLS["set_speed"](ctx, {"clip": 1, "speed": 2})
    assert project.project.timeline.duration_s == pytest.approx(0.5)
    with pytest.raises(Exception):
        TOOLS["set_speed"](ctx, {"clip": 1, "speed": 5})
    with pytest.raises(InvalidInputError, match="no clip 3"):
        TOOLS["set_speed"](ctx, {"clip": 3, "speed": 2})
