"""The LLM agent end to end through the real openai client and ChatOpenAI, against a scripted server.

Brief -> plan -> approval -> generate (a priced test backend) -> render; a
refinement that regenerates only the changed shot; a rejected approval; the
conversation continuing after the session is reopened.
"""

from __future__ import annotations

import json

import pytest

from tests.assistant._fake_openai import Reply, call, last_tool_result, say
from tests.assistant._assistant_helpers import FAKE_KEY, collect
from shotsmith.assistant.events import (ApprovalRequested, AssistantText, Notice, OutputWritten, PlanUpdated,
                                        ToolCallFinished, ToolCallStarted)
from shotsmith.assistant.protocol import ChatSessionLike
from shotsmith.assistant.session import ChatSession
from shotsmith.media.probe import probe

BRIEF = "A 4 second ad for a bakery, 2 shots, warm morning light"
SHOTS = [
    {"subject": "a baker", "action": "pulling bread from the oven", "setting": "in a small bakery",
     "camera": "zoom_in", "style": "warm cinematic", "lighting": "morning light", "duration_s": 2},
    {"subject": "a customer", "action": "biting a croissant", "setting": "at the counter",
     "camera": "pan_right", "style": "warm cinematic", "lighting": "morning light", "duration_s": 2},
]


def open_session(tmp_path, fake_llm, **kw) -> ChatSession:
    kw.setdefault("backend", "priced-test")
    return ChatSession.open(tmp_path / "proj", llm="openai:fake-model", llm_base_url=fake_llm.base_url,
                            resolution="360p", fps=24, retry_initial_delay_s=0.01, **kw)


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


@pytest.mark.slow
def test_brief_plan_approve_generate_render_then_refine_one_shot(tmp_path, fake_llm, test_backends, caplog):
    fake_llm.add(
        call("plan_shots", {"brief": BRIEF, "shots": SHOTS}),
        Reply(content="Two shots planned. This backend costs money, so I will ask first.",
              tool_calls=[("generate_shots", {})]),
    )
    session = open_session(tmp_path, fake_llm)
    assert isinstance(session, ChatSessionLike)
    assert session.answering == "openai:fake-model"

    first = collect(session.send(BRIEF))
    assert isinstance(first[0], Notice) and "openai:fake-model" in first[0].text  # who answers, said first
    plans = [e for e in first if isinstance(e, PlanUpdated)]
    assert plans and [s["duration_s"] for s in plans[-1].plan["shots"]] == [2, 2]
    assert any(isinstance(e, AssistantText) and e.delta for e in first), "streamed text arrives in fragments"
    asked = [e for e in first if isinstance(e, ApprovalRequested)]
    assert len(asked) == 1 and isinstance(first[-1], ApprovalRequested)
    assert asked[0].estimate_amount == pytest.approx(0.4 + 0.1 * 0.4, abs=0.05)  # 0.10 USD/s, shot 1 has a handle
    assert asked[0].shots == [1, 2] and "USD" in asked[0].description
    assert session.pending_approval
    assert not list((tmp_path / "proj" / "clips").glob("*.mp4")), "nothing is generated before the yes"

    fake_llm.add(call("render_final", {}), say("Your bakery ad is ready."))
    second = collect(session.respond(True))
    assert not session.pending_approval and session.last_error is None
    written = [e for e in second if isinstance(e, OutputWritten)]
    assert written and probe(written[0].path).duration_s == pytest.approx(4.0, abs=0.15)
    assert session.studio.ledger.generated == [1, 2]
    assert session.studio.ledger.approvals[-1]["approved"] is True
    clips_before = set((tmp_path / "proj" / "clips").glob("*.mp4"))

    # "make shot 2 slower": only shot 2 changes, so only shot 2 is generated (and paid) again.
    fake_llm.add(
        call("edit_shot", {"index": 2, "duration_s": 3}),
        call("generate_shots", {}),
    )
    third = collect(session.send("make shot 2 slower"))
    approval = [e for e in third if isinstance(e, ApprovalRequested)]
    assert approval and approval[0].shots == [2]
    fake_llm.add(call("render_final", {}), say("Shot 2 is slower now."))
    collect(session.respond(True))
    assert session.last_error is None
    assert session.studio.ledger.generated == [1, 2, 2]
    new_clips = set((tmp_path / "proj" / "clips").glob("*.mp4")) - clips_before
    assert len(new_clips) == 1
    assert probe(tmp_path / "proj" / "renders" / "final.mp4").duration_s == pytest.approx(5.0, abs=0.15)
    assert fake_llm.exhausted == 0 and fake_llm.remaining == 0

    # The model saw the tool results, and the key never reached the project folder or the logs.
    assert '"generated": [2]' in last_tool_result(fake_llm.requests[-2])
    for path in (tmp_path / "proj").rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path
    assert FAKE_KEY not in caplog.text
    session.close()


def test_rejected_approval_generates_nothing(tmp_path, fake_llm, test_backends):
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), call("generate_shots", {}))
    session = open_session(tmp_path, fake_llm)
    events = collect(session.send(BRIEF))
    assert isinstance(events[-1], ApprovalRequested)
    fake_llm.add(say("OK, I will not generate anything. What should change?"))
    after = collect(session.respond(False))
    assert not session.pending_approval and session.last_error is None
    assert not list((tmp_path / "proj" / "clips").glob("*.mp4"))
    assert session.studio.ledger.spent == 0 and session.studio.ledger.approvals[-1]["approved"] is False
    finished = [e for e in after if isinstance(e, ToolCallFinished)]
    assert finished and not finished[0].ok  # the model is told the call was rejected
    assert "rejected" in last_tool_result(fake_llm.requests[-1]).lower()
    session.close()


def test_animatic_needs_no_approval_and_conversation_survives_reopen(tmp_path, fake_llm):
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), call("generate_shots", {}),
                 say("Generated, free of charge."))
    session = open_session(tmp_path, fake_llm, backend="animatic")
    events = collect(session.send(BRIEF))
    assert not any(isinstance(e, ApprovalRequested) for e in events)
    started = [e.name for e in events if isinstance(e, ToolCallStarted)]
    assert started == ["plan_shots", "generate_shots"]
    session.close()

    # A new process would do exactly this: open the project again and carry on.
    again = open_session(tmp_path, fake_llm, backend="animatic")
    assert ("user", BRIEF) in again.history()
    assert ("assistant", "Generated, free of charge.") in again.history()
    fake_llm.add(say("We made a bakery ad earlier."))
    collect(again.send("what did we make?"))
    contents = json.dumps(fake_llm.requests[-1]["messages"])
    assert BRIEF in contents and "Generated, free of charge." in contents
    again.close()


def test_offline_session_answers_when_no_model_is_configured(tmp_path):
    session = ChatSession.open(tmp_path / "p", resolution="360p")
    assert session.answering == "offline planner"
    events = collect(session.send("A 6 second ad for a bakery: a baker with bread, a happy customer"))
    assert "offline planner" in events[0].text
    assert any(isinstance(e, PlanUpdated) for e in events)


def test_a_pending_approval_survives_a_restart(tmp_path, fake_llm, test_backends):
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), call("generate_shots", {}))
    session = open_session(tmp_path, fake_llm)
    collect(session.send(BRIEF))
    assert session.pending_approval
    session.close()

    again = open_session(tmp_path, fake_llm)
    assert again.pending_approval
    fake_llm.add(say("Generated."))
    collect(again.respond(True))
    assert again.last_error is None and not again.pending_approval
    assert again.studio.ledger.generated == [1, 2]
    again.close()


def test_cancel_stops_generation_and_keeps_the_session_usable(tmp_path, fake_llm, test_backends, monkeypatch):
    monkeypatch.setenv("SHOTSMITH_TEST_SLOW_S", "3")
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), call("generate_shots", {}))
    session = open_session(tmp_path, fake_llm, backend="slow-test")

    async def run_and_cancel() -> list:
        events = []
        async for event in session.send(BRIEF):
            events.append(event)
            if type(event).__name__ == "ToolCallStarted" and event.name == "generate_shots":
                session.cancel()
        return events

    import asyncio

    started = __import__("time").monotonic()
    events = asyncio.run(run_and_cancel())
    assert __import__("time").monotonic() - started < 20
    assert session.last_error is not None and "cancel" in session.last_error.message
    # A cancel is the user's own doing: said plainly, as a warning rather than an error.
    assert any(isinstance(e, Notice) and e.level == "warning" and "cancel" in e.text for e in events)
    assert len(fake_llm.requests) == 2, "the model is not called again after a cancel"
    fake_llm.add(say("Stopped. What next?"))
    collect(session.send("ok"))
    assert session.last_error is None
    session.close()


def test_scripted_run_that_never_renders_is_an_error(tmp_path, fake_llm):
    from shotsmith.assistant.agent_run import run_with_agent

    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), say("I planned it; all done!"))
    out = tmp_path / "never.mp4"
    session = open_session(tmp_path, fake_llm, backend="animatic", output=out)
    report, error = run_with_agent(session, BRIEF, out)
    assert error is not None and "without writing" in error.message
    assert report.error and report.plan is not None and report.output is None
    assert [c["name"] for c in report.tool_calls] == ["plan_shots"]
    session.close()


@pytest.mark.slow
def test_footage_opener_and_vertical_edits_through_the_agent(tmp_path, fake_llm, make_clip):
    project = tmp_path / "proj"
    make_clip("beach.mp4", duration=3, size="640x360", folder=project / "assets")
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), call("generate_shots", {}),
                 call("render_final", {}), say("Done."))
    session = open_session(tmp_path, fake_llm, backend="animatic")
    collect(session.send(BRIEF))
    assert session.studio.ledger.generated == [1, 2]

    # "use my clip beach.mp4 as the opener": footage replaces shot 1, nothing is generated.
    fake_llm.add(call("list_media", {}), call("use_footage", {"path": "beach.mp4", "index": 1}),
                 call("generate_shots", {}), call("render_final", {}), say("Beach first."))
    collect(session.send("use my clip beach.mp4 as the opener"))
    assert session.last_error is None
    assert session.studio.plan.shots[0].source == "assets/beach.mp4"
    assert session.studio.ledger.generated == [1, 2]
    assert session.store.project.timeline.clips[0].source == "assets/beach.mp4"

    # "vertical for Reels": the frame changes, so the generated shot is made again at 9:16.
    fake_llm.add(call("set_aspect_ratio", {"aspect_ratio": "9:16"}), call("generate_shots", {}),
                 call("render_final", {}), say("Vertical now."))
    collect(session.send("vertical for Reels"))
    assert session.last_error is None
    assert session.studio.ledger.generated == [1, 2, 2]
    video = probe(project / "renders" / "final.mp4").video
    assert (video.width, video.height) == (360, 640)
    session.close()
