"""Review: history labels said only "shot 1 edited", which tells no undo apart from the next.

Labels now say what changed, briefly, computed from the before/after snapshots in
one helper (``history.describe_change``): made here by real edits on a generated
project (the plan edit model, the chat, the title tool), read back through
``shotsmith history`` and ``undo`` at 80 columns.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.production import ProductionService
from shotsmith.history import MAX_LABEL, describe_change
from shotsmith.plan_edits import edit_shot, new_take, reorder, set_aspect_ratio
from shotsmith.tools import catalogue
from shotsmith.tools.spec import TOOLS, ToolContext
from tests.assistant._assistant_helpers import collect

REPO = Path(__file__).resolve().parents[2]
catalogue.load_all()  # registers the editing tools (add_title)


def shotsmith(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "shotsmith", *args], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def produced(tmp_path) -> ProductionService:
    service = ProductionService.open(tmp_path / "p", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 6 second ad for a bakery, 3 shots")
    service.generate()
    return service


def last_label(service: ProductionService) -> str:
    return service.store.history.index.entries[-1].label


def test_each_kind_of_edit_is_named_by_what_changed(produced):
    produced.edit(lambda p: edit_shot(p, 1, speed=0.5))
    assert last_label(produced) == "shot 1: speed 0.5x"  # its duration follows the speed: not named again
    produced.edit(lambda p: edit_shot(p, 2, prompt="a baker dusting flour on a wooden table"))
    assert last_label(produced) == "shot 2: prompt"
    produced.edit(lambda p: new_take(p, 3))
    assert last_label(produced) == "shot 3: new take"
    produced.edit(lambda p: edit_shot(p, 2, duration_s=6))
    assert last_label(produced) == "shot 2: duration 2 s → 6 s"
    produced.edit(lambda p: reorder(p, [3, 1, 2]))
    assert last_label(produced) == "shot 3 moved to 1"
    produced.edit(lambda p: reorder(p, [3, 2, 1]))
    assert last_label(produced) == "2 shots reordered"
    produced.edit(lambda p: set_aspect_ratio(p, "9:16"))
    assert last_label(produced).startswith("aspect 9:16")  # the plan's, said once: not a change to each shot
    produced.edit(lambda p: edit_shot(p, 1, camera="pan_left"))
    assert last_label(produced) == "shot 1: camera pan left"  # its prompt is recomposed: the camera says it
    produced.edit(lambda p: edit_shot(p, 2, prompt="rain on the bakery window", camera="static"))
    assert last_label(produced) == "shot 2: prompt, camera static"  # a prompt the user wrote is named too
    TOOLS["add_title"](ToolContext(store=produced.store), {"text": "Fresh every morning"})
    assert last_label(produced) == "title added"
    produced.edit(lambda p: reorder(p, [1, 2, 3], remove=[2]))
    assert last_label(produced) == "shot 2 removed"
    produced.set_plan(produced.plan.model_copy(update={"shots": [
        s.model_copy(update={"index": n, "prompt": f"a new shot {n}"}) for n, s in enumerate(produced.plan.shots * 2, 1)]}))
    assert last_label(produced) == "plan replaced (4 shots)"
    labels = [e.label for e in produced.store.history.index.entries]
    assert not any(label.endswith(" edited") for label in labels), labels


def test_a_change_to_many_shots_stays_short():
    shots = [{"index": i, "prompt": f"shot {i} of a long bakery ad", "duration_s": 2.0, "speed": 1.0,
              "camera": "static"} for i in range(1, 9)]
    before = {"plan": {"shots": shots}}
    after = copy.deepcopy(before)
    for n, shot in enumerate(after["plan"]["shots"]):
        shot.update(prompt=shot["prompt"] + " at dawn", camera="pan_left", duration_s=3.0 + n)
    label = describe_change(before, after)
    assert label == "shots 1-8: prompt, duration, camera", label  # each shot's durations do not fit: the kinds do
    assert len(label) <= MAX_LABEL
    same = copy.deepcopy(before)
    for shot in same["plan"]["shots"][:2]:
        shot.update(speed=0.5, duration_s=4.0)
    assert describe_change(before, same) == "shots 1, 2: speed 0.5x"
    mixed = copy.deepcopy(before)
    mixed["plan"]["shots"][0].update(mute=True)
    mixed["plan"]["shots"][4].update(transition_to_next={"kind": "dissolve", "duration_s": 0.5})
    assert describe_change(before, mixed) == "shot 1: muted; shot 5: dissolve to next"


def test_chat_history_and_undo_name_the_change_and_fit_80_columns(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True)
    try:
        collect(session.send("A 4 second teaser for a bakery, 2 shots"))
        collect(session.send("make shot 1 slower"))
        speed = session.service.plan.shots[0].speed
        collect(session.send("shot 2: a close-up of a croissant being torn open, steam rising"))
        labels = [e.label for e in session.store.history.index.entries]
    finally:
        session.close()
    assert labels[-2:] == [f"shot 1: speed {speed:g}x", "shot 2: prompt"], labels

    shown = shotsmith("history", "-p", str(tmp_path / "c"))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(f"shot 1: speed {speed:g}x" in line for line in lines)  # on one line, not wrapped in its cell
    assert any("shot 2: prompt" in line for line in lines)

    undone = shotsmith("undo", "-p", str(tmp_path / "c"))
    said = " ".join(undone.stdout.split())
    assert undone.returncode == 0 and f"undid change 4 (shot 2: prompt); now at change 3 (shot 1: speed {speed:g}x)" \
        in said, undone.stdout
