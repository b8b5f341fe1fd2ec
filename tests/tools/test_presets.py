"""Export presets: each container/codec comes out as asked, previews are small, bad settings are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from shotsmith.errors import InvalidInputError
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore
from shotsmith.timeline import ClipRef, OutputSettings, Timeline, Title
from shotsmith.tools import catalogue
from shotsmith.tools.presets import PRESETS, apply_preset
from shotsmith.tools.render import render_timeline
from shotsmith.tools.spec import TOOLS, ToolContext

catalogue.load_all()

SMALL = OutputSettings(width=160, height=120, fps=24, preset="ultrafast", crf=30)


@pytest.fixture
def timeline(make_clip):
    a = make_clip("a.mp4", duration=0.6, size="160x120", fps=24)
    return Timeline(clips=[ClipRef(source=str(a), out_s=0.6)], titles=[Title(text="Hi")], output=SMALL)


@pytest.mark.parametrize("preset,vcodec,acodec", [
    ("web", "h264", "aac"), ("hevc", "hevc", "aac"), ("webm", "vp9", "opus"), ("prores", "prores", "pcm_s16le"),
])
def test_video_presets_use_their_codecs(timeline, tmp_path, preset, vcodec, acodec):
    settings = apply_preset(timeline.output, preset)
    out = tmp_path / f"out{PRESETS[preset].suffix}"
    result = render_timeline(timeline, out, settings=settings)
    info = probe(result.path)
    assert info.video.codec == vcodec and info.audio[0].codec == acodec
    assert abs(info.duration_s - 0.6) < 0.1


def test_gif_preview_uses_a_palette_and_has_no_sound(timeline, tmp_path):
    result = render_timeline(timeline, tmp_path / "p.gif", settings=apply_preset(timeline.output, "gif"))
    info = probe(result.path)
    assert info.video.codec == "gif" and not info.has_audio
    assert Path(result.path).read_bytes()[:6] == b"GIF89a"


def test_webp_preview_is_an_animated_webp(timeline, tmp_path):
    result = render_timeline(timeline, tmp_path / "p.webp", settings=apply_preset(timeline.output, "webp"))
    data = Path(result.path).read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP" and b"ANIM" in data[:200]


def test_preview_mode_is_small_and_the_suffix_picks_the_container(make_clip, tmp_path):
    a = make_clip("a.mp4", duration=0.5, size="640x480")
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=0.5)],
                        output=OutputSettings(width=1280, height=720, preset="ultrafast"))
    result = render_timeline(timeline, tmp_path / "prev.mp4", preview=True)
    assert (result.width, result.height) == (640, 360)
    webm = render_timeline(timeline, tmp_path / "x.webm", preview=False,
                           settings=timeline.output.model_copy(update={"width": 320, "height": 180}))
    assert probe(webm.path).video.codec == "vp9"
    with pytest.raises(InvalidInputError, match="unknown file type"):
        render_timeline(timeline, tmp_path / "x.avi")


def test_set_output_tool(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    clip = make_clip("a.mp4", duration=0.5, folder=store.clips_dir)
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=0.5)])
    store.save()
    ctx = ToolContext(store=store)
    TOOLS["set_output"](ctx, {"preset": "social", "aspect_ratio": "9:16", "resolution": "720p", "fps": 25})
    out = store.project.timeline.output
    assert (out.width, out.height, out.fps, out.crf, out.loudness_lufs) == (720, 1280, 25, 19, -14.0)
    TOOLS["set_output"](ctx, {"video_bitrate": "4M"})
    assert store.project.timeline.output.video_bitrate == "4M"
    with pytest.raises(InvalidInputError, match="unknown export preset"):
        TOOLS["set_output"](ctx, {"preset": "vhs"})
    with pytest.raises(InvalidInputError, match="bitrate"):
        TOOLS["set_output"](ctx, {"video_bitrate": "fast"})
    with pytest.raises(InvalidInputError, match="even"):
        TOOLS["set_output"](ctx, {"width": 721})
