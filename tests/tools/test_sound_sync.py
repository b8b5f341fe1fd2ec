"""A click in a source is heard when its frame is shown: no render shifts the sound.

A seek to 0 used to lose the AAC encoder delay an MP4's edit list removes, so every
sound read from a file's start (clips, music, voice) came out 1024 samples (21 ms) early.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.timeline import AudioTrack, ClipRef, OutputSettings, Timeline
from shotsmith.tools.incremental import render
from shotsmith.tools.render import render_timeline

SETTINGS = OutputSettings(width=160, height=96, fps=10)


def _click(path: Path, at_s: float) -> Path:
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=160x96:r=10:d=3", "-f", "lavfi", "-i",
                f"aevalsrc='if(between(t,{at_s},{at_s + 0.01}),0.8*sin(2*PI*1000*t),0)':s=48000:d=3",
                "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(path)])
    return path


def _onset(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        sound = np.concatenate([f.to_ndarray()[0] for f in container.decode(stream)])
    return int(np.argmax(np.abs(sound) > 0.1)) / 48000


@pytest.mark.parametrize("in_s", [0.0, 0.5])
@pytest.mark.parametrize("how", ["one pass", "incremental", "preview"])
def test_a_clips_click_lands_on_its_time(tmp_path, in_s, how):
    clip = _click(tmp_path / "click.mp4", 1.0)
    timeline = Timeline(clips=[ClipRef(source=str(clip), in_s=in_s, out_s=3)], output=SETTINGS)
    out = tmp_path / "out.mp4"
    if how == "one pass":
        render_timeline(timeline, out)
    else:
        render(timeline, out, cache=tmp_path / "c", preview=how == "preview", preview_cache=tmp_path / "p")
    assert abs(_onset(out) - (1.0 - in_s)) < 0.003


def test_a_music_beds_click_lands_on_its_time(tmp_path):
    silent = tmp_path / "silent.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=160x96:r=10:d=3", "-c:v", "libx264", "-preset", "ultrafast",
                str(silent)])
    music = tmp_path / "music.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "aevalsrc='if(between(t,1.5,1.51),0.8*sin(2*PI*1000*t),0)':s=48000:d=3",
                "-c:a", "aac", str(music)])
    timeline = Timeline(clips=[ClipRef(source=str(silent), in_s=0, out_s=3)],
                        audio=[AudioTrack(source=str(music), start_s=0, volume=1.0)], output=SETTINGS)
    render_timeline(timeline, tmp_path / "out.mp4")
    assert abs(_onset(tmp_path / "out.mp4") - 1.5) < 0.003
