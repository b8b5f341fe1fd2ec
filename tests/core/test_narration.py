"""Narration: scripts written to the shots, placed without overlap, and checked against real speech."""

from __future__ import annotations

import pytest

from shotsmith.backends.espeak import EspeakBackend
from shotsmith.brief import Brief, Shot, ShotPlan
from shotsmith.errors import InvalidInputError
from shotsmith.narration import (LEAD_IN_S, TAIL_S, NarrationLine, NarrationScript, fit, place, script_from_text,
                                 wants_narration, word_budget, write_script)

EXPLAINER = "A 20 second explainer with a voice-over: how to brew pour-over coffee"


def plan_of(*durations: float) -> ShotPlan:
    return ShotPlan(shots=[Shot(index=n, prompt=f"shot {n}", duration_s=d) for n, d in enumerate(durations, 1)])


def timed(script: NarrationScript) -> dict[int, list]:
    voice = EspeakBackend()
    return {line.shot_index: voice.synthesize(line.text)[2] for line in script.lines if line.text}


@pytest.mark.parametrize("text,expected", [
    (EXPLAINER, True), ("a narrated tour of the old port", True), ("an ad with voiceover for shoes", True),
    ("A 15 second ad for a coffee shop: morning light", False), ("an explainer about tides", True),
])
def test_briefs_that_ask_for_a_voice(text, expected):
    assert wants_narration(text) is expected


def test_explainer_script_fits_each_shot_by_rate_and_by_real_speech():
    plan = plan_of(4, 4, 4, 4, 4)
    script = write_script(plan, Brief(text=EXPLAINER, duration_s=20))
    texts = [line.text for line in script.lines]
    assert texts[0] == "Here's how to brew pour-over coffee." and "how to brew pour-over coffee" in texts[-1]
    assert len(set(texts)) == len(texts) and all(texts)
    for shot, line in zip(plan.shots, script.lines):
        assert line.words <= word_budget(shot.duration_s, 2.5)
    assert fit(plan, script).ok  # by the speaking rate
    report = fit(plan, script, timed(script))  # by espeak's real word timings
    assert report.ok, report.message()
    # placed whole, in order, never overlapping, each inside its shot
    for a, b in zip(report.placements, report.placements[1:]):
        assert a.end_s < b.start_s
    assert report.placements[0].start_s == pytest.approx(LEAD_IN_S)


def test_listed_phrases_become_lines_and_short_shots_get_short_lines():
    plan = plan_of(1.2, 3, 3, 3)
    script = write_script(plan, "A 10 second ad for a coffee shop: morning light, a barista pouring latte art, "
                                "happy customers, warm cinematic grade")
    texts = [line.text for line in script.lines]
    assert "A barista pouring latte art." in texts and not any("grade" in t for t in texts)
    assert script.lines[0].words <= word_budget(1.2, 2.5) == 2
    assert texts[-1] == "Come and see for yourself."


@pytest.mark.parametrize("brief, first_lines", [
    # the words that ask for the voice and the format before a scene are never said
    ("A 10 second ad where a barista pours latte art at dawn, with a voice-over, warm grade",
     ["A barista pours latte art at dawn."]),
    ("A 10 second ad, morning light, latte art, with a voice-over", ["Morning light.", "Latte art."]),
    ("A 15 second narrated ad for my bakery: fresh bread, warm light", ["This is my bakery.", "Fresh bread."]),
])
def test_what_a_brief_asks_of_the_video_is_not_read_aloud(brief, first_lines):
    texts = [line.text for line in write_script(plan_of(4, 4, 4), brief).lines]
    assert texts[:len(first_lines)] == first_lines
    assert not any(word in " ".join(texts).lower() for word in ("voice", "narrat", "second ad", "grade"))


def test_a_line_that_runs_long_is_reported_with_both_offers_and_each_offer_works():
    plan = plan_of(2.0, 3.0)
    script = NarrationScript(lines=[
        NarrationLine(shot_index=1, text="Grind the beans medium fine, then rinse the paper filter with hot water."),
        NarrationLine(shot_index=2, text="Pour slowly.")])
    timings = timed(script)
    report = fit(plan, script, timings)
    assert not report.ok and [line.shot_index for line in report.too_long] == [1]
    long = report.too_long[0]
    speech = max(w.end_s for w in timings[1])
    assert long.over_s == pytest.approx(speech - (2.0 - TAIL_S - LEAD_IN_S), abs=0.01)
    assert long.crossing_word in script.lines[0].text.split()  # the word a cut at 2.0 s would split
    longer, shorter = long.offers
    assert longer.kind == "longer_shot" and shorter.kind == "shorter_line"
    assert "shot 1" in report.message() and f"{longer.duration_s:g} s" in report.message()
    # the longer shot holds the line as synthesised
    stretched = plan.model_copy(deep=True)
    stretched.shots[0].duration_s = longer.duration_s
    assert fit(stretched, script, timings).ok
    assert longer.duration_s - (LEAD_IN_S + speech + TAIL_S) < 0.1 + 1e-6
    # the shorter line, synthesised again, fits the shot as it is
    cut = script.with_line(1, shorter.text)
    assert cut.line(1).words == shorter.max_words and shorter.max_words >= 1
    assert fit(plan, cut, timed(cut)).ok


def test_lines_never_overlap_even_when_one_runs_long():
    plan = plan_of(1.0, 1.0)
    script = NarrationScript(lines=[NarrationLine(shot_index=1, text="one two three four five six seven"),
                                    NarrationLine(shot_index=2, text="eight")])
    timings = timed(script)
    first, second = place(plan, script, timings)
    assert second.start_s >= first.end_s + 0.1 - 1e-6
    report = fit(plan, script, timings)
    assert report.past_end_s == pytest.approx(second.end_s - 2.0, abs=1e-3) and report.past_end_s > 0
    assert "past the end of the video" in report.message()
    assert fit(plan_of(4.0, 3.0), script, timings).past_end_s == 0


def test_user_text_is_spread_over_the_shots():
    plan = plan_of(3, 3, 3)
    exact = script_from_text("One line.\nAnother line.\n\nA third.", plan)
    assert [line.text for line in exact.lines] == ["One line.", "Another line.", "A third."]
    dealt = script_from_text("Grind the beans. Rinse the filter. Bloom for thirty seconds. Pour in circles. Serve.",
                             plan)
    assert [line.text for line in dealt.lines] == ["Grind the beans. Rinse the filter.",
                                                   "Bloom for thirty seconds.", "Pour in circles. Serve."]
    with pytest.raises(InvalidInputError):
        script_from_text("  \n ", plan)
