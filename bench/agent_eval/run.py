"""Score an assistant (the offline planner or any configured model): its plans, and how it behaves.

    .venv/bin/python bench/agent_eval/run.py                       # offline planner (CI runs this)
    .venv/bin/python bench/agent_eval/run.py --llm openai:gpt-4.1-mini
    .venv/bin/python bench/agent_eval/run.py --llm ollama:qwen2.5 --llm-base-url http://localhost:11434/v1

Each brief is planned in a fresh temporary project (briefs that name footage
get a tiny real clip of that name in ``assets/``), through the same session
the CLI uses (``open_session``), asked to plan only, and scored on the
structural rubric (``rubric.py``). Then the trajectories (``trajectory.py``)
run whole conversations on a priced backend and score behaviour: approvals
asked, only changed shots regenerated, edits surviving the render, cost
within the cap. For a model, the tool surface each call was offered is
printed too. ``--json`` writes every row.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_module(name: str):
    """A sibling module of this folder, loaded by file path (the folder is not a package)."""
    full = f"agent_eval_{name}"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.spec_from_file_location(full, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


_rubric = load_module("rubric")
CHECKS, Score, score_plan = _rubric.CHECKS, _rubric.Score, _rubric.score_plan

PLAN_ONLY = ("\n\n(Evaluation run: plan the shots with plan_shots, using the user's files where the brief names them, "
             "then stop. Do not generate or render.)")


def load_cases(path: Path = HERE / "briefs.json") -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def _make_footage(folder: Path, names: list[str]) -> None:
    from shotsmith.media.ffmpeg import run_ffmpeg

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=24:d=4", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(folder / name)])


#: Tool surface of every model call made while planning (LLM only): {"phase", "tools", "chars"}.
SURFACE: list[dict] = []


def plan_case(case: dict, *, llm: str | None, llm_base_url: str | None, backend: str, root: Path) -> tuple[Score, float]:
    from shotsmith.assistant import ServiceOptions, open_session
    from shotsmith.backends.registry import get_backend

    project = root / case["id"]
    _make_footage(project / "assets", case.get("footage") or [])
    session = open_session(project, options=ServiceOptions(backend=backend), llm=llm, llm_base_url=llm_base_url,
                           offline=llm is None)
    started = time.perf_counter()

    async def turn() -> None:
        async for _ in session.send(case["brief"] + (PLAN_ONLY if llm else "")):
            pass

    try:
        asyncio.run(turn())
    finally:
        session.close()
    elapsed = time.perf_counter() - started
    SURFACE.extend(getattr(session, "tool_surface", []))
    score = score_plan(case, session.store.project.plan, get_backend(backend))
    if session.last_error is not None:
        score.notes.insert(0, f"error: {session.last_error.message}")
    return score, elapsed


def evaluate(*, llm: str | None = None, llm_base_url: str | None = None, backend: str = "animatic",
             cases: list[dict] | None = None) -> list[tuple[Score, float]]:
    cases = cases or load_cases()
    with tempfile.TemporaryDirectory(prefix="shotsmith-eval-") as tmp:
        return [plan_case(c, llm=llm, llm_base_url=llm_base_url, backend=backend, root=Path(tmp)) for c in cases]


def table(results: list[tuple[Score, float]], who: str) -> str:
    head = ["brief", *CHECKS, "score", "s"]
    rows = [[s.case, *(f"{s.checks[c]:.2f}" for c in CHECKS), f"{s.total:.2f}", f"{t:.1f}"] for s, t in results]
    mean = sum(s.total for s, _ in results) / max(1, len(results))
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [f"agent eval · {who} · {len(results)} briefs · mean score {mean:.3f}",
             "  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    notes = [f"  {s.case}: {'; '.join(s.notes)}" for s, _ in results if s.notes]
    return "\n".join(lines + (["notes:", *notes] if notes else []))


def surface_line(calls: list[dict]) -> str:
    """The tool surface a model was shown, per call, in one line."""
    if not calls:
        return "tool surface: no model calls"
    return (f"tool surface: {len(calls)} model calls, at most {max(c['tools'] for c in calls)} tools and "
            f"{max(c['chars'] for c in calls)} characters of tool JSON per call "
            f"(mean {sum(c['chars'] for c in calls) / len(calls):.0f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llm", help="provider:model; default: the offline planner")
    parser.add_argument("--llm-base-url")
    parser.add_argument("--backend", default="animatic", help="whose capabilities the plans must fit")
    parser.add_argument("--json", type=Path, help="write the scores here")
    parser.add_argument("--min-score", type=float, default=0.0, help="exit 1 below this mean score")
    parser.add_argument("--no-trajectories", action="store_true", help="score the plans only")
    args = parser.parse_args(argv)
    who = args.llm or "offline planner"
    results = evaluate(llm=args.llm, llm_base_url=args.llm_base_url, backend=args.backend)
    print(table(results, who))
    if args.llm:
        print(surface_line(SURFACE))
    mean = sum(s.total for s, _ in results) / max(1, len(results))
    trajectories = []
    if not args.no_trajectories:
        trajectory = load_module("trajectory")
        trajectories = trajectory.evaluate(llm=args.llm, llm_base_url=args.llm_base_url)
        print()
        print(trajectory.table(trajectories, who))
        mean = (mean + sum(t.total for t in trajectories) / max(1, len(trajectories))) / 2
    if args.json:
        args.json.write_text(json.dumps({
            "who": who, "mean": mean,
            "rows": [{"case": s.case, "checks": s.checks, "score": s.total, "notes": s.notes, "seconds": t}
                     for s, t in results],
            "trajectories": [{"case": t.case, "checks": t.checks, "score": t.total, "notes": t.notes,
                              "asked": t.asked, "spent_usd": t.spent_usd, "surface": t.surface}
                             for t in trajectories],
            "surface": SURFACE}, indent=2))
    return 0 if mean >= args.min_score else 1


if __name__ == "__main__":
    sys.exit(main())
