"""A new take: a shot made again as it is ("another take of shot 3", "redo shot 3", "regenerate shot 2 (same
prompt)").

The take is a plan edit (``plan_edits.new_take``: ``Shot.take`` moves on), so it is an undo step, and it is
part of the shot's generation signature, request and seed, so the new take is a new generation priced and
approved like any other (the animatic is free; a paid backend asks first and spends nothing on a no) while
the take before stays cached: undo brings it back for free. The storyboard still stays the shot's, approval
and all. End to end on real clips, through the offline chat and the agent's ``edit_shot``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.events import ApprovalRequested, AssistantText
from shotsmith.assistant.production import ProductionService
from shotsmith.assistant.sessions.intents import parse_intent
from shotsmith.backends.engine import cache_key
from shotsmith.errors import InvalidInputError
from shotsmith.media.probe import probe
from shotsmith.plan_edits import new_take
from tests.assistant._assistant_helpers import collect
from tests.assistant._test_backends import ImageToVideoBackend, PricedBackend, register

BRIEF = "a 4 second ad for a small cafe: coffee pouring, a smiling barista, 2 shots"


@pytest.fixture(autouse=True)
def _backends():
    register()


@pytest.fixture
def creates(monkeypatch):
    """Every create that reaches the priced backend: (shot, take, seed)."""
    sent: list[tuple] = []
    original = PricedBackend.generate

    async def counting(self, request, dest, **kwargs):
        sent.append((request.shot_index, request.take, request.seed))
        return await original(self, request, dest, **kwargs)

    monkeypatch.setattr(PricedBackend, "generate", counting)
    return sent


def chat(folder: Path, backend: str = "animatic", **options):
    return open_session(folder, options=ServiceOptions(backend=backend, resolution="360p", fps=24, **options),
                        offline=True)


def texts(events) -> str:
    return "\n".join(e.text for e in events if isinstance(e, AssistantText))


def asked(events) -> list[ApprovalRequested]:
    return [e for e in events if isinstance(e, ApprovalRequested)]


def records(service: ProductionService, index: int) -> list:
    return [r for r in service.store.project.generations.values()
            if r.request.get("shot_index") == index and r.request.get("mode") != "text-to-image"]


# -- the phrases ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("said, index", [
    ("redo shot 3", 3), ("another take of shot 3", 3), ("new take of 3", 3), ("regenerate shot 2 (same prompt)", 2),
    ("regenerate shot 2, same prompt", 2), ("Regenerate shot 2 with the same prompt.", 2), ("redo the last shot", 4),
    ("give me another take of the last shot please", 4), ("generate shot 2 again", 2), ("try shot 1 again", 1),
    ("re-roll shot 2 with a new seed", 2), ("one more take of the second shot", 2), ("regenerate 2", 2),
    ("another take", None),
])
def test_a_new_take_is_read_from_its_phrases(said, index):
    intent = parse_intent(said, shot_count=4)
    assert intent is not None and intent.kind == "take" and intent.args == {"index": index}


@pytest.mark.parametrize("said, kind", [
    ("redo 3", None),  # the history's: three steps forward
    ("redo 3 with a lower angle", "redo_panel"), ("redo shot 3 with a lower angle", "redo_panel"),
    ("redo panel 3", "redo_panel"), ("redraw shot 3", "redo_panel"), ("shot 3: a dog on a beach", "prompt"),
    ("generate", "produce"), ("make shot 2 slower", "speed"),
])
def test_a_change_or_the_history_is_no_take(said, kind):
    intent = parse_intent(said, shot_count=4)
    assert (intent.kind if intent else None) == kind


# -- free: the animatic, end to end -------------------------------------------------------------------------
def test_chat_makes_a_new_take_with_the_animatic_and_undo_brings_the_old_one_back(tmp_path):
    session = chat(tmp_path / "p")
    collect(session.send(BRIEF))
    collect(session.send("generate"))
    service = session.service
    first = service.plan.shots[1]
    assert first.bound_clip and first.take == 0
    stills = [s.keyframe for s in service.plan.shots]
    entries = len(service.store.history.index.entries)

    events = collect(session.send("another take of shot 2"))
    assert session.last_error is None, session.last_error
    said = texts(events)
    assert "Shot 2: take 2, the same prompt generated again" in said
    assert "2 shot(s) ready: 1 generated, 1 from cache" in said and "Wrote" in said
    taken = service.plan.shots[1]
    assert taken.take == 1 and taken.prompt == first.prompt and taken.camera == first.camera
    assert taken.bound_clip and taken.clip != first.clip  # a new generation, in its own file
    assert (service.store.root / first.clip).is_file()  # the first take stays cached
    made = records(service, 2)
    assert sorted(r.request.get("take") or 0 for r in made) == [0, 1]
    assert len({r.request["prompt"] for r in made}) == 1  # the same prompt
    assert [s.keyframe for s in service.plan.shots] == stills  # the same storyboard still
    assert len(service.store.history.index.entries) == entries + 1  # one undo step
    assert probe(service.store.renders_dir / "final.mp4").duration_s == pytest.approx(4.0, abs=0.15)

    collect(session.send("undo"))
    back = service.plan.shots[1]
    assert back.take == 0 and back.bound_clip == first.clip
    done = texts(collect(session.send("generate")))
    assert "2 shot(s) ready, all from cache (nothing generated)" in done  # free, from the cache
    assert len(records(service, 2)) == 2

    collect(session.send("redo"))  # and the new take is cached too
    assert service.plan.shots[1].take == 1
    assert "all from cache" in texts(collect(session.send("generate")))

    # "Another take" after an undo is one not seen yet (take 3), not the cached take 2 the undo put away.
    collect(session.send("undo"))
    said = texts(collect(session.send("regenerate shot 2")))
    assert "Shot 2: take 3" in said and "'undo' brings take 1 back" in said and "1 generated" in said
    assert service.plan.shots[1].take == 2 and len(records(service, 2)) == 3
    assert len({r.clip for r in records(service, 2)}) == 3


def test_a_take_on_a_seeded_project_moves_the_seed_and_the_key(tmp_path):
    service = ProductionService.open(tmp_path / "p", ServiceOptions(backend="animatic", resolution="360p", fps=24,
                                                                    seed=41))
    service.plan_brief(BRIEF, shot_count=2)
    service.generate()
    before = service.request_for(service.plan.shots[0])
    service.edit(lambda p: new_take(p, 1))
    after = service.request_for(service.plan.shots[0])
    assert (before.seed, before.take) == (42, None) and (after.seed, after.take) == (1042, 1)
    backend = service.backend()
    assert cache_key(backend, backend.prepare(before)[0]) != cache_key(backend, backend.prepare(after)[0])
    assert service.plan.shots[1].generation_signature() == service.store.project.plan.shots[1].clip_signature


# -- paid: asked first, nothing spent on a no -----------------------------------------------------------------
def test_a_paid_take_is_asked_first_and_a_no_spends_nothing(tmp_path, creates):
    ImageToVideoBackend.requests.clear()
    session = chat(tmp_path / "p", backend="i2v-test")  # priced, animates the storyboard stills (sketch: free)
    service = session.service
    collect(session.send(BRIEF))
    events = collect(session.send("generate"))
    if not asked(events):  # the stills are held for review before the video's money is asked about
        events = collect(session.send("approve all"))
    collect(session.respond(True))
    assert session.last_error is None, session.last_error
    assert sorted(c[0] for c in creates) == [1, 2]
    spent = service.spending.ledger.spent_usd
    assert spent > 0
    first = service.plan.shots[0]

    events = collect(session.send("regenerate shot 1 (same prompt)"))
    [question] = asked(events)  # no hold for the storyboard: the still stays approved
    assert question.estimate.backend == "i2v-test" and question.estimate.shots == [1]
    assert question.estimate.usd > 0
    assert service.plan.shots[0].keyframe_state == "approved"
    said = texts(collect(session.respond(False)))
    assert "nothing was spent" in said and "'undo' brings its previous take back" in said
    assert len(creates) == 2 and service.spending.ledger.spent_usd == spent  # nothing created, nothing spent
    assert len(records(service, 1)) == 1

    collect(session.send("undo"))
    assert service.plan.shots[0].bound_clip == first.clip
    events = collect(session.send("generate"))
    assert not asked(events) and "all from cache" in texts(events) and len(creates) == 2

    [question] = asked(collect(session.send("another take of shot 1")))
    collect(session.respond(True))
    assert session.last_error is None, session.last_error
    assert creates[2:] == [(1, 1, None)]  # one new create: shot 1, take 1
    assert ImageToVideoBackend.requests[-1].image == str(service.store.root / first.keyframe)  # from the same still
    assert service.spending.ledger.spent_usd == pytest.approx(spent + question.estimate.usd)
    taken = service.plan.shots[0]
    assert taken.take == 1 and taken.bound_clip and taken.clip != first.clip
    assert (service.store.root / first.clip).is_file()


# -- bad input: one line each ------------------------------------------------------------------------------------
def test_what_cannot_be_made_again_says_why(tmp_path, make_clip):
    session = chat(tmp_path / "p")
    collect(session.send(BRIEF))
    collect(session.send("show the storyboard"))
    collect(session.send("redo shot 2"))  # a still but no clip yet
    error = session.last_error
    assert "shot 2 has no clip yet" in error.message and "'generate'" in error.hint
    assert "redo 2 with a lower angle" in error.hint
    collect(session.send("another take"))
    assert session.last_error.message == "say which shot to make again"
    collect(session.send("generate"))
    collect(session.send("new take of shot 9"))
    assert "there is no shot 9" in session.last_error.message
    make_clip("beach.mp4", duration=2, size="160x90", folder=session.store.root)
    collect(session.send("use my clip beach.mp4 as shot 1"))
    collect(session.send("redo shot 1"))
    assert "shot 1 is your footage (" in session.last_error.message
    with pytest.raises(InvalidInputError, match="no take to make again"):
        session.service.edit(lambda p: new_take(p.model_copy(update={"shots": [
            s.model_copy(update={"clip": None}) for s in p.shots]}), 2))


# -- the agent's edit_shot -------------------------------------------------------------------------------------
def test_the_agent_makes_a_new_take_through_edit_shot_and_generate_shots(tmp_path, fake_llm, creates):
    from tests.assistant._assistant_helpers import open_agent
    from tests.assistant._fake_openai import call, last_tool_result, say

    session = open_agent(tmp_path / "g", fake_llm, backend="priced-test", keyframes="off")
    session.service.plan_brief(BRIEF, shot_count=2)
    fake_llm.add(call("generate_shots", {"shots": None}), say("Made."))
    [first] = asked(collect(session.send("make the video")))
    collect(session.respond(True))
    assert len(creates) == 2
    spent = session.service.spending.ledger.spent_usd
    old = session.service.plan.shots[1].clip

    take = {"shot": 2, "new_take": True, **{k: None for k in (
        "prompt", "subject", "action", "setting", "style", "lighting", "camera", "duration_s", "speed", "in_s",
        "transition", "volume", "mute", "fit", "move_to", "narration")}}
    fake_llm.add(call("edit_shot", take), call("generate_shots", {"shots": [2]}), say("Asked."))
    [question] = asked(collect(session.send("another take of shot 2 please")))
    edited = json.loads(last_tool_result(fake_llm.requests[-1]))
    assert edited["shot"]["take"] == 2 and edited["shot"]["clip"] is False and "generate_shots" in edited["next"]
    assert question.estimate.shots == [2] and question.estimate.usd > 0
    collect(session.respond(False))
    assert len(creates) == 2 and session.service.spending.ledger.spent_usd == spent  # refused: nothing sent

    fake_llm.add(call("generate_shots", {"shots": [2]}), say("Made."))
    asked(collect(session.send("ok, make it")))
    collect(session.respond(True))
    assert session.last_error is None, session.last_error
    assert creates[2:] == [(2, 1, None)]
    assert session.service.plan.shots[1].bound_clip not in (None, old)

    fake_llm.add(call("edit_shot", {**take, "prompt": "a dog"}), say("Refused."))
    collect(session.send("another take of shot 2 with a dog"))
    refused = last_tool_result(fake_llm.requests[-1])
    assert "give it alone" in refused, refused
    session.close()


# -- continuity: a continued shot's take starts from the same frame ------------------------------------------
def test_a_take_of_a_continued_shot_starts_from_the_same_last_frame(tmp_path):
    from shotsmith.plan_edits import continue_from

    service = ProductionService.open(tmp_path / "p", ServiceOptions(backend="animatic", resolution="360p", fps=24))
    service.plan_brief(BRIEF, shot_count=2)
    service.edit(lambda p: continue_from(p, 2, 1))
    assert sorted(service.generate().generated) == [1, 2]
    two = service.plan.shots[1]
    assert two.continues_from and two.bound_keyframe

    service.edit(lambda p: new_take(p, 2))
    result = service.generate()
    assert result.generated == [2] and result.cached == [1]
    taken = service.plan.shots[1]
    assert taken.take == 1 and taken.keyframe == two.keyframe and taken.continues_from == two.continues_from
    assert taken.bound_clip and taken.clip != two.clip
    [record] = [r for r in records(service, 2) if r.request.get("take") == 1]
    assert record.request["image"] == str(service.store.root / two.keyframe)  # the previous clip's last frame
    service.store.undo()
    assert service.plan.shots[1].bound_clip == two.clip and service.generate().generated == []


def test_the_animatic_slate_says_which_take_it_is(tmp_path):
    from shotsmith.backends.animatic import slate

    service = ProductionService.open(tmp_path / "p", ServiceOptions(backend="animatic", resolution="360p", fps=24,
                                                                    keyframes="off"))
    service.plan_brief(BRIEF, shot_count=2)
    service.generate()
    first = slate(service.request_for(service.plan.shots[1]), 640, 360)[0]["text"]
    service.edit(lambda p: new_take(p, 2))
    taken = slate(service.request_for(service.plan.shots[1]), 640, 360)[0]["text"]
    assert (first, taken) == ("SHOT 2", "SHOT 2 · TAKE 2")  # the same card otherwise: the slate tells them apart
