"""Several shots in one sentence ("make shots 1 and 2 faster") are one edit of each, one undo step; a shot edit
the offline planner does not know is answered, never planned as a new brief over the project's shots."""

from __future__ import annotations

import pytest

from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.sessions.intents import parse_intent
from tests.assistant._assistant_helpers import collect


@pytest.mark.parametrize("text, indices", [
    ("make shots 1 and 2 faster", [1, 2]), ("make shots 2-4 slower", [2, 3, 4]),
    ("shots 1, 3 and 4 push in", [1, 3, 4]), ("make every shot longer", [1, 2, 3, 4]),
    ("make all the shots 3 seconds", [1, 2, 3, 4]), ("make shot 2 faster", [2]),
])
def test_several_shots_are_named(text, indices):
    intent = parse_intent(text, shot_count=4)
    assert intent is not None and intent.args["indices"] == indices


def _session(tmp_path):
    session = open_session(tmp_path / "p", options=ServiceOptions(resolution="360p"), offline=True)
    collect(session.send("a 12 second ad for a bakery, 4 shots"))
    return session


def test_shots_1_and_2_faster_changes_both_in_one_undo_step(tmp_path):
    session = _session(tmp_path)
    before = [s.speed for s in session.service.plan.shots]
    entries = len(session.store.history.index.entries)
    collect(session.send("make shots 1 and 2 faster"))
    after = session.service.plan.shots
    assert len(after) == 4  # not re-planned
    assert [s.speed for s in after] == [before[0] * 1.5, before[1] * 1.5, before[2], before[3]]
    assert len(session.store.history.index.entries) == entries + 1
    collect(session.send("undo"))
    assert [s.speed for s in session.service.plan.shots] == before


def test_a_shot_edit_it_does_not_know_is_answered_not_planned(tmp_path):
    session = _session(tmp_path)
    prompts = [s.prompt for s in session.service.plan.shots]
    collect(session.send("please make shots 1 and 2 much brighter and warmer"))
    assert [s.prompt for s in session.service.plan.shots] == prompts
    assert "offline planner" in session.history()[-1][1]
