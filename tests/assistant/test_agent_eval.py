"""The eval harness runs in CI with the offline planner and must keep its score.

It also proves the rubric can fail: a plan that ignores the brief scores low.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "agent_eval"
MIN_SCORE = 0.9


def _load(name: str):
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"agent_eval_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_eval_set_is_varied():
    cases = _load("run").load_cases()
    assert len(cases) >= 20
    kinds = {c["kind"] for c in cases}
    assert {"ad", "explainer", "music video", "trailer", "social"} <= kinds
    assert any(c.get("footage") for c in cases) and any(not c.get("footage") for c in cases)
    assert {c["expect"]["aspect_ratio"] for c in cases} >= {"16:9", "9:16", "1:1", "4:5"}


@pytest.mark.slow
def test_offline_planner_meets_the_minimum_score(capsys):
    run = _load("run")
    results = run.evaluate()
    print(run.table(results, "offline planner"))
    mean = sum(s.total for s, _ in results) / len(results)
    assert mean >= MIN_SCORE, capsys.readouterr().out
    for score, _ in results:
        assert score.checks["aspect"] == 1.0 and score.checks["duration"] == 1.0, score


def test_rubric_fails_a_plan_that_ignores_the_brief():
    from shotsmith.assistant.plan_ops import ShotDraft, plan_from_drafts
    from shotsmith.backends.registry import get_backend

    rubric = _load("rubric")
    case = {"id": "x", "expect": {"duration_s": 15, "aspect_ratio": "9:16", "shot_count": 3}, "footage": ["beach.mp4"]}
    bad = plan_from_drafts([ShotDraft(subject="a dog", action="runs", duration_s=10) for _ in range(2)],
                           aspect_ratio="16:9", planner="test")
    score = rubric.score_plan(case, bad, get_backend("animatic"))
    assert score.checks["duration"] == 0 and score.checks["aspect"] == 0 and score.checks["shot_count"] == 0
    assert score.checks["no_duplicates"] == 0.5 and score.checks["footage"] == 0
    assert score.total < 0.5
    assert rubric.score_plan(case, None, get_backend("animatic")).total == 0


def test_eval_harness_drives_a_configured_model(fake_llm):
    from tests.assistant._fake_openai import call, say

    run = _load("run")
    case = {"id": "vertical", "kind": "social", "brief": "A 6 second TikTok for a bakery, 2 shots",
            "expect": {"duration_s": 6, "aspect_ratio": "9:16", "shot_count": 2}}
    shots = [{"subject": "a baker", "action": "shaping dough", "camera": "zoom_in", "duration_s": 3},
             {"subject": "a croissant", "action": "flaking apart", "camera": "static", "duration_s": 3}]
    fake_llm.add(call("plan_shots", {"brief": case["brief"], "aspect_ratio": "9:16", "shots": shots}),
                 say("Planned."))
    [(score, _)] = run.evaluate(llm="openai:fake-model", llm_base_url=fake_llm.base_url, cases=[case])
    assert score.total == 1.0, score
    assert "Do not generate" in fake_llm.requests[0]["messages"][-1]["content"]
