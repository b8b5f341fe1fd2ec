"""Storyboard approval panel by panel, before any video money is spent (issue #10 item 3).

A conversation makes the stills, shows them and holds every shot whose video needs a yes until its still is
approved; "redo 3 with a lower angle" edits that shot through the plan edit model and redraws only its still,
with the still's own price asked about; a scripted run keeps its auto-approval (the command is the approval).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.events import ApprovalRequested, AssistantText
from shotsmith.assistant.production.storyboard import panels
from shotsmith.plan_edits import edit_shot
from tests.assistant._assistant_helpers import collect
from tests.assistant._test_backends import ImageToVideoBackend, StillBackend, register

BRIEF = "a 4 second ad for a small cafe: coffee pouring, a smiling barista, 2 shots"


@pytest.fixture(autouse=True)
def _backends():
    register()
    StillBackend.requests.clear()
    ImageToVideoBackend.requests.clear()


def paid_session(folder: Path, *, yes: bool = False):
    return open_session(folder, options=ServiceOptions(backend="i2v-test", image_backend="still-test",
                                                       resolution="360p", fps=24, auto_approve=yes), offline=True)


def texts(events) -> str:
    return "\n".join(e.text for e in events if isinstance(e, AssistantText))


def asked(events) -> list[ApprovalRequested]:
    return [e for e in events if isinstance(e, ApprovalRequested)]


def states(session) -> dict[int, str]:
    return {p.shot: p.state for p in panels(session.service.plan)}


def test_chat_approves_panel_by_panel_and_redoes_one_still_before_any_video(tmp_path):
    session = paid_session(tmp_path / "p")
    collect(session.send(BRIEF))
    [stills] = asked(collect(session.send("generate")))
    assert stills.estimate.backend == "still-test"
    held = collect(session.respond(True))
    # The stills exist; the shots are held for the storyboard, not priced: no video request, no question.
    assert not asked(held) and ImageToVideoBackend.requests == []
    assert states(session) == {1: "pending", 2: "pending"}
    board = texts(held)
    assert "approve the stills of shot(s) 1, 2" in board
    listed = re.findall(r" — (/\S+\.png)", board)
    assert len(listed) == 2 and all(Path(p).is_file() for p in listed)  # each panel's still, by path
    assert (session.store.renders_dir / "storyboard.png").is_file()  # and a contact sheet of them

    assert "Still waiting: shot(s) 2" in texts(collect(session.send("approve 1")))
    assert states(session) == {1: "approved", 2: "pending"}

    # A redo changes shot 2 through the plan edit model and asks for that still's own image cost.
    old_still = session.service.plan.shots[1].keyframe
    StillBackend.requests.clear()
    events = collect(session.send("redo 2 with a lower angle"))
    [redo] = asked(events)
    assert redo.estimate.backend == "still-test" and set(redo.estimate.shots) == {2}
    assert redo.estimate.usd == pytest.approx(0.02)  # a first and a last frame at 0.01 USD each
    assert "keyframe(s) to generate with still-test (2, 2): about 0.02 USD" in texts(events)
    assert "a lower angle" in session.service.plan.shots[1].prompt
    assert session.store.history.index.entries[-1].label == "shot 2: prompt, still redone"  # an undoable edit
    done = collect(session.respond(True))
    assert {r.shot_index for r in StillBackend.requests} == {2}  # only that still was drawn again
    assert all("a lower angle" in r.prompt for r in StillBackend.requests)
    assert session.service.plan.shots[1].keyframe != old_still and "approve 2" in texts(done)
    assert states(session) == {1: "approved", 2: "pending"} and ImageToVideoBackend.requests == []

    # "looks good" approves the rest and the held generation goes on to the video's own price.
    [video] = asked(collect(session.send("looks good")))
    assert video.estimate.backend == "i2v-test" and states(session) == {1: "approved", 2: "approved"}
    collect(session.respond(True))
    assert session.last_error is None, session.last_error
    plan = session.service.plan
    requests = sorted(ImageToVideoBackend.requests, key=lambda r: r.shot_index)
    assert [r.image for r in requests] == [str(session.store.root / s.keyframe_approved) for s in plan.shots]
    assert (session.store.root / "renders" / "final.mp4").is_file()


def test_a_change_to_the_picture_makes_the_panel_pending_again_and_a_retime_does_not(tmp_path):
    session = paid_session(tmp_path / "p", yes=True)
    session.service.plan_brief(BRIEF)
    session.service.generate_keyframes()
    entries = len(session.store.history.index.entries)
    assert session.service.approve_keyframes() == [1, 2]
    assert len(session.store.history.index.entries) == entries  # approving is not an edit to undo
    session.service.edit(lambda plan: edit_shot(plan, 1, duration_s=3.0))
    assert states(session)[1] == "approved"  # the same picture, shown longer: its still stays approved
    session.service.edit(lambda plan: edit_shot(plan, 1, prompt="a cup of coffee on a wooden table, top down"))
    assert states(session) == {1: "none", 2: "approved"}  # its old still no longer shows the shot
    session.service.generate_keyframes([1])
    assert states(session) == {1: "pending", 2: "approved"}


def test_generation_held_for_the_storyboard_even_when_the_stills_are_free(tmp_path):
    """Spending was approved (--yes) but the video's stills were not: a conversation still shows them first."""
    session = paid_session(tmp_path / "p", yes=True)
    collect(session.send(BRIEF))
    events = collect(session.send("generate"))
    assert "approve the stills" in texts(events) and ImageToVideoBackend.requests == []
    assert "Still waiting: shot(s) 2" in texts(collect(session.send("approve 1")))
    assert ImageToVideoBackend.requests == []
    out = texts(collect(session.send("yes")))  # a yes to the held storyboard: the rest approved, and on it goes
    assert "generating the shots" in out and "Wrote" in out
    assert len(ImageToVideoBackend.requests) == 2 and session.last_error is None


def test_no_to_the_held_storyboard_generates_nothing(tmp_path):
    session = paid_session(tmp_path / "p", yes=True)
    collect(session.send(BRIEF))
    collect(session.send("generate"))
    assert "no video was generated" in texts(collect(session.send("no")))
    assert "say 'generate' to make the video" in texts(collect(session.send("approve all")))
    assert ImageToVideoBackend.requests == []  # the hold was answered: approving later does not generate


def test_a_scripted_run_keeps_auto_approval(tmp_path):
    session = paid_session(tmp_path / "p", yes=True)
    collect(session.run_brief(BRIEF, produce=True))
    assert session.last_error is None, session.last_error
    assert len(ImageToVideoBackend.requests) == 2  # the command was the approval of its own storyboard


def test_free_video_is_not_held_and_the_storyboard_can_still_be_reviewed(tmp_path):
    session = open_session(tmp_path / "a", options=ServiceOptions(resolution="360p", fps=24), offline=True)
    collect(session.send("a 4 second ad for a bakery, 2 shots"))
    board = texts(collect(session.send("show the storyboard")))  # drawn by sketch, free
    assert board.count("[pending]") == 2 and "contact sheet" in board
    assert "already approved" not in texts(collect(session.send("approve all")))
    assert states(session) == {1: "approved", 2: "approved"}
    out = texts(collect(session.send("generate")))
    assert "Wrote" in out and session.last_error is None


def test_approving_a_shot_that_does_not_exist_says_why(tmp_path):
    session = paid_session(tmp_path / "p", yes=True)
    collect(session.send(BRIEF))
    collect(session.send("show the storyboard"))
    collect(session.send("approve 7"))
    assert "no shot 7" in session.last_error.message
    assert states(session) == {1: "pending", 2: "pending"}


def test_redo_without_a_change_asks_how(tmp_path):
    session = paid_session(tmp_path / "p", yes=True)
    collect(session.send(BRIEF))
    collect(session.send("show the storyboard"))
    collect(session.send("redo panel 2"))  # "redo shot 2" is a new take (test_new_take.py)
    assert "say what to change" in session.last_error.message
    assert "redo 2 with a lower angle" in session.last_error.hint


def test_agent_reviews_the_storyboard_through_its_tools(tmp_path, fake_llm):
    import json

    from tests.assistant._assistant_helpers import open_agent
    from tests.assistant._fake_openai import call, last_tool_result, say

    session = open_agent(tmp_path / "g", fake_llm, backend="i2v-test", image_backend="still-test")
    session.service.plan_brief(BRIEF)
    fake_llm.add(call("generate_shots", {"shots": None}), say("Here is the storyboard."))
    [stills] = asked(collect(session.send("make the video")))
    assert stills.estimate.backend == "still-test"  # the user is asked about the stills' cost first
    collect(session.respond(True))
    held = json.loads(last_tool_result(fake_llm.requests[-1]))
    assert held["storyboard_to_approve"] == [1, 2] and ImageToVideoBackend.requests == []
    assert states(session) == {1: "pending", 2: "pending"}

    # "approve 1, and redo 2 from a lower angle": the paid redo is drawn through generate_shots (asked first).
    StillBackend.requests.clear()
    fake_llm.add(call("storyboard", {"action": "approve", "shots": [1], "change": None, "camera": None}),
                 call("storyboard", {"action": "redo", "shots": [2], "change": "from a lower angle", "camera": None}),
                 call("generate_shots", {"shots": [2]}), say("Shot 2 redrawn."))
    [redo] = asked(collect(session.send("approve 1 and redo 2 from a lower angle")))
    redo_result = json.loads(last_tool_result(fake_llm.requests[-1]))
    assert "0.02 USD" in redo_result["still_cost"] and "generate_shots" in redo_result["next"]
    assert redo.estimate.backend == "still-test" and set(redo.estimate.shots) == {2}  # that still's own cost
    collect(session.respond(True))
    assert {r.shot_index for r in StillBackend.requests} == {2} and ImageToVideoBackend.requests == []
    assert "from a lower angle" in session.service.plan.shots[1].prompt
    assert states(session) == {1: "approved", 2: "pending"}

    fake_llm.add(call("storyboard", {"action": "approve", "shots": None, "change": None, "camera": None}),
                 call("generate_shots", {"shots": None}), say("Generated."))
    [video] = asked(collect(session.send("looks good")))
    assert video.estimate.backend == "i2v-test"  # only now is the video's money asked about
    collect(session.respond(True))
    assert session.last_error is None, session.last_error
    assert len(ImageToVideoBackend.requests) == 2
    session.close()
