"""Sequence tools (add, reorder, remove, trim points, transitions) and frame placement."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotsmith.errors import InvalidInputError, PathSafetyError
from shotsmith.formats import Transition, TransitionKind
from shotsmith.store import ProjectStore
from shotsmith.timeline import ClipRef, OutputSettings, Timeline
from shotsmith.tools import catalogue
from shotsmith.tools.render import place_clips, render_timeline
from shotsmith.tools.spec import TOOLS, ToolContext

catalogue.load_all()

SMALL = OutputSettings(width=160, height=120, fps=30, preset="ultrafast", crf=35)


@pytest.fixture
def store(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    for name, pattern in (("a.mp4", "testsrc2"), ("b.mp4", "smptebars"), ("c.mp4", "color=c=red")):
        make_clip(name, duration=2.0, size="160x120", folder=store.clips_dir, source=pattern)
    store.project.timeline = Timeline(output=SMALL)
    store.save()
    return store


def test_add_reorder_remove_and_transitions(store):
    ctx = ToolContext(store=store)
    TOOLS["add_clip"](ctx, {"source": "clips/a.mp4", "in_s": 0.5, "out_s": 1.5})
    TOOLS["add_clip"](ctx, {"source": "clips/b.mp4"})
    TOOLS["add_clip"](ctx, {"source": "clips/c.mp4", "out_s": 1.0, "position": 1})
    assert [c.source for c in store.project.timeline.clips] == ["clips/c.mp4", "clips/a.mp4", "clips/b.mp4"]
    assert store.project.timeline.clips[2].out_s == pytest.approx(2.0, abs=0.05)
    result = TOOLS["set_transition"](ctx, {"clip": 1, "kind": "slideleft", "duration_s": 0.4})
    assert result.duration_s == pytest.approx(1.0 + 1.0 + store.project.timeline.clips[2].length_s - 0.4)
    TOOLS["arrange"](ctx, {"order": [3, 1, 2]})
    assert [c.source for c in store.project.timeline.clips] == ["clips/b.mp4", "clips/c.mp4", "clips/a.mp4"]
    TOOLS["arrange"](ctx, {"remove": [1]})
    assert [c.source for c in ProjectStore.open(store.root).project.timeline.clips] == ["clips/c.mp4", "clips/a.mp4"]
    TOOLS["set_clip"](ctx, {"clip": 2, "in_s": 0.2, "out_s": 1.8, "mute": True})
    clip = store.project.timeline.clips[1]
    assert (clip.in_s, clip.out_s, clip.mute) == (0.2, 1.8, True)
    result = TOOLS["render"](ctx, {"output": "renders/seq.mp4"})
    assert result.duration_s == pytest.approx(store.project.timeline.duration_s, abs=1 / 30)


def test_sequence_tools_refuse_bad_edits(store):
    ctx = ToolContext(store=store)
    TOOLS["add_clip"](ctx, {"source": "clips/a.mp4", "out_s": 1.0})
    TOOLS["add_clip"](ctx, {"source": "clips/b.mp4", "out_s": 1.0})
    with pytest.raises(InvalidInputError, match="past the end"):
        TOOLS["add_clip"](ctx, {"source": "clips/a.mp4", "out_s": 9})
    with pytest.raises(PathSafetyError):
        TOOLS["add_clip"](ctx, {"source": "/etc/hostname"})
    with pytest.raises(InvalidInputError, match="last clip"):
        TOOLS["set_transition"](ctx, {"clip": 2, "kind": "fade"})
    with pytest.raises(InvalidInputError, match="longer than|too short"):
        TOOLS["set_transition"](ctx, {"clip": 1, "kind": "fade", "duration_s": 2})
    with pytest.raises(InvalidInputError, match="twice"):
        TOOLS["arrange"](ctx, {"order": [1, 1]})
    with pytest.raises(InvalidInputError, match="every clip"):
        TOOLS["arrange"](ctx, {"remove": [1, 2]})
    with pytest.raises(InvalidInputError, match="no clip 5"):
        TOOLS["arrange"](ctx, {"order": [5]})
    with pytest.raises(InvalidInputError, match="after its in point|must be after"):
        TOOLS["set_clip"](ctx, {"clip": 1, "in_s": 0.9, "out_s": 0.5})
    assert len(store.project.timeline.clips) == 2  # nothing half-applied


@given(st.lists(st.tuples(st.floats(0.2, 3.0), st.sampled_from(["cut", "fade", "wipeleft"]), st.floats(0.0, 0.5)),
                min_size=1, max_size=12),
       st.sampled_from([24, 25, 30, 30000 / 1001, 60]))
@settings(max_examples=200)
def test_frame_placement_is_exact(spec, fps):
    clips = [ClipRef(source="x", out_s=length, transition_to_next=Transition(kind=TransitionKind(kind), duration_s=d))
             for length, kind, d in spec]
    timeline = Timeline(clips=clips, output=OutputSettings(fps=fps))
    try:
        placed = place_clips(timeline)
    except InvalidInputError:
        return  # transitions that do not fit are refused, never rendered wrong
    total = placed[-1].end_frame - placed[0].start_frame
    assert abs(total / fps - timeline.duration_s) <= 0.5 / fps + 1e-9
    for p in placed:
        assert p.frames >= 1
    for a, b in zip(placed, placed[1:]):
        assert 0 <= a.end_frame - b.start_frame <= min(a.frames, b.frames)


def test_ntsc_rate_output_keeps_its_length(make_clip, tmp_path, durations):
    a = make_clip("a.mp4", duration=1.0, fps=25)
    b = make_clip("b.mp4", duration=1.0, fps=30)
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=1.0, transition_to_next=Transition(kind=TransitionKind.FADE, duration_s=0.3)),
                               ClipRef(source=str(b), out_s=1.0)],
                        output=SMALL.model_copy(update={"fps": 30000 / 1001}))
    got = durations(Path(render_timeline(timeline, tmp_path / "ntsc.mp4").path))
    assert abs(got["video"] - timeline.duration_s) <= 1001 / 30000
    assert abs(got["audio"] - got["video"]) <= 1001 / 30000
