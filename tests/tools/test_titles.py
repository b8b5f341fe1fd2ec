"""Titles: drawtext with the bundled font; text and option values escaped for the filter graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotsmith.errors import InvalidInputError
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.store import ProjectStore
from shotsmith.timeline import ClipRef, OutputSettings, Timeline, Title
from shotsmith.tools.graph import F, escape_value, unescape_value
from shotsmith.tools.render import render_timeline
from shotsmith.tools.title_filters import title_alpha
from shotsmith.tools.spec import TOOLS, ToolContext
from shotsmith.tools import catalogue

catalogue.load_all()

SMALL = OutputSettings(width=320, height=240, fps=30, preset="ultrafast", crf=18)

SPECIALS = list("\\':,;[]=%\n\t \"{}$@#") + ["🎬", "ü", "\u200b", "%{pts}", "\\n", "''"]
filter_text = st.lists(st.one_of(st.sampled_from(SPECIALS),
                                 st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
                                         max_size=4)), max_size=12).map("".join)


@given(filter_text)
@settings(max_examples=300)
def test_escape_round_trips_through_ffmpegs_two_level_tokeniser(text):
    assert unescape_value(escape_value(text)) == text


def _echo_through_ffmpeg(value: str, folder: Path) -> str:
    """Pass ``value`` as a filter option inside a real graph and read back what ffmpeg parsed."""
    out = folder / "meta.txt"
    graph = ",".join([F("color", c="black", s="16x16", d=0.04).serialise(),
                      F("metadata", mode="add", key="k", value=value).serialise(),
                      F("metadata", mode="print", file=str(out)).serialise()])
    run_ffmpeg(["-f", "lavfi", "-i", graph, "-f", "null", "-"])
    return out.read_text(encoding="utf-8").split("k=", 1)[1][:-1]


@given(filter_text.filter(lambda t: t != ""))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_ffmpeg_reads_back_exactly_the_escaped_value(tmp_path, text):
    assert _echo_through_ffmpeg(text, tmp_path) == text


def test_alpha_expression_fades_in_and_out():
    expr = title_alpha(1.0, 3.0, 0.5, 0.5)
    def at(t):  # evaluate the ffmpeg expression with Python's min/max
        return eval(expr.replace("clip(", "_clip("), {"_clip": lambda v, lo, hi: max(lo, min(hi, v)), "min": min, "t": t})
    assert at(1.0) == 0 and at(1.25) == pytest.approx(0.5) and at(2.0) == 1 and at(2.75) == pytest.approx(0.5) and at(3.0) == 0


def _grey_clip(make_clip):
    return make_clip("grey.mp4", duration=2.0, source="color=c=0x404040", audio=False)


def test_title_draws_only_inside_its_time_range_and_fades(make_clip, tmp_path, frame_at):
    clip = _grey_clip(make_clip)
    text = "It's 50% off: \"now\" \\ [ok];\nline 2 🎬 {x}"
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=2.0)], output=SMALL,
                        titles=[Title(text=text, start_s=0.5, end_s=1.8, box=False, color="yellow",
                                      fade_in_s=0.4, fade_out_s=0.0, size=28)])
    out = Path(render_timeline(timeline, tmp_path / "t.mp4").path)
    before, fading, full = frame_at(out, 0.3), frame_at(out, 0.7), frame_at(out, 1.2)
    centre = (slice(60, 180), slice(20, 300))
    grey = np.full_like(before[centre], 0x40).astype(int)
    diff = lambda f: np.abs(f[centre].astype(int) - grey).mean()
    assert diff(before) < 2
    assert diff(full) > 8
    assert 1 < diff(fading) < diff(full) * 0.8
    # yellow text: red and green high, blue low where drawn
    drawn = full[centre][np.abs(full[centre].astype(int) - 0x40).sum(axis=2) > 200]
    assert drawn.size and drawn[:, 0].mean() > 150 and drawn[:, 2].mean() < 120
    assert diff(frame_at(out, 1.95)) < 2


def test_title_positions_put_text_where_asked(make_clip, tmp_path, frame_at):
    clip = _grey_clip(make_clip)
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=1.0)], output=SMALL,
                        titles=[Title(text="TOP LEFT", position="top_left", fade_in_s=0, fade_out_s=0, box=True,
                                      box_color="red"),
                                Title(text="custom", x="200", y="200", fade_in_s=0, fade_out_s=0, box=False)])
    frame = frame_at(Path(render_timeline(timeline, tmp_path / "p.mp4").path), 0.5).astype(int)
    top_left, bottom_right = frame[:60, :160], frame[60:, 160:200]
    assert (top_left[..., 0] - top_left[..., 1] > 100).mean() > 0.1  # the red box
    assert np.abs(bottom_right - 0x40).max() < 40  # nothing between
    assert np.abs(frame[200:230, 200:300] - 0x40).max() > 100  # the custom-placed text


def test_bad_title_arguments_are_refused(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir)
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=1.0)], output=SMALL)
    store.save()
    ctx = ToolContext(store=store)
    with pytest.raises(InvalidInputError, match="not a colour"):
        TOOLS["add_title"](ctx, {"text": "x", "color": "notacolour"})
    with pytest.raises(InvalidInputError, match="after the end"):
        TOOLS["add_title"](ctx, {"text": "x", "start_s": 5})
    with pytest.raises(InvalidInputError, match="simple expression"):
        TOOLS["add_title"](ctx, {"text": "x", "x": "1;drawbox"})
    result = TOOLS["add_title"](ctx, {"text": "Hello", "position": "lower_third", "color": "#ffcc00"})
    assert "title 1" in result.message
    assert ProjectStore.open(store.root).project.timeline.titles[0].text == "Hello"
    TOOLS["remove_title"](ctx, {"number": 1})
    assert store.project.timeline.titles == []


@given(filter_text.filter(lambda t: t.strip() != ""))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_title_text_renders(tmp_path, text):
    still = tmp_path / "s.png"
    if not still.exists():
        run_ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=96x64", "-frames:v", "1", str(still)])
    timeline = Timeline(clips=[ClipRef(source=str(still), out_s=0.1)], titles=[Title(text=text, size=12)],
                        output=OutputSettings(width=96, height=64, fps=10, preset="ultrafast"))
    result = render_timeline(timeline, tmp_path / "t.mp4")
    assert result.duration_s == pytest.approx(0.1, abs=0.02)


def test_long_title_wraps_inside_a_narrow_frame(make_clip, tmp_path, frame_at):
    """A title wider than a vertical frame wraps onto lines instead of running off both edges."""
    from shotsmith.fonts import _font
    from shotsmith.tools.title_filters import title_font_size, write_title_text

    narrow = OutputSettings(width=240, height=426, fps=30, preset="ultrafast", crf=18)
    title = Title(text="Made from one edit plan, every frame in one pass", position="bottom", box=True)
    text_file = tmp_path / "t.txt"
    write_title_text(title, text_file, narrow.width, narrow.height)
    lines = text_file.read_text().splitlines()
    font = _font(title_font_size(title, narrow.height), title.bold)
    assert len(lines) > 1 and all(font.getlength(line) <= narrow.width for line in lines)

    src = make_clip("n.mp4", duration=1.0, size="240x426", source="color=c=gray")
    plain = Timeline(clips=[ClipRef(source=str(src), out_s=1.0)], output=narrow)
    titled = plain.model_copy(update={"titles": [title.model_copy(update={"fade_in_s": 0, "fade_out_s": 0})]})
    render_timeline(plain, tmp_path / "plain.mp4")
    render_timeline(titled, tmp_path / "titled.mp4")
    a = frame_at(tmp_path / "plain.mp4", 0.5).astype(int)
    b = frame_at(tmp_path / "titled.mp4", 0.5).astype(int)
    changed = np.abs(a - b).sum(axis=2) > 40
    assert changed.any(), "the title is drawn"
    assert not changed[:, :3].any() and not changed[:, -3:].any(), "no text or box touches the side edges"
