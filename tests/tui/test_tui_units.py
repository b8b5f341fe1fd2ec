"""The pure parts of the TUI: event → message mapping and text helpers."""

from __future__ import annotations

import pytest

from shotsmith.assistant.events import (ApprovalRequested, AssistantText, GenerationProgress, Notice, OutputWritten,
                                        PlanUpdated, RenderProgress, ToolCallFinished, ToolCallStarted)
from shotsmith.tui import messages as m
from shotsmith.tui.format import compact_args, estimate_text, human_size, short


@pytest.mark.parametrize(("event", "kind", "fields"), [
    (AssistantText("hi", delta=True), m.AssistantSaid, {"text": "hi", "delta": True}),
    (Notice("careful", "warning"), m.NoticePosted, {"text": "careful", "level": "warning"}),
    (ToolCallStarted("c1", "plan_shots", {"brief": "x"}), m.ToolStarted, {"call_id": "c1", "args": {"brief": "x"}}),
    (ToolCallFinished("c1", "plan_shots", False, "bad"), m.ToolFinished, {"ok": False, "summary": "bad"}),
    (PlanUpdated({"shots": []}), m.PlanChanged, {"plan": {"shots": []}}),
    (GenerationProgress(2, "running", 40.0, "half"), m.ShotProgressed, {"shot_index": 2, "percent": 40.0}),
    (RenderProgress(1.5, 6.0), m.RenderProgressed, {"seconds_done": 1.5, "seconds_total": 6.0}),
    (OutputWritten("/p/out.mp4", 6.0, 1000), m.OutputReady, {"path": "/p/out.mp4", "size_bytes": 1000}),
])
def test_every_event_becomes_its_message(event, kind, fields):
    message = m.message_for(event)
    assert type(message) is kind
    for name, value in fields.items():
        assert getattr(message, name) == value


def test_approval_message_carries_the_whole_request():
    request = ApprovalRequested("r1", "generate_shots", "Generate 2 shots", 1.2, "credits", [1, 2])
    message = m.message_for(request)
    assert isinstance(message, m.ApprovalNeeded) and message.request is request


def test_an_unknown_event_is_shown_not_dropped():
    message = m.message_for("something new")  # type: ignore[arg-type]
    assert isinstance(message, m.NoticePosted) and "something new" in message.text


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


def test_estimate_text():
    assert estimate_text(0.75, "USD") == "0.75 USD"
    assert estimate_text(12.0, "credits") == "12.00 credits"
    assert estimate_text(90, "gpu-seconds") == "90 gpu-seconds"
