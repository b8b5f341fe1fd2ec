"""Score shot plans for the eval briefs with the offline planner or any configured model.

    .venv/bin/python bench/agent_eval/run.py                       # offline planner (CI runs this)
    .venv/bin/python bench/agent_eval/run.py --llm openai:gpt-4.1-mini
    .venv/bin/python bench/agent_eval/run.py --llm ollama:qwen2.5 --llm-base-url http://localhost:11434/v1

Each brief is planned in a fresh temporary project (briefs that name footage
get a tiny real clip of that name in ``assets/``), through the same
ChatSession the CLI uses, asked to plan only. Prints one row per brief and the
mean score, so models can be compared; ``--json`` writes the rows too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from rubric import CHECKS, Score, score_plan  # noqa: E402

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


def plan_case(case: dict, *, llm: str | None, llm_base_url: str | None, backend: str, root: Path) -> tuple[Score, float]:
    from shotsmith.assistant.session import ChatSession
    from shotsmith.backends.registry import get_backend

    project = root / case["id"]
    _make_footage(project / "assets", case.get("footage") or [])
    session = ChatSession.open(project, llm=llm, llm_base_url=llm_base_url, backend=backend, offline=llm is None)
    started = time.perf_counter()

    async def turn() -> None:
        async for _ in session.send(case["brief"] + (PLAN_ONLY if llm else "")):
            pass

    try:
        asyncio.run(turn())
    finally:
        session.close()
    elapsed = time.perf_counter() - started
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llm", help="provider:model; default: the offline planner")
    parser.add_argument("--llm-base-url")
    parser.add_argument("--backend", default="animatic", help="whose capabilities the plans must fit")
    parser.add_argument("--json", type=Path, help="write the scores here")
    parser.add_argument("--min-score", type=float, default=0.0, help="exit 1 below this mean score")
    args = parser.parse_args(argv)
    results = evaluate(llm=args.llm, llm_base_url=args.llm_base_url, backend=args.backend)
    print(table(results, args.llm or "offline planner"))
    mean = sum(s.total for s, _ in results) / max(1, len(results))
    if args.json:
        args.json.write_text(json.dumps({"who": args.llm or "offline planner", "mean": mean,
                                         "rows": [{"case": s.case, "checks": s.checks, "score": s.total,
                                                   "notes": s.notes, "seconds": t} for s, t in results]}, indent=2))
    return 0 if mean >= args.min_score else 1


if __name__ == "__main__":
    sys.exit(main())
