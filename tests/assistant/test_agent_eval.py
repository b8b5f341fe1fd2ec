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
