"""Parallel runs get equal work, and a preview's sound is quick to encode and in sync, on real media."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from shotsmith.formats import CameraMove
from shotsmith.media.ffmpeg import has_encoder, run_ffmpeg
from shotsmith.timeline import ClipRef, OutputSettings, Timeline
from shotsmith.tools.encoding import preview_settings
from shotsmith.tools.incremental import render_incremental
from shotsmith.tools.run_cost import clip_costs, output_frame_cost, stretch_cost

SETTINGS = OutputSettings(width=160, height=96, fps=10)


def _dense(path: Path) -> Path:
    """Random noise coded losslessly: many bytes a frame, as a detailed camera clip has."""
    run_ffmpeg(["-f", "lavfi", "-i", "nullsrc=s=160x96:r=10,geq=random(1)*255:128:128", "-t", "2",
                "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", str(path)])
    return path


def test_a_dense_source_costs_more_than_a_flat_one_of_the_same_size(make_clip, tmp_path):
    flat = make_clip("flat.mp4", duration=2, size="160x96", fps=10, source="color=c=green", audio=False)
    dense = _dense(tmp_path / "dense.mp4")
    timeline = Timeline(clips=[ClipRef(source=str(flat), in_s=0, out_s=2), ClipRef(source=str(dense), in_s=0, out_s=2)],
                        output=SETTINGS)
    costs = clip_costs(timeline, SETTINGS, resolve=Path, infos={})
    assert costs[1] > 3 * costs[0]
    # a run that touches the dense clip costs more than one of the same length that does not
    per_frame = output_frame_cost(SETTINGS)
    assert stretch_cost({1}, 20, costs, per_frame) > stretch_cost({0}, 20, costs, per_frame)
    # the cheaper preset costs less to encode
    assert output_frame_cost(preview_settings(SETTINGS)) < output_frame_cost(SETTINGS.model_copy(update={"width": 640,
                                                                                                          "height": 360}))


def test_a_still_flown_over_costs_by_its_frames_and_a_still_held_costs_once(tmp_path):
    card = tmp_path / "card.png"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=192x116", "-frames:v", "1", str(card)])
    held = ClipRef(source=str(card), in_s=0, out_s=2)
    moved = held.model_copy(update={"motion": CameraMove.ZOOM_IN})
    short = moved.model_copy(update={"out_s": 1})
    timeline = Timeline(clips=[held, moved, short], output=SETTINGS)
    costs = clip_costs(timeline, SETTINGS, resolve=Path, infos={})
    assert costs[1] > 5 * costs[0]
    assert abs(costs[1] - 2 * costs[2]) < 1e-9


def test_a_missing_source_gets_a_guess_and_the_render_reports_it(tmp_path):
    timeline = Timeline(clips=[ClipRef(source=str(tmp_path / "gone.mp4"), in_s=0, out_s=1)], output=SETTINGS)
    assert clip_costs(timeline, SETTINGS, resolve=Path, infos={})[0] > 0


def test_two_runs_split_where_the_work_halves_and_the_result_is_the_one_run_result(make_clip, tmp_path, monkeypatch):
    from shotsmith.tools import incremental

    flat = [make_clip(f"f{i}.mp4", duration=2, size="160x96", fps=10, source="color=c=blue", audio=False)
            for i in range(3)]
    dense = _dense(tmp_path / "dense.mp4")
    clips = [ClipRef(source=str(p), in_s=0, out_s=1.9) for p in [*flat, dense]]
    timeline = Timeline(clips=clips, output=SETTINGS)
    one = render_incremental(timeline, tmp_path / "one.mp4", cache=tmp_path / "c1", jobs=1, smart=False)
    runs = []
    encode_run = incremental._encode_run

    def recorded(timeline, settings, run, **kwargs):
        runs.append((run[0].segment.start, run[-1].segment.end))
        return encode_run(timeline, settings, run, **kwargs)

    monkeypatch.setattr(incremental, "_encode_run", recorded)
    two = render_incremental(timeline, tmp_path / "two.mp4", cache=tmp_path / "c2", jobs=2, smart=False)
    assert one.count("encode") == two.count("encode") == 4
    # by length the cut would fall at frame 38 (two clips each side); the dense clip is the heavier half alone
    assert sorted(runs) == [(0, 57), (57, 76)]
    with av.open(str(tmp_path / "one.mp4")) as a, av.open(str(tmp_path / "two.mp4")) as b:
        fa = [f.to_ndarray(format="gray").astype(float) for f in a.decode(video=0)]
        fb = [f.to_ndarray(format="gray").astype(float) for f in b.decode(video=0)]
    assert len(fa) == len(fb) == 76
    assert max(abs(x.mean() - y.mean()) for x, y in zip(fa, fb)) < 1  # the same pictures (noise codes noisily)


def test_a_preview_sound_is_mp3_where_ffmpeg_has_lame_and_stays_in_sync(make_clip, tmp_path):
    from shotsmith.tools.incremental import render

    click = tmp_path / "click.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=160x96:r=10:d=3", "-f", "lavfi", "-i",
                "aevalsrc='if(between(t,1,1.01),0.8*sin(2*PI*1000*t),0)':s=48000:d=3",
                "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(click)])
    timeline = Timeline(clips=[ClipRef(source=str(click), in_s=0, out_s=3)], output=SETTINGS)
    out = tmp_path / "preview.mp4"
    render(timeline, out, cache=tmp_path / "c", preview=True, preview_cache=tmp_path / "p")
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.codec.id == av.Codec("mp3" if has_encoder("libmp3lame") else "aac").id
        sound = np.concatenate([f.to_ndarray()[0] for f in container.decode(stream)])
    onset = int(np.argmax(np.abs(sound) > 0.1)) / 48000
    assert abs(onset - 1.0) < 0.01
