"""The job engine beyond single adapters: concurrency, dedupe, Ctrl-C, a real SIGKILL, local backends."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from tests.backends.backend_mocks.kling import ACCESS_KEY, SECRET_KEY, KlingMock
from tests.backends.backend_mocks.runway import RunwayMock
from tests.backends.backend_support import FAST_RETRY

from shotsmith.backends.animatic import AnimaticBackend
from shotsmith.backends.base import GenerationMode, GenerationRequest
from shotsmith.backends.engine import cache_key, generate_shots
from shotsmith.backends.kling import KlingBackend
from shotsmith.backends.runway import RunwayBackend
from shotsmith.errors import CancelledError
from shotsmith.store import ProjectStore

RANK = {"queued": 0, "submitted": 1, "running": 2, "downloading": 3, "done": 4, "failed": 4, "cancelled": 4, "cached": 4}


def req(i: int, prompt: str = "a lighthouse", **kw) -> GenerationRequest:
    return GenerationRequest(prompt=f"{prompt} {i}", duration_s=5, shot_index=i, **kw)


@pytest.fixture
def runway(serve, mock_clip, monkeypatch):
    monkeypatch.setenv("RUNWAYML_API_SECRET", "sk-test-SECRET-0123456789")
    return serve(RunwayMock, mock_clip)


def runway_backend(mock, **kw) -> RunwayBackend:
    options = dict(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY, concurrency=4)
    options.update(kw)
    return RunwayBackend(**options)


def test_concurrency_stays_within_the_limit_and_progress_is_ordered(runway, store):
    runway.latency = 0.15
    events = []
    times: dict[int, list[float]] = {}

    def on_progress(event):
        events.append(event)
        if event.state in ("submitted", "done"):
            times.setdefault(event.shot_index, []).append(time.monotonic())

    outcomes = asyncio.run(generate_shots(store, runway_backend(runway, concurrency=2), [req(i) for i in range(1, 7)],
                                          on_progress=on_progress))
    assert all(o.ok for o in outcomes)
    spans = [(t[0], t[-1]) for t in times.values()]
    overlap = max(sum(1 for s, e in spans if s <= moment < e) for moment, _ in spans)
    assert overlap == 2, f"{overlap} shots ran at once with a limit of 2"
    for index in range(1, 7):
        ranks = [RANK[e.state] for e in events if e.shot_index == index]
        assert ranks == sorted(ranks), f"shot {index} progress went backwards"
    percents = [e.percent for e in events if e.state == "running" and e.percent is not None]
    assert percents and all(0 <= p <= 100 for p in percents)


def test_identical_shots_are_generated_once(runway, store):
    outcomes = asyncio.run(generate_shots(store, runway_backend(runway), [req(1), req(1)]))
    assert all(o.ok for o in outcomes) and outcomes[0].clip == outcomes[1].clip
    assert runway.submits == 1


def test_replacing_the_start_image_regenerates(runway, store, start_image, tmp_path):
    image = tmp_path / "start.png"
    image.write_bytes(start_image.read_bytes())
    backend = runway_backend(runway)
    shot = req(1, mode=GenerationMode.IMAGE_TO_VIDEO, image=str(image))
    key = cache_key(backend, shot)
    image.write_bytes(start_image.read_bytes() + b"\0")
    assert cache_key(backend, shot) != key


def test_ctrl_c_cancels_remote_tasks_and_keeps_finished_shots(runway, store):
    runway.latency = 5.0
    backend = runway_backend(runway)

    async def scenario():
        job = asyncio.create_task(generate_shots(store, backend, [req(1), req(2)]))
        while runway.submits < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        job.cancel()  # what asyncio.run does on KeyboardInterrupt
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(scenario())
    assert runway.cancels == 2
    saved = json.loads((store.root / "project.json").read_text())
    assert all(r["remote_task_id"] for r in saved["generations"].values())
    # The provider confirmed the cancels, so a rerun finds the tasks cancelled and submits afresh.
    runway.latency = 0.05
    outcomes = asyncio.run(generate_shots(ProjectStore.open(store.root), backend, [req(1), req(2)]))
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert runway.submits == 4


def test_uncancellable_task_stays_resumable_and_is_resumed(serve, mock_clip, store, monkeypatch):
    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET_KEY)
    mock = serve(KlingMock, mock_clip, latency=0.5)
    backend = KlingBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    cancel = threading.Event()
    with pytest.raises(CancelledError):
        asyncio.run(generate_shots(store, backend, [req(1)], cancel=cancel,
                                   on_progress=lambda e: e.state == "submitted" and cancel.set()))
    (record,) = store.project.generations.values()
    assert record.status == "submitted" and record.remote_task_id
    outcomes = asyncio.run(generate_shots(ProjectStore.open(store.root), backend, [req(1)]))
    assert outcomes[0].ok and outcomes[0].resumed
    assert mock.submits == 1


KILL_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from shotsmith.backends.base import GenerationRequest
    from shotsmith.backends.engine import generate_shots
    from shotsmith.backends.runway import RunwayBackend
    from shotsmith.store import ProjectStore

    store = ProjectStore.open(sys.argv[1])
    backend = RunwayBackend(base_url=sys.argv[2], poll_interval_s=0.02)
    print("starting", flush=True)
    asyncio.run(generate_shots(store, backend, [GenerationRequest(prompt="a lighthouse 1", duration_s=5, shot_index=1)]))
""")


def test_resume_after_sigkill(runway, store, tmp_path):
    """A real process killed with SIGKILL after its submit: the rerun polls the same task."""
    runway.latency = 30.0
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(store.root), runway.url],
                            env={**os.environ, "RUNWAYML_API_SECRET": "sk-test-SECRET-0123456789"})
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            saved = json.loads((store.root / "project.json").read_text())
            if any(r.get("remote_task_id") for r in saved["generations"].values()) and runway.polls:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the child never persisted a task id")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert runway.submits == 1
    runway.latency = 0.05
    for task in runway.tasks.values():
        task.created -= 60  # the provider finished it meanwhile
    outcomes = asyncio.run(generate_shots(ProjectStore.open(store.root), runway_backend(runway), [req(1)]))
    assert outcomes[0].ok and outcomes[0].resumed, outcomes[0].error
    assert runway.submits == 1, "the rerun paid for the shot a second time"


def test_local_backend_runs_through_the_engine_and_caches(store):
    backend = AnimaticBackend()
    shots = [GenerationRequest(prompt="warm coffee", duration_s=1, resolution="360p", fps=24, shot_index=1)]
    events = []
    first = asyncio.run(generate_shots(store, backend, shots, on_progress=events.append))
    assert first[0].ok and first[0].clip.is_file()
    assert events[0].state == "queued" and events[-1].state == "done"
    again = asyncio.run(generate_shots(store, backend, shots))
    assert again[0].cached and again[0].clip == first[0].clip


def test_generate_without_engine(runway, tmp_path):
    """RemoteBackend.generate runs one job on its own (what the conformance suite calls)."""
    backend = runway_backend(runway)
    dest = tmp_path / "one.mp4"
    result = asyncio.run(backend.generate(req(1), dest, on_progress=lambda e: None, cancel=threading.Event()))
    assert Path(result.path) == dest and result.remote_task_id and result.width == 160


def test_ctrl_c_during_download_keeps_the_paid_task(runway, store, monkeypatch):
    """Interrupted while downloading: the finished task is not cancelled (that would delete it); a rerun fetches it."""
    import shotsmith.backends.jobs as jobs

    real_download = jobs._download

    async def slow_download(*args, **kwargs):
        await asyncio.sleep(10)
        return await real_download(*args, **kwargs)

    monkeypatch.setattr(jobs, "_download", slow_download)
    backend = runway_backend(runway)

    async def scenario():
        job = asyncio.create_task(generate_shots(store, backend, [req(1)]))
        while not any(r.status == "downloading" for r in store.project.generations.values()):
            await asyncio.sleep(0.01)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(scenario())
    assert runway.cancels == 0
    (record,) = store.project.generations.values()
    assert record.status == "downloading" and record.remote_task_id
    monkeypatch.setattr(jobs, "_download", real_download)
    outcomes = asyncio.run(generate_shots(ProjectStore.open(store.root), backend, [req(1)]))
    assert outcomes[0].ok and outcomes[0].resumed and runway.submits == 1
