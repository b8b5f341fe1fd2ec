"""The LLM agent end to end through the real openai client and ChatOpenAI, against a scripted server.

Brief -> plan -> approval -> generate (a priced test backend) -> render; a
refinement that regenerates only the changed shot; a rejected approval; the
conversation and a pending approval surviving a restart; edits (speed,
order, footage, reframing) surviving the render.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from shotsmith.assistant.events import (ApprovalRequested, AssistantText, Notice, OutputWritten, PlanUpdated,
                                        ToolCallFinished, ToolCallStarted)
from shotsmith.assistant.sessions.protocol import ChatSessionLike
from shotsmith.media.probe import probe
from tests.assistant._assistant_helpers import FAKE_KEY, collect, open_agent
from tests.assistant._fake_openai import Reply, call, last_tool_result, say

BRIEF = "A 4 second ad for a bakery, 2 shots, warm morning light"
SHOTS = [
    {"subject": "a baker", "action": "pulling bread from the oven", "setting": "in a small bakery",
     "camera": "zoom_in", "style": "warm cinematic", "lighting": "morning light", "duration_s": 2,
     "source": None, "transition": "cut"},
    {"subject": "a customer", "action": "biting a croissant", "setting": "at the counter",
     "camera": "pan_right", "style": "warm cinematic", "lighting": "morning light", "duration_s": 2,
     "source": None, "transition": "cut"},
]
PLAN = {"brief": BRIEF, "duration_s": None, "aspect_ratio": None, "shot_count": None, "shots": SHOTS}


def clips(project) -> set:
    return {p for p in (project / "clips").iterdir() if p.is_file()} if (project / "clips").is_dir() else set()


@pytest.mark.slow
def test_brief_plan_approve_generate_render_then_refine_one_shot(tmp_path, fake_llm, test_backends, caplog):
    project = tmp_path / "proj"
    fake_llm.add(
        call("plan_shots", PLAN),
        Reply(content="Two shots planned. This backend costs money, so I will ask first.",
              tool_calls=[("generate_shots", {"shots": None})]),
    )
    session = open_agent(project, fake_llm, backend="priced-test")
    assert isinstance(session, ChatSessionLike)
    assert session.answering == "openai:fake-model"

    first = collect(session.send(BRIEF))
    assert isinstance(first[0], Notice) and "openai:fake-model" in first[0].text  # who answers, said first
    plans = [e for e in first if isinstance(e, PlanUpdated)]
    assert plans and [s.duration_s for s in plans[-1].plan.shots] == [2, 2]
    assert any(isinstance(e, AssistantText) and e.delta for e in first), "streamed text arrives in fragments"
    asked = [e for e in first if isinstance(e, ApprovalRequested)]
    assert len(asked) == 1 and isinstance(first[-1], ApprovalRequested)
    assert asked[0].estimate is not None and asked[0].estimate_usd == pytest.approx(0.4, abs=0.05)
    assert asked[0].shots == [1, 2] and "USD" in asked[0].description
    assert session.pending_approval
    assert not clips(project), "nothing is generated before the yes"
    assert session.store.project.spending.charges == []

    fake_llm.add(call("render", {"preview": False, "output": None}), say("Your bakery ad is ready."))
    second = collect(session.respond(True))
    assert not session.pending_approval and session.last_error is None
    written = [e for e in second if isinstance(e, OutputWritten)]
    assert written and probe(written[0].path).duration_s == pytest.approx(4.0, abs=0.15)
    ledger = session.store.project.spending
    assert [a.approved for a in ledger.approvals] == [True] and ledger.approvals[0].by == "user"
    assert session.approval_ids == [ledger.approvals[0].id]
    assert sorted(c.shot_index for c in ledger.charges) == [1, 2]
    before = clips(project)

    # "make shot 2 slower": half speed reuses the clip; a new prompt for shot 2 regenerates shot 2 only.
    fake_llm.add(call("edit_shot", {"shot": 2, "speed": 0.5}),
                 call("edit_shot", {"shot": 2, "action": "tasting a croissant"}),
                 call("generate_shots", {"shots": None}))
    third = collect(session.send("make shot 2 slower, and have the customer taste it"))
    approval = [e for e in third if isinstance(e, ApprovalRequested)]
    assert approval and approval[0].shots == [2], "only the changed shot is priced"
    fake_llm.add(call("render", {"preview": False, "output": None}), say("Shot 2 is slower now."))
    collect(session.respond(True))
    assert session.last_error is None
    assert sorted(c.shot_index for c in ledger.charges) == [1, 2, 2]
    assert len(clips(project) - before) == 1
    # the speed edit survives the render: 2 s + 2 s at half speed = 6 s
    assert probe(project / "renders" / "final.mp4").duration_s == pytest.approx(6.0, abs=0.15)
    assert fake_llm.exhausted == 0 and fake_llm.remaining == 0

    # The model saw the tool results, and the key never reached the project folder or the logs.
    assert '"generated":[2]' in last_tool_result(fake_llm.requests[-2])
    for path in project.rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path
    assert FAKE_KEY not in caplog.text
    session.close()


def test_rejected_approval_generates_nothing(tmp_path, fake_llm, test_backends):
    project = tmp_path / "proj"
    fake_llm.add(call("plan_shots", PLAN), call("generate_shots", {"shots": None}))
    session = open_agent(project, fake_llm, backend="priced-test")
    events = collect(session.send(BRIEF))
    assert isinstance(events[-1], ApprovalRequested)
    fake_llm.add(say("OK, I will not generate anything. What should change?"))
    after = collect(session.respond(False))
    assert not session.pending_approval and session.last_error is None
    assert not clips(project)
    ledger = session.store.project.spending
    assert ledger.spent_usd == 0 and [a.approved for a in ledger.approvals] == [False]
    finished = [e for e in after if isinstance(e, ToolCallFinished)]
    assert finished and not finished[0].ok  # the model is told the call was rejected
    assert "declined" in last_tool_result(fake_llm.requests[-1]).lower()
    session.close()


def test_animatic_needs_no_approval_and_conversation_survives_reopen(tmp_path, fake_llm):
    project = tmp_path / "proj"
    fake_llm.add(call("plan_shots", PLAN), call("generate_shots", {}), say("Generated, free of charge."))
    session = open_agent(project, fake_llm)
    events = collect(session.send(BRIEF))
    assert not any(isinstance(e, ApprovalRequested) for e in events)
    started = [e.name for e in events if isinstance(e, ToolCallStarted)]
    assert started == ["plan_shots", "generate_shots"]
    session.close()

    # A new process would do exactly this: open the project again and carry on.
    again = open_agent(project, fake_llm)
    assert ("user", BRIEF) in again.history()
    assert ("assistant", "Generated, free of charge.") in again.history()
    fake_llm.add(say("We made a bakery ad earlier."))
    collect(again.send("what did we make?"))
    contents = json.dumps(fake_llm.requests[-1]["messages"])
    assert BRIEF in contents and "Generated, free of charge." in contents
    again.close()


def test_a_pending_approval_survives_a_restart(tmp_path, fake_llm, test_backends):
    project = tmp_path / "proj"
    fake_llm.add(call("plan_shots", PLAN), call("generate_shots", {"shots": [1, 2]}))
    session = open_agent(project, fake_llm, backend="priced-test")
    collect(session.send(BRIEF))
    assert session.pending_approval
    session.close()

    again = open_agent(project, fake_llm, backend="priced-test")
    assert again.pending_approval
    asked = collect(again.resume())  # the run driver asks again after a restart
    assert [type(e).__name__ for e in asked if not isinstance(e, Notice)] == ["ApprovalRequested"]
    assert asked[-1].shots == [1, 2]
    fake_llm.add(say("Generated."))
    collect(again.respond(True))
    assert again.last_error is None and not again.pending_approval
    assert sorted(c.shot_index for c in again.store.project.spending.charges) == [1, 2]
    again.close()


def test_cancel_stops_generation_and_keeps_the_session_usable(tmp_path, fake_llm, test_backends, monkeypatch):
    monkeypatch.setenv("SHOTSMITH_TEST_SLOW_S", "3")
    fake_llm.add(call("plan_shots", PLAN), call("generate_shots", {}))
    session = open_agent(tmp_path / "proj", fake_llm, backend="slow-test")

    async def run_and_cancel() -> list:
        events = []
        async for event in session.send(BRIEF):
            events.append(event)
            if isinstance(event, ToolCallStarted) and event.name == "generate_shots":
                session.cancel()
        return events

    started = time.monotonic()
    events = asyncio.run(run_and_cancel())
    assert time.monotonic() - started < 20
    assert session.last_error is not None and "cancel" in session.last_error.message
    # A cancel is the user's own doing: said plainly, as a warning rather than an error.
    assert any(isinstance(e, Notice) and e.level == "warning" and "cancel" in e.text for e in events)
    assert len(fake_llm.requests) == 2, "the model is not called again after a cancel"
    fake_llm.add(say("Stopped. What next?"))
    collect(session.send("ok"))
    assert session.last_error is None
    session.close()


def test_scripted_run_instructions_and_plan_only(tmp_path, fake_llm):
    fake_llm.add(call("plan_shots", PLAN), say("Planned."))
    session = open_agent(tmp_path / "proj", fake_llm)
    collect(session.run_brief(BRIEF, produce=False))
    assert session.last_error is None and session.store.project.plan is not None
    sent = fake_llm.requests[0]["messages"][-1]["content"]
    assert sent.startswith(BRIEF) and "Do not generate" in sent
    assert [c["name"] for c in session.tool_calls] == ["plan_shots"]
    session.close()


@pytest.mark.slow
def test_footage_opener_reframe_and_edits_survive_the_render(tmp_path, fake_llm, make_clip):
    project = tmp_path / "proj"
    make_clip("beach.mp4", duration=3, size="640x360", folder=project / "assets")
    fake_llm.add(call("plan_shots", PLAN), call("generate_shots", {}), call("render", {"preview": False}),
                 say("Done."))
    session = open_agent(project, fake_llm)
    collect(session.send(BRIEF))
    assert session.last_error is None
    generated = {g.clip for g in session.store.project.generations.values()}
    made = sorted((g.backend, g.shot_index) for g in session.store.project.generations.values())
    # a storyboard still per shot, then each shot animated from it
    assert made == [("animatic", 1), ("animatic", 2), ("sketch", 1), ("sketch", 2)]

    # "use my clip beach.mp4 as the opener, then swap the shots": footage replaces shot 1, nothing is generated.
    fake_llm.add(call("list_media", {"page": None}),
                 call("use_footage", {"file": "beach.mp4", "position": "replace", "shot": 1}),
                 call("arrange_shots", {"order": [2, 1], "remove": None}),
                 call("render", {"preview": False}), say("Beach last."))
    collect(session.send("use my clip beach.mp4 as the opener, then swap the two shots"))
    assert session.last_error is None
    plan = session.service.plan
    assert [s.source for s in plan.shots] == [None, "assets/beach.mp4"]
    assert {g.clip for g in session.store.project.generations.values()} == generated
    assert session.store.project.timeline.clips[1].source == "assets/beach.mp4"

    # "vertical for Reels, by blurred fill": free, nothing regenerated, the render is 9:16.
    fake_llm.add(call("set_format", {"aspect_ratio": "9:16", "method": "blur", "resolution": None}),
                 call("render", {"preview": False}), say("Vertical now."))
    collect(session.send("vertical for Reels, keep the shots"))
    assert session.last_error is None
    assert {g.clip for g in session.store.project.generations.values()} == generated  # nothing new made
    video = probe(project / "renders" / "final.mp4").video
    assert (video.width, video.height) == (360, 640)
    session.close()
