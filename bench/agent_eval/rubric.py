"""The structural rubric a shot plan is scored on (0-1 per check, mean is the score).

It checks what a plan must get right whatever its taste: the brief's duration
(±10%), aspect ratio and shot count; every shot naming a subject, an action
and a camera move; every shot feasible on the chosen backend (no snapping, no
unsupported aspect); no two shots with the same prompt; the user's own footage
used where the brief names it. It does not judge how good the prompts are.

Three checks read the brief's words the way a camera operator would:

- ``clean_subjects``: a style or camera word of the brief ("gritty",
  "handheld", "slow-motion") is never a shot's subject or part of it, and every
  subject keeps a word that names a thing. (The offline planner once planned
  "Medium shot of handheld in candid, natural motion".)
- ``camera_words``: each camera word of the brief shows up in the plan, as a
  camera move or in a prompt, so a planner cannot pass the check above by
  dropping the words.
- ``variety``: no generated shot reads like another (difflib ratio of the
  prompts below ``NEAR_TWIN``), so a long or capped brief gets varied
  coverage, not 60 copies of one prompt.

The word lists here are the rubric's own, kept apart from the planner's
vocabulary, so the planner is not graded by its own rules.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from shotsmith.backends.base import Backend
from shotsmith.brief import ShotPlan

CHECKS = ("duration", "aspect", "shot_count", "shot_fields", "capabilities", "no_duplicates", "footage",
          "clean_subjects", "camera_words", "variety")
NEAR_TWIN = 0.9  # difflib ratio at which two prompts read as the same shot

# Camera words, each with what in a plan honours it: camera moves (by value) or words in a prompt.
CAMERA_WORDS: dict[str, tuple[set[str], tuple[str, ...]]] = {
    r"hand[\s-]?held|shaky[\s-]?cam": (set(), ("handheld", "hand-held", "shaky")),
    r"drone|aerial|bird'?s[\s-]eye|fpv": (set(), ("aerial", "drone", "bird", "fpv")),
    r"slow[\s-]?mo(?:tion)?|slo[\s-]?mo": (set(), ("slow motion", "slow-motion", "slow-mo", "slowmo")),
    r"time[\s-]?lapse": (set(), ("time-lapse", "timelapse", "time lapse")),
    r"macro": (set(), ("macro",)),
    r"steadicam|gimbal": (set(), ("steadicam", "gimbal")),
    r"push[\s-]?in|dolly[\s-]in|zoom(?:s|ing)?[\s-]in": ({"zoom_in"}, ("push", "dolly in", "zoom in")),
    r"pull[\s-]?(?:back|out)|zoom(?:s|ing)?[\s-]out": ({"zoom_out"}, ("pull", "zoom out")),
    r"static|tripod|locked[\s-]off": ({"static"}, ("static", "locked", "tripod")),
    r"pan(?:s|ning)?[\s-]left": ({"pan_left"}, ("pan left",)),
    r"pan(?:s|ning)?[\s-]right": ({"pan_right"}, ("pan right",)),
    r"tilt(?:s|ing)?[\s-]up": ({"tilt_up"}, ("tilt up",)),
    r"tilt(?:s|ing)?[\s-]down": ({"tilt_down"}, ("tilt down",)),
    r"tracking": ({"pan_left", "pan_right"}, ("tracking",)),
    r"whip[\s-]pan": ({"pan_left", "pan_right"}, ("whip",)),
    r"top[\s-]down|overhead": (set(), ("top-down", "overhead", "from above")),
}
# Words that say how a video looks or is shot, never what it shows (as a subject, or inside one).
CUE_WORDS = (r"hand[\s-]?held|drone[\s-]shots?|aerials?|dolly|push[\s-]?ins?|pull[\s-]?backs?|slow[\s-]?mo(?:tion)?"
             r"|time[\s-]?lapses?|macro|steadicam|gimbal|tripod|locked[\s-]off|static|tracking[\s-]shots?|fpv|pov"
             r"|close[\s-]?ups?|wide[\s-]shots?|gritty|cinematic|moody|grainy|noir|filmic|dreamy|lo[\s-]?fi|35mm|16mm"
             r"|8mm|anamorphic|black[\s-]and[\s-]white|monochrome|desaturated|high[\s-]contrast|vibrant|punchy|epic"
             r"|aesthetic|vibe|colou?r[\s-]grade|grade|graded|film[\s-]grain|teal[\s-]and[\s-]orange")
_ARTICLES = {"a", "an", "the", "some", "of", "and", "with", "in", "on", "shot", "shots", "footage", "style", "look"}
_MEDIA_FILE = re.compile(r"(?:\b(?:my|our)\s+(?:[\w-]+\s+){0,3})?[\w/-]+\.(?:mp4|mov|m4v|mkv|webm|avi|jpe?g|png)\b",
                         re.I)


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
    brief = _MEDIA_FILE.sub(" ", case.get("brief", ""))  # "my drone shot aerial.mp4" names a file, not a camera
    checks["clean_subjects"] = _clean_subjects(brief, generated, notes)
    checks["camera_words"] = _camera_words(brief, plan, notes)
    checks["variety"] = _variety(generated, notes)
    return Score(case["id"], checks, notes)


def _words(pattern: str, text: str) -> list[str]:
    return [m.group(0).lower() for m in re.finditer(rf"(?<![\w-])(?:{pattern})(?![\w-])", text, re.I)]


def _clean_subjects(brief: str, shots: list, notes: list[str]) -> float:
    """Share of generated shots whose subject holds no style/camera word of the brief and names something."""
    said = set(_words(CUE_WORDS, brief))
    if not shots:
        return 1.0
    clean = 0
    for shot in shots:
        subject = shot.subject.strip()
        leftover = re.sub(rf"(?<![\w-])(?:{CUE_WORDS})(?![\w-])", " ", subject, flags=re.I)
        names_something = any(w not in _ARTICLES for w in re.findall(r"[a-z0-9'&-]+", leftover.lower()))
        borrowed = [w for w in _words(CUE_WORDS, subject) if w in said]
        if names_something and not borrowed:
            clean += 1
        elif len(notes) < 8:
            notes.append(f"shot {shot.index}: subject {subject!r} is a style/camera word")
    return clean / len(shots)


def _camera_words(brief: str, plan: ShotPlan, notes: list[str]) -> float:
    """Share of the brief's camera words that a camera move or a prompt of the plan carries."""
    wanted = [(pattern, moves, phrases) for pattern, (moves, phrases) in CAMERA_WORDS.items() if _words(pattern, brief)]
    if not wanted:
        return 1.0
    prompts = " | ".join(s.prompt.lower() for s in plan.shots)
    used = {str(getattr(s.camera, "value", s.camera)) for s in plan.shots}
    honoured = 0
    for pattern, moves, phrases in wanted:
        if used & moves or any(p in prompts for p in phrases):
            honoured += 1
        else:
            notes.append(f"camera word {_words(pattern, brief)[0]!r} not in the plan")
    return honoured / len(wanted)


def _variety(shots: list, notes: list[str]) -> float:
    """Share of generated shots with no near-twin: another prompt at difflib ratio >= NEAR_TWIN."""
    prompts = [s.prompt.strip().lower() for s in shots]
    if len(prompts) < 2:
        return 1.0
    twins: set[int] = set()
    for i in range(len(prompts)):
        for j in range(i + 1, len(prompts)):
            if i in twins and j in twins:
                continue
            matcher = difflib.SequenceMatcher(None, prompts[i], prompts[j])
            if matcher.real_quick_ratio() >= NEAR_TWIN and matcher.quick_ratio() >= NEAR_TWIN \
                    and matcher.ratio() >= NEAR_TWIN:
                twins.update((i, j))
    if twins:
        notes.append(f"{len(twins)} of {len(prompts)} shots have a near-twin prompt (difflib ratio >= {NEAR_TWIN})")
    return 1 - len(twins) / len(prompts)
