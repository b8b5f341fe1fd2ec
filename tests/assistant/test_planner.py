"""The offline planner across the ways people phrase a brief."""

from __future__ import annotations

import difflib
import importlib.util
import itertools
import json
import re
import sys
from pathlib import Path

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


def test_a_shot_setting_is_the_placement_its_prompt_uses():
    # A model's drafts say "in a small bakery"; an edit recomposing the prompt from the parts keeps the placement.
    plan = plan_brief("a 40 second film for a coffee shop: a barista pouring latte art, happy customers").plan
    placed = [s for s in plan.shots if s.setting]
    assert len(placed) >= len(plan.shots) - 1
    assert all(s.setting in s.prompt and "coffee shop" in s.setting for s in placed)
    assert len({s.setting for s in placed}) > 3, "repeats are placed differently"


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


# -- style and camera words are cues, never subjects ------------------------------------------
# The test's own list of words that say how a video looks or is shot (not the planner's vocabulary).
LOOK_WORDS = {"gritty", "handheld", "hand-held", "cinematic", "moody", "dreamy", "pastel", "grade", "drone", "aerial",
              "slow-motion", "slow", "motion", "static", "tripod", "locked-off", "macro", "time-lapse", "close-ups",
              "close-up", "shot", "shots", "vlog", "grainy", "16mm", "noir"}


def _subject_words(shot) -> set[str]:
    return set(re.findall(r"[a-z0-9'-]+", shot.subject.lower()))


@pytest.mark.parametrize("text", [
    "A gritty, handheld street food vlog in Bangkok, 20 seconds",
    "Drone shot of a coastline at sunset, 8 seconds, aerial, slow-motion",
    "moody, cinematic slow-motion close-ups of rain on a window",
    "a 12 second time-lapse of clouds over a valley, static, dreamy pastel grade",
    "STATIC TRIPOD SHOT OF A LAKE!!! Dreamy / grainy 16mm -- 10s",
    "a 20 second film, 4 shots: handheld, a fisherman casting a net, aerial, noir",
])
def test_style_and_camera_words_never_become_subjects(text):
    plan = plan_brief(text).plan
    for shot in plan.shots:
        words = _subject_words(shot)
        assert not words & LOOK_WORDS, f"shot {shot.index} subject {shot.subject!r}"
        assert words - {"a", "an", "the", "of"}, f"shot {shot.index} has no subject"
        assert not shot.prompt.lower().startswith(tuple(f"medium shot of {w}" for w in LOOK_WORDS))


def test_the_brief_subject_survives_its_style_words():
    plan = plan_brief("A gritty, handheld street food vlog in Bangkok, 20 seconds").plan
    assert any("street food" in s.subject for s in plan.shots)
    assert all("Bangkok" in s.prompt for s in plan.shots)
    assert all("gritty" in s.style for s in plan.shots)


def test_camera_words_become_moves_or_prompt_phrases():
    handheld = plan_brief("A gritty, handheld street food vlog in Bangkok, 20 seconds").plan
    assert all("handheld camera" in s.prompt for s in handheld.shots)
    assert CameraMove.STATIC not in {s.camera for s in handheld.shots}, "a handheld camera is not locked off"
    aerial = plan_brief("Drone shot of a coastline at sunset, 8 seconds, aerial, slow-motion").plan
    assert all("aerial" in s.prompt and "slow motion" in s.prompt and "sunset" in s.lighting for s in aerial.shots)
    locked = plan_brief("a static, locked-off 9 second film of a pond, 3 shots").plan
    assert [s.camera for s in locked.shots] == [CameraMove.STATIC] * 3
    pushed = plan_brief("a 6 second ad, 2 shots: push-in on a ring, pull-back from a bride").plan
    assert [s.camera for s in pushed.shots] == [CameraMove.ZOOM_IN, CameraMove.ZOOM_OUT]
    assert [s.subject for s in pushed.shots] == ["a ring", "a bride"]


def test_ordinary_descriptions_stay_in_the_subject():
    # "dark", "drone" and "sunset" also describe things; only a phrase of nothing but such words is a cue.
    plan = plan_brief("a 9 second film, 3 shots: a dark alley, a delivery drone flying over a farm, "
                      "sunset over the ocean").plan
    assert [s.subject for s in plan.shots] == ["a dark alley", "a delivery drone", "sunset over the ocean"]
    assert plan.shots[1].action == "flying over a farm"
    assert not any("aerial" in s.prompt for s in plan.shots)


def test_a_framing_word_sets_the_shot_size_not_the_subject():
    plan = plan_brief("a 6 second ad, 2 shots: an extreme close-up of a watch face, a wide shot of a harbour").plan
    assert [s.prompt.split(" of ")[0] for s in plan.shots] == ["Extreme close-up", "Wide shot"]
    assert [s.subject for s in plan.shots] == ["a watch face", "a harbour"]


def test_a_time_of_day_is_lighting_not_subject():
    plan = plan_brief("a 6 second ad, 2 shots: a runner lacing up at dawn, a skyline at night").plan
    assert [s.subject for s in plan.shots] == ["a runner", "a skyline"]
    assert "dawn" in plan.shots[0].lighting and "night" in plan.shots[1].lighting


def test_the_users_own_clip_is_not_a_prompt():
    plan = plan_brief("A 15 second ad for a surf school. Use my clip beach.mp4 as the opener, "
                      "then students paddling out").plan
    assert not any("mp4" in s.prompt or "my clip" in s.prompt.lower() for s in plan.shots)
    assert any("students" in s.subject for s in plan.shots)


def test_durations_are_read_at_word_edges():
    # "tones" holds "one s": it is not one more second.
    assert plan_brief("a 10 second film of a forest, warm tones").brief.duration_s == 10


@pytest.mark.parametrize(("text", "ratio", "seconds"), [
    ("GRITTY, HANDHELD street-food VLOG!!! Bangkok night market -- 20s, vertical", "9:16", 20),
    ("coffee shop promo... cinematic / HANDHELD; latte art (15s) SQUARE", "1:1", 15),
])
def test_shouted_and_punctuated_briefs(text, ratio, seconds):
    plan = plan_brief(text).plan
    assert (plan.aspect_ratio, plan.total_duration_s) == (ratio, seconds)
    for shot in plan.shots:
        assert not _subject_words(shot) & LOOK_WORDS, shot.subject
        assert "handheld camera" in shot.prompt


# -- a capped long brief gets varied shots ------------------------------------------------------
NEAR_TWIN = 0.9


def _near_twins(prompts: list[str]) -> list[tuple[str, str]]:
    """Pairs of prompts at difflib ratio >= NEAR_TWIN (the cheap upper bounds skip the clearly different)."""
    twins = []
    for a, b in itertools.combinations([p.lower() for p in prompts], 2):
        matcher = difflib.SequenceMatcher(None, a, b)
        if min(matcher.real_quick_ratio(), matcher.quick_ratio()) >= NEAR_TWIN and matcher.ratio() >= NEAR_TWIN:
            twins.append((a, b))
    return twins


@pytest.mark.parametrize(("text", "notice"), [
    ("a 10 minute documentary about a lighthouse keeper", None),
    ("A 2 hour handheld vlog of a chef cooking ramen in a tiny Tokyo kitchen, gritty, warm tones", "capped"),
    ("A 20 minute travel film in 60 shots: Lisbon trams, custard tarts, the river at sunset", "capped"),
    ("static close-ups of a ticking watch, 60 shots, 3 minutes, moody, cinematic, teal and orange grade, 35mm grain", None),
])
def test_a_long_brief_gets_varied_shots(text, notice):
    result = plan_brief(text)
    plan = result.plan
    if notice:
        assert any(notice in n for n in result.notices)
    assert len(plan.shots) == 60
    assert abs(plan.total_duration_s - result.brief.duration_s) < 0.1
    prompts = [s.prompt for s in plan.shots]
    assert len(set(prompts)) == len(prompts), "no two prompts identical"
    assert not _near_twins(prompts), "no two prompts near-identical"
    assert len({p.split(" of ")[0] for p in prompts}) >= 4, "shot sizes vary"
    assert len({s.action for s in plan.shots}) >= 8, "action beats vary"
    if "static" not in text:
        assert len({s.camera for s in plan.shots}) >= 4, "camera moves vary"


def test_more_shots_than_the_planner_makes_are_capped_and_said():
    result = plan_brief("a 100 shot montage of city life, 5 minutes")
    assert len(result.plan.shots) == 60
    assert any("capped" in n and "100 shots" in n for n in result.notices)


def test_a_square_you_can_stand_in_is_not_an_aspect_ratio():
    assert plan_brief("a 30 second film of an old man feeding pigeons in a square").plan.aspect_ratio == "16:9"
    assert plan_brief("a 10 second square video of pigeons").plan.aspect_ratio == "1:1"


def test_a_long_plan_is_deterministic():
    text = "A 2 hour handheld vlog of a chef cooking ramen in a tiny Tokyo kitchen, gritty, warm tones"
    assert plan_brief(text).plan == plan_brief(text).plan


# -- the agent eval sees both faults ------------------------------------------------------------
def _rubric():
    path = Path(__file__).resolve().parents[2] / "bench" / "agent_eval" / "rubric.py"
    spec = importlib.util.spec_from_file_location("agent_eval_rubric_for_planner", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_eval_rubric_catches_both_faults():
    from shotsmith.backends.registry import get_backend
    from shotsmith.brief import Shot, ShotPlan

    rubric = _rubric()
    case = {"id": "x", "brief": "A gritty, handheld street food vlog in Bangkok, 20 seconds",
            "expect": {"duration_s": 20, "aspect_ratio": "16:9"}}
    old_style = ShotPlan(shots=[Shot(index=i + 1, duration_s=5, subject=subject, action="in candid, natural motion",
                                     prompt=f"{framing} of {subject} in candid, natural motion, soft natural light")
                                for i, (framing, subject) in enumerate([("Medium shot", "handheld"), ("Close-up", "gritty"),
                                                                       ("Medium shot", "handheld street food"),
                                                                       ("Wide shot", "handheld street food")])])
    score = rubric.score_plan(case, old_style, get_backend("animatic"))
    assert score.checks["clean_subjects"] == 0 and score.checks["variety"] < 1


def test_every_eval_brief_passes_the_word_and_variety_checks():
    # The eval's mean score could hide one bad brief; these checks must hold on each.
    from shotsmith.backends.registry import get_backend

    rubric = _rubric()
    cases = json.loads((Path(__file__).resolve().parents[2] / "bench" / "agent_eval" / "briefs.json").read_text())
    for case in cases:
        score = rubric.score_plan(case, plan_brief(case["brief"]).plan, get_backend("animatic"))
        assert [score.checks[c] for c in ("clean_subjects", "camera_words", "variety")] == [1, 1, 1], \
            (case["id"], score.notes)


@pytest.mark.parametrize("brief, subject", [
    ("a 12 second vertical ad where a barista pours latte art at dawn", "a barista"),
    ("an ad in which a dog runs on a beach", "a dog"),
    ("a 10 second clip of a woman who smiles at the camera", "a woman"),
    # a plural subject takes the verb's bare form; a brief whose verb is not known still loses the clause
    ("a 12 second ad where @mara and @theo open a coffee shop at dawn", "mara and theo"),
    ("a 12 second ad where two baristas pour latte art", "two baristas"),
])
def test_relative_clauses_leave_no_stray_words_in_the_subject(brief, subject):
    plan = plan_brief(brief).plan
    assert subject in [s.subject for s in plan.shots]
    assert not any(s.subject.split()[-1].lower() in ("who", "that", "which", "where") or
                   s.subject.lower().startswith(("a where", "which", "where")) for s in plan.shots)


@pytest.mark.parametrize("brief, subject", [
    ("A 10 second ad where a barista pours latte art at dawn, with a voice-over", "a barista"),
    ("A 20 second explainer with a voice-over: how to brew pour-over coffee", "brewing pour-over coffee"),
    ("how to make sourdough bread, 15 seconds", "making sourdough bread"),
])
def test_a_voice_over_request_is_no_shot_and_a_how_to_shows_the_doing(brief, subject):
    shots = plan_brief(brief).plan.shots
    assert all(s.subject == subject for s in shots), [s.subject for s in shots]
    assert not any("voice" in s.prompt.lower() for s in shots)


@pytest.mark.parametrize("brief, expected", [
    ("A 10 second ad: a barista grinds beans, pours a latte, serves a customer",
     ["a barista grinding beans", "a barista pouring a latte", "a barista serving a customer"]),
    ("8 second clip of a barista in a café, pours a latte, smiles at the camera",
     ["a barista pouring a latte", "a barista smiling at the camera"]),
    ("A 6 second video: @mara and @theo open the shop, pour coffee", ["mara and theo pouring coffee"]),
    # verbs no list knows, by their shape (an -s word before an object or a particle)
    ("A 8 second reel: a runner ties her shoes, sprints up the stairs, raises her arms at the top",
     ["a runner tying her shoes", "a runner raising her arms at the top"]),
    ("A 6 second ad: waves crashing on rocks, a surfer paddles out", ["waves crashing on rocks",
                                                                      "a surfer paddling out"]),
])
def test_a_beat_starting_with_its_verb_keeps_the_subject_before_it(brief, expected):
    """Review of #10: "…, pours a latte" was planned as "Close-up of pours a latte" (nobody to draw)."""
    prompts = [s.prompt for s in plan_brief(brief).plan.shots]
    for phrase in expected:
        assert any(f" of {phrase}" in p for p in prompts), (phrase, prompts)
    assert not any(re.search(r" of (pours|smiles|pour|serves)\b", p) for p in prompts), prompts


@pytest.mark.parametrize("brief, lead, also", [
    ("A 4 second video: a cat and a dog running, a bird flying, a fish swimming",
     "of a cat and a dog running", ", with a bird flying and a fish swimming"),
    ("A 4 second video: a baker kneads dough, shapes a loaf, a customer smiles",
     "of a baker kneading dough and shaping a loaf", ", with a customer smiling"),
    ("A 3 second video: a barista, pours a latte", "of a barista pouring a latte", ""),
])
def test_beats_sharing_a_shot_read_as_one_shot(brief, lead, also):
    """More beats than shots: the first beat's subject leads, its actions join, other subjects are also shown
    ("a cat and a dog running and a bird flying" read as one odd subject; "a barista and pours a latte")."""
    shots = plan_brief(brief).plan.shots
    assert len(shots) == 1
    assert lead + also in shots[0].prompt
    assert " and pours" not in shots[0].prompt and "running and a bird" not in shots[0].prompt


def test_a_plural_noun_leading_a_beat_is_not_taken_for_a_verb():
    prompts = [s.prompt for s in plan_brief("A 6 second ad: waves on the beach, gulls over the pier").plan.shots]
    assert any(" of waves on the beach" in p for p in prompts) and not any("someone" in p for p in prompts), prompts
