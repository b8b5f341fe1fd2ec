"""The renderer: one ffmpeg process, exact lengths, mixed sources, transitions, safety."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from shotsmith.errors import InvalidInputError, MediaError, PathSafetyError, ShotsmithError
from shotsmith.formats import Transition, TransitionKind
from shotsmith.media.ffmpeg import FFmpegRun
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore
from shotsmith.timeline import ClipRef, OutputSettings, Timeline
from shotsmith.tools.render import RenderResult, place_clips, render_timeline
from shotsmith.tools.spec import TOOLS, ToolContext
from shotsmith.tools import catalogue

catalogue.load_all()

SMALL = OutputSettings(width=320, height=240, fps=30, preset="ultrafast", crf=30)


def tr(kind: str, d: float) -> Transition:
    return Transition(kind=TransitionKind(kind), duration_s=d)


def test_concat_mixed_sizes_rates_formats_and_missing_audio(make_clip, tmp_path, durations):
    a = make_clip("a.mp4", duration=1.5, size="320x240", fps=30)
    b = make_clip("b.mp4", duration=1.2, size="400x200", fps=25, audio=False, extra=["-pix_fmt", "yuv444p"])
    c = make_clip("c.mp4", duration=1.0, size="160x240", fps=24, tone_hz=660)
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=1.5), ClipRef(source=str(b), in_s=0.2, out_s=1.2),
                               ClipRef(source=str(c), out_s=1.0)], output=SMALL)
    before = FFmpegRun.started
    result = render_timeline(timeline, tmp_path / "out.mp4")
    assert FFmpegRun.started - before == 1
    assert isinstance(result, RenderResult)
    info = probe(result.path)
    assert (info.video.width, info.video.height) == (320, 240)
    assert info.video.pixel_format == "yuv420p"
    assert info.has_audio and info.audio[0].codec == "aac"
    got = durations(Path(result.path))
    assert got["frames"] == round(timeline.duration_s * 30)
    assert abs(got["video"] - timeline.duration_s) <= 1 / 30
    assert abs(got["audio"] - got["video"]) <= 1 / 30


def test_cross_transitions_keep_audio_in_step_with_video(make_clip, tmp_path, durations, frame_at, audio_of):
    a = make_clip("a.mp4", duration=2, source="color=c=red", tone_hz=300)
    b = make_clip("b.mp4", duration=2, source="color=c=blue", audio=False)
    c = make_clip("c.mp4", duration=2, source="color=c=green", tone_hz=900)
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=2, transition_to_next=tr("dissolve", 0.6)),
                               ClipRef(source=str(b), out_s=2, transition_to_next=tr("fadeblack", 0.5)),
                               ClipRef(source=str(c), out_s=2)], output=SMALL)
    assert timeline.duration_s == pytest.approx(4.9)
    result = render_timeline(timeline, tmp_path / "x.mp4")
    got = durations(Path(result.path))
    assert abs(got["video"] - 4.9) <= 1 / 30
    assert abs(got["audio"] - got["video"]) <= 1 / 30
    first, mid_dissolve, second = frame_at(Path(result.path), 0.5), frame_at(Path(result.path), 1.7), frame_at(Path(result.path), 2.5)
    assert first[..., 0].mean() > 200 and second[..., 2].mean() > 200
    # halfway through the dissolve the picture mixes red and blue
    assert 60 < mid_dissolve[..., 0].mean() < 200 and 60 < mid_dissolve[..., 2].mean() < 200
    # the fade through black reaches (near) black in the middle of its 0.5 s
    dark = frame_at(Path(result.path), 3.15)
    assert dark.mean() < 40
    # audio: the silent middle clip is silent, the others carry their tones
    samples, rate = audio_of(Path(result.path))
    mono = samples.mean(axis=0)
    def rms(t0, t1):
        return float(np.sqrt(np.mean(mono[int(t0 * rate):int(t1 * rate)] ** 2)))
    assert rms(0.2, 1.0) > 0.05 and rms(2.2, 2.8) < 0.01 and rms(4.0, 4.7) > 0.05


@pytest.mark.parametrize("kind", ["fade", "wipeleft", "slideup", "fadewhite"])
def test_every_transition_kind_renders_the_exact_length(make_clip, tmp_path, durations, kind):
    a = make_clip("a.mp4", duration=1.0)
    b = make_clip("b.mp4", duration=1.0, source="smptebars")
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=1.0, transition_to_next=tr(kind, 0.4)),
                               ClipRef(source=str(b), out_s=1.0)], output=SMALL)
    got = durations(Path(render_timeline(timeline, tmp_path / f"{kind}.mp4").path))
    assert got["frames"] == 48


def test_many_clips_stay_within_a_frame_of_the_timeline(make_clip, tmp_path, durations):
    a = make_clip("a.mp4", duration=1.0, fps=24)
    clips = [ClipRef(source=str(a), in_s=0.013 * i, out_s=0.41 + 0.037 * i,
                     transition_to_next=tr("fade", 0.11) if i % 2 else Transition.cut()) for i in range(9)]
    timeline = Timeline(clips=clips, output=SMALL)
    got = durations(Path(render_timeline(timeline, tmp_path / "many.mp4").path))
    assert abs(got["video"] - timeline.duration_s) <= 0.5 / 30 + 1e-9
    assert abs(got["audio"] - got["video"]) <= 1 / 30


def test_progress_is_reported_and_ends_at_the_duration(make_clip, tmp_path):
    a = make_clip("a.mp4", duration=1.0)
    seen: list[float] = []
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=1.0)], output=SMALL)
    render_timeline(timeline, tmp_path / "p.mp4", on_progress=seen.append)
    assert seen and seen[-1] == pytest.approx(1.0) and all(0 <= s <= 1.0 for s in seen)


def test_refuses_to_write_over_a_source(make_clip, tmp_path):
    a = make_clip("a.mp4", duration=1.0)
    other = make_clip("other.mp4", duration=1.0)
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=1.0)], output=SMALL)
    before = a.read_bytes()
    with pytest.raises(PathSafetyError):
        render_timeline(timeline, a)
    with pytest.raises(PathSafetyError):
        render_timeline(timeline, tmp_path / "sub" / ".." / "other.mp4", protected=[other])
    assert a.read_bytes() == before


def test_unwritable_output_folder_is_a_clear_error(make_clip, tmp_path):
    a = make_clip("a.mp4", duration=1.0)
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=1.0)], output=SMALL)
    with pytest.raises(ShotsmithError, match="cannot write"):
        render_timeline(timeline, not_a_folder / "o.mp4")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            return  # running as a user who can write anywhere
        with pytest.raises(ShotsmithError, match="cannot write"):
            render_timeline(timeline, locked / "o.mp4")
    finally:
        locked.chmod(0o700)


def test_bad_timelines_fail_with_messages_and_leave_no_file(make_clip, tmp_path):
    a = make_clip("a.mp4", duration=1.0)
    out = tmp_path / "bad.mp4"
    with pytest.raises(InvalidInputError, match="past the end"):
        render_timeline(Timeline(clips=[ClipRef(source=str(a), out_s=5.0)], output=SMALL), out)
    with pytest.raises(MediaError, match="does not exist"):
        render_timeline(Timeline(clips=[ClipRef(source=str(tmp_path / "nope.mp4"), out_s=1.0)], output=SMALL), out)
    with pytest.raises(InvalidInputError, match="no clips"):
        render_timeline(Timeline(output=SMALL), out)
    with pytest.raises(InvalidInputError, match="too short|longer than"):
        place_clips(Timeline(clips=[ClipRef(source="a", out_s=1.0, transition_to_next=tr("fade", 0.6)),
                                    ClipRef(source="b", out_s=1.0, transition_to_next=tr("fade", 0.6)),
                                    ClipRef(source="c", out_s=1.0)], output=SMALL))
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []


def test_cancel_stops_the_render_and_leaves_nothing(make_clip, tmp_path):
    a = make_clip("a.mp4", duration=1.0)
    cancel = threading.Event()
    cancel.set()
    out = tmp_path / "c.mp4"
    with pytest.raises(ShotsmithError):
        render_timeline(Timeline(clips=[ClipRef(source=str(a), out_s=1.0)], output=SMALL), out, cancel=cancel)
    assert not out.exists()


def test_render_tool_works_on_a_project(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "proj")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir)
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=1.0)], output=SMALL)
    store.save()
    result = TOOLS["render"](ToolContext(store=store), {"output": "renders/cut.mp4"})
    assert Path(result.path) == store.root / "renders" / "cut.mp4"
    assert result.width == 320 and result.duration_s == pytest.approx(1.0, abs=0.05)
    with pytest.raises(PathSafetyError):
        TOOLS["render"](ToolContext(store=store), {"output": "clips/a.mp4"})
    with pytest.raises(PathSafetyError):
        TOOLS["render"](ToolContext(store=store), {"output": "../escape.mp4"})


def test_transitions_that_leave_one_frame_between_them_lose_no_frames(make_clip, tmp_path, durations):
    a = make_clip("a.mp4", duration=1.5)
    clips = [ClipRef(source=str(a), in_s=0.25, out_s=1.3, transition_to_next=tr("fade", 0.5)) for _ in range(7)]
    clips.append(ClipRef(source=str(a), in_s=0.25, out_s=1.3))
    timeline = Timeline(clips=clips, output=SMALL.model_copy(update={"width": 160, "height": 120}))
    assert timeline.duration_s == pytest.approx(4.9)
    got = durations(Path(render_timeline(timeline, tmp_path / "tight.mp4").path))
    assert got["frames"] == 147
    assert abs(got["audio"] - got["video"]) <= 1 / 30


def test_long_graphs_go_through_a_script_file(make_clip, tmp_path, monkeypatch, durations):
    import shotsmith.tools.render as render_module

    monkeypatch.setattr(render_module, "MAX_INLINE_GRAPH", 10)
    a = make_clip("a.mp4", duration=1.0)
    seen: list[list[str]] = []
    original = render_module.run_ffmpeg
    monkeypatch.setattr(render_module, "run_ffmpeg", lambda args, **kw: (seen.append(list(args)), original(args, **kw)))
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=1.0, transition_to_next=tr("fade", 0.2)),
                               ClipRef(source=str(a), out_s=1.0)], output=SMALL)
    got = durations(Path(render_timeline(timeline, tmp_path / "s.mp4").path))
    assert "-/filter_complex" in seen[0] and "-filter_complex" not in seen[0]
    assert got["frames"] == 54


def test_audio_only_file_as_a_clip_is_refused(tmp_path):
    from shotsmith.media.ffmpeg import run_ffmpeg

    song = tmp_path / "song.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(song)])
    with pytest.raises(MediaError, match="no picture"):
        render_timeline(Timeline(clips=[ClipRef(source=str(song), out_s=1.0)], output=SMALL), tmp_path / "o.mp4")


def test_dissolve_is_a_true_cross_dissolve_not_a_dither(make_clip, tmp_path, frame_at):
    """Mid-way through a dissolve every pixel is a mix of both pictures (xfade's own 'dissolve' is a
    random dither: each pixel wholly one source or the other)."""
    a = make_clip("a.mp4", duration=1.5, source="color=c=red", audio=False)
    b = make_clip("b.mp4", duration=1.5, source="color=c=blue", audio=False)
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=1.5, transition_to_next=tr("dissolve", 1.0)),
                               ClipRef(source=str(b), out_s=1.5)], output=SMALL)
    result = render_timeline(timeline, tmp_path / "d.mp4")
    mid = frame_at(Path(result.path), 1.0).astype(float)  # the dissolve runs 0.5 s .. 1.5 s
    red, blue = mid[..., 0], mid[..., 2]
    assert 70 < red.mean() < 190 and 70 < blue.mean() < 190, (red.mean(), blue.mean())
    assert red.std() < 8 and blue.std() < 8, (red.std(), blue.std())  # a dither would be ~127
    assert np.percentile(red, 1) > 40 and np.percentile(blue, 1) > 40  # no pixel left wholly one source
