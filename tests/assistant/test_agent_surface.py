"""The tool surface a real model sees, measured on what the client actually sends.

Across a whole conversation (plan -> generate -> titles, music, captions ->
render -> export), every model call offers at most 15 tools and 12,000
characters of tool JSON, as OpenAI strict schemas with every field described;
no tool duplicates a plan edit; results are capped and listings paged.
"""

from __future__ import annotations

import json

import pytest

from shotsmith.assistant.agent.finishing import PLAN_DUPLICATES
from shotsmith.media.probe import probe
from tests.assistant._assistant_helpers import collect, open_agent
from tests.assistant._fake_openai import call, last_tool_result, say, tool_names, tool_surface

MAX_TOOLS = 15
MAX_CHARS = 12_000
BRIEF = "A 6 second ad for a bakery, 3 shots"
SHOT = {"setting": "", "style": "warm", "lighting": "", "source": None, "transition": "cut", "camera": "static"}
PLAN = {"brief": BRIEF, "duration_s": None, "aspect_ratio": None, "shot_count": None,
        "shots": [{**SHOT, "subject": s, "action": a, "duration_s": 2}
                  for s, a in (("a baker", "kneading dough"), ("an oven", "glowing"), ("a customer", "smiling"))]}
PLAN["shots"][1]["transition"] = "dissolve"


def walk(schema: dict, where: str):
    """Every object node of a schema, with its path."""
    yield where, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from walk(sub, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"], f"{where}[]")


def check_strict(tool: dict) -> None:
    function = tool["function"]
    assert function.get("strict") is True, function["name"]
    assert function.get("description"), function["name"]
    for where, node in walk(function["parameters"], function["name"]):
        if "properties" in node:
            assert node["additionalProperties"] is False, where
            assert sorted(node["required"]) == sorted(node["properties"]), where
            for name, prop in node["properties"].items():
                assert prop.get("description"), f"{where}.{name} has no description"
        assert "default" not in node and "title" not in node and "$ref" not in node, where
        if isinstance(node.get("type"), list) and "enum" in node:
            assert None in node["enum"], f"{where}: a nullable enum must list null"


@pytest.mark.slow
def test_every_call_of_a_whole_conversation_fits_the_surface_budget(tmp_path, fake_llm, make_clip):
    project = tmp_path / "proj"
    make_clip("music.mp4", duration=6, size="160x90", folder=project / "assets")
    fake_llm.add(call("plan_shots", PLAN), call("estimate_cost", {"shots": None}), call("generate_shots", {}),
                 call("render", {"preview": True, "output": None}), say("Preview ready."))
    session = open_agent(project, fake_llm)
    collect(session.send(BRIEF))
    assert session.last_error is None
    fake_llm.add(call("add_title", {"text": "Fresh every morning", "start_s": 0, "end_s": 2, "position": "bottom"}),
                 call("list_media", {"page": None}),
                 call("add_audio", {"file": "music.mp4", "role": "music", "start_s": 0, "volume": 0.5,
                                    "loop": False}),
                 call("add_captions", {"cues": [{"start_s": 2, "end_s": 4, "text": "Since 1952"}], "srt_file": None,
                                       "burn": True}),
                 call("edit_shot", {"shot": 2, "speed": 0.5}),
                 call("show_project", {"page": None}),
                 call("set_output", {"preset": "web"}),
                 call("render", {"preview": False, "output": None}),
                 call("export", {"kind": "otio", "output": None}),
                 say("Titled, scored, captioned and exported."))
    collect(session.send("add a title, music and a caption, slow shot 2 down, then export"))
    assert session.last_error is None, session.last_error
    assert fake_llm.exhausted == 0

    # The edits survived the render: 2 + 4 (half speed) + 2 s on screen (a transition overlaps handles).
    assert probe(project / "renders" / "final.mp4").duration_s == pytest.approx(8.0, abs=0.15)
    assert (project / "renders" / "cut.otio").is_file()
    timeline = session.store.project.timeline
    assert timeline.clips[1].speed == 0.5 and timeline.clips[1].transition_to_next.kind == "dissolve"
    assert all(c["ok"] for c in session.tool_calls), [c for c in session.tool_calls if not c["ok"]]
    assert len(timeline.titles) == 1 and len(timeline.audio) == 1 and len(timeline.captions) == 1

    sizes = [tool_surface(r) for r in fake_llm.requests]
    print("tool surface per call (tools, chars):", sizes)
    assert [(c["tools"], c["chars"]) for c in session.tool_surface] == sizes  # what the session reports is sent
    assert all(n <= MAX_TOOLS for n, _ in sizes), sizes
    assert all(chars <= MAX_CHARS for _, chars in sizes), sizes
    offered = set()
    for request in fake_llm.requests:
        names = tool_names(request)
        assert len(names) == len(set(names))
        offered |= set(names)
        for tool in request["tools"]:
            check_strict(tool)
    assert not offered & PLAN_DUPLICATES, offered & PLAN_DUPLICATES
    render = next(t for t in fake_llm.requests[-1]["tools"] if t["function"]["name"] == "render")
    assert "preview" in render["function"]["parameters"]["properties"]  # the service's render, not the catalogue's
    # The phases: planning offers few tools, finishing offers the finish tools and no generation.
    assert tool_names(fake_llm.requests[0]) == ["plan_shots", "show_project", "list_media", "add_cast"]
    assert "generate_shots" in tool_names(fake_llm.requests[1])
    finish = tool_names(fake_llm.requests[-1])
    assert {"add_title", "add_audio", "export"} <= set(finish) and "generate_shots" not in finish
    session.close()


def test_the_full_tool_set_is_strict_and_small(tmp_path):
    """Every tool the agent can run, checked as langchain-openai formats it with strict=True."""
    from shotsmith.assistant.agent.build import build_tools
    from shotsmith.assistant.agent.middleware import PHASE_TOOLS
    from shotsmith.assistant.agent.schemas import tool_json
    from shotsmith.assistant.production import ProductionService

    service = ProductionService.open(tmp_path / "p")
    tools = {t.name: t for t in build_tools(service, planner_label="test")}
    for tool in tools.values():
        check_strict(tool_json(tool))
    for phase, names in PHASE_TOOLS.items():
        assert set(names) <= set(tools), phase
        chars = sum(len(json.dumps(tool_json(tools[n]), separators=(",", ":"))) for n in names)
        assert len(names) <= MAX_TOOLS and chars <= MAX_CHARS, (phase, len(names), chars)


def test_listings_are_paged_and_results_capped(tmp_path, fake_llm):
    project = tmp_path / "proj"
    (project / "assets").mkdir(parents=True)
    for i in range(3000):
        (project / "assets" / f"take_{i:04d}_{'long-name-' * 4}.mp4").write_bytes(b"")
    fake_llm.add(call("list_media", {"page": None}), call("list_media", {"page": 2}), say("Lots of takes."))
    session = open_agent(project, fake_llm)
    collect(session.send("what media do I have?"))
    first = last_tool_result(fake_llm.requests[1])
    assert len(first) <= 4000
    page = json.loads(first)
    assert page["total"] == 3000 and "page 2" in page["more"]
    second = json.loads(last_tool_result(fake_llm.requests[2]))
    assert second["files"][0] != page["files"][0]
    session.close()


def test_cap_says_how_much_was_left_out():
    from shotsmith.assistant.agent.schemas import cap

    text = "x" * 10_000
    capped = cap(text)
    assert len(capped) <= 4000 and "more characters cut" in capped and str(10_000 - 4000) in capped
    assert cap("short") == "short"
