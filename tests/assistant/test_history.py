"""Versions and undo: every change is a snapshot, every final render is kept, and going back costs nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.production import ProductionService
from shotsmith.errors import InvalidInputError
from shotsmith.plan_edits import edit_shot, reorder
from shotsmith.store import ProjectStore
from tests.assistant._assistant_helpers import collect

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def produced(tmp_path) -> ProductionService:
    service = ProductionService.open(tmp_path / "p", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 6 second ad for a bakery, 3 shots")
    service.generate()
    return service


def test_each_edit_is_an_entry_and_undo_redo_walk_them(produced):
    store = produced.store
    start = store.history.index.head
    produced.edit(lambda p: edit_shot(p, 2, speed=0.5))
    produced.edit(lambda p: reorder(p, [3, 1, 2]))
    labels = [e.label for e in store.history.index.entries]
    assert labels[-2:] == ["shot 2: speed 0.5x", "shot 3 moved to 1"]

    store.undo()
    assert [s.speed for s in produced.plan.shots] == [1.0, 0.5, 1.0]
    store.undo()
    assert store.history.index.head == start and all(s.speed == 1.0 for s in produced.plan.shots)
    assert produced.estimate().to_generate == []  # the clips are still bound and cached: nothing to pay
    store.redo(2)
    assert [s.speed for s in produced.plan.shots] == [1.0, 1.0, 0.5]  # shot 2 (slowed) is now third


def test_history_survives_a_restart_and_a_new_edit_drops_the_redo_branch(produced, tmp_path):
    produced.edit(lambda p: edit_shot(p, 1, volume=0.5))
    produced.store.undo()
    reopened = ProjectStore.open(tmp_path / "p")
    assert reopened.project.plan.shots[0].volume == 1.0
    reopened.redo()
    assert reopened.project.plan.shots[0].volume == 0.5
    reopened.undo()
    reopened.project.plan = edit_shot(reopened.project.plan, 3, mute=True)
    reopened.save()
    with pytest.raises(InvalidInputError, match="nothing to redo"):
        reopened.redo()


def test_generation_binds_clips_without_adding_entries(tmp_path):
    service = ProductionService.open(tmp_path / "b", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 4 second ad for a bakery, 2 shots")
    before = len(service.store.history.index.entries)
    service.generate()
    assert len(service.store.history.index.entries) == before
    # Going back to the plan keeps its clips: they were amended into that entry.
    assert all(s.bound_clip for s in service.plan.shots)


def test_undo_never_deletes_clips_nor_refunds(produced):
    clips = sorted(p.name for p in produced.store.clips_dir.iterdir())
    produced.edit(lambda p: edit_shot(p, 2, prompt="a croissant on marble, macro, soft light"))
    produced.generate()
    produced.store.undo()
    assert set(clips) < {p.name for p in produced.store.clips_dir.iterdir()}
    produced.store.redo()
    assert produced.estimate().to_generate == []  # the redone prompt's clip is still there


def test_every_final_render_is_kept_and_the_output_gets_the_latest(produced, tmp_path):
    out = tmp_path / "ad.mp4"
    service = ProductionService(produced.store, ServiceOptions(outputs=(out,)))
    first = service.render()
    service.edit(lambda p: edit_shot(p, 1, speed=0.5))
    second = service.render()
    assert (first.version, second.version) == (1, 2)
    renders = service.store.project.renders
    assert [r.path for r in renders] == ["renders/v001.mp4", "renders/v002.mp4"]
    assert renders[1].history_entry == service.store.history.index.head
    assert out.read_bytes() == (service.store.root / "renders/v002.mp4").read_bytes()
    assert (service.store.root / "renders/v001.mp4").stat().st_size > 0


def test_undo_and_redo_in_chat_and_on_the_command_line(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True)
    collect(session.send("A 4 second teaser for a bakery, 2 shots"))
    collect(session.send("make shot 1 slower"))
    assert session.service.plan.shots[0].speed < 1
    events = collect(session.send("undo"))
    assert session.service.plan.shots[0].speed == 1.0
    assert any("Undone" in getattr(e, "text", "") for e in events)

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "shotsmith", *a], capture_output=True, text=True,  # noqa: E731
                                    env=env, timeout=60)
    shown = run("history", "-p", str(tmp_path / "c"))
    assert shown.returncode == 0 and "shot 1: speed 0.67x" in shown.stdout
    assert run("redo", "-p", str(tmp_path / "c")).returncode == 0
    assert json.loads((tmp_path / "c" / "project.json").read_text())["plan"]["shots"][0]["speed"] < 1
    too_far = run("undo", "-p", str(tmp_path / "c"), "50")
    assert too_far.returncode == 2 and "nothing to undo" in too_far.stderr and "Traceback" not in too_far.stderr
