"""Review of issue 11's versions and undo, driven as a user would: each test is a defect found by hand, fixed.

Projects here use the default output settings (720p, 24 fps) where it matters: a
timeline left at its defaults is what exposed the no-op history entry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.production import ProductionService
from shotsmith.errors import InvalidInputError, ProjectError
from shotsmith.store import ProjectStore
from tests.assistant._assistant_helpers import collect
from shotsmith.plan_edits import edit_shot

REPO = Path(__file__).resolve().parents[2]


def shotsmith(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "shotsmith", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture
def planned(tmp_path) -> ProductionService:
    """A planned and generated project at the default output settings (its timeline is all defaults until bound)."""
    service = ProductionService.open(tmp_path / "p", ServiceOptions())
    service.plan_brief("a 4 second ad for a bakery, 2 shots")
    service.generate()
    return service


def test_generating_a_default_size_project_adds_no_entry_so_the_first_undo_undoes_the_plan(planned):
    # Found: `shotsmith run` at 720p left ['project created', 'plan made (4 shots)', 'changed']: binding the
    # clips filled a timeline that had been all defaults, which counted as a change, so the first
    # `undo` after a run changed nothing the user could see.
    labels = [e.label for e in planned.store.history.index.entries]
    assert labels == ["project created", "plan made (2 shots)"]
    planned.store.undo()
    assert planned.store.project.plan is None


def test_undo_further_than_the_history_says_how_far_it_can_go(planned):
    planned.edit(lambda p: edit_shot(p, 1, speed=0.5))
    with pytest.raises(InvalidInputError) as caught:
        planned.store.undo(5)
    # Found: 'nothing to undo: this is the oldest change', said with two changes still undoable.
    assert "nothing to undo" in caught.value.message and "only 2" in caught.value.message
    assert planned.plan.shots[0].speed == 0.5  # nothing moved
    planned.store.undo()
    with pytest.raises(InvalidInputError, match="nothing to redo that far: only 1"):
        planned.store.redo(3)
    planned.store.redo()
    with pytest.raises(InvalidInputError, match="^nothing to redo$"):
        planned.store.redo()
    result = shotsmith("undo", "-p", str(planned.store.root), "9")
    assert result.returncode == 2 and "only 2 change(s) can be undone" in result.stderr


@pytest.mark.parametrize("damage", ["truncated", "wrong shape"])
def test_a_damaged_history_index_is_one_line(planned, damage):
    index = planned.store.root / ".shotsmith/history/index.json"
    text = index.read_text()
    index.write_text(text[: len(text) // 2] if damage == "truncated" else '{"head": "x", "entries": 3}')
    with pytest.raises(ProjectError) as caught:
        ProjectStore.open(planned.store.root).history.index  # noqa: B018
    # Found: pydantic's whole multi-line report, with its documentation link, as the error.
    message = caught.value.message
    assert "\n" not in message and "errors.pydantic.dev" not in message and "index.json" in message
    result = shotsmith("history", "-p", str(planned.store.root))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert [line.split(":")[0] for line in result.stderr.splitlines() if line.strip()] == ["error", "hint"]


def test_a_damaged_snapshot_is_one_line(planned):
    (planned.store.root / ".shotsmith/history/00001.json").write_text('{"plan": ')
    with pytest.raises(ProjectError) as caught:
        ProjectStore.open(planned.store.root).undo()
    assert "\n" not in caught.value.message and "00001.json" in caught.value.message
    assert caught.value.hint


@pytest.fixture
def chatting(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p", fps=24), offline=True)
    collect(session.send("A 4 second teaser for a bakery, 2 shots"))
    collect(session.send("make shot 1 slower"))
    collect(session.send("make shot 2 faster"))
    yield session
    session.close()


@pytest.mark.parametrize(("said", "speeds"), [
    ("undo that", (0.67, 1.0)), ("Undo it.", (0.67, 1.0)), ("undo the last change", (0.67, 1.0)),
    ("undo last edit please", (0.67, 1.0)), ("undo twice", (1.0, 1.0)), ("undo the last 2 changes", (1.0, 1.0)),
    ("undo 2 edits", (1.0, 1.0)), ("/undo 2", (1.0, 1.0)),
])
def test_undo_in_other_words_in_chat(chatting, said, speeds):
    # Found: 'undo that' got the offline planner's list of what it understands; nothing was undone.
    events = collect(chatting.send(said))
    assert tuple(round(s.speed, 2) for s in chatting.service.plan.shots) == speeds
    assert any("Undone" in getattr(e, "text", "") for e in events)


def test_redo_that_and_redo_too_far_in_chat(chatting):
    collect(chatting.send("undo the last 2 changes"))
    collect(chatting.send("redo that"))
    assert round(chatting.service.plan.shots[0].speed, 2) == 0.67 and chatting.service.plan.shots[1].speed == 1.0
    events = collect(chatting.send("redo 5"))
    assert chatting.service.plan.shots[1].speed == 1.0  # nothing moved, and it says how far it could go
    assert any("only 1 change(s) can be redone" in getattr(e, "text", "") for e in events)


@pytest.mark.parametrize("said", ["redo 2 with a lower angle", "redo shot 2", "undo shot 1"])
def test_shot_phrases_are_not_history_moves(chatting, said):
    head = chatting.store.history.index.head
    collect(chatting.send(said))
    assert chatting.store.history.index.head >= head  # not moved back (a redrawn still may add an entry)


def test_undo_zero_moves_nothing_and_says_so(chatting):
    head = chatting.store.history.index.head
    events = collect(chatting.send("undo 0"))
    assert chatting.store.history.index.head == head
    assert any("moves nothing" in getattr(e, "text", "") for e in events)


def test_history_still_lists_a_render_of_a_change_that_a_new_edit_replaced(tmp_path):
    service = ProductionService.open(tmp_path / "v", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 4 second ad for a bakery, 2 shots")
    service.generate()
    service.render()
    service.edit(lambda p: edit_shot(p, 1, speed=0.5))
    service.render()  # v002, from the slowed change
    service.store.undo()
    service.edit(lambda p: edit_shot(p, 2, speed=2.0))  # drops the slowed change (the redo branch)
    result = shotsmith("history", "-p", str(service.store.root))
    assert result.returncode == 0, result.stderr
    # Found: v002.mp4 vanished from `history` once its change was replaced, though the file is kept.
    assert "renders/v001.mp4" in result.stdout and "renders/v002.mp4" in result.stdout
    assert "no longer in the history" in " ".join(result.stdout.split())


def test_a_kept_render_is_never_written_over(tmp_path):
    service = ProductionService.open(tmp_path / "k", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 4 second ad for a bakery, 2 shots")
    service.generate()
    service.render()
    kept = service.store.root / "renders" / "v001.mp4"
    before = kept.read_bytes()
    service.edit(lambda p: edit_shot(p, 1, speed=0.5))
    # Found: `render DIR -o DIR/renders/v001.mp4` replaced v001 with the slowed cut; history still said change 2.
    result = shotsmith("render", str(service.store.root), "-o", str(kept))
    assert result.returncode == 2 and "v001.mp4" in result.stderr and "Traceback" not in result.stderr
    with pytest.raises(InvalidInputError):
        service.render(kept)
    assert kept.read_bytes() == before


def test_an_undo_cut_off_between_its_two_writes_leaves_history_and_project_agreeing(planned, monkeypatch):
    import shotsmith.store as store_module

    planned.edit(lambda p: edit_shot(p, 1, speed=0.5))
    root = planned.store.root
    real_write = store_module.atomic_write_text

    def interrupted(path, text, *args, **kwargs):
        if Path(path).name == "project.json":
            raise KeyboardInterrupt  # Ctrl-C as the undone project is being written
        return real_write(path, text, *args, **kwargs)

    monkeypatch.setattr(store_module, "atomic_write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        planned.store.undo()
    monkeypatch.setattr(store_module, "atomic_write_text", real_write)
    # Found: the history's head had already moved back while project.json still held the slowed shot, so
    # the next undo skipped a change. The index is written after the project now.
    reopened = ProjectStore.open(root)
    assert reopened.project.plan.shots[0].speed == 0.5
    reopened.undo()
    assert reopened.project.plan.shots[0].speed == 1.0 and reopened.project.plan is not None


def test_writing_over_the_output_in_place_leaves_the_kept_version_alone(planned, tmp_path):
    out = tmp_path / "ad.mp4"
    service = ProductionService(planned.store, ServiceOptions(outputs=(out,)))
    service.render()
    kept = planned.store.root / "renders" / "v001.mp4"
    before = kept.read_bytes()
    # Found: -o was a hard link to renders/v001.mp4, so `cp other.mp4 ad.mp4` (which writes in place) replaced
    # the kept version too, and the history's v001 showed someone else's video.
    with out.open("r+b") as handle:
        handle.write(b"not the render")
    assert kept.read_bytes() == before


def test_a_scripted_chat_that_stops_on_redo_says_why_once(planned):
    result = shotsmith("chat", "-p", str(planned.store.root), "-m", "redo", "-m", "show plan")
    # Found: '• nothing to redo' on stdout and then 'error: nothing to redo' on stderr, the same thing twice.
    assert result.returncode == 2
    assert "nothing to redo" not in result.stdout
    assert result.stderr.splitlines()[0] == "error: nothing to redo"
    assert "not sent: 'show plan'" in result.stderr


def test_a_new_history_never_reuses_the_number_of_a_kept_render(tmp_path):
    import shutil

    service = ProductionService.open(tmp_path / "n", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 4 second ad for a bakery, 2 shots")
    service.generate()
    service.render()
    made_at = service.store.project.renders[0].history_entry
    # The history moved aside, as the error for a damaged one advises; the project goes on.
    shutil.rmtree(service.store.root / ".shotsmith" / "history")
    store = ProjectStore.open(service.store.root)
    for speed in (0.5, 0.8, 1.5):
        store.project.plan = edit_shot(store.project.plan, 1, speed=speed)
        store.save()
    numbers = [e.number for e in store.history.index.entries]
    # Found: the new history counted from 1 again, so v001 (made at change 2 of the old one) was listed
    # beside the new change 2, and the TUI called it the current render when that change was the head.
    assert made_at not in numbers and min(numbers) > made_at
    result = shotsmith("history", "-p", str(store.root))
    assert "no longer in the history: renders/v001.mp4" in " ".join(result.stdout.split())


def test_undo_and_redo_name_the_change_they_took_back_or_brought_back(chatting):
    # Found: 'Undone: back at change 3 (shot 1 edited)' after undoing 'shot 2 edited': it named the change
    # it landed on, which reads as the one undone.
    events = collect(chatting.send("undo"))
    said = " ".join(getattr(e, "text", "") for e in events)
    assert "Undone: change 4 (shot 2: speed 1.5x)" in said and "now at change 3 (shot 1: speed 0.67x)" in said
    events = collect(chatting.send("undo 2"))
    said = " ".join(getattr(e, "text", "") for e in events)
    assert "Undone: changes 3 (shot 1: speed 0.67x) and 2 (plan made (2 shots), output changed)" in said
    events = collect(chatting.send("redo"))
    said = " ".join(getattr(e, "text", "") for e in events)
    assert "Redone: change 2 (plan made (2 shots), output changed)" in said
    result = shotsmith("redo", "-p", str(chatting.store.root))
    assert result.returncode == 0 and "redid change 3 (shot 1: speed 0.67x)" in " ".join(result.stdout.split())
    result = shotsmith("undo", "-p", str(chatting.store.root))
    assert "undid change 3 (shot 1: speed 0.67x); now at change 2 (plan made (2 shots), output changed)" in " ".join(result.stdout.split())


def test_a_one_shot_plan_is_one_shot_in_the_history():
    from shotsmith.history import describe_change

    assert describe_change({"plan": None}, {"plan": {"shots": [{"index": 1, "prompt": "bread"}]}}) == "plan made (1 shot)"


def test_a_turn_that_failed_is_answered_in_the_kept_conversation(chatting, tmp_path):
    collect(chatting.send("make shot 9 slower"))
    chatting.close()
    reopened = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p", fps=24), offline=True)
    try:
        # Found: after a restart (chat, the TUI) the user's message stood there unanswered, as if never seen.
        assert reopened.history()[-2:] == [("user", "make shot 9 slower"),
                                           ("assistant", "error: there is no shot 9; the plan has shots 1-2")]
    finally:
        reopened.close()


def test_the_kept_conversation_says_what_an_undo_took_back(chatting):
    collect(chatting.send("undo"))
    # Found: the kept line read 'Undone to change 3', which after a restart says nothing of what was undone.
    assert chatting.history()[-2:] == [("user", "undo"),
                                       ("assistant", "Undone: change 4 (shot 2: speed 1.5x); now at change 3 (shot 1: speed 0.67x)")]


@pytest.mark.parametrize("said", ["render", "generate", "preview", "render it", "show plan", "estimate"])
def test_a_command_with_no_plan_asks_for_a_brief_instead_of_planning_the_word(chatting, said):
    collect(chatting.send("undo 3"))  # back before the first plan (the palette's render, generate, preview…)
    assert chatting.store.project.plan is None
    events = collect(chatting.send(said))
    # Found: 'render' was planned as a brief: 4 shots of 'Insert shot of render with subtle, lifelike movement'.
    assert chatting.store.project.plan is None
    assert any("no plan yet" in getattr(e, "text", "") for e in events)


def test_rendering_a_project_with_nothing_planned_is_one_line(tmp_path):
    store = ProjectStore.create(tmp_path / "empty")
    # Found: IndexError from the segment planner ('internal error'), e.g. after an undo back before the first plan.
    result = shotsmith("render", str(store.root), "-o", str(tmp_path / "x.mp4"))
    assert result.returncode == 2 and "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert "no clips" in result.stderr and not (tmp_path / "x.mp4").exists()


def test_history_says_where_it_is_when_the_current_change_is_older_than_the_rows_shown(planned):
    for speed in (0.5, 0.6, 0.7, 0.8):
        planned.edit(lambda p, s=speed: edit_shot(p, 1, speed=s))
    planned.store.undo(4)
    result = shotsmith("history", "-p", str(planned.store.root), "-n", "2")
    # Found: with the current change older than the last rows, no row had the → mark: where am I?
    assert result.returncode == 0
    assert "now at change 2 (plan made (2 shots)), older than the rows shown" in " ".join(result.stdout.split())


def test_an_undo_to_an_entry_recorded_by_an_older_shotsmith_keeps_the_redo_branch(planned):
    planned.edit(lambda p: edit_shot(p, 1, speed=0.5))
    root = planned.store.root
    index = root / ".shotsmith/history/index.json"
    data = json.loads(index.read_text())
    data["entries"][1]["digest"] = "0" * 20  # 'plan made', digested the way an older version did
    index.write_text(json.dumps(data))
    store = ProjectStore.open(root)
    numbers = [e.number for e in store.history.index.entries]
    store.undo()
    # Found: the save after the move saw a 'change' (the digest differed), added an entry and dropped the
    # redo branch: an undo must never be recorded as an edit.
    assert [e.number for e in store.history.index.entries] == numbers
    store.redo()
    assert store.project.plan.shots[0].speed == 0.5
