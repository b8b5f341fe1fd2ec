"""The eval harness runs in CI with the offline planner and must keep its score.

It also proves the rubric and the trajectory checks can fail: a plan that
ignores the brief scores low, and a model that edits but never renders again
loses ``edits_survive_render``. The bench modules are loaded by file path
(``bench/agent_eval`` is not a package), without touching ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.assistant._fake_openai import call, say

BENCH = Path(__file__).resolve().parents[2] / "bench" / "agent_eval"
MIN_SCORE = 0.9


def _load(name: str):
    full = f"agent_eval_{name}"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.spec_from_file_location(full, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module  # dataclasses look their module up
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
    from shotsmith.assistant.production.drafting import ShotDraft, plan_from_drafts
    from shotsmith.backends.registry import get_backend

    rubric = _load("rubric")
    case = {"id": "x", "expect": {"duration_s": 15, "aspect_ratio": "9:16", "shot_count": 3}, "footage": ["beach.mp4"]}
    bad = plan_from_drafts([ShotDraft(subject="a dog", action="runs", duration_s=10) for _ in range(2)],
                           aspect_ratio="16:9", planner="test")
    score = rubric.score_plan(case, bad, get_backend("animatic"))
    assert score.checks["duration"] == 0 and score.checks["aspect"] == 0 and score.checks["shot_count"] == 0
    assert score.checks["no_duplicates"] == 0.5 and score.checks["footage"] == 0
    assert score.total < 0.6
    assert rubric.score_plan(case, None, get_backend("animatic")).total == 0


def test_eval_harness_drives_a_configured_model(fake_llm):
    run = _load("run")
    case = {"id": "vertical", "kind": "social", "brief": "A 6 second TikTok for a bakery, 2 shots",
            "expect": {"duration_s": 6, "aspect_ratio": "9:16", "shot_count": 2}}
    base = {"setting": "in a bakery", "style": "", "lighting": "", "source": None, "transition": "cut"}
    shots = [{**base, "subject": "a baker", "action": "shaping dough", "camera": "zoom_in", "duration_s": 3},
             {**base, "subject": "a croissant", "action": "flaking apart", "camera": "static", "duration_s": 3}]
    fake_llm.add(call("plan_shots", {"brief": case["brief"], "duration_s": None, "aspect_ratio": "9:16",
                                     "shot_count": None, "shots": shots}), say("Planned."))
    run.SURFACE.clear()
    [(score, _)] = run.evaluate(llm="openai:fake-model", llm_base_url=fake_llm.base_url, cases=[case])
    assert score.checks["duration"] == score.checks["aspect"] == score.checks["shot_count"] == 1.0, score
    assert "Do not generate" in fake_llm.requests[0]["messages"][-1]["content"]
    assert [c["tools"] for c in run.SURFACE] == [4, 12]  # plan phase, then produce phase (with storyboard)
    assert "at most 12 tools" in run.surface_line(run.SURFACE)


@pytest.mark.slow
def test_trajectories_pass_with_the_offline_planner(tmp_path):
    trajectory = _load("trajectory")
    results = trajectory.evaluate(root=tmp_path)
    print(trajectory.table(results, "offline planner"))
    for result in results:
        assert result.total == 1.0, (result.case, result.notes)
        assert result.asked >= 2 and 0 < result.spent_usd <= trajectory.MAX_COST_USD


TRAJECTORY = {"id": "t", "brief": "A 4 second ad for a bakery, 2 shots",
              "turns": [["generate and render the final video"],
                        ["make shot 2 slower", "generate and render the final video"],
                        ["shot 1: a baker dusting flour", "generate and render the final video"]],
              "expect": {"slower": 2, "changed": [1]}}
SHOT = {"setting": "", "style": "", "lighting": "", "source": None, "transition": "cut", "camera": "static",
        "duration_s": 2}
PLAN = {"brief": TRAJECTORY["brief"], "duration_s": None, "aspect_ratio": None, "shot_count": None,
        "shots": [{**SHOT, "subject": "a baker", "action": "kneading"}, {**SHOT, "subject": "bread", "action": "steaming"}]}


def _script(fake_llm, *, render_after_edits: bool) -> None:
    render = call("render", {"preview": False, "output": None})
    approve = call("storyboard", {"action": "approve", "shots": None, "change": None, "camera": None})
    fake_llm.add(call("plan_shots", PLAN), say("Planned two shots."),
                 call("generate_shots", {"shots": None}),  # draws the (free) stills; the video waits for them
                 say("Here is the storyboard."),
                 approve, call("generate_shots", {"shots": None}),  # "looks good": asks; answered yes
                 render, say("Rendered."),
                 call("edit_shot", {"shot": 2, "speed": 0.5}), say("Shot 2 is slower."),
                 call("generate_shots", {"shots": None}),  # nothing to pay: the clip is reused
                 *([render] if render_after_edits else []), say("Done."),
                 call("edit_shot", {"shot": 1, "action": "dusting flour"}), say("Changed shot 1."),
                 call("generate_shots", {"shots": None}),  # shot 1's new still waits for a look
                 say("Shot 1's new still is ready."),
                 approve, call("generate_shots", {"shots": None}),  # asks for shot 1 only
                 *([render] if render_after_edits else []), say("Done again."))


@pytest.mark.slow
def test_trajectory_checks_judge_a_model_and_can_fail(tmp_path, fake_llm):
    trajectory = _load("trajectory")
    _script(fake_llm, render_after_edits=True)
    [good] = trajectory.evaluate(llm="openai:fake-model", llm_base_url=fake_llm.base_url, cases=[TRAJECTORY],
                                 root=tmp_path / "good")
    assert good.total == 1.0, good.notes
    assert good.asked == 2 and fake_llm.exhausted == 0
    assert good.surface and max(c["tools"] for c in good.surface) <= 15
    assert "tool surface" in trajectory.table([good], "fake")

    _script(fake_llm, render_after_edits=False)  # a model that edits and says "done" without rendering
    [lazy] = trajectory.evaluate(llm="openai:fake-model", llm_base_url=fake_llm.base_url, cases=[TRAJECTORY],
                                 root=tmp_path / "lazy")
    assert lazy.checks["edits_survive_render"] == 0.0, lazy.notes
    assert lazy.checks["asked_before_spending"] == 1.0 and lazy.checks["only_changed_regenerated"] == 1.0
