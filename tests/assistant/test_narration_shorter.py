"""A shorter voice-over keeps what the video is about (user review of #12): the brief's topic words
(content words of the plan's subjects and prompts) outlast verbs, fillers and the opening formula
("Here's how to"), so "Here's how to brew pour-over coffee." does not become "Here's how to brew."."""

from __future__ import annotations

import re

import pytest

from shotsmith.assistant.planner import plan_brief
from shotsmith.narration import condense, shorter, topic_words, write_script

POUR_OVER = "A 9 second explainer with a voice-over: how to brew pour-over coffee, 3 shots"
COLD_BREW = "A 10 second explainer with narration: how to make cold brew at home, 4 shots"
BAKERY = ("A 12 second ad for a neighbourhood bakery with a voice-over: fresh sourdough loaves, "
          "a baker shaping dough, open daily from 7")


def words(text: str) -> set[str]:
    return set(re.findall(r"[\w'-]+", text.lower()))


@pytest.mark.parametrize(("brief", "shot", "must_keep"), [
    (POUR_OVER, 1, {"pour-over", "coffee"}),
    (POUR_OVER, 3, {"pour-over", "coffee"}),
    (COLD_BREW, 1, {"cold", "brew"}),
    (COLD_BREW, 4, {"cold", "brew"}),
    (BAKERY, 1, {"neighbourhood", "bakery"}),
    (BAKERY, 2, {"sourdough", "loaves"}),
])
def test_shorter_keeps_the_topic_words_of_the_planners_lines(brief, shot, must_keep):
    plan = plan_brief(brief).plan
    script = write_script(plan, brief)
    line = script.line(shot).text
    assert must_keep <= words(line), line  # the planner's own line says the topic
    short = shorter(script, plan).line(shot).text
    assert must_keep <= words(short), (line, short)
    assert len(short.split()) <= len(line.split())
    assert not short.lower().startswith(("here's how to", "that's how to", "this is")) or short == line


def test_the_opening_formula_goes_before_the_object():
    keep = {"pour-over", "coffee"}
    assert condense("Here's how to brew pour-over coffee.", 4, keep=keep) == "Brew pour-over coffee."
    assert condense("That's how to brew pour-over coffee. Enjoy.", 5, keep=keep) == "Brew pour-over coffee. Enjoy."
    assert condense("This is a neighbourhood bakery.", 3, keep={"neighbourhood", "bakery"}) == \
        "A neighbourhood bakery."
    # without topic words a describing word still goes first, as before
    assert condense("Open daily from 7 with fresh warm bread.", 5) == "Open daily from 7."


def test_topic_words_come_from_the_plan_not_from_filler():
    plan = plan_brief(POUR_OVER).plan
    topic = topic_words(plan)
    assert {"pour-over", "coffee"} <= topic
    assert not topic & {"the", "of", "with", "shot", "close-up"}
