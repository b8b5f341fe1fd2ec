"""Keyframe polish (issue #10): a still's warnings are shown; a redo keeps the rest of its picture; the local
``diffusers`` video backend pairs with a configured ``diffusers-image`` model.

The redo rule under test (``ProductionService.redo_keyframe``): a note or a camera move changes the same shot,
so the previous still goes to an image backend that takes references as the first reference; a new prompt,
or any other edit after the redo, is a plain redraw. The reference is part of the still's request, so the
estimate the redo returns is exactly what its approval covers and what is sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from shotsmith.assistant.events import Notice
from shotsmith.assistant.production import ProductionService, ServiceOptions
from shotsmith.assistant.production.spending import ApprovalRequiredError
from shotsmith.assistant.production.storyboard import END_FRAME_HINT, PREVIOUS_TAG, image_backend_for
from shotsmith.backends.base import GenerationRequest
from shotsmith.backends.engine import cache_key
from shotsmith.backends.registry import get_backend
from shotsmith.formats import CameraMove
from shotsmith.plan_edits import edit_shot
from tests.assistant._test_backends import (ImageToVideoBackend, PlainStillBackend, StillBackend,
                                            WarningStillBackend, register)

BRIEF = "a 4 second ad for a small cafe: coffee pouring, a smiling barista, 2 shots"


@pytest.fixture(autouse=True)
def _backends():
    register()
    for cls in (StillBackend, WarningStillBackend, PlainStillBackend, ImageToVideoBackend):
        cls.requests.clear()


def service(folder: Path, image: str, *, yes: bool = False, events: list | None = None) -> ProductionService:
    svc = ProductionService.open(folder, ServiceOptions(backend="i2v-test", image_backend=image, resolution="360p",
                                                        fps=24, auto_approve=yes),
                                 emit=(events.append if events is not None else None))
    svc.plan_brief(BRIEF)
    return svc


def approve_and_make(svc: ProductionService, shots: list[int] | None = None):
    """Approve exactly the stills' estimate (as the user's yes does) and make them."""
    estimate = svc.estimate_keyframes(shots)
    svc.spending.record(estimate, approved=True, by="user")
    return estimate, svc.generate_keyframes(shots)


# -- 1. a still's warnings -----------------------------------------------------------------------------------------

def test_a_stills_warnings_are_shown_once_per_warning_scrubbed_and_kept_in_the_result(tmp_path):
    events: list = []
    svc = service(tmp_path / "p", "warn-still-test", yes=True, events=events)
    result = svc.generate()
    assert len(WarningStillBackend.requests) == 4 and len(ImageToVideoBackend.requests) == 2
    notices = [e.text for e in events if isinstance(e, Notice) and e.level == "warning"]
    stills = [n for n in notices if n.startswith("storyboard stills (warn-still-test)")]
    # Four stills (first and last frame of two shots), one warning text: said once, naming both shots.
    assert stills == ["storyboard stills (warn-still-test): shots 1-2: prompt cut short at 77 tokens "
                      "(sent with key=***)"]
    assert "sk-live-abcdef123456" not in "\n".join(notices + result.warnings)
    assert stills[0] in result.warnings  # the agent's generate tool reports result.warnings


def test_a_still_warning_is_shown_when_the_run_stops_for_the_shots_approval(tmp_path):
    events: list = []
    svc = service(tmp_path / "p", "warn-still-test", events=events)
    approve_and_make(svc)
    assert any(isinstance(e, Notice) and "storyboard stills (warn-still-test)" in e.text for e in events)


# -- 2. a redo keeps the rest of the picture ---------------------------------------------------------------------

def test_redo_with_a_note_sends_the_previous_stills_as_references_under_an_exact_approval(tmp_path):
    svc = service(tmp_path / "p", "still-test")
    approve_and_make(svc)
    before = next(s for s in svc.plan.shots if s.index == 2)
    first, last = svc.store.root / before.keyframe, svc.store.root / before.end_keyframe
    StillBackend.requests.clear()

    estimate = svc.redo_keyframe(2, note="with a lower angle")
    assert sorted(c.shot_index for c in estimate.to_generate) == [2, 2]  # first and last frame of shot 2 only
    # The old approval does not cover the redo: nothing is drawn without its own yes.
    with pytest.raises(ApprovalRequiredError):
        svc.generate_keyframes([2])
    assert StillBackend.requests == []
    svc.spending.record(estimate, approved=True, by="user")
    svc.generate_keyframes([2])

    sent = sorted(StillBackend.requests, key=lambda r: END_FRAME_HINT in r.prompt)  # first frame, then last
    assert [r.references[0].path for r in sent] == [str(first), str(last)]
    assert all(r.references[0].tag == PREVIOUS_TAG for r in sent)
    assert all("lower angle" in r.prompt for r in sent)
    image = get_backend("still-test")
    assert {cache_key(image, image.prepare(r)[0]) for r in sent} == {c.cache_key for c in estimate.to_generate}
    after = next(s for s in svc.plan.shots if s.index == 2)
    assert after.bound_keyframe and after.keyframe != before.keyframe and after.keyframe_state == "pending"
    # Shot 1 was not touched.
    assert all(r.shot_index == 2 for r in sent)


def test_a_camera_redo_is_the_same_shot_too_and_a_second_redo_still_starts_from_the_shown_still(tmp_path):
    svc = service(tmp_path / "p", "still-test", yes=True)
    approve_and_make(svc)
    shot = next(s for s in svc.plan.shots if s.index == 1)
    shown = svc.store.root / shot.keyframe
    svc.redo_keyframe(1, camera=CameraMove.TILT_UP if shot.camera != CameraMove.TILT_UP else CameraMove.TILT_DOWN)
    svc.redo_keyframe(1, note="warmer light")  # before the first redo's still was made: still the same shot
    StillBackend.requests.clear()
    svc.generate_keyframes([1])
    first = next(r for r in StillBackend.requests if END_FRAME_HINT not in r.prompt)
    assert first.references[0].path == str(shown) and "warmer light" in first.prompt


def test_a_rewritten_prompt_is_a_plain_redraw(tmp_path):
    svc = service(tmp_path / "p", "still-test", yes=True)
    approve_and_make(svc)
    StillBackend.requests.clear()
    svc.redo_keyframe(2, prompt="a red vintage bicycle leaning on a wall")
    svc.generate_keyframes([2])
    assert StillBackend.requests and all(not any(r.tag == PREVIOUS_TAG for r in q.references)
                                         for q in StillBackend.requests)


def test_another_edit_after_the_redo_drops_the_reference(tmp_path):
    svc = service(tmp_path / "p", "still-test", yes=True)
    approve_and_make(svc)
    svc.redo_keyframe(2, note="with a lower angle")
    svc.edit(lambda plan: edit_shot(plan, 2, prompt="a dog asleep on a rug"))
    StillBackend.requests.clear()
    svc.generate_keyframes([2])
    assert StillBackend.requests and all(not q.references for q in StillBackend.requests)


def test_an_image_backend_without_references_just_redraws_and_says_nothing_about_dropping_one(tmp_path):
    events: list = []
    svc = service(tmp_path / "p", "plain-still-test", yes=True, events=events)
    approve_and_make(svc)
    PlainStillBackend.requests.clear()
    svc.redo_keyframe(2, note="with a lower angle")
    svc.generate_keyframes([2])
    assert PlainStillBackend.requests and all(not r.references for r in PlainStillBackend.requests)
    assert not any(isinstance(e, Notice) and "reference" in e.text for e in events)


# -- 3. the diffusers video backend's own image model -----------------------------------------------------------

def _config(tmp_path: Path, monkeypatch, body: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(body, encoding="utf-8")
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))


def test_diffusers_video_pairs_with_a_configured_diffusers_image_model(tmp_path, monkeypatch):
    pytest.importorskip("diffusers")
    model = tmp_path / "sd"
    _config(tmp_path, monkeypatch, f'[backends.diffusers-image]\nmodel = "{model}"\n')
    chosen = image_backend_for(get_backend("diffusers"), None)
    assert chosen.name == "diffusers-image" and chosen.model == str(model)
    # The user's own choice still wins.
    assert image_backend_for(get_backend("diffusers"), "sketch").name == "sketch"


def test_diffusers_video_without_an_image_model_draws_sketches(tmp_path, monkeypatch):
    pytest.importorskip("diffusers")
    _config(tmp_path, monkeypatch, '[backends.diffusers]\nmodel = "/somewhere/ltx"\n')
    assert image_backend_for(get_backend("diffusers"), None).name == "sketch"
    # The cloud pairs are unchanged.
    assert image_backend_for(get_backend("runway"), None).name == "runway-image"
    assert image_backend_for(get_backend("animatic"), None).name == "sketch"


# -- real media: diffusers-image on a tiny random-weight pipeline -------------------------------------------------

@pytest.fixture
def tiny_sd(tmp_path_factory, monkeypatch):
    pytest.importorskip("diffusers")
    torch = pytest.importorskip("torch")
    from tests.backends.tiny_image_pipelines import shared_stable_diffusion

    folder = shared_stable_diffusion(tmp_path_factory)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    config = tmp_path_factory.mktemp("config") / "config.toml"
    config.write_text(f'[backends.diffusers-image]\nmodel = "{folder}"\nshort_side = 60\nsteps = 2\n'
                      'device = "cpu"\n', encoding="utf-8")
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))
    yield folder
    torch.set_num_threads(threads)


def test_diffusers_image_stills_say_their_snapped_size_and_a_redo_starts_img2img_from_the_old_still(tmp_path, tiny_sd):
    events: list = []
    svc = service(tmp_path / "p", "diffusers-image", events=events)
    approve_and_make(svc)
    snapped = [e.text for e in events if isinstance(e, Notice) and e.text.startswith("storyboard stills (diffusers")]
    assert snapped and "not a multiple of" in snapped[0] and "shots 1-2" in snapped[0], snapped
    old = svc.store.root / next(s for s in svc.plan.shots if s.index == 2).keyframe

    estimate = svc.redo_keyframe(2, note="with a lower angle")
    svc.spending.record(estimate, approved=True, by="user")
    made = svc.generate_keyframes([2])
    assert made.keyframes == [2]
    new = svc.store.root / next(s for s in svc.plan.shots if s.index == 2).keyframe
    assert new != old and new.is_file()
    with Image.open(new) as picture, Image.open(old) as before:
        assert picture.size == before.size  # img2img from the old still keeps its frame
    # The approved keys are the generations made; the first frame's request starts from the old still.
    image = svc.image_backend()
    records = [svc.store.project.generations[c.cache_key] for c in estimate.to_generate]
    assert all(r.status == "succeeded" for r in records)
    first = next(GenerationRequest.model_validate(r.request) for r in records if END_FRAME_HINT not in r.request["prompt"])
    assert first.references[0].path == str(old) and first.references[0].tag == PREVIOUS_TAG
    assert "image-to-image from the reference" in image.estimate_cost(first).detail
