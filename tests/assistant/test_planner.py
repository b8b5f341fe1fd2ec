"""The offline planner across the ways people phrase a brief."""

from __future__ import annotations

import pytest

from shotsmith.assistant.planner import MAX_TOTAL_S, MIN_TOTAL_S, OFFLINE_PLANNER, plan_brief
from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove

COFFEE = ("A 15 second ad for a coffee shop: morning light, a barista pouring latte art, happy customers, "
          "warm cinematic grade")


@pytest.mark.parametrize(("text", "seconds"), [
    ("A 15 second ad for a bakery", 15), ("a 30s promo", 30), ("1 minute explainer about tides", 60),
    ("a 1 min 30 s trailer", 90), ("twenty second teaser", 20), ("a half a minute reel", 30),
    ("a 7.5-second loop of rain", 7.5), ("a 45 sec spot", 45), ("a 2 minute music video", 120),
])
def test_duration_phrasings(text, seconds):
    result = plan_brief(text)
    assert result.brief.duration_s == pytest.approx(seconds)
    assert result.plan.total_duration_s == pytest.approx(seconds, abs=0.1)


@pytest.mark.parametrize(("text", "ratio"), [
    ("a vertical ad for shoes", "9:16"), ("a 9:16 clip", "9:16"), ("for TikTok", "9:16"), ("for Reels", "9:16"),
    ("YouTube Shorts about cats", "9:16"), ("a square post", "1:1"), ("a 1:1 loop", "1:1"), ("a 4:5 feed ad", "4:5"),
    ("a widescreen trailer", "16:9"), ("a clip of a river", "16:9"),
])
def test_aspect_phrasings(text, ratio):
    assert plan_brief(text).plan.aspect_ratio == ratio
    assert all(s.aspect_ratio == ratio for s in plan_brief(text).plan.shots)


@pytest.mark.parametrize(("text", "count"), [
    ("a 20 second ad in 4 shots", 4), ("a 30 s trailer, five shots", 5), ("a single shot of a candle, 6 seconds", 1),
    ("one shot: waves at dusk", 1), ("a 12 second reel with 3 scenes", 3),
])
def test_shot_count_is_respected(text, count):
    assert len(plan_brief(text).plan.shots) == count


def test_coffee_brief_carries_the_prompt_anatomy():
    result = plan_brief(COFFEE)
    plan = result.plan
    assert plan.planner == OFFLINE_PLANNER
    assert plan.aspect_ratio == "16:9"
    assert plan.total_duration_s == pytest.approx(15, abs=0.1)
    assert 3 <= len(plan.shots) <= 8
    prompts = [s.prompt.lower() for s in plan.shots]
    assert len(set(prompts)) == len(prompts), "every shot prompt is distinct"
    assert any("barista pouring latte art" in p for p in prompts)
    assert any("happy customers" in p for p in prompts)
    for shot in plan.shots:
        assert "warm cinematic grade" in shot.prompt  # style
        assert "morning light" in shot.prompt  # lighting
        assert shot.camera.phrase in shot.prompt  # camera movement
        assert "coffee shop" in shot.prompt  # setting
        assert shot.subject and shot.action
    assert plan.shots[-1].transition_to_next.overlap_s == 0
    assert any("offline planner" in n for n in result.notices)


def test_camera_words_in_the_brief_are_used():
    plan = plan_brief("a 9 second ad, 3 shots: drone pull-back over a vineyard, a tilt up a bottle, a static close-up of a glass").plan
    assert [s.camera for s in plan.shots] == [CameraMove.ZOOM_OUT, CameraMove.TILT_UP, CameraMove.STATIC]


def test_durations_sum_exactly_for_awkward_splits():
    for total, shots in ((10, 3), (17, 7), (59, 11), (2, 2)):
        plan = plan_brief(f"a {total} second film in {shots} shots about a lighthouse").plan
        assert abs(plan.total_duration_s - total) < 0.1
        assert all(s.duration_s >= 0.99 for s in plan.shots)


@pytest.mark.parametrize(("text", "expected", "word"), [
    ("a 0 seconds ad for a bakery", MIN_TOTAL_S, "minimum"), ("a 5 hours film about trains", MAX_TOTAL_S, "capped"),
])
def test_absurd_durations_are_capped_and_said(text, expected, word):
    result = plan_brief(text)
    assert result.brief.duration_s == expected
    assert any(word in n for n in result.notices)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_brief_is_refused(text):
    with pytest.raises(InvalidInputError, match="empty"):
        plan_brief(text)


def test_explicit_arguments_override_the_text():
    result = plan_brief("a 15 second vertical ad", duration_s=8, aspect_ratio="1:1", shot_count=2)
    assert (result.brief.duration_s, result.plan.aspect_ratio, len(result.plan.shots)) == (8, "1:1", 2)


def test_planning_is_deterministic():
    assert plan_brief(COFFEE).plan == plan_brief(COFFEE).plan
