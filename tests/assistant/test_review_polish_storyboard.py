"""Review: after ``shotsmith run`` the storyboard called every generated shot's still "pending".

``run`` is its own approval, so its stills were never approved one by one; the
sheet (``shotsmith storyboard``), the chat's "show the storyboard" and the TUI
(tests/tui/test_review_polish_storyboard_tui.py) then read as if the video still
waited for a yes. A still whose shot has its clip now reads "used for the clip";
a change to the shot's picture makes its new still pending again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import ImageDraw

from shotsmith.assistant.production import storyboard
from shotsmith.store import ProjectStore

REPO = Path(__file__).resolve().parents[2]
BRIEF = "A 6 second ad for a bakery: fresh croissants, a baker at the oven, morning light, 3 shots"


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "shotsmith", *args], capture_output=True, text=True, env=env,
                          timeout=180, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Path:
    """A project made by ``shotsmith run`` (offline planner, sketch stills, animatic clips): its folder."""
    root = tmp_path_factory.mktemp("ran")
    done = cli("run", BRIEF, "-o", str(root / "out.mp4"), "--resolution", "360p")
    assert done.returncode == 0, done.stderr
    return root / "out.shotsmith"


def copy_of(project: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(project, tmp_path / "p.shotsmith"))


def sheet_words(monkeypatch, plan, root: Path, output: Path) -> list[str]:
    """Every string the contact sheet draws (PIL's own text call, recorded on the way through)."""
    drawn: list[str] = []
    original = ImageDraw.ImageDraw.text

    def record(self, xy, text, *args, **kwargs):
        drawn.append(str(text))
        return original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", record)
    storyboard.contact_sheet(plan, root, output)
    return drawn


def test_the_sheet_of_a_run_project_says_used_for_the_clip_not_pending(ran, tmp_path, monkeypatch):
    made = cli("storyboard", "-p", str(ran), "-o", str(tmp_path / "board.png"))
    assert made.returncode == 0 and (tmp_path / "board.png").is_file(), made.stderr

    plan = ProjectStore.open(ran).project.plan
    assert all(s.bound_clip and s.bound_keyframe and s.keyframe_approved is None for s in plan.shots)
    assert [p.state for p in storyboard.panels(plan)] == ["used", "used", "used"]
    heads = [w for w in sheet_words(monkeypatch, plan, ran, tmp_path / "again.png") if w[:1].isdigit()]
    assert len(heads) == 3 and all(h.endswith("✓ used for the clip") for h in heads), heads
    assert not any("pending" in h for h in heads)


def test_chat_shows_the_run_storyboard_as_used_and_a_changed_shot_as_pending(ran, tmp_path, monkeypatch):
    project = copy_of(ran, tmp_path)
    shown = cli("chat", "-p", str(project), "-m", "show the storyboard")
    assert shown.returncode == 0, shown.stderr
    assert "Storyboard: 3 of 3 still(s) approved or used for a clip" in shown.stdout
    for n in (1, 2, 3):
        assert f"{n}. [used for the clip]" in shown.stdout
    assert "[pending]" not in shown.stdout

    # A new picture for shot 2 unbinds its clip: its new still waits for a yes again, the others stay used.
    changed = cli("chat", "-p", str(project), "-m", "shot 2: a baker dusting flour on a wooden table",
                  "-m", "show the storyboard")
    assert changed.returncode == 0, changed.stderr
    board = changed.stdout[changed.stdout.rindex("Storyboard:"):]
    assert "Storyboard: 2 of 3 still(s) approved or used for a clip" in board
    assert "1. [used for the clip]" in board and "2. [pending]" in board and "3. [used for the clip]" in board
    plan = ProjectStore.open(project).project.plan
    heads = [w for w in sheet_words(monkeypatch, plan, project, tmp_path / "b.png") if w[:1].isdigit()]
    assert [h.rsplit("·", 1)[1].strip() for h in heads] == ["✓ used for the clip", "pending", "✓ used for the clip"]

    # Approving it is still asked for and works as before.
    approved = cli("chat", "-p", str(project), "-m", "approve 2", "-m", "show the storyboard")
    assert approved.returncode == 0, approved.stderr
    board = approved.stdout[approved.stdout.rindex("Storyboard:"):]
    assert "3 of 3" in board and "2. [approved]" in board


def test_a_shot_with_a_still_and_no_clip_is_still_pending(ran, tmp_path):
    """Only a clip made for the shot as it is makes its still "used": one that lost its clip waits again."""
    plan = ProjectStore.open(ran).project.plan
    first = plan.shots[0]
    assert storyboard.panel_state(first) == "used"
    assert storyboard.panel_state(first.model_copy(update={"clip": None})) == "pending"
    assert storyboard.panel_state(first.model_copy(update={"keyframe_approved": first.keyframe})) == "approved"
