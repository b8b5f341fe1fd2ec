"""Failure drills for the job engine and the cloud adapters, against the local provider mocks.

Each drill injects one fault from issue 9 (a status outage, a task that outlives its
deadline, a hung status endpoint, a hung create, a create whose answer is lost, a
download that drips, a redirect to another host, a bad key, a clip over the size cap,
an HTML page instead of the clip, an unresolvable API host, Ctrl-C on an API that cannot
cancel, a spending cap) and prints, per fault: the creates the provider received, the
wall time until the run ended with a clear per-shot error (or succeeded), the files left
behind in the project's clips folder, and what a rerun did (creates sent, resumed or not).

Bounds are shrunk so every drill ends in seconds (the production defaults are in
``shotsmith backends info NAME``); the time figures scale with them, the create counts
and files left behind do not.

Run: ``.venv/bin/python bench/bench_failures.py`` (add ``--no-readme`` to leave
bench/README.md alone). Exits non-zero when a drill misses its expectation.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository root holds the tests package

from tests.backends.backend_mocks.kling import ACCESS_KEY, SECRET_KEY, KlingMock  # noqa: E402
from tests.backends.backend_mocks.luma import LumaMock  # noqa: E402
from tests.backends.backend_mocks.runway import RunwayMock  # noqa: E402
from tests.backends.backend_mocks.server import Bouncer  # noqa: E402
from tests.backends.backend_mocks.veo import GEMINI_KEY, VeoMock  # noqa: E402

from shotsmith.backends.base import GenerationRequest  # noqa: E402
from shotsmith.backends.engine import failed_shots_error, generate_shots  # noqa: E402
from shotsmith.backends.http import RetryPolicy  # noqa: E402
from shotsmith.backends.kling import KlingBackend  # noqa: E402
from shotsmith.backends.luma import LumaBackend  # noqa: E402
from shotsmith.backends.runway import RunwayBackend  # noqa: E402
from shotsmith.backends.veo import VeoBackend  # noqa: E402
from shotsmith.errors import ShotsmithError  # noqa: E402
from shotsmith.media.ffmpeg import run_ffmpeg  # noqa: E402
from shotsmith.store import ProjectStore  # noqa: E402

RUNWAY_KEY = "sk-bench-runway-SECRET-000"
LUMA_KEY = "luma-bench-SECRET-000000"
RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.2, max_retry_after_s=1.0)
#: Short bounds for the drills (production defaults: 60 s, 1800 s, 600 s, 32 kB/s over 15 s).
BOUNDS = dict(request_timeout_s=0.5, timeout_s=3.0, download_timeout_s=2.0, min_download_kbs=1.0,
              download_window_s=0.5)


@dataclass
class Drill:
    name: str
    creates: int
    wall_s: float
    files_left: int
    outcome: str
    rerun: str
    ok: bool


def shot(i: int, prompt: str = "a lighthouse at dawn") -> GenerationRequest:
    return GenerationRequest(prompt=f"{prompt} {i}", duration_s=5, shot_index=i)


def left_behind(store: ProjectStore) -> int:
    """Files a failure left: anything in clips/ that is not a finished shot's clip, and partial files anywhere."""
    reopened = ProjectStore.open(store.root)
    finished = {store.root / r.clip for r in reopened.project.generations.values() if r.status == "succeeded" and r.clip}
    stray = [p for p in store.clips_dir.rglob("*") if p.is_file() and p not in finished]
    partial = [p for p in store.root.rglob("*.part*") if p.is_file() and p not in stray]
    return len(stray) + len(partial)


def short(text: str, limit: int = 170) -> str:
    """Ids and mock ports out, so the table reads the same from run to run."""
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", text)
    text = re.sub(r"http://127\.0\.0\.1:\d+", "MOCK", text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def first_error(outcomes) -> str:
    failed = [o for o in outcomes if not o.ok]
    return short(failed[0].describe()) if failed else "ok"


class Lab:
    def __init__(self, tmp: Path, clip: Path) -> None:
        self.tmp, self.clip = tmp, clip
        self.mocks = []
        self.count = 0

    def store(self) -> ProjectStore:
        self.count += 1
        return ProjectStore.create(self.tmp / f"p{self.count}")

    def mock(self, cls, **kw):
        mock = cls(self.clip, **kw).start()
        self.mocks.append(mock)
        return mock

    def stop(self) -> None:
        for mock in self.mocks:
            mock.stop()


def runway(mock, **kw) -> RunwayBackend:
    return RunwayBackend(**{**dict(base_url=mock.url, api_key=RUNWAY_KEY, poll_interval_s=0.05, retry=RETRY,
                                   concurrency=4), **BOUNDS, **kw})


def kling(mock, **kw) -> KlingBackend:
    return KlingBackend(**{**dict(base_url=mock.url, poll_interval_s=0.05, retry=RETRY), **BOUNDS, **kw})


def posts(mock) -> int:
    return sum(1 for r in mock.log if r.method == "POST")


def run(store, backend, requests, **kw):
    started = time.perf_counter()
    try:
        outcomes = asyncio.run(generate_shots(store, backend, requests, **kw))
        error = None
    except ShotsmithError as exc:
        outcomes, error = [], exc
    return outcomes, time.perf_counter() - started, error


def reopen(store: ProjectStore) -> ProjectStore:
    return ProjectStore.open(store.root)


# -- the drills ------------------------------------------------------------------------------------------------

def status_outage(lab: Lab) -> Drill:
    mock, store = lab.mock(RunwayMock, key=RUNWAY_KEY, latency=0.3), lab.store()
    mock.faults.poll_500 = 10_000
    outcomes, wall, _ = run(store, runway(mock, poll_outage_s=1.0), [shot(1)])
    files = left_behind(store)
    mock.faults.poll_500 = 0
    again, _, _ = run(reopen(store), runway(mock), [shot(1)])
    ok = not outcomes[0].ok and outcomes[0].resumable and again[0].ok and again[0].resumed and mock.submits == 1
    return Drill("status API answers 502 to every poll, poll_outage_s=1 s (runway)", 1, wall, files,
                 first_error(outcomes),
                 f"resumed={again[0].resumed}, new creates {mock.submits - 1}", ok)


def task_deadline(lab: Lab) -> Drill:
    mock, store = lab.mock(RunwayMock, key=RUNWAY_KEY, latency=4.0), lab.store()
    outcomes, wall, _ = run(store, runway(mock, timeout_s=1.0), [shot(1)])
    files = left_behind(store)
    for task in mock.tasks.values():
        task.created -= 60  # the provider finished it meanwhile
    again, _, _ = run(reopen(store), runway(mock), [shot(1)])
    ok = not outcomes[0].ok and outcomes[0].resumable and again[0].ok and again[0].resumed and mock.submits == 1
    return Drill("task outlives timeout_s=1 s (runway)", 1, wall, files, first_error(outcomes),
                 f"resumed={again[0].resumed}, new creates {mock.submits - 1}", ok)


def hung_status(lab: Lab) -> Drill:
    mock, store = lab.mock(RunwayMock, key=RUNWAY_KEY, latency=0.3), lab.store()
    mock.faults.poll_hang_s = 30.0
    outcomes, wall, _ = run(store, runway(mock, timeout_s=2.0), [shot(1)])
    files = left_behind(store)
    mock.faults.poll_hang_s = 0
    again, _, _ = run(reopen(store), runway(mock), [shot(1)])
    ok = (not outcomes[0].ok and outcomes[0].resumable and wall < 2.0 + 1.0 and again[0].ok and again[0].resumed
          and mock.submits == 1)
    return Drill("status endpoint hangs 30 s per call, timeout_s=2 s (runway)", 1, wall, files,
                 first_error(outcomes), f"resumed={again[0].resumed}, new creates {mock.submits - 1}", ok)


def hung_create(lab: Lab) -> Drill:
    mock, store = lab.mock(RunwayMock, key=RUNWAY_KEY, latency=0.2), lab.store()
    mock.faults.submit_hang_s = 30.0
    outcomes, wall, _ = run(store, runway(mock), [shot(1), shot(2)])
    files = left_behind(store)
    sent = posts(mock)
    mock.faults.submit_hang_s = 0
    again, _, _ = run(reopen(store), runway(mock), [shot(1), shot(2)])
    ok = sent == 2 and all(o.uncertain for o in outcomes) and posts(mock) == 2 and all(o.uncertain for o in again)
    return Drill("create hangs after the provider took it, 2 shots (runway)", sent, wall, files,
                 first_error(outcomes), f"new creates {posts(mock) - sent} (stopped: may have been created)", ok)


def lost_create(lab: Lab, provider: str) -> Drill:
    store = lab.store()
    if provider == "runway":
        mock = lab.mock(RunwayMock, key=RUNWAY_KEY, latency=0.2)
        make = lambda: runway(mock)  # noqa: E731
    elif provider == "kling":
        mock = lab.mock(KlingMock, latency=0.2)
        make = lambda: kling(mock)  # noqa: E731
    else:
        mock = lab.mock(LumaMock, key=LUMA_KEY, latency=0.2)
        make = lambda: LumaBackend(base_url=mock.url + "/dream-machine/v1", api_key=LUMA_KEY,  # noqa: E731
                                   poll_interval_s=0.05, retry=RETRY, **BOUNDS)
    mock.faults.submit_accept_drop = 1
    outcomes, wall, _ = run(store, make(), [shot(1)])
    files = left_behind(store)
    sent, created = posts(mock), mock.submits
    again, _, _ = run(reopen(store), make(), [shot(1)])
    if provider == "runway":
        ok = created == 1 and outcomes[0].uncertain and again[0].uncertain and mock.submits == 1
        rerun = f"new creates {mock.submits - created} (stopped until --resubmit)"
    else:
        ok = created == 1 and outcomes[0].ok and again[0].cached and mock.submits == 1
        rerun = "cached (the adopted task's clip)"
    how = {"runway": "", "kling": ", found by external_task_id", "luma": ", found in the generation list"}[provider]
    return Drill(f"connection drops after the create was accepted ({provider}{how})", sent, wall, files,
                 first_error(outcomes), rerun, ok)


def dripping_download(lab: Lab) -> Drill:
    mock, store = lab.mock(RunwayMock, key=RUNWAY_KEY, latency=0.2), lab.store()
    mock.faults.download_drip_s = 0.2  # 5 bytes/s (the drip was 1 byte every 20 s)
    outcomes, wall, _ = run(store, runway(mock), [shot(1)])
    files = left_behind(store)
    mock.faults.download_drip_s = 0
    again, _, _ = run(reopen(store), runway(mock), [shot(1)])
    ok = not outcomes[0].ok and outcomes[0].resumable and files == 0 and again[0].ok and mock.submits == 1
    return Drill("download drips 1 byte every 0.2 s (floor 1 kB/s over 0.5 s)", mock.submits, wall, files,
                 first_error(outcomes), f"resumed={again[0].resumed}, new creates {mock.submits - 1}", ok)


def foreign_redirect(lab: Lab) -> Drill:
    mock, store = lab.mock(VeoMock, key=GEMINI_KEY, latency=0.2), lab.store()
    foreign = lab.mock(Bouncer)
    mock.faults.foreign, mock.faults.redirect_poll, mock.faults.redirect_download = foreign.url, 1, 1
    backend = VeoBackend(base_url=mock.url + "/v1beta", api_key=GEMINI_KEY, poll_interval_s=0.05, retry=RETRY,
                         **BOUNDS)
    outcomes, wall, _ = run(store, backend, [shot(1)])
    leaked = sum(1 for r in foreign.log if GEMINI_KEY in str(r.headers) + str(r.query))
    ok = outcomes[0].ok and len(foreign.log) >= 2 and leaked == 0
    return Drill("poll and download redirected via another host (veo)", mock.submits, wall, left_behind(store),
                 f"ok; {len(foreign.log)} requests reached the other host, {leaked} carried the key", "-", ok)


def bad_key(lab: Lab) -> Drill:
    mock, store = lab.mock(RunwayMock, key=RUNWAY_KEY), lab.store()
    outcomes, wall, _ = run(store, runway(mock, api_key="sk-wrong-key-0000000000"), [shot(1)])
    ok = not outcomes[0].ok and "RUNWAYML_API_SECRET" in (outcomes[0].hint or "") and len(mock.log) == 1
    return Drill("API key refused, 401 (runway)", mock.submits, wall, left_behind(store), first_error(outcomes),
                 "-", ok)


def too_large(lab: Lab) -> Drill:
    mock, store = lab.mock(RunwayMock, key=RUNWAY_KEY, latency=0.2), lab.store()
    outcomes, wall, _ = run(store, runway(mock, max_download_mb=lab.clip.stat().st_size / 2e6), [shot(1)])
    ok = not outcomes[0].ok and "max_download_mb" in (outcomes[0].hint or "") and left_behind(store) == 0
    return Drill("clip over max_download_mb (runway)", mock.submits, wall, left_behind(store), first_error(outcomes),
                 "-", ok)


def html_page(lab: Lab) -> Drill:
    mock, store = lab.mock(RunwayMock, key=RUNWAY_KEY, latency=0.2), lab.store()
    mock.faults.download_html = 1
    outcomes, wall, _ = run(store, runway(mock), [shot(1)])
    files = left_behind(store)
    again, _, _ = run(reopen(store), runway(mock), [shot(1)])
    ok = not outcomes[0].ok and "text/html" in outcomes[0].error and again[0].ok and mock.submits == 1
    return Drill("HTML error page served as the clip (runway)", 1, wall, files, first_error(outcomes),
                 f"resumed={again[0].resumed}, new creates {mock.submits - 1}", ok)


def dns_failure(lab: Lab) -> Drill:
    store = lab.store()
    backend = RunwayBackend(base_url="https://api.shotsmith-bench.invalid", api_key=RUNWAY_KEY, retry=RETRY,
                            **BOUNDS)
    outcomes, wall, _ = run(store, backend, [shot(1)])
    error = failed_shots_error(outcomes)
    ok = (not outcomes[0].ok and "resolve" in outcomes[0].error and "rephrase" not in str(error)
          and wall < 2.0)
    return Drill("API host does not resolve (DNS)", 0, wall, left_behind(store), first_error(outcomes), "-", ok)


def ctrl_c_uncancellable(lab: Lab) -> Drill:
    mock, store = lab.mock(KlingMock, latency=1.0), lab.store()
    cancel = threading.Event()
    outcomes, wall, error = run(store, kling(mock), [shot(1)], cancel=cancel,
                                on_progress=lambda e: e.state == "submitted" and cancel.set())
    (record,) = store.project.generations.values()
    files = left_behind(store)
    time.sleep(1.0)
    again, _, _ = run(reopen(store), kling(mock), [shot(1)])
    ok = error is not None and record.remote_task_id and again[0].ok and again[0].resumed and mock.submits == 1
    message = record.error or ""
    return Drill("Ctrl-C where the API cannot cancel (kling)", 1, wall, files,
                 short(message),
                 f"resumed={again[0].resumed}, new creates {mock.submits - 1}", bool(ok))


def spend_cap(lab: Lab) -> Drill:
    mock, store = lab.mock(RunwayMock, key=RUNWAY_KEY, latency=0.2), lab.store()

    class Cap:
        def authorize(self, backend, request, cache_key):
            raise ShotsmithError("the spending cap of 0 credits would be exceeded", hint="raise --max-cost")

        def settle(self, cache_key, *, created):
            pass

    _, wall, error = run(store, runway(mock), [shot(1), shot(2), shot(3)], spend_guard=Cap())
    ok = error is not None and mock.submits == 0 and posts(mock) == 0
    return Drill("spend guard refuses (3 shots, runway)", posts(mock), wall, left_behind(store),
                 f"raised: {error.message if error else 'nothing'}", "-", ok)


DRILLS: list[Callable[[Lab], Drill]] = [
    status_outage, task_deadline, hung_status, hung_create,
    lambda lab: lost_create(lab, "runway"), lambda lab: lost_create(lab, "kling"), lambda lab: lost_create(lab, "luma"),
    dripping_download, foreign_redirect, bad_key, too_large, html_page, dns_failure, ctrl_c_uncancellable, spend_cap,
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-readme", action="store_true", help="do not write the figures into bench/README.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    import os

    os.environ["KLING_ACCESS_KEY"], os.environ["KLING_SECRET_KEY"] = ACCESS_KEY, SECRET_KEY
    started = time.perf_counter()
    results: list[Drill] = []
    with tempfile.TemporaryDirectory(prefix="shotsmith-bench-failures-") as tmp:
        tmp_path = Path(tmp)
        clip = tmp_path / "clip.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=24:d=1", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(clip)])
        lab = Lab(tmp_path, clip)
        try:
            for drill in DRILLS:
                result = drill(lab)
                results.append(result)
                print(f"{'ok  ' if result.ok else 'FAIL'} {result.name:<72} creates {result.creates}  "
                      f"{result.wall_s:6.2f} s  files left {result.files_left}\n       {result.outcome}\n"
                      f"       rerun: {result.rerun}", flush=True)
        finally:
            lab.stop()
    total = time.perf_counter() - started
    ok = all(r.ok for r in results)
    print(f"{len(results)} drills in {total:.1f} s: {'PASS' if ok else 'FAIL'}")
    if not args.no_readme:
        write_readme(results, ok, total)
    return 0 if ok else 1


def write_readme(results: list[Drill], ok: bool, total: float) -> None:
    readme = ROOT / "bench" / "README.md"
    lines = ["## Backend failure drills", "",
             "`bench/bench_failures.py`: each fault of issue 9 injected into the local provider mocks, with the "
             "bounds shrunk so a drill ends in seconds (request 0.5 s, task 1-3 s, download 2 s and 1 kB/s over "
             "0.5 s; retries 3 attempts, 0.05-0.2 s apart). \"creates\" is what the provider received; \"time\" "
             "is the wall time until the run ended with the shot's own error; \"files left\" counts files in the "
             "project's clips folder after the failure. Last run "
             f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {len(results)} drills in {total:.0f} s, "
             f"{'every expectation met' if ok else 'EXPECTATION MISSED'}):",
             "", "| fault | creates | time | files left | the shot's error | rerun |", "|---|---:|---:|---:|---|---|"]
    for r in results:
        outcome = r.outcome.replace("|", "\\|")
        lines.append(f"| {r.name} | {r.creates} | {r.wall_s:.2f} s | {r.files_left} | {outcome} | {r.rerun} |")
    lines += ["", "At the production defaults (`shotsmith backends info NAME`) the same faults end within: a hung "
              "create 60 s (one attempt, never repeated), a hung or failing status API the task's `timeout_s` "
              "(1800 s) or `poll_outage_s` (300 s) of failing polls, a dripping download one 15 s window per attempt and 600 s in all, a "
              "DNS failure at once.", "",
              "Run it with `.venv/bin/python bench/bench_failures.py`.", ""]
    section = "\n".join(lines)
    text = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n\n"
    pattern = re.compile(r"^## Backend failure drills\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda m: section + "\n", text)
    else:
        anchor = re.search(r"^## Render\n", text, re.M)
        text = (text[:anchor.start()] + section + "\n" + text[anchor.start():]) if anchor else \
            text.rstrip("\n") + "\n\n" + section
    readme.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
