"""A storyboard still is keyed by what it shows, not by its shot's duration.

A still's request carries the shot's ``duration_s``; the cache key used to hash it, so re-timing a shot whose
binding was lost (a prompt changed and typed back, an undo, a re-plan) bought its still again (5 credits on
runway-image) although a still has no length. The key now leaves a still's duration out
(``cache_keys.key_exclusions``); stills recorded under the key as it was (``timed_cache_key``, the duration in
it) are found by ``engine.find_record`` at the shot's duration now or at any other their stills were made at,
so a project made before pays nothing either. A changed prompt is another picture and is bought.

End to end on the priced ``still-test`` image backend (with ``i2v-test`` video) and on the Runway mocks
(``runway-image`` stills on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shotsmith.assistant.production import ProductionService, ServiceOptions
from shotsmith.backends.base import GenerationMode, GenerationRequest
from shotsmith.backends.cache_keys import cache_key, legacy_cache_key, timed_cache_key
from shotsmith.backends.engine import find_record, finished_clip, generate_shots
from shotsmith.backends.registry import get_backend
from shotsmith.plan_edits import edit_shot
from shotsmith.store import ProjectStore
from tests.assistant._test_backends import ImageToVideoBackend, StillBackend, register
from tests.backends.test_cache_key_portable import creates, runway  # noqa: F401  (fixture)

BRIEF = "a 6 second ad for a bakery: fresh bread from the oven, then a baker smiling, 2 shots"
OTHER = "a baker dusting flour over a wooden table, close up"


@pytest.fixture(autouse=True)
def _backends():
    register()
    StillBackend.requests.clear()
    ImageToVideoBackend.requests.clear()


def stills_service(root: Path, **options) -> ProductionService:
    return ProductionService.open(root, ServiceOptions(**{"backend": "i2v-test", "image_backend": "still-test",
                                                          "resolution": "360p", "fps": 24, "auto_approve": True,
                                                          **options}))


def planned_with_stills(root: Path) -> ProductionService:
    service = stills_service(root)
    service.plan_brief(BRIEF, shot_count=2)
    assert service.generate_keyframes().keyframes == [1, 2]
    assert len(StillBackend.requests) == 4  # a first and a last frame per shot (i2v-test takes both)
    return service


def lose_binding(service: ProductionService, index: int = 2, **changes) -> str:
    """The shot gets another prompt and its stills are made (2 bought), then its first prompt comes back with
    ``changes`` (a new duration unless told): its binding is gone, so its stills are looked up through the
    cache. Returns its first still."""
    first = service.plan.shots[index - 1]
    changes = changes or {"duration_s": first.duration_s + 2}
    service.edit(lambda p: edit_shot(p, index, prompt=OTHER))
    bought = len(StillBackend.requests)
    assert service.generate_keyframes().keyframes == [index]
    assert len(StillBackend.requests) == bought + 2  # a changed prompt is another picture: bought
    service.edit(lambda p: edit_shot(p, index, prompt=first.prompt, **changes))
    shot = service.plan.shots[index - 1]
    assert shot.bound_keyframe is None and shot.duration_s != first.duration_s
    return first.keyframe


def test_re_timing_a_shot_does_not_buy_its_still_again(tmp_path):
    service = planned_with_stills(tmp_path / "p")
    first_still = lose_binding(service)
    bought = len(StillBackend.requests)

    estimate = service.estimate_keyframes()
    assert estimate.to_generate == [] and estimate.usd == 0, estimate.text
    assert service.generate_keyframes().usd == 0
    assert len(StillBackend.requests) == bought, "a re-timed shot's still was bought again"
    assert service.plan.shots[1].keyframe == first_still and service.plan.shots[1].bound_keyframe
    assert service.store.project.spending.spent_usd == pytest.approx(0.06)  # 4 stills, then 2 for the new prompt

    # Its speed too (half speed: the same footage, twice as long on screen): the still is not bought again.
    first_still = lose_binding(service, 1, speed=0.5)
    bought = len(StillBackend.requests)
    assert service.estimate_keyframes().to_generate == []
    service.generate_keyframes()
    assert len(StillBackend.requests) == bought and service.plan.shots[0].keyframe == first_still


def test_a_changed_prompt_still_buys_its_still(tmp_path):
    service = planned_with_stills(tmp_path / "p")
    service.edit(lambda p: edit_shot(p, 2, prompt="a baker slicing warm bread on a marble counter",
                                     duration_s=service.plan.shots[1].duration_s + 1))
    estimate = service.estimate_keyframes()
    assert estimate.shots == [2, 2] and estimate.usd == pytest.approx(0.02), estimate.text
    assert service.generate_keyframes().keyframes == [2] and len(StillBackend.requests) == 6


def test_stills_recorded_under_the_timed_key_are_found_at_any_duration(tmp_path):
    """A project whose stills were made before the change (each filed under the key with its duration in it):
    nothing is bought in place, nor after a re-timing; the records are filed under the new keys."""
    root = tmp_path / "p"
    service = planned_with_stills(root)
    lose_binding(service)
    image = get_backend("still-test")
    generations = service.store.project.generations
    renamed = {}
    for key, record in list(generations.items()):  # as the code before the change filed them
        request = GenerationRequest.model_validate(record.request)
        assert cache_key(image, request) == key
        old = timed_cache_key(image, request)
        assert old != key  # the duration was in the old key
        del generations[key]
        generations[old] = record.model_copy(update={"cache_key": old})
        renamed[old] = key
    service.store.save()

    service = stills_service(root)
    bought = len(StillBackend.requests)
    assert service.estimate_keyframes().to_generate == []
    service.generate_keyframes()
    assert len(StillBackend.requests) == bought
    filed = ProjectStore.open(root).project.generations
    assert any(new in filed for new in renamed.values())
    assert all(old in filed for old in renamed)  # finished records are copied: older code still finds them


def test_a_still_recorded_under_its_0_1_0_key_is_found_after_a_re_timing(tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    image = get_backend("still-test")
    made = GenerationRequest(prompt="a loaf on a board", mode=GenerationMode.TEXT_TO_IMAGE, duration_s=3,
                             shot_index=1, aspect_ratio="16:9", resolution="360p")
    (outcome,) = asyncio.run(generate_shots(store, image, [made]))
    record = store.project.generations.pop(outcome.cache_key)
    old = legacy_cache_key(image, image.prepare(made)[0])
    store.project.generations[old] = record.model_copy(update={"cache_key": old})
    store.save()
    wanted = image.prepare(made.model_copy(update={"duration_s": 7.5}))[0]
    found = find_record(ProjectStore.open(store.root), image, wanted)
    assert found is not None and finished_clip(store, found) is not None
    # A still of another picture is not taken for it.
    other = image.prepare(made.model_copy(update={"prompt": "a cake on a board", "duration_s": 3}))[0]
    assert find_record(ProjectStore.open(store.root), image, other) is None
    # Video keeps its duration in the key: a clip is as long as it was asked to be.
    video = get_backend("i2v-test")
    clip = GenerationRequest(prompt="x", duration_s=3, shot_index=1)
    assert cache_key(video, clip) != cache_key(video, clip.model_copy(update={"duration_s": 4}))
    assert cache_key(image, made) == cache_key(image, made.model_copy(update={"duration_s": 4}))


def test_runway_image_stills_are_not_bought_again_after_a_re_timing(runway, tmp_path):  # noqa: F811
    """The Runway protocol on the mock: text_to_image creates are counted at the provider."""
    service = ProductionService.open(tmp_path / "p", ServiceOptions(backend="runway", resolution="720p", fps=24,
                                                                    auto_approve=True))
    service.plan_brief("a 10 second ad for a bakery, 2 shots", shot_count=2)
    service.generate_keyframes()
    stills = [r for r in creates(runway) if r.path == "/v1/text_to_image"]
    assert len(stills) >= 2
    first = service.plan.shots[1]
    service.edit(lambda p: edit_shot(p, 2, prompt=OTHER))
    service.generate_keyframes()
    after_prompt = len([r for r in creates(runway) if r.path == "/v1/text_to_image"])
    assert after_prompt > len(stills)  # a new picture is paid for
    service.edit(lambda p: edit_shot(p, 2, prompt=first.prompt, duration_s=first.duration_s + 2))
    estimate = service.estimate_keyframes()
    assert estimate.to_generate == [] and estimate.usd == 0, estimate.text
    service.generate_keyframes()
    assert len([r for r in creates(runway) if r.path == "/v1/text_to_image"]) == after_prompt
    assert service.plan.shots[1].keyframe == first.keyframe
