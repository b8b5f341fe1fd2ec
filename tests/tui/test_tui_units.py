"""The pure parts of the TUI: the message that carries events, text helpers, the shot detail line."""

from __future__ import annotations

import pytest
from tests.tui._tui_fake_session import coffee_plan, runway_estimate

from shotsmith.assistant.events import PlanUpdated
from shotsmith.assistant.production.spending import Estimate, ShotCost
from shotsmith.formats import Transition
from shotsmith.tui.format import compact_args, estimate_text, human_size, short, speed_text, tool_summary
from shotsmith.tui.messages import SessionEvent
from shotsmith.tui.widgets.plan_table import shot_detail


def test_the_message_carries_the_event_itself():
    event = PlanUpdated(coffee_plan())
    message = SessionEvent(event, turn=3)
    assert message.event is event and message.turn == 3


@pytest.mark.parametrize(("size", "text"), [(512, "512 B"), (1536, "1.5 kB"), (2_345_678, "2.3 MB"),
                                            (5_000_000_000, "5.0 GB")])
def test_human_size(size, text):
    assert human_size(size) == text


def test_short_flattens_and_cuts():
    assert short("a  b\nc", 10) == "a b c"
    assert short("abcdefghijkl", 6) == "abcde…"
    assert len(short("x" * 100, 20)) == 20


def test_compact_args_is_one_short_line():
    line = compact_args({"brief": "a very long brief " * 10, "index": 2}, width=40)
    assert line.startswith("brief='a very long") and len(line) == 40 and "\n" not in line
    assert compact_args({"index": 2, "shots": [1, 3]}) == "index=2, shots=[1, 3]"


def test_estimate_text_is_usd_with_the_provider_unit_beside():
    assert estimate_text(runway_estimate()) == "0.75 USD (75 credits)"
    usd = Estimate(backend="fal", needs_approval=True,
                   to_generate=[ShotCost(shot_index=1, cache_key="k", amount=0.4, unit="USD", usd=0.4)])
    assert estimate_text(usd) == "0.40 USD"
    gpu = Estimate(backend="local-gpu", needs_approval=True,
                   to_generate=[ShotCost(shot_index=1, cache_key="k", amount=0, unit="USD", usd=0)])
    assert estimate_text(gpu) == "no money, but long GPU time"
    assert estimate_text(Estimate(backend="runway", cached=[1, 2])).startswith("nothing to generate")
    assert estimate_text(None) == "unavailable"


def test_speed_text_marks_only_changed_speeds():
    assert [speed_text(s) for s in (1.0, 0.5, 2.0, 1.25, 2 / 3)] == ["", "0.5x", "2x", "1.25x", "0.67x"]


def test_shot_detail_names_what_differs_from_a_plain_shot():
    plain = coffee_plan().shots[0]
    assert shot_detail(plain) == f"1. {plain.prompt}"
    edited = plain.model_copy(update={"speed": 0.5, "in_s": 1.5, "source": "footage/beach.mp4",
                                      "transition_to_next": Transition(kind="dissolve", duration_s=0.5)})
    assert shot_detail(edited).splitlines()[1] == ("plays at 0.5x · starts 1.5 s into its clip · "
                                                   "footage: footage/beach.mp4 · dissolve 0.5 s to the next")


def test_tool_summary_keeps_text_and_drops_json_results():
    assert tool_summary("3 shots, 9 s at 9:16") == "3 shots, 9 s at 9:16"
    assert tool_summary("Error: shot 7 does not exist") == "Error: shot 7 does not exist"
    # The agent's results are the JSON the model saw, often cut off: their effect is in the plan table.
    assert tool_summary('{"ok":true,"plan":{"aspect_ratio":"16:9","total_s":4.0,"shots":[{"shot":1,"prom') == ""
    assert tool_summary('{"ok": false, "error": "no clip for shot \\"2\\" yet"}') == 'no clip for shot "2" yet'
