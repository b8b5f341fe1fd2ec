"""Conversation edits change only what they name, and unchanged shots are not regenerated."""

from __future__ import annotations

import pytest

from tests.assistant._assistant_helpers import collect
from shotsmith.assistant.events import ApprovalRequested, OutputWritten
from shotsmith.assistant.intents import parse_intent
from shotsmith.assistant.plan_ops import ShotDraft, check_against_brief, edit_shot, plan_from_drafts, reorder, swap
from shotsmith.assistant.session import ChatSession
from shotsmith.brief import Brief
from shotsmith.errors import InvalidInputError
from shotsmith.media.probe import probe


def plan(n: int = 4):
    drafts = [ShotDraft(subject=f"subject {i}", action=f"action {i}", duration_s=2, transition="fade")
              for i in range(1, n + 1)]
    return plan_from_drafts(drafts, aspect_ratio="16:9", planner="test")


def test_edit_changes_one_shot_only():
    before = plan()
    after = edit_shot(before, 2, duration_s=3.0, camera="zoom_in")
    assert after.shots[1].duration_s == 3.0 and after.shots[1].camera == "zoom_in"
    assert "slow push-in" in after.shots[1].prompt
    for i in (0, 2, 3):
        assert after.shots[i] == before.shots[i]


def test_swap_and_reorder_keep_transitions_at_their_cut_points():
    before = plan()
    after = swap(before, 3, 4)
    assert [s.subject for s in after.shots] == ["subject 1", "subject 2", "subject 4", "subject 3"]
    assert [s.index for s in after.shots] == [1, 2, 3, 4]
    assert after.shots[-1].transition_to_next.kind == "cut"
    assert after.shots[2].transition_to_next.kind == "fade"
    with pytest.raises(InvalidInputError, match="exactly once"):
        reorder(before, [1, 2, 2, 3])


def test_plan_checked_against_the_brief():
    brief = Brief(text="x", duration_s=8, aspect_ratio="16:9", shot_count=4)
    assert check_against_brief(plan(), brief) == []
    long = plan_from_drafts([ShotDraft(subject="a", action=f"b{i}", duration_s=3) for i in range(4)],
                            aspect_ratio="9:16", planner="t")
    problems = " ".join(check_against_brief(long, brief))
    assert "12 s" in problems and "9:16" in problems
    dupes = plan_from_drafts([ShotDraft(subject="a", action="b", duration_s=2) for _ in range(4)],
                             aspect_ratio="16:9", planner="t")
    assert "same prompt" in " ".join(check_against_brief(dupes, brief))


@pytest.mark.parametrize("text, kind, args", [
    ("make shot 2 slower", "duration", {"index": 2, "factor": 1.5}),
    ("Shot 3 a bit faster please", "duration", {"index": 3, "factor": 1 / 1.5}),
    ("swap the last two", "swap", {"a": 3, "b": 4}),
    ("swap 1 and 3", "swap", {"a": 1, "b": 3}),
    ("vertical for Reels", "aspect", {"aspect_ratio": "9:16"}),
    ("use my clip beach.mp4 as the opener", "footage", {"path": "beach.mp4", "index": 1}),
    ("use beach.mp4 as the last shot", "footage", {"path": "beach.mp4", "index": 4}),
    ("shot 2: a dog running on the beach", "prompt", {"index": 2, "prompt": "a dog running on the beach"}),
    ("move shot 4 to the start", "move", {"index": 4, "to": 1}),
    ("generate", "produce", {}),
])
def test_offline_intents(text, kind, args):
    intent = parse_intent(text, shot_count=4)
    assert intent is not None and intent.kind == kind
    for key, value in args.items():
        assert intent.args[key] == pytest.approx(value) if isinstance(value, float) else intent.args[key] == value


@pytest.mark.slow
def test_offline_conversation_reuses_unchanged_shots_and_uses_footage(tmp_path, make_clip, test_backends):
    project = tmp_path / "p"
    beach = make_clip("beach.mp4", duration=3, size="640x360", folder=project / "assets")
    session = ChatSession.open(project, backend="priced-test", resolution="360p", fps=24)
    collect(session.send("A 6 second ad for a surf school, 3 shots: a surfer waxing a board, "
                         "a wave breaking, students cheering"))
    assert len(session.studio.plan.shots) == 3
    asked = collect(session.send("generate"))
    assert isinstance(asked[-1], ApprovalRequested) and asked[-1].shots == [1, 2, 3]
    done = collect(session.respond(True))
    assert any(isinstance(e, OutputWritten) for e in done)
    assert session.studio.ledger.generated == [1, 2, 3]

    collect(session.send("swap the last two"))
    swapped = collect(session.send("generate"))
    # Reordering costs nothing: no approval, no generation, same clips on a new timeline.
    assert not any(isinstance(e, ApprovalRequested) for e in swapped)
    assert session.studio.ledger.generated == [1, 2, 3]

    collect(session.send("use my clip beach.mp4 as the opener"))
    assert session.studio.plan.shots[0].source == "assets/beach.mp4"
    collect(session.send("generate"))
    assert session.studio.ledger.generated == [1, 2, 3]
    timeline = session.store.project.timeline
    assert timeline.clips[0].source == "assets/beach.mp4"
    assert probe(project / "renders" / "final.mp4").duration_s == pytest.approx(6.0, abs=0.2)
    assert beach.exists()


def test_footage_from_a_registered_input_outside_the_project(tmp_path, make_clip):
    outside = make_clip("beach.mp4", duration=2, size="320x180", folder=tmp_path / "camera")
    stranger = make_clip("other.mp4", duration=2, size="320x180", folder=tmp_path / "elsewhere")
    session = ChatSession.open(tmp_path / "p", resolution="360p", fps=24, inputs=(outside,))
    collect(session.send("A 4 second ad for a surf shop, 2 shots: a surfer, a wave"))
    collect(session.send("use my clip beach.mp4 as the opener"))
    assert session.last_error is None
    assert session.studio.plan.shots[0].source == str(outside.resolve())
    events = collect(session.send(f"use my clip {stranger} as the opener"))
    assert session.last_error is not None and "outside the project" in session.last_error.message
    assert any("outside the project" in getattr(e, "text", "") for e in events)
    assert session.studio.plan.shots[0].source == str(outside.resolve())


def test_a_backend_without_its_key_is_reported_before_any_approval(tmp_path, test_backends):
    from shotsmith.assistant.events import Notice

    session = ChatSession.open(tmp_path / "p", backend="keyed-test", resolution="360p", fps=24)
    collect(session.send("A 4 second teaser for a bakery, 2 shots"))
    events = collect(session.send("generate"))
    assert not any(isinstance(e, ApprovalRequested) for e in events)
    assert any(isinstance(e, Notice) and "no API key for keyed-test" in e.text for e in events)
    assert not session.pending_approval
    assert not list((tmp_path / "p" / "clips").glob("*.mp4"))


def test_agent_does_not_ask_approval_for_a_backend_that_cannot_run(tmp_path, test_backends):
    from types import SimpleNamespace

    from shotsmith.assistant.agent import approval_needed

    call = SimpleNamespace(tool_call={"name": "generate_shots", "args": {}})
    for backend, expected in (("priced-test", True), ("keyed-test", False)):
        session = ChatSession.open(tmp_path / backend, backend=backend, resolution="360p", fps=24)
        collect(session.send("A 4 second teaser for a bakery, 2 shots"))
        assert approval_needed(session.studio)(call) is expected, backend
