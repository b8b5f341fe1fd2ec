"""How a shot's prompt is read for its storyboard panel: the setting's label and kind, and whether the subject is
the place itself, on the prompts the planner really writes for the example briefs (examples/briefs/*, the
README's examples) and on freer ones a user types."""

from __future__ import annotations

from pathlib import Path

import pytest

from shotsmith.backends.base import GenerationRequest, Reference
from shotsmith.backends.shot_reading import read_setting, read_setting_kind, read_shot

ROOT = Path(__file__).resolve().parents[2]


def reading(prompt: str, **kw):
    return read_shot(GenerationRequest(prompt=prompt, duration_s=1, **kw))


# (prompt as the planner wrote it for an example brief, setting label, setting kind)
@pytest.mark.parametrize("prompt, setting, kind", [
    # examples/briefs/coffee-shop.txt
    ("High-angle shot of happy customers filling the frame, every texture sharp, just outside a coffee shop, with "
     "negative space on the left, slow pull-back, morning light, warm cinematic grade", "outside a coffee shop",
     "street"),
    ("Extreme close-up of a barista pouring latte art, caught between movements, deep inside a coffee shop, from "
     "slightly below, gentle tilt down, morning light, warm cinematic grade", "a coffee shop", "interior"),
    ("Close-up of a barista pouring latte art, in a coffee shop, smooth pan right, morning light, warm cinematic "
     "grade", "a coffee shop", "interior"),
    # examples/briefs/reels-bakery.txt: the shots name no place, the work in them is indoor work
    ("Close-up of a baker shaping sourdough, smooth pan right, soft natural light, pastel style", "", "interior"),
    ("Extreme close-up of a baker shaping sourdough, caught between movements, with texture and detail in the "
     "background, from slightly below, gentle tilt down, soft natural light, pastel style", "", "interior"),
    ("Wide shot of golden loaves coming out of the oven, locked-off static camera, soft natural light, pastel style",
     "the oven", "interior"),
    ("Medium shot of flour dusting the counter, slow push-in, soft natural light, pastel style", "the counter",
     "interior"),
    # README: "a 20 s ad where @mara opens her coffee shop at dawn"
    ("Close-up of mara opens her coffee shop, in mid-motion, with layers of depth behind, from a three-quarter "
     "angle, smooth pan right, dawn light, polished commercial look", "her coffee shop", "interior"),
    ("Over-the-shoulder shot of mara opens her coffee shop, in a quieter beat, against a clean, simple backdrop, "
     "seen from behind, gentle tilt up, dawn light, polished commercial look", "her coffee shop", "interior"),
    # README: "how to brew pour-over coffee"
    ("Medium shot of brewing pour-over coffee moving naturally through the frame, slow push-in, soft natural "
     "light, clean, bright, minimal", "", "interior"),
    # tests' and bench briefs
    ("Low-angle shot of a red kite over a beach caught in a quiet, still moment, with the surroundings in soft "
     "focus, from slightly above, slow pull-back, soft natural light, cinematic", "over a beach", "water"),
    ("Close-up of a dog running on the sand, smooth pan right, soft natural light, cinematic", "on the sand",
     "water"),
    ("Medium shot of a woman waits just outside a coffee shop in the rain, slow push-in, soft natural light, "
     "polished commercial look", "outside a coffee shop", "street"),
    # freer prompts
    ("a couple dancing in front of the bakery at night", "in front of the bakery", "street"),
    ("Wide shot of hikers, along a mountain trail, golden hour", "along a mountain trail", "nature"),
    ("Close-up of a chef tasting, in a busy kitchen", "a busy kitchen", "interior"),
    ("a dog runs on the beach", "on the beach", "water"),
    ("a red balloon rising", "", "open"),
])
def test_the_setting_is_the_place_the_prompt_names(prompt, setting, kind):
    shot = reading(prompt)
    assert shot.setting == setting
    assert shot.setting_kind == kind


@pytest.mark.parametrize("padding", ["in mid-motion", "in a quieter beat", "in soft focus", "in profile",
                                     "in the rain", "in candid, natural motion", "in slow motion"])
def test_the_planners_padding_is_never_a_setting(padding):
    assert read_setting(f"Medium shot of a cyclist, {padding}, smooth pan left, soft light") == ""


@pytest.mark.parametrize("prompt, is_place", [
    ("Wide establishing shot of a coffee shop setting the scene, slow push-in", True),
    ("Wide shot of the street, in the city, night", True),
    ("Wide shot of a neighbourhood coffee shop", True),
    ("Medium shot of flour dusting the counter, slow push-in", False),  # the flour, not the counter
    ("Medium shot of mara and theo open their coffee shop, slow push-in", False),  # a sentence about the shop
    ("Insert shot of a cup of coffee on the counter", False),
])
def test_the_subject_is_the_place_only_when_it_is_a_place(prompt, is_place):
    assert reading(prompt).subject_is_place is is_place


def test_outside_a_building_is_a_street_unless_water_or_nature_is_named():
    assert read_setting_kind("just outside a coffee shop") == "street"
    assert read_setting_kind("outside the beach cafe") == "water"
    assert read_setting_kind("inside a coffee shop") == "interior"


def test_every_example_brief_reads_a_place_for_every_shot(tmp_path):
    """The planner's shots for the example briefs: none is read as "open" (a bare horizon), and no setting label
    is planner padding - the bakery reel's shots are indoors, the coffee shop's outside shot is a street."""
    from shotsmith.assistant.production import ProductionService, ServiceOptions

    briefs = [path.read_text().strip() for path in sorted((ROOT / "examples" / "briefs").glob("*.txt"))]
    assert len(briefs) >= 2
    briefs.append("a 20 s ad where @mara opens her coffee shop at dawn")
    for n, brief in enumerate(briefs):
        service = ProductionService.open(tmp_path / f"p{n}", ServiceOptions(backend="animatic"))
        service.plan_brief(brief)
        for shot in service.plan.shots:
            refs = [Reference(path=str(tmp_path / "m.png"), tag="mara", role="character")] if "@" in brief else []
            found = reading(shot.prompt, references=refs)
            assert found.setting_kind != "open", (brief, shot.prompt)
            for word in ("motion", "beat", "focus", "moment", "rain"):
                assert word not in found.setting, (shot.prompt, found.setting)
            if "outside" in shot.prompt:
                assert found.setting_kind == "street" and found.setting.startswith("outside"), shot.prompt


@pytest.mark.parametrize("prompt, angle", [
    # the planner's words for the bakery reel and the README's @mara brief: a low-angle shot with a viewpoint
    ("Low-angle shot of flour dusting the counter, with energy building, with the surroundings in soft focus, "
     "from slightly above, slow pull-back, soft natural light, pastel style", "low"),
    ("Extreme close-up of a baker shaping sourdough, caught between movements, from slightly below, gentle tilt "
     "down", "low"),
    ("High-angle shot of happy customers filling the frame, just outside a coffee shop", "high"),
    ("Close-up of a cup, from slightly above", "high"),
    ("Low-angle shot of a barista, from slightly above, warm light, a higher angle", "high"),  # a redo's note
    ("Medium shot of a chef, in a kitchen", "eye"),
])
def test_an_angle_named_as_such_wins_over_a_viewpoint_phrase(prompt, angle):
    assert reading(prompt).angle == angle
