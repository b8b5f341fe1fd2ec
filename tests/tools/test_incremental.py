"""Incremental render: segments reused from the cache, joined without re-encoding, equal to a full render.

Every comparison decodes real media: the incremental output against a from-scratch
render of the same timeline, frame by frame (losslessly encoded, they must be equal;
at the normal quality, within encoder noise), and a smart-copied segment against its
source, packet by packet.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from shotsmith.formats import Transition, TransitionKind
from shotsmith.timeline import AudioTrack, ClipRef, OutputSettings, Timeline, Title
from shotsmith.tools.incremental import plan_segments, render_incremental, segment_encoder_args
from shotsmith.tools.render import render_timeline
from shotsmith.media.ffmpeg import run_ffmpeg

SIZE = "96x64"


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv420p").astype(np.int16) for f in container.decode(container.streams.video[0])]


def packets_of(path: Path) -> list[tuple[int, bytes, bool]]:
    """(pts relative to the first, payload, keyframe) of every video packet, in decode order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        got = [(p.pts, bytes(p), p.is_keyframe) for p in container.demux(stream) if p.size]
    first = min(pts for pts, _, _ in got)
    return [(pts - first, data, key) for pts, data, key in got]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255 ** 2 / mse)


@pytest.fixture
def media(make_clip, tmp_path):
    sources = ["testsrc2", "smptebars", "mandelbrot", "rgbtestsrc"]
    clips = [make_clip(f"c{i}.mp4", duration=1.6, size=SIZE, fps=10, source=s, tone_hz=300 + 100 * i)
             for i, s in enumerate(sources)]
    music = tmp_path / "music.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=196:sample_rate=48000:d=6", "-c:a", "aac", str(music)])
    return clips, music


def timeline_for(clips: list[Path], music: Path, crf: int) -> Timeline:
    """Four clips: a dissolve, a hard cut, a wipe; a title across the cut; a music bed."""
    kinds = [TransitionKind.DISSOLVE, None, TransitionKind.WIPE_LEFT, None]
    refs = [ClipRef(source=str(c), in_s=0.1, out_s=1.4,
                    transition_to_next=Transition(kind=k, duration_s=0.3) if k else Transition.cut())
            for c, k in zip(clips, kinds)]
    settings = OutputSettings(width=96, height=64, fps=10, crf=crf, preset="ultrafast")
    return Timeline(clips=refs, titles=[Title(text="Hi", start_s=1.5, end_s=3.0, size=14)],
                    audio=[AudioTrack(source=str(music), volume=0.5)], output=settings)


def test_segments_cut_at_clip_bodies_and_transitions(media):
    clips, music = media
    timeline = timeline_for(clips, music, crf=20)
    segments = plan_segments(timeline, timeline.output)
    # clip 0 body | dissolve 0-1 | clip 1 body (cut) | clip 2 body | wipe 2-3 | clip 3 body
    assert [s.clips for s in segments] == [(0,), (0, 1), (1,), (2,), (2, 3), (3,)]
    assert segments[0].start == 0 and segments[-1].end == round(timeline.duration_s * 10)
    assert all(a.end == b.start for a, b in zip(segments, segments[1:]))


def test_incremental_equals_a_full_render_losslessly_and_reuses_unchanged_segments(media, tmp_path):
    clips, music = media
    cache = tmp_path / "cache"
    timeline = timeline_for(clips, music, crf=0)  # lossless: any difference is a real one
    full = tmp_path / "full.mp4"
    render_timeline(timeline, full)
    first = render_incremental(timeline, tmp_path / "inc.mp4", cache=cache, smart=False)
    assert first.count("encode") == 6 and first.count("cached") == 0
    ours, theirs = frames_of(tmp_path / "inc.mp4"), frames_of(full)
    assert len(ours) == len(theirs) == round(timeline.duration_s * 10)
    assert max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs)) == 0
    with av.open(str(tmp_path / "inc.mp4")) as got, av.open(str(full)) as want:
        assert abs(float(got.duration - want.duration) / 1e6) < 0.05
    # every segment starts on a keyframe, with no frame before it in its GOP
    for plan in first.segments:
        packets = packets_of(plan.path)
        assert packets[0][2] and packets[0][0] == min(p for p, _, _ in packets)

    # change clip 3's in point: its body and the wipe into it are encoded, the rest reused
    changed = timeline.model_copy(deep=True)
    changed.clips[3] = changed.clips[3].model_copy(update={"in_s": 0.0, "out_s": 1.3})
    again = render_incremental(changed, tmp_path / "inc2.mp4", cache=cache, smart=False)
    assert [p.action for p in again.segments] == ["cached", "cached", "cached", "cached", "encode", "encode"]
    full2 = tmp_path / "full2.mp4"
    render_timeline(changed, full2)
    ours, theirs = frames_of(tmp_path / "inc2.mp4"), frames_of(full2)
    assert len(ours) == len(theirs)
    assert max(float(np.abs(a - b).max()) for a, b in zip(ours, theirs)) == 0
    # the sound is the whole timeline's mix, as long as the picture
    with av.open(str(tmp_path / "inc2.mp4")) as container:
        assert container.streams.audio and abs(float(container.streams.audio[0].duration
                                                     * container.streams.audio[0].time_base)
                                               - changed.duration_s) < 0.05


def test_a_title_change_re_encodes_only_the_segments_it_shows_in(media, tmp_path):
    clips, music = media
    cache = tmp_path / "cache"
    timeline = timeline_for(clips, music, crf=20)
    render_incremental(timeline, tmp_path / "a.mp4", cache=cache, smart=False)
    retitled = timeline.model_copy(update={"titles": [timeline.titles[0].model_copy(update={"text": "Ho"})]})
    again = render_incremental(retitled, tmp_path / "b.mp4", cache=cache, smart=False)
    shown = [p.action for p in again.segments]
    # 10 fps, 13 frames a clip: the title (frames 15-30) shows over clip 1's body (13-23) and clip 2's (23-33) only
    assert shown == ["cached", "cached", "encode", "encode", "cached", "cached"]
    full = tmp_path / "full.mp4"
    render_timeline(retitled, full)
    ours, theirs = frames_of(tmp_path / "b.mp4"), frames_of(full)
    assert len(ours) == len(theirs)
    assert min(psnr(a, b) for a, b in zip(ours, theirs)) > 35  # crf 20 both: encoder noise only


def audio_of(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(container.streams.audio[0])], axis=1)


def test_a_picture_only_edit_reuses_the_mixed_sound_and_its_loudness_pass(media, tmp_path, monkeypatch):
    """The sound is cached on its graph: a title change runs neither the mix nor the loudness measurement, and
    the output's sound equals a from-scratch render's; a change to the sound (a track's volume) mixes again."""
    import shotsmith.tools.incremental as incremental
    import shotsmith.tools.render as render

    ran: list[str] = []
    for module in (incremental, render):
        original = module.run_ffmpeg

        def recording(args, *a, _original=original, **kw):
            ran.append(kw.get("what") or "")
            return _original(args, *a, **kw)

        monkeypatch.setattr(module, "run_ffmpeg", recording)
    clips, music = media
    cache = tmp_path / "cache"
    timeline = timeline_for(clips, music, crf=20)
    timeline.output.loudness_lufs = -16.0
    first = render_incremental(timeline, tmp_path / "a.mp4", cache=cache, smart=False)
    assert first.sound == "mixed"
    assert "mixing the sound" in ran and "measuring the loudness" in ran
    ran.clear()
    retitled = timeline.model_copy(update={"titles": [timeline.titles[0].model_copy(update={"text": "Ho"})]})
    again = render_incremental(retitled, tmp_path / "b.mp4", cache=cache, smart=False)
    assert again.sound == "cached" and again.count("encode") == 2
    assert "mixing the sound" not in ran and "measuring the loudness" not in ran, ran
    full = tmp_path / "full.mp4"
    render_timeline(retitled, full)
    ours, theirs = audio_of(tmp_path / "b.mp4"), audio_of(full)
    assert ours.shape == theirs.shape and float(np.abs(ours).max()) > 0.01
    assert float(np.abs(ours - theirs).max()) < 1e-4
    # the sound graph changed: mixed (and measured) again, picture segments all reused
    ran.clear()
    louder = retitled.model_copy(deep=True)
    louder.audio[0].volume = 0.9
    third = render_incremental(louder, tmp_path / "c.mp4", cache=cache, smart=False)
    assert third.sound == "mixed" and third.count("encode") == 0
    assert "mixing the sound" in ran and "measuring the loudness" in ran


def test_a_matching_source_is_copied_packet_for_packet(make_clip, tmp_path):
    settings = OutputSettings(width=96, height=64, fps=10, crf=20, preset="ultrafast")
    # a source made with exactly the output's encoder settings: 2 s, keyframes every 10 frames
    source = tmp_path / "match.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s={SIZE}:r=10", "-t", "2", *segment_encoder_args(settings),
                "-force_key_frames", "expr:eq(mod(n,10),0)", "-an", str(source)])
    other = make_clip("other.mp4", duration=1.5, size=SIZE, fps=10, source="smptebars")
    timeline = Timeline(clips=[ClipRef(source=str(other), in_s=0, out_s=1.0),
                               ClipRef(source=str(source), in_s=0.5, out_s=1.5),  # frames 5-14: not whole GOPs
                               ClipRef(source=str(source), in_s=1.0, out_s=2.0)],  # frames 10..19: one GOP
                        output=settings)
    result = render_incremental(timeline, tmp_path / "out.mp4", cache=tmp_path / "cache")
    assert [p.action for p in result.segments] == ["encode", "encode", "copy"]
    copied = packets_of(result.segments[2].path)
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        frame = int(round(1 / (10 * stream.time_base)))
        want = [bytes(p) for p in container.demux(stream) if p.size and 10 * frame <= p.pts < 20 * frame]
    assert [data for _, data, _ in copied] == want
    # and those very packets are in the joined output, whose frames match a full render's
    with av.open(str(tmp_path / "out.mp4")) as container:
        joined = [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]
    assert joined[-10:] == want
    full = tmp_path / "full.mp4"
    render_timeline(timeline, full)
    ours, theirs = frames_of(tmp_path / "out.mp4"), frames_of(full)
    assert len(ours) == len(theirs) == 30
    assert min(psnr(a, b) for a, b in zip(ours, theirs)) > 35


def test_a_preview_is_small_looks_like_the_sources_and_remakes_only_what_an_edit_changed(make_clip, tmp_path):
    """The first preview is made from the sources in parallel runs; the next, after an edit, only the edited
    shot's segments (the rest, and the sound, from the preview cache); each equals a one-pass preview."""
    from shotsmith.tools.incremental import render

    clips = [make_clip(f"big{i}.mp4", duration=1.2, size="960x540", fps=10, source=s)
             for i, s in enumerate(["testsrc2", "smptebars", "mandelbrot"])]
    timeline = Timeline(clips=[ClipRef(source=str(c), in_s=0, out_s=1.0) for c in clips],
                        output=OutputSettings(width=960, height=540, fps=10))
    previews = tmp_path / "previews"
    direct = render_timeline(timeline, tmp_path / "direct.mp4", preview=True)
    first = render_incremental(timeline, tmp_path / "p1.mp4", cache=previews, jobs=2, fast=True, smart=False,
                               settings=direct_settings(timeline, tmp_path))
    assert first.count("encode") == 3 and (first.render.width, first.render.height) == (640, 360)
    ours, theirs = frames_of(tmp_path / "p1.mp4"), frames_of(tmp_path / "direct.mp4")
    assert len(ours) == len(theirs) == 30
    assert min(psnr(a, b) for a, b in zip(ours, theirs)) > 35  # the same frames, within encoder noise
    # the front end's preview: the same cache; after an edit to clip 2 only its segment is made
    edited = timeline.model_copy(deep=True)
    edited.clips[1] = edited.clips[1].model_copy(update={"in_s": 0.2, "out_s": 1.2})
    result = render(edited, tmp_path / "p2.mp4", cache=tmp_path / "segments", preview=True, preview_cache=previews)
    assert (result.width, result.height) == (640, 360)
    assert not (tmp_path / "segments").exists()  # a preview never touches the final render's cache
    again = render_incremental(edited, tmp_path / "p3.mp4", cache=previews, fast=True, smart=False,
                               settings=direct_settings(timeline, tmp_path))
    assert again.count("cached") == 3 and again.sound == "cached"  # p2 made the edited segment, p3 reuses all
    ours, theirs = frames_of(tmp_path / "p2.mp4"), frames_of(render_timeline(
        edited, tmp_path / "direct2.mp4", preview=True).path)
    assert len(ours) == len(theirs) == 30 and min(psnr(a, b) for a, b in zip(ours, theirs)) > 35


def direct_settings(timeline: Timeline, tmp_path: Path) -> OutputSettings:
    from shotsmith.tools.encoding import preview_settings, settings_for_output

    return preview_settings(settings_for_output(timeline.output, tmp_path / "x.mp4"))


def test_the_service_re_renders_only_what_an_edit_changed_and_previews_small(tmp_path):
    """The offline path end to end: animatic stills, a final render into the segment cache, "make shot 3
    slower" encodes only its segments; a preview is small and leaves the final renders alone."""
    from shotsmith.assistant import ServiceOptions
    from shotsmith.assistant.production import ProductionService
    from shotsmith.plan_edits import edit_shot

    service = ProductionService.open(tmp_path / "p", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 6 second ad for a bakery, 3 shots")
    service.generate()
    assert all(s.clip.endswith(".png") for s in service.plan.shots)  # the animatic's cards are stills
    cache = service.store.root / ".shotsmith" / "segments"
    first = service.render()
    made = set(cache.glob("*.mp4"))
    assert made and first.version == 1
    service.edit(lambda p: edit_shot(p, 3, speed=0.5))
    second = service.render()
    new = set(cache.glob("*.mp4")) - made
    assert second.version == 2 and 0 < len(new) < len(made)  # the last shot's segments only
    assert abs(second.duration_s - service.store.project.timeline.duration_s) < 0.1
    preview = service.render(preview=True)
    assert preview.preview and preview.height == 360 and preview.version is None


def test_runs_are_shared_between_cores_at_segment_boundaries(tmp_path, monkeypatch):
    from shotsmith.tools import incremental
    from shotsmith.tools.incremental import Segment, SegmentPlan, _share

    plans = [SegmentPlan(Segment(a, b, (0,)), f"k{a}", tmp_path / f"{a}.mp4")
             for a, b in ((0, 90), (90, 105), (105, 180), (180, 195), (195, 270), (270, 450))]
    def length(run):
        return sum(p.segment.frames for p in run)

    halves = _share([plans], 2, length)
    assert [len(r) for r in halves] == [4, 2]  # cut at frame 195, the boundary nearest the middle (225)
    assert halves[0][-1].segment.end == halves[1][0].segment.start == 195
    assert _share([plans[:1]], 2, length) == [plans[:1]]  # one segment cannot be shared
    assert _share([plans[:2], plans[3:]], 2, length) == [plans[:2], plans[3:]]  # already two runs
    # by work, not length: the last segment (a dense source) costs four times its frames
    heavy = _share([plans], 2, lambda run: sum(p.segment.frames * (4 if p.segment.start == 270 else 1) for p in run))
    assert heavy[1][0].segment.start == 270
    monkeypatch.setattr(incremental.os, "getloadavg", lambda: (0.2, 0, 0))
    monkeypatch.setattr(incremental.os, "cpu_count", lambda: 2)
    assert incremental.parallel_jobs() == 2
    monkeypatch.setattr(incremental.os, "getloadavg", lambda: (1.4, 0, 0))  # this run's own start counts in it
    assert incremental.parallel_jobs() == 2
    monkeypatch.setattr(incremental.os, "getloadavg", lambda: (3.5, 0, 0))
    assert incremental.parallel_jobs() == 1  # a busy machine: one process costs least
