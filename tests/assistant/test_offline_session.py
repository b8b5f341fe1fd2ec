"""The offline session and the plan edits it shares with every front end.

Conversation edits change only what they name; unchanged shots are not
regenerated (nor paid for); spending is asked before it happens.
"""

from __future__ import annotations

import pytest

from tests.assistant._assistant_helpers import collect
from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.events import ApprovalRequested, Notice, OutputWritten
from shotsmith.assistant.production.drafting import ShotDraft, check_against_brief, plan_from_drafts
from shotsmith.assistant.sessions.intents import parse_intent
from shotsmith.assistant.sessions.offline import OfflineSession
from shotsmith.brief import Brief
from shotsmith.errors import InvalidInputError
from shotsmith.media.probe import probe
from shotsmith.plan_edits import edit_shot, reorder, swap


def offline(folder, inputs=(), **options):
    return open_session(folder, options=ServiceOptions(resolution="360p", fps=24, **options), inputs=inputs,
                        offline=True)


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
    with pytest.raises(InvalidInputError, match="names a shot twice"):
        reorder(before, [1, 2, 2, 3])
    with pytest.raises(InvalidInputError, match="exactly once"):
        reorder(before, [1, 2, 3])


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
    ("make shot 2 slower", "speed", {"index": 2, "factor": 1 / 1.5}),
    ("Shot 3 a bit faster please", "speed", {"index": 3, "factor": 1.5}),
    ("make shot 2 longer", "duration", {"index": 2, "factor": 1.5}),
    ("shot 1 shorter", "duration", {"index": 1, "factor": 1 / 1.5}),
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
    session = offline(project, backend="priced-test")
    assert isinstance(session, OfflineSession)
    collect(session.send("A 6 second ad for a surf school, 3 shots: a surfer waxing a board, "
                         "a wave breaking, students cheering"))
    assert len(session.service.plan.shots) == 3
    asked = collect(session.send("generate"))
    assert isinstance(asked[-1], ApprovalRequested) and asked[-1].shots == [1, 2, 3]
    assert "USD" in asked[-1].description
    done = collect(session.respond(True))
    assert any(isinstance(e, OutputWritten) for e in done)
    assert session.service.activity.generated == [1, 2, 3]
    [approval] = session.store.project.spending.approvals
    assert approval.approved and approval.by == "user" and approval.shots == [1, 2, 3]

    collect(session.send("swap the last two"))
    swapped = collect(session.send("generate"))
    # Reordering costs nothing: no approval, no generation, same clips in a new order.
    assert not any(isinstance(e, ApprovalRequested) for e in swapped)
    assert session.service.activity.generated == [1, 2, 3]

    collect(session.send("make shot 2 slower"))
    slowed = collect(session.send("generate"))
    assert not any(isinstance(e, ApprovalRequested) for e in slowed)  # same footage, played slower: free
    assert probe(project / "renders" / "final.mp4").duration_s == pytest.approx(7.0, abs=0.2)

    collect(session.send("use my clip beach.mp4 as the opener"))
    assert session.service.plan.shots[0].source == "assets/beach.mp4"
    collect(session.send("generate"))
    assert session.service.activity.generated == [1, 2, 3]
    timeline = session.store.project.timeline
    assert timeline.clips[0].source == "assets/beach.mp4"
    assert beach.exists()


def test_a_no_spends_nothing_and_is_recorded(tmp_path, test_backends):
    session = offline(tmp_path / "p", backend="priced-test")
    collect(session.send("A 4 second teaser for a bakery, 2 shots"))
    collect(session.send("generate"))
    assert session.pending_approval
    events = collect(session.send("no"))
    assert not session.pending_approval
    assert "nothing was spent" in " ".join(getattr(e, "text", "") for e in events)
    # The free storyboard stills may exist; no shot was sent and nothing was charged.
    assert {r.backend for r in session.store.project.generations.values()} <= {"sketch"}
    assert session.store.project.spending.charges == []
    assert session.store.project.spending.approvals[-1].approved is False


def test_history_survives_a_restart(tmp_path):
    session = offline(tmp_path / "p")
    collect(session.send("A 4 second teaser for a bakery, 2 shots"))
    again = offline(tmp_path / "p")
    roles = [role for role, _ in again.history()]
    assert roles[:2] == ["user", "assistant"]


def test_footage_from_a_registered_input_outside_the_project(tmp_path, make_clip):
    outside = make_clip("beach.mp4", duration=2, size="320x180", folder=tmp_path / "camera")
    stranger = make_clip("other.mp4", duration=2, size="320x180", folder=tmp_path / "elsewhere")
    session = offline(tmp_path / "p", inputs=(outside,))
    collect(session.send("A 4 second ad for a surf shop, 2 shots: a surfer, a wave"))
    collect(session.send("use my clip beach.mp4 as the opener"))
    assert session.last_error is None
    assert session.service.plan.shots[0].source == str(outside.resolve())
    events = collect(session.send(f"use my clip {stranger} as the opener"))
    assert session.last_error is not None and "outside the project" in session.last_error.message
    assert any("outside the project" in getattr(e, "text", "") for e in events)
    assert session.service.plan.shots[0].source == str(outside.resolve())


def test_a_backend_without_its_key_is_reported_before_any_approval(tmp_path, test_backends):
    session = offline(tmp_path / "p", backend="keyed-test")
    collect(session.send("A 4 second teaser for a bakery, 2 shots"))
    events = collect(session.send("generate"))
    assert not any(isinstance(e, ApprovalRequested) for e in events)
    assert any(isinstance(e, Notice) and "no API key for keyed-test" in e.text for e in events)
    assert not session.pending_approval
    assert not [p for p in (tmp_path / "p" / "clips").iterdir() if p.is_file()]


@pytest.mark.parametrize("said, name, kind", [
    ("this is the shop: shop.png", "shop", "location"),
    ("this is our kitchen: shop.png, warm wooden counters", "kitchen", "location"),
    ("this is Bella: shop.png, our new bottle of olive oil", "Bella", "product"),
    ("this is the can: shop.png", "can", "product"),
    ("this is my friend Mara: shop.png, a woman in a red dress", "Mara", "character"),
])
def test_this_is_the_shop_makes_a_location_not_a_character(tmp_path, said, name, kind):
    """Review of #10: every 'this is …' became a character; the words say a place or a product. A member
    already in the cast keeps its kind (cast add --kind changes it)."""
    from PIL import Image

    session = open_session(tmp_path / "p", options=ServiceOptions(resolution="360p"), offline=True)
    Image.new("RGB", (32, 32), "blue").save(session.store.assets_dir / "shop.png")
    events = collect(session.send(said))
    [member] = session.store.project.cast
    assert (member.name, member.kind) == (name, kind)
    assert any(f"({kind})" in getattr(e, "text", "") for e in events)
    session.store.project.cast[0] = member.model_copy(update={"kind": "character"})  # as if set by cast add --kind
    collect(session.send(said))
    assert session.store.project.cast[0].kind == "character"


def test_a_picture_outside_the_project_names_the_input_option(tmp_path, monkeypatch):
    """'this is Mara: mara.png' for a file in the current folder, without -i: the hint says -i/--input."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (32, 32), "red").save(tmp_path / "mara.png")
    session = open_session(tmp_path / "p", options=ServiceOptions(resolution="360p"), offline=True)
    events = collect(session.send("this is Mara: mara.png"))
    text = " ".join(str(getattr(e, "text", "")) + str(getattr(e, "hint", "")) for e in events)
    assert "-i/--input" in text, events
    assert not session.store.project.cast
