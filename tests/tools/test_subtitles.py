"""Captions: SRT parsing/writing, sidecar export, burn-in with the bundled font."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotsmith.errors import InvalidInputError
from shotsmith.store import ProjectStore
from shotsmith.timeline import Caption, CaptionSettings, CaptionWord, ClipRef, OutputSettings, Timeline
from shotsmith.tools import catalogue
from shotsmith.tools.render import render_timeline
from shotsmith.tools.spec import TOOLS, ToolContext
from shotsmith.tools.subtitles import captions_to_srt, parse_srt, parse_srt_time, srt_time

catalogue.load_all()

SMALL = OutputSettings(width=320, height=240, fps=30, preset="ultrafast", crf=18)

cue_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85"),
                   min_size=1, max_size=40).filter(lambda t: t.strip() and "-->" not in t)


@given(st.integers(min_value=0, max_value=99 * 3600 * 1000))
def test_srt_times_round_trip(ms):
    assert parse_srt_time(srt_time(ms / 1000)) == pytest.approx(ms / 1000)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 5_000), cue_text), min_size=1, max_size=8))
@settings(max_examples=100)
def test_captions_round_trip_through_srt(cues):
    captions = [Caption(start_s=s / 1000, end_s=(s + d) / 1000, text=t.strip()) for s, d, t in cues]
    parsed = parse_srt(captions_to_srt(captions))
    expected = sorted(captions, key=lambda c: c.start_s)
    assert [(c.start_s, c.end_s, c.text) for c in parsed] == [(c.start_s, c.end_s, c.text) for c in expected]


@pytest.mark.parametrize("text,message", [
    ("1\n00:00:01,000 -> 00:00:02,000\nx", "no 'start --> end'"),
    ("1\n00:00:03,000 --> 00:00:02,000\nx", "ends before"),
    ("1\n00:00:01 --> 00:00:02,000\nx", "not an SRT time"),
    ("1\n00:61:01,000 --> 00:62:02,000\nx", "below 60"),
])
def test_malformed_srt_is_explained(text, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_srt(text)


def test_captions_are_burned_in_at_the_bottom(make_clip, tmp_path, frame_at):
    clip = make_clip("grey.mp4", duration=2.0, source="color=c=0x404040", audio=False)
    srt = tmp_path / "extra.srt"
    srt.write_text("1\n00:00:01,200 --> 00:00:01,900\nFrom a file: 100% \"quoted\" \\ {brace}\n", encoding="utf-8")
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=2.0)], output=SMALL,
                        captions=[Caption(start_s=0.2, end_s=0.9, text="Hello, world: it's 50%\nline two")],
                        caption_settings=CaptionSettings(burn=True, srt=str(srt)))
    out = Path(render_timeline(timeline, tmp_path / "out.mp4").path)
    def bottom_diff(t):
        frame = frame_at(out, t).astype(int)
        bright = np.abs(frame - 0x40).max(axis=2) > 60
        return bright[150:].mean(), bright[:100].mean()  # share of changed pixels: bottom, top
    shown, top = bottom_diff(0.5)
    assert shown > 0.01 and top == 0  # text in the bottom part only
    assert bottom_diff(1.0)[0] == 0  # between cues: nothing
    assert bottom_diff(1.5)[0] > 0.01  # the cue from the SRT file
    not_burned = timeline.model_copy(update={"caption_settings": CaptionSettings(burn=False)})
    plain = Path(render_timeline(not_burned, tmp_path / "plain.mp4").path)
    assert np.abs(frame_at(plain, 0.5).astype(int) - 0x40).max() < 10


def test_caption_tools_add_and_export(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir)
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=1.0)], output=SMALL)
    store.save()
    (store.assets_dir / "in.srt").write_text("1\n00:00:00,100 --> 00:00:00,500\nfrom file\n", encoding="utf-8")
    ctx = ToolContext(store=store)
    TOOLS["add_captions"](ctx, {"srt": "assets/in.srt", "cues": [{"start_s": 0.5, "end_s": 0.9, "text": "cue: two"}]})
    assert [c.text for c in store.project.timeline.captions] == ["from file", "cue: two"]
    result = TOOLS["export_srt"](ctx, {"output": "renders/out.srt"})
    assert result.cues == 2
    assert [c.text for c in parse_srt(Path(result.path).read_text())] == ["from file", "cue: two"]
    with pytest.raises(InvalidInputError, match="no captions"):
        TOOLS["add_captions"](ctx, {})
    with pytest.raises(InvalidInputError, match=".srt"):
        TOOLS["export_srt"](ctx, {"output": "renders/out.txt"})
    with pytest.raises(Exception, match="source|outside"):
        TOOLS["export_srt"](ctx, {"output": "assets/in.srt"})


def test_paths_with_filter_graph_specials_work(make_clip, tmp_path, frame_at):
    folder = tmp_path / "we'ird: [dir], 100% ;x"
    clip = make_clip("a b.mp4", duration=1.0, folder=folder, source="color=c=0x404040", audio=False)
    srt = folder / "it's: [1].srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nPATH OK\n", encoding="utf-8")
    logo = folder / "l,o:g'o.png"
    from shotsmith.media.ffmpeg import run_ffmpeg
    from shotsmith.timeline import Overlay
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1", str(logo)])
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=1.0)], output=SMALL,
                        caption_settings=CaptionSettings(srt=str(srt)),
                        overlays=[Overlay(source=str(logo), position="top_left", scale=0.1, margin=0)])
    out = Path(render_timeline(timeline, folder / "out put.mp4").path)
    frame = frame_at(out, 0.5).astype(int)
    assert frame[5, 5, 0] > 200 and frame[5, 5, 1] < 60  # the logo
    assert (np.abs(frame[150:] - 0x40).max(axis=2) > 60).mean() > 0.002  # the caption


def test_braces_in_captions_are_shown_not_taken_as_styles(make_clip, tmp_path, frame_at):
    clip = make_clip("grey.mp4", duration=1.0, source="color=c=0x404040", audio=False)
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=1.0)], output=SMALL,
                        captions=[Caption(start_s=0, end_s=1, text="{\\an8 not a style}")])
    frame = frame_at(Path(render_timeline(timeline, tmp_path / "o.mp4").path), 0.5).astype(int)
    bright = np.abs(frame - 0x40).max(axis=2) > 60
    assert bright[150:].mean() > 0.005 and bright[:100].mean() == 0  # shown, and still at the bottom


def test_stack_offsets_never_overlap_cues_on_screen_together():
    from shotsmith.tools.subtitles import stack_offsets

    assert stack_offsets([(0, 1, 20), (1, 2, 20)]) == [0, 0]  # one after the other: same line
    assert stack_offsets([(0, 2, 20), (0.5, 1, 30), (0.7, 3, 10)]) == [0, 20, 50]
    assert stack_offsets([(0, 1, 20), (0.2, 3, 20), (1.5, 2, 20)]) == [0, 20, 0]  # the line below is free again
    cues = [(i * 0.3, i * 0.3 + 1.0, 10 + (i * 7) % 13) for i in range(12)]
    offsets = stack_offsets(cues)
    for i, (s1, e1, h1) in enumerate(cues):
        for j, (s2, e2, h2) in enumerate(cues):
            if i < j and s1 < e2 and s2 < e1:
                assert offsets[i] + h1 <= offsets[j] or offsets[j] + h2 <= offsets[i]


def test_overlapping_captions_are_stacked_not_drawn_over_each_other(make_clip, tmp_path, frame_at):
    clip = make_clip("grey.mp4", duration=2.0, source="color=c=0x909090", audio=False)
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=2.0)], output=SMALL,
                        captions=[Caption(start_s=0.0, end_s=1.4, text="first cue"),
                                  Caption(start_s=0.7, end_s=2.0, text="second cue")])
    out = Path(render_timeline(timeline, tmp_path / "out.mp4").path)

    def boxed_rows(t):
        frame = frame_at(out, t).astype(int)
        return set(np.nonzero((frame.max(axis=2) < 0x60).any(axis=1))[0])  # rows crossing a caption box

    one, both, later = boxed_rows(0.3), boxed_rows(1.0), boxed_rows(1.7)
    assert len(one) > 10
    assert one <= both and len(both) >= 1.8 * len(one)  # a second box, above the first, not on it
    assert later and max(later) < min(one)  # the second cue keeps its place above the first


def test_a_caption_after_the_end_of_the_timeline_is_refused(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir)
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=1.0)], output=SMALL)
    store.save()
    ctx = ToolContext(store=store)
    with pytest.raises(InvalidInputError, match=r"caption 1 \('too late'\) starts at 5s, after the end of the timeline \(1s\)"):
        TOOLS["add_captions"](ctx, {"cues": [{"start_s": 5, "end_s": 6, "text": "too late"}]})
    (store.assets_dir / "late.srt").write_text("1\n00:00:00,100 --> 00:00:00,500\nok\n\n2\n00:00:02,000 --> 00:00:03,000\nlate\n")
    with pytest.raises(InvalidInputError, match="caption 2 .* after the end"):
        TOOLS["add_captions"](ctx, {"srt": "assets/late.srt"})
    assert store.project.timeline.captions == []  # nothing half-added
    plan = store.project.timeline.model_copy(update={"captions": [Caption(start_s=1.5, end_s=2, text="late")]})
    with pytest.raises(InvalidInputError, match="after the end of the timeline"):
        render_timeline(plan, tmp_path / "late.mp4", resolve=store.resolve)
    assert not (tmp_path / "late.mp4").exists()


@pytest.mark.parametrize("size", [(320, 240), (180, 320)])
def test_burned_captions_sit_above_a_slates_label_strip(tmp_path, frame_at, size):
    """Review of #13: burned captions were drawn over the animatic's previz labels at the bottom. Both kinds
    of cue (spoken words through libass, plain text through drawtext) now sit above the slate's box,
    measured on the frames: every caption pixel is above the strip's top row, 16:9 and 9:16."""
    import json

    from PIL import Image, PngImagePlugin

    from shotsmith.formats import SLATE_KEY

    width, height = size
    card = tmp_path / "card.png"
    info = PngImagePlugin.PngInfo()
    labels = {"text": "MEDIUM · CAMERA: PUSH-IN\nSUBJECT: a cup", "position": "bottom", "size": max(8, height // 26),
              "box": True, "fade_in_s": 0, "fade_out_s": 0, "bold": False}
    info.add_text(SLATE_KEY, json.dumps({"height": height, "titles": [labels]}))
    Image.new("RGB", (width, height), (0x40, 0x40, 0x40)).save(card, pnginfo=info)
    words = [CaptionWord(word=w, start_s=0.2 + 0.2 * i, end_s=0.35 + 0.2 * i) for i, w in enumerate(["Pour", "it", "slowly"])]
    timeline = Timeline(clips=[ClipRef(source=str(card), out_s=2.0)],
                        output=SMALL.model_copy(update={"width": width, "height": height}),
                        captions=[Caption(start_s=0.2, end_s=0.9, text="Pour it slowly", words=words),
                                  Caption(start_s=1.2, end_s=1.9, text="Then wait")],
                        caption_settings=CaptionSettings(burn=True))
    burned = Path(render_timeline(timeline, tmp_path / "burned.mp4").path)
    plain = Path(render_timeline(timeline.model_copy(update={"caption_settings": CaptionSettings(burn=False)}),
                                 tmp_path / "plain.mp4").path)
    for t in (0.6, 1.5):
        bare = frame_at(plain, t).astype(int)
        strip = np.flatnonzero((np.abs(bare - 0x40).max(axis=2) > 12).any(axis=1))
        assert strip.size and strip.min() > height // 2  # the labels, at the bottom
        caption = np.flatnonzero((np.abs(frame_at(burned, t).astype(int) - bare).max(axis=2) > 40).any(axis=1))
        assert caption.size, t  # the cue is drawn
        assert caption.max() < strip.min(), (t, caption.max(), strip.min())
