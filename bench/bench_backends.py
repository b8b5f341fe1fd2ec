"""Backend job-engine bench, against the local Runway mock (no network, no key).

Three figures, from one run:

1. concurrency: 8 shots at 2 s simulated latency each take at most 1.5x one shot's wall time;
2. cache: a rerun with nothing changed makes no remote call and takes under 5% of the first run;
3. faults: with 30% of API calls answered 5xx/429, every shot still completes.

Run: ``.venv/bin/python bench/bench_backends.py`` (add ``--no-readme`` to leave
bench/README.md alone). Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository root holds the tests package

from tests.backends.backend_mocks.runway import RunwayMock  # noqa: E402

from shotsmith.backends.base import GenerationRequest  # noqa: E402
from shotsmith.backends.engine import generate_shots  # noqa: E402
from shotsmith.backends.http import RetryPolicy  # noqa: E402
from shotsmith.backends.runway import RunwayBackend  # noqa: E402
from shotsmith.media.ffmpeg import run_ffmpeg  # noqa: E402
from shotsmith.store import ProjectStore  # noqa: E402

KEY = "sk-bench-not-a-real-key-000"
LATENCY_S = 2.0
SHOTS = 8
FAULT_RATE = 0.30


def shots(tag: str, n: int = SHOTS) -> list[GenerationRequest]:
    return [GenerationRequest(prompt=f"{tag}: shot {i}, a lighthouse at dawn", duration_s=5, shot_index=i)
            for i in range(1, n + 1)]


def backend(mock: RunwayMock, **kw) -> RunwayBackend:
    options = dict(base_url=mock.url, api_key=KEY, concurrency=SHOTS, poll_interval_s=0.1,
                   retry=RetryPolicy(max_attempts=10, base_delay_s=0.1, max_delay_s=1.0))
    options.update(kw)
    return RunwayBackend(**options)


def timed(store: ProjectStore, be: RunwayBackend, requests: list[GenerationRequest]):
    started = time.perf_counter()
    outcomes = asyncio.run(generate_shots(store, be, requests))
    return time.perf_counter() - started, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-readme", action="store_true", help="do not write the figures into bench/README.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    random.seed(7)
    with tempfile.TemporaryDirectory(prefix="shotsmith-bench-backends-") as tmp:
        tmp_path = Path(tmp)
        clip = tmp_path / "clip.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=24:d=2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(clip)])
        mock = RunwayMock(clip, key=KEY, latency=LATENCY_S).start()
        try:
            one_s, one = timed(ProjectStore.create(tmp_path / "one"), backend(mock), shots("single", 1))
            assert one[0].ok, one[0].error

            store = ProjectStore.create(tmp_path / "eight")
            eight_s, eight = timed(store, backend(mock), shots("eight"))
            assert all(o.ok for o in eight), [o.error for o in eight]

            calls_before = len(mock.log)
            rerun_s, rerun = timed(store, backend(mock), shots("eight"))
            remote_calls = len(mock.log) - calls_before
            assert all(o.cached for o in rerun)

            mock.faults.random_rate = FAULT_RATE
            faults_store = ProjectStore.create(tmp_path / "faults")
            requests_before = len(mock.log)
            faults_s, faulty = timed(faults_store, backend(mock), shots("faults"))
            fault_calls = len(mock.log) - requests_before
            completed = sum(o.ok for o in faulty)
            injected = mock.injected
        finally:
            mock.stop()

    concurrency_ratio = eight_s / one_s
    rerun_ratio = rerun_s / eight_s
    results = [
        ("one shot (2 s simulated latency)", f"{one_s:.2f} s", ""),
        (f"{SHOTS} shots concurrently", f"{eight_s:.2f} s", f"{concurrency_ratio:.2f}x one shot (target <= 1.5x)"),
        ("rerun, nothing changed", f"{rerun_s * 1000:.1f} ms, {remote_calls} remote calls",
         f"{rerun_ratio * 100:.2f}% of the first run (target < 5%, 0 calls)"),
        (f"{SHOTS} shots with {FAULT_RATE:.0%} injected 5xx/429", f"{faults_s:.2f} s",
         f"{completed}/{SHOTS} completed; {injected} faults in {fault_calls} API calls"),
    ]
    ok = concurrency_ratio <= 1.5 and rerun_ratio < 0.05 and remote_calls == 0 and completed == SHOTS
    for name, value, note in results:
        print(f"{name:<40} {value:<28} {note}")
    print("PASS" if ok else "FAIL")
    if not args.no_readme:
        write_readme(results, ok)
    return 0 if ok else 1


def write_readme(results, ok: bool) -> None:
    readme = ROOT / "bench" / "README.md"
    lines = ["## Backends", "",
             "`bench/bench_backends.py`: the job engine against the local Runway mock (tests/backends/backend_mocks),",
             "poll interval 0.1 s, concurrency 8. Figures from the last run "
             f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {'all targets met' if ok else 'TARGET MISSED'}):",
             "", "| run | wall time | against the target |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {note} |" for name, value, note in results]
    lines += ["", "Run it with `.venv/bin/python bench/bench_backends.py`.", ""]
    section = "\n".join(lines)
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n\n"
    pattern = re.compile(r"^## Backends\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda m: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    readme.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
