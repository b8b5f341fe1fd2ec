"""Storyboard first: a still per shot (with the cast's references) before any video, then each shot animated from it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.events import ApprovalRequested
from shotsmith.assistant.production.casting import add_member
from shotsmith.backends.base import GenerationMode
from tests.assistant._assistant_helpers import collect
from tests.assistant._test_backends import ImageToVideoBackend, StillBackend, register

REPO = Path(__file__).resolve().parents[2]
BRIEF = "a 4 second ad where @mara pours coffee in a small cafe, 2 shots"


@pytest.fixture(autouse=True)
def _backends():
    register()
    StillBackend.requests.clear()
    ImageToVideoBackend.requests.clear()


def session_with_cast(folder: Path, *, yes: bool):
    session = open_session(folder, options=ServiceOptions(backend="i2v-test", image_backend="still-test",
                                                          resolution="360p", fps=24, auto_approve=yes), offline=True)
    face = folder.parent / "mara.png"
    Image.new("RGB", (64, 64), "red").save(face)
    add_member(session.store, "Mara", [face], description="a woman with short red hair")
    return session


def test_stills_first_then_each_shot_animated_from_its_still(tmp_path):
    session = session_with_cast(tmp_path / "p", yes=True)
    collect(session.run_brief(BRIEF, produce=True))
    assert session.last_error is None, session.last_error
    plan = session.service.plan
    # One first-frame and one last-frame still per shot (the video backend takes both), each with Mara.
    assert len(StillBackend.requests) == 2 * len(plan.shots)
    for request in StillBackend.requests:
        assert [r.tag for r in request.references] == ["Mara"]
        assert "short red hair" in request.prompt
    # Each video request starts from that shot's own still and ends on its end still.
    assert len(ImageToVideoBackend.requests) == len(plan.shots)
    for request, shot in zip(sorted(ImageToVideoBackend.requests, key=lambda r: r.shot_index), plan.shots):
        assert request.mode is GenerationMode.IMAGE_TO_VIDEO
        assert request.image == str(session.store.root / shot.keyframe)
        assert request.end_image == str(session.store.root / shot.end_keyframe)
    assert (session.store.root / "renders" / "final.mp4").is_file()
    # The ledger shows the stills and the shots separately, both approved by --yes.
    backends = {a.backend for a in session.store.project.spending.approvals}
    assert backends == {"still-test", "i2v-test"}


def test_the_user_is_asked_for_the_stills_then_for_the_shots(tmp_path):
    session = session_with_cast(tmp_path / "p", yes=False)
    collect(session.send(BRIEF))
    asked = [e for e in collect(session.send("generate")) if isinstance(e, ApprovalRequested)]
    assert asked and asked[-1].estimate.backend == "still-test" and "keyframe" in asked[-1].description
    assert ImageToVideoBackend.requests == [] and StillBackend.requests == []
    # A conversation shows the storyboard for approval before the video's price is even asked about
    # (tests/assistant/test_storyboard_approval.py); approving it goes on to the shots.
    assert not [e for e in collect(session.respond(True)) if isinstance(e, ApprovalRequested)]
    asked = [e for e in collect(session.send("looks good")) if isinstance(e, ApprovalRequested)]
    assert asked and asked[-1].estimate.backend == "i2v-test"  # the shots, priced now that their stills exist
    assert len(StillBackend.requests) == 4 and ImageToVideoBackend.requests == []
    collect(session.respond(False))
    assert ImageToVideoBackend.requests == []  # a no to the shots sends none


def test_an_edited_shot_gets_a_new_still_and_the_other_keeps_its_own(tmp_path):
    from shotsmith.plan_edits import edit_shot

    session = session_with_cast(tmp_path / "p", yes=True)
    collect(session.run_brief(BRIEF, produce=True))
    before = [s.keyframe for s in session.service.plan.shots]
    StillBackend.requests.clear()
    session.service.edit(lambda plan: edit_shot(plan, 2, prompt="@mara at the counter from a lower angle, "
                                                                 "warm light"))
    session.service.generate()
    assert {r.shot_index for r in StillBackend.requests} == {2}
    after = [s.keyframe for s in session.service.plan.shots]
    assert after[0] == before[0] and after[1] != before[1]


def test_storyboard_command_writes_a_contact_sheet(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    sheet = tmp_path / "board.png"
    proc = subprocess.run([sys.executable, "-m", "tests.assistant._run_cli", "storyboard", BRIEF, "-p",
                           str(tmp_path / "sb"), "-o", str(sheet), "--image-backend", "still-test", "--backend",
                           "i2v-test", "-r", "360p", "--yes"], capture_output=True, text=True, env=env, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    with Image.open(sheet) as image:
        assert image.width > 400 and image.height > 200
        assert len(set(image.convert("RGB").resize((64, 32)).getdata())) > 3  # panels, not a blank page
    unpaid = subprocess.run([sys.executable, "-m", "tests.assistant._run_cli", "storyboard", "-p", str(tmp_path / "sb2"),
                             "-o", str(tmp_path / "b2.png")], capture_output=True, text=True, env=env, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert unpaid.returncode == 2 and "no shot plan" in unpaid.stderr


def test_this_is_mara_in_chat_adds_her_and_the_brief_puts_her_in_the_shots(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True)
    Image.new("RGB", (64, 64), "blue").save(session.store.assets_dir / "mara.png")
    events = collect(session.send("this is Mara: mara.png, a woman with short red hair"))
    assert any("Mara is in the cast" in getattr(e, "text", "") for e in events)
    [member] = session.store.project.cast
    assert member.images == ["assets/cast/Mara/mara.png"] and "red hair" in member.description
    collect(session.send("a 4 second ad where @mara pours coffee in a small cafe, 2 shots"))
    assert all("Mara" in s.cast for s in session.service.plan.shots if "mara" in s.prompt.lower())
    assert any("Mara" in s.cast for s in session.service.plan.shots)
    assert "cast changed" in [e.label for e in session.store.history.index.entries][1]


def test_storyboard_of_a_brief_needs_no_project_flag(tmp_path):
    """`shotsmith storyboard BRIEF -o board.png` keeps its project beside the sheet, as `run` does beside its video;
    with neither a brief nor -p there is nothing to draw: one line, exit 2."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "tests.assistant._run_cli", "storyboard"]
    proc = subprocess.run([*cli, BRIEF, "-o", str(tmp_path / "board.png")], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "board.png").is_file() and (tmp_path / "board.shotsmith" / "project.json").is_file()
    bare = subprocess.run([*cli, "-o", str(tmp_path / "b2.png")], capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert bare.returncode == 2 and "Traceback" not in bare.stderr and "-p" in bare.stderr
    assert not (tmp_path / "b2.png").exists()


def test_storyboard_counts_stills_and_checks_the_image_key_before_asking(tmp_path):
    """Review of #10: 4 stills (first and last frames of 2 shots) were reported as '2 new keyframe(s)'; a paid
    image backend without its key asked for approval first and only then said the key is missing."""
    env = {k: v for k, v in os.environ.items() if k != "FAL_KEY"} | {"PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "tests.assistant._run_cli", "storyboard", BRIEF, "--backend", "i2v-test", "-r", "360p"]
    proc = subprocess.run([*cli, "-p", str(tmp_path / "sb"), "-o", str(tmp_path / "b.png"), "--image-backend",
                           "still-test", "--yes"], capture_output=True, text=True, env=env, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "2 shots with 4 new stills" in proc.stdout, proc.stdout
    keyless = subprocess.run([*cli, "-p", str(tmp_path / "k"), "-o", str(tmp_path / "k.png"), "--image-backend",
                              "flux"], capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert keyless.returncode != 0 and "Traceback" not in keyless.stderr
    assert "FAL_KEY" in keyless.stderr and "approval" not in keyless.stderr, keyless.stderr
