"""A user's review of "storyboard first" (issue #10): what went wrong when it was used as documented.

Each test is one defect found by using the CLI and chat on real (tiny) media: the README's order
(``cast add`` before anything else), a brief's ``@name`` nobody is cast as, a redo that asks for a lower
angle, a redo with nothing after "with", and the lines a piped chat never sent.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.production import ProductionService
from shotsmith.backends.base import GenerationMode, GenerationRequest, Reference
from shotsmith.backends.shot_reading import read_angle
from shotsmith.backends.sketch import render_png
from tests.assistant._assistant_helpers import collect

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "tests.assistant._run_cli", *args], capture_output=True, text=True, env=env,
                          timeout=120, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL, cwd=cwd)


def face(path: Path) -> Path:
    Image.new("RGB", (48, 72), "red").save(path)
    return path


# -- cast add is the first thing the README does ------------------------------------------------------------------

def test_cast_add_on_a_new_folder_starts_the_project(tmp_path):
    project = tmp_path / "ad.shotsmith"
    added = cli("cast", "add", "Mara", str(face(tmp_path / "mara.png")), "-d", "a tall woman in a red coat",
                "-p", str(project))
    assert added.returncode == 0, added.stderr
    listed = cli("cast", "list", "-p", str(project))
    assert listed.returncode == 0 and "Mara" in listed.stdout and "red coat" in listed.stdout
    assert (project / "assets" / "cast" / "Mara" / "mara.png").is_file()


def test_a_refused_cast_add_on_a_new_folder_leaves_no_project_behind(tmp_path):
    for args in (["Mara", str(tmp_path / "missing.png")], ["Mara", str(tmp_path)],
                 ["Mara Lee", str(face(tmp_path / "m.png"))],
                 ["Mara", str(face(tmp_path / "m.png")), "--kind", "robot"],
                 ["Mara", str(face(tmp_path / "m.png")), "-d", "x" * 600]):
        project = tmp_path / "never"
        done = cli("cast", "add", *args, "-p", str(project))
        assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("error:") == 1
        assert not project.exists(), args
    assert "description of Mara is 600 characters" in done.stderr


def test_storyboard_without_a_brief_on_a_missing_folder_creates_nothing(tmp_path):
    done = cli("storyboard", "-p", str(tmp_path / "typo"), "-o", str(tmp_path / "b.png"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert not (tmp_path / "typo").exists() and not (tmp_path / "b.png").exists()


# -- a brief's @name that is not in the cast ------------------------------------------------------------------------

def test_a_brief_naming_an_unknown_member_says_so(tmp_path):
    svc = ProductionService.open(tmp_path / "p", ServiceOptions(resolution="360p"))
    _, notices = svc.plan_brief("a 6 second ad where @mara pours a latte for @theo, 2 shots")
    said = [n for n in notices if "not in the cast" in n]
    assert len(said) == 1 and "@mara" in said[0] and "@theo" in said[0] and "cast add" in said[0]
    from shotsmith.assistant.production.casting import add_member
    add_member(svc.store, "Mara", [face(tmp_path / "m.png")])
    _, notices = svc.plan_brief("a 6 second ad where @mara pours a latte for @theo, 2 shots")
    said = [n for n in notices if "not in the cast" in n]
    assert len(said) == 1 and "@theo" in said[0] and "@mara" not in said[0]
    _, notices = svc.plan_brief("a 6 second ad where @Mara pours a latte, mail me at a@b.com, 2 shots")
    assert not [n for n in notices if "not in the cast" in n]


# -- redo 3 with a lower angle --------------------------------------------------------------------------------------

@pytest.mark.parametrize("words, angle", [("a lower angle", "low"), ("from a lower angle", "low"),
                                          ("lower camera", "low"), ("a higher angle", "high"),
                                          ("a low-angle shot", "low"), ("slightly lower", "eye")])
def test_the_sketch_reads_a_redos_angle_words(words, angle):
    assert read_angle(f"Close-up of the cup, soft natural light, {words}") == angle


def test_a_redos_angle_overrides_the_planners():
    assert read_angle("Low-angle shot of a barista, from slightly above, warm light, a higher angle") == "high"
    assert read_angle("High-angle shot of a barista, warm light, a lower angle") == "low"


def test_a_redos_previous_still_is_not_drawn_as_a_cast_thumbnail(tmp_path):
    previous = face(tmp_path / "previous.png")
    base = dict(prompt="Close-up of the cup on a counter, soft light", duration_s=1, resolution="360p",
                mode=GenerationMode.TEXT_TO_IMAGE)
    plain = render_png(GenerationRequest(**base))
    with_previous = render_png(GenerationRequest(**{**base, "mode": GenerationMode.REFERENCE_TO_IMAGE},
                                                 references=[Reference(path=str(previous), tag="previous",
                                                                           role="location")]))
    a, b = (Image.open(io.BytesIO(data)).convert("RGB") for data in (plain, with_previous))
    assert a.tobytes() == b.tobytes()


def test_redo_with_nothing_after_with_changes_nothing(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True)
    collect(session.send("a 6 second ad for a bakery, 2 shots"))
    before = [s.prompt for s in session.service.plan.shots]
    for said in ("redo 1 with", "redo shot 1 with", "redraw 1:", "redo 1 with ."):
        collect(session.send(said))
        assert [s.prompt for s in session.service.plan.shots] == before, said
    assert session.last_error is not None and "say what to change" in str(session.last_error)


# -- a piped chat that stops at an error says what it did not send ------------------------------------------------

def test_a_piped_chat_stopping_at_an_error_names_the_lines_it_did_not_send(tmp_path):
    project = tmp_path / "c"
    done = cli("chat", "-p", str(project), stdin="a 6 second ad for a bakery, 2 shots\napprove 9\nmake shot 2 longer\n"
                                               "render\n")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no shot 9" in done.stderr
    assert "not sent" in done.stderr and "make shot 2 longer" in done.stderr and "render" in done.stderr


# -- a continued shot in the storyboard review -----------------------------------------------------------------------

def test_a_continued_shot_is_shown_as_continuing_not_as_missing_its_still(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True)
    collect(session.send("a 9 second ad for a bakery, 3 shots"))
    collect(session.send("show the storyboard"))
    collect(session.send("continue shot 3 from shot 2"))
    events = collect(session.send("show the storyboard"))
    text = "\n".join(getattr(e, "text", "") for e in events)
    line = next(x for x in text.splitlines() if x.startswith("3. "))
    assert "continues from shot 2" in line and "no still yet" not in line
    assert session.service.storyboard_panels()[2].state == "continues"
    collect(session.send("approve 3"))
    assert "continues from shot 2" in str(session.last_error) and "make the storyboard first" not in str(
        session.last_error)
    collect(session.send("approve all"))
    assert session.last_error is None


# -- a two-shot is a framing -------------------------------------------------------------------------------------

def test_a_two_shot_in_a_brief_is_a_framing_not_a_shot_count(tmp_path):
    svc = ProductionService.open(tmp_path / "p", ServiceOptions(resolution="360p"))
    plan, _ = svc.plan_brief("a 12 second film: an extreme close-up of an eye, then a two-shot of two friends "
                             "laughing at a table, then an insert of hands kneading dough, then a wide shot of a "
                             "village at night, 4 shots")
    assert len(plan.shots) == 4
    assert "two-shot of two friends laughing" in plan.shots[1].prompt
    assert svc.plan_brief("a two-shot ad for a bakery, 2 shots")[0].shots.__len__() == 2


# -- --image-backend naming a backend that makes no images -------------------------------------------------------------

def test_an_image_backend_that_makes_no_images_is_refused_before_it_is_kept(tmp_path):
    project = tmp_path / "p"
    made = cli("storyboard", "a 4 second ad for a bakery, 2 shots", "-p", str(project), "-o", str(tmp_path / "a.png"))
    assert made.returncode == 0, made.stderr
    for name in ("animatic", "espeak"):
        refused = cli("storyboard", "-p", str(project), "-o", str(tmp_path / "b.png"), "--image-backend", name)
        assert refused.returncode == 2 and "does not make images" in refused.stderr
        assert not (tmp_path / "b.png").exists()
    # The refused choice was not kept: the next storyboard still draws (from the cache).
    again = cli("storyboard", "-p", str(project), "-o", str(tmp_path / "c.png"))
    assert again.returncode == 0, again.stderr
    assert '"image_backend": null' in (project / "project.json").read_text()


def test_redo_on_a_continued_shot_says_it_has_no_still_and_changes_nothing(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True)
    collect(session.send("a 9 second ad for a bakery, 3 shots"))
    collect(session.send("show the storyboard"))
    collect(session.send("continue shot 3 from shot 2"))
    before = session.service.plan.model_dump()
    events = collect(session.send("redo 3 with a lower angle"))
    assert "Redrew" not in "\n".join(getattr(e, "text", "") for e in events)
    assert "continues from shot 2" in str(session.last_error)
    assert session.service.plan.model_dump() == before


# -- "this is …" in chat names the member, not the first word ---------------------------------------------------------

@pytest.mark.parametrize("said, name, description", [
    ("this is Mara: mara.png, a tall woman in a red coat", "Mara", "a tall woman in a red coat"),
    ("this is my friend Mara: mara.png, a tall woman", "Mara", "a tall woman"),
    ("this is the shop: shop.jpg", "shop", ""),
    ("this is @mara (mara1.jpg, mara2.jpg), a woman with red hair", "mara", "a woman with red hair"),
    ("this is Mara mara.png", "Mara", ""),
    ("this is Mara Lee: mara.png, a tall woman", "Mara Lee", "a tall woman"),
    ("@theo is shown in theo.png and theo2.jpg", "theo", ""),
])
def test_this_is_names_the_member(said, name, description):
    from shotsmith.assistant.sessions.intents import parse_intent
    intent = parse_intent(said, shot_count=3)
    assert intent is not None and intent.kind == "cast"
    assert intent.args["name"] == name and intent.args["description"] == description


def test_a_two_word_cast_name_in_chat_is_refused_in_one_line_and_adds_nobody(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True)
    face(session.store.assets_dir / "mara.png")
    collect(session.send("this is Mara Lee: mara.png, a tall woman"))
    assert "cast name 'Mara Lee'" in str(session.last_error) and session.store.project.cast == []


def test_keyframes_off_with_an_image_backend_is_a_usage_error_not_a_silently_unused_flag(tmp_path):
    done = cli("run", "a 4 second ad for a bakery, 2 shots", "-p", str(tmp_path / "p"), "-o", str(tmp_path / "o.mp4"),
               "--keyframes", "off", "--image-backend", "sketch")
    assert done.returncode == 2 and "--keyframes off" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "p").exists() and not (tmp_path / "o.mp4").exists()


def test_cast_add_with_a_kind_changes_an_existing_members_kind_and_without_one_keeps_it(tmp_path):
    project = tmp_path / "p"
    assert cli("cast", "add", "Cup", str(face(tmp_path / "cup.png")), "-p", str(project)).returncode == 0
    assert cli("cast", "add", "Cup", "--kind", "product", "-p", str(project)).returncode == 0
    assert cli("cast", "add", "Cup", "-d", "a teal mug", "-p", str(project)).returncode == 0
    listed = cli("cast", "list", "-p", str(project)).stdout
    assert "product" in listed and "teal mug" in listed


def test_saying_this_is_mara_again_with_the_same_picture_is_not_ambiguous(tmp_path):
    picture = face(tmp_path / "mara.png")
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True,
                           inputs=(picture,))
    collect(session.send("this is Mara: mara.png"))
    assert session.last_error is None
    collect(session.send("this is Mara: mara.png, a tall woman in a red coat"))
    assert session.last_error is None, session.last_error
    [member] = session.store.project.cast
    assert member.description == "a tall woman in a red coat"
    assert member.images == ["assets/cast/Mara/mara.png"]  # the same picture is not a second reference


def test_the_contact_sheet_shows_a_footage_shots_picture(tmp_path):
    from shotsmith.media.ffmpeg import run_ffmpeg
    clip = tmp_path / "clip.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "testsrc=s=160x120:d=1:r=10", "-pix_fmt", "yuv420p", str(clip)])
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True, inputs=(clip,))
    collect(session.send("a 6 second ad for a bakery, 2 shots"))
    collect(session.send("use my clip clip.mp4 as the opener"))
    collect(session.send("show the storyboard"))
    with Image.open(session.store.renders_dir / "storyboard.png") as sheet:
        first = sheet.convert("RGB").crop((76, 76, 316, 216))  # inside the first panel, below any label
        assert len(set(first.getdata())) > 8  # the clip's colour bars, not one grey box


def test_the_contact_sheet_never_overwrites_the_projects_own_pictures(tmp_path):
    project = tmp_path / "p"
    assert cli("cast", "add", "Mara", str(face(tmp_path / "mara.png")), "-p", str(project)).returncode == 0
    assert cli("storyboard", "a 4 second ad where @mara pours coffee, 2 shots", "-p", str(project), "-o",
               str(tmp_path / "a.png")).returncode == 0
    still = next((project / "clips").glob("sketch-*.png"))
    for target in (project / "assets" / "cast" / "Mara" / "mara.png", still):
        before = target.read_bytes()
        done = cli("storyboard", "-p", str(project), "-o", str(target))
        assert done.returncode == 2 and "refusing to overwrite" in done.stderr
        assert target.read_bytes() == before


# -- a continue joins two shots: reordering keeps it with them, or drops it -----------------------------------------------

def _plan3():
    from shotsmith.brief import ShotPlan
    from shotsmith.plan_edits import continue_from
    plan = ShotPlan.model_validate({"aspect_ratio": "16:9", "planner": "test", "shots": [
        {"index": i, "prompt": f"shot {name}", "duration_s": 3.0} for i, name in enumerate("ABC", 1)]})
    return continue_from(plan, 3, 2)  # C starts from B's last frame


def _continued_pairs(plan):
    return [(a.prompt, b.prompt) for a, b in zip(plan.shots, plan.shots[1:]) if a.transition_to_next.continues]


def test_moving_a_continued_shot_away_makes_that_cut_a_plain_cut_not_another_pairs_continue():
    from shotsmith.plan_edits import edit_shot, swap
    plan = _plan3()
    assert _continued_pairs(plan) == [("shot B", "shot C")]
    moved = edit_shot(plan, 3, move_to=1)  # C A B: C no longer follows B
    assert _continued_pairs(moved) == []
    assert _continued_pairs(edit_shot(plan, 1, move_to=3)) == [("shot B", "shot C")]  # B C A: the pair stays together
    assert _continued_pairs(swap(plan, 1, 3)) == []  # C B A


def test_chat_says_when_a_move_undoes_a_continue(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True)
    collect(session.send("a 9 second ad for a bakery, 3 shots"))
    collect(session.send("continue shot 3 from shot 2"))
    events = collect(session.send("move shot 3 to 1"))
    text = "\n".join(getattr(e, "text", "") for e in events)
    assert "plain cut now" in text
    assert not any(s.transition_to_next.continues for s in session.service.plan.shots)


def test_a_shot_edited_to_name_a_cast_member_carries_the_member(tmp_path):
    from shotsmith.assistant.production.casting import add_member
    from shotsmith.plan_edits import edit_shot
    svc = ProductionService.open(tmp_path / "p", ServiceOptions(resolution="360p"))
    add_member(svc.store, "Theo", [face(tmp_path / "theo.png")], description="a man in a green apron")
    svc.plan_brief("a 6 second ad for a bakery, 2 shots")
    assert all(not s.cast for s in svc.plan.shots)
    svc.edit(lambda plan: edit_shot(plan, 2, prompt="@theo waves at the camera"))
    assert [s.cast for s in svc.plan.shots] == [[], ["Theo"]]
    assert "green apron" in svc.request_for(svc.plan.shots[1]).prompt  # described to the backend (and its still)


def test_a_shot_edited_to_name_an_unknown_member_says_so(tmp_path):
    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p"), offline=True)
    collect(session.send("a 6 second ad for a bakery, 2 shots"))
    events = collect(session.send("shot 1: @zed opens the door"))
    assert "@zed is not in the cast" in "\n".join(getattr(e, "text", "") for e in events)
