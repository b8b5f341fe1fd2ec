"""The structural rubric a shot plan is scored on (0-1 per check, mean is the score).

It checks what a plan must get right whatever its taste: the brief's duration
(±10%), aspect ratio and shot count; every shot naming a subject, an action
and a camera move; every shot feasible on the chosen backend (no snapping, no
unsupported aspect); no two shots with the same prompt; the user's own footage
used where the brief names it. It does not judge how good the prompts are.
"""

from __future__ import annotations

from dataclasses import dataclass

from shotsmith.backends.base import Backend
from shotsmith.brief import ShotPlan

CHECKS = ("duration", "aspect", "shot_count", "shot_fields", "capabilities", "no_duplicates", "footage")


@dataclass
class Score:
    case: str
    checks: dict[str, float]
    notes: list[str]

    @property
    def total(self) -> float:
        return sum(self.checks.values()) / len(self.checks)


def score_plan(case: dict, plan: ShotPlan | None, backend: Backend, *, resolution: str = "720p", fps: int = 30) -> Score:
    from shotsmith.backends.base import GenerationRequest

    expect = case["expect"]
    notes: list[str] = []
    if plan is None:
        return Score(case["id"], {c: 0.0 for c in CHECKS}, ["no plan was made"])
    checks: dict[str, float] = {}
    total = plan.total_duration_s
    want = float(expect["duration_s"])
    checks["duration"] = 1.0 if abs(total - want) <= 0.1 * want + 1e-6 else 0.0
    if not checks["duration"]:
        notes.append(f"{total:g}s for {want:g}s")
    checks["aspect"] = 1.0 if plan.aspect_ratio == expect["aspect_ratio"] else 0.0
    if not checks["aspect"]:
        notes.append(f"aspect {plan.aspect_ratio}, want {expect['aspect_ratio']}")
    if "shot_count" in expect:
        checks["shot_count"] = 1.0 if len(plan.shots) == expect["shot_count"] else 0.0
        if not checks["shot_count"]:
            notes.append(f"{len(plan.shots)} shots, want {expect['shot_count']}")
    else:  # not fixed: any count of sensible shots (1-8 s each on average) passes
        average = total / len(plan.shots)
        checks["shot_count"] = 1.0 if 1.0 <= average <= 8.0 else 0.0
    generated = [s for s in plan.shots if not s.source]
    complete = [s for s in generated if s.subject.strip() and s.action.strip() and s.camera]
    checks["shot_fields"] = len(complete) / len(generated) if generated else 1.0
    caps = backend.capabilities()
    feasible = 0
    for shot in generated:
        request = GenerationRequest(prompt=shot.prompt, duration_s=shot.duration_s + shot.handle_s,
                                    aspect_ratio=plan.aspect_ratio, resolution=resolution, fps=fps,
                                    camera=shot.camera, style=shot.style, shot_index=shot.index)
        try:
            _, warnings = backend.prepare(request)
        except Exception as exc:  # refused outright: unsupported aspect, prompt too long
            notes.append(f"shot {shot.index}: {exc}")
            continue
        snapped = [w for w in warnings if "duration" in w]
        if snapped:
            notes.append(snapped[0])
        else:
            feasible += 1
    checks["capabilities"] = feasible / len(generated) if generated else 1.0
    if plan.aspect_ratio not in caps.aspect_ratios:
        checks["capabilities"] = 0.0
    prompts = [s.prompt.strip().lower() for s in plan.shots]
    checks["no_duplicates"] = len(set(prompts)) / len(prompts)
    footage = case.get("footage") or []
    if footage:
        used = {(s.source or "").rsplit("/", 1)[-1] for s in plan.shots}
        checks["footage"] = sum(1 for f in footage if f in used) / len(footage)
        if checks["footage"] < 1:
            notes.append(f"footage not used: {', '.join(f for f in footage if f not in used)}")
    else:
        checks["footage"] = 1.0
    return Score(case["id"], checks, notes)
