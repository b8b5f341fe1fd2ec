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
        # Both creates answered and their task ids saved (the polls have begun).
        while sum(1 for r in store.project.generations.values() if r.remote_task_id) < 2 or runway.polls < 2:
            await asyncio.sleep(0.01)
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


# -- the spend guard: spending fails closed where the money is committed --------------------------------------

class RecordingGuard:
    def __init__(self, refuse_after: int | None = None) -> None:
        self.refuse_after = refuse_after
        self.authorized: list[str] = []
        self.settled: list[tuple[str, bool]] = []

    def authorize(self, backend, request, cache_key):
        from shotsmith.errors import BackendError

        if self.refuse_after is not None and len(self.authorized) >= self.refuse_after:
            raise BackendError("spending cap reached", hint="raise --max-cost")
        self.authorized.append(cache_key)

    def settle(self, cache_key, *, created):
        self.settled.append((cache_key, created))


def test_spend_guard_that_refuses_sends_no_create(runway, store):
    from shotsmith.backends.engine import SpendGuard
    from shotsmith.errors import BackendError

    guard = RecordingGuard(refuse_after=0)
    assert isinstance(guard, SpendGuard)
    with pytest.raises(BackendError, match="spending cap reached"):
        asyncio.run(generate_shots(store, runway_backend(runway), [req(1), req(2), req(3)], spend_guard=guard))
    assert runway.submits == 0 and not [r for r in runway.log if r.method == "POST"]
    assert guard.settled == []
    assert store.project.generations == {}, "a refused shot left a record behind"


def test_spend_guard_refusal_stops_further_submits_after_running_shots_settle(runway, store):
    from shotsmith.errors import BackendError

    guard = RecordingGuard(refuse_after=1)
    with pytest.raises(BackendError, match="spending cap reached"):
        asyncio.run(generate_shots(store, runway_backend(runway, concurrency=1), [req(1), req(2), req(3)],
                                   spend_guard=guard))
    assert runway.submits == 1 and len(guard.authorized) == 1
    assert guard.settled == [(guard.authorized[0], True)]
    (record,) = store.project.generations.values()
    assert record.status == "succeeded", "the shot already running was not allowed to finish"


def test_spend_guard_is_not_asked_for_cached_or_resumed_shots(runway, store):
    guard = RecordingGuard()
    first = asyncio.run(generate_shots(store, runway_backend(runway), [req(1)], spend_guard=guard))
    assert first[0].ok and len(guard.authorized) == 1 and guard.settled == [(first[0].cache_key, True)]
    refuse_all = RecordingGuard(refuse_after=0)
    cached = asyncio.run(generate_shots(store, runway_backend(runway), [req(1)], spend_guard=refuse_all))
    assert cached[0].cached and refuse_all.authorized == [] and refuse_all.settled == []
    # A task left running by a killed run is resumed, not created: the guard is not asked.
    runway.latency = 0.3

    class Kill(BaseException):
        pass

    def killer(event):
        if event.state == "submitted":
            raise Kill()

    with pytest.raises(Kill):
        asyncio.run(generate_shots(store, runway_backend(runway), [req(2)], on_progress=killer, spend_guard=guard))
    resumed = asyncio.run(generate_shots(ProjectStore.open(store.root), runway_backend(runway), [req(2)],
                                         spend_guard=refuse_all))
    assert resumed[0].ok and resumed[0].resumed, resumed[0].error
    assert refuse_all.authorized == [] and refuse_all.settled == []
    assert runway.submits == 2


def test_spend_guard_settles_not_created_on_a_400_create(runway, store):
    guard = RecordingGuard()
    backend = runway_backend(runway)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backend, "body", lambda request: ("/v1/text_to_video", {"model": "gen4.5", "ratio": "1:1"}))
        outcomes = asyncio.run(generate_shots(store, backend, [req(1)], spend_guard=guard))
    assert not outcomes[0].ok and "400" not in (outcomes[0].hint or "")
    assert guard.settled == [(outcomes[0].cache_key, False)]
    record = store.project.generations[outcomes[0].cache_key]
    assert record.status == "failed" and not record.remote_data, "a refused create was remembered as uncertain"


def test_spend_guard_settles_created_on_a_lost_create_answer(runway, store):
    from shotsmith.backends.engine import create_uncertain

    guard = RecordingGuard()
    runway.faults.submit_accept_drop = 1
    outcomes = asyncio.run(generate_shots(store, runway_backend(runway), [req(1)], spend_guard=guard))
    assert outcomes[0].uncertain
    assert guard.settled == [(outcomes[0].cache_key, True)]
    assert create_uncertain(store.project.generations[outcomes[0].cache_key])
    # resubmit pays again, and asks the guard first
    again = asyncio.run(generate_shots(ProjectStore.open(store.root), runway_backend(runway), [req(1)],
                                       spend_guard=guard, resubmit=True))
    assert again[0].ok and runway.submits == 2 and len(guard.authorized) == 2


def test_spend_guard_for_a_local_backend(store):
    from shotsmith.errors import BackendError

    shots = [GenerationRequest(prompt="warm coffee", duration_s=1, resolution="360p", fps=24, shot_index=1)]
    with pytest.raises(BackendError):
        asyncio.run(generate_shots(store, AnimaticBackend(), shots, spend_guard=RecordingGuard(refuse_after=0)))
    assert not list(store.clips_dir.glob("*.mp4"))
    guard = RecordingGuard()
    outcomes = asyncio.run(generate_shots(store, AnimaticBackend(), shots, spend_guard=guard))
    assert outcomes[0].ok and len(guard.authorized) == 1 and guard.settled == [(outcomes[0].cache_key, True)]


# -- errors keep their own cause and hint ---------------------------------------------------------------------

def test_combined_error_keeps_each_shots_hint(runway, store, monkeypatch, mock_clip):
    from shotsmith.backends.engine import failed_shots_error

    monkeypatch.setenv("RUNWAYML_API_SECRET", "sk-wrong-key-000000000")
    bad_key = asyncio.run(generate_shots(store, runway_backend(runway), [req(1)]))
    assert bad_key[0].hint and "RUNWAYML_API_SECRET" in bad_key[0].hint and not bad_key[0].retryable
    monkeypatch.setenv("RUNWAYML_API_SECRET", "sk-test-SECRET-0123456789")
    too_big = asyncio.run(generate_shots(store, runway_backend(runway, max_download_mb=mock_clip.stat().st_size / 2e6),
                                         [req(2)]))
    assert "max_download_mb" in too_big[0].hint and "cap" in too_big[0].error
    runway.faults.download_html = 1
    html = asyncio.run(generate_shots(store, runway_backend(runway), [req(3)]))
    assert "text/html" in html[0].error and "without paying" in html[0].hint
    error = failed_shots_error([*bad_key, *too_big, *html])
    assert error is not None
    for needle in ("RUNWAYML_API_SECRET", "max_download_mb", "text/html"):
        assert needle in error.message
    assert "run again" not in (error.hint or ""), "a bad key is not fixed by running again"
    assert failed_shots_error([o for o in [*bad_key, *too_big] if o.ok]) is None


def test_combined_error_says_run_again_only_when_every_cause_is_retryable(runway, store):
    from shotsmith.backends.engine import failed_shots_error

    runway.faults.poll_500 = 1000
    outcomes = asyncio.run(generate_shots(store, runway_backend(runway, poll_outage_s=0.3), [req(1)]))
    assert outcomes[0].retryable and outcomes[0].resumable
    assert "run again" in failed_shots_error(outcomes).hint


def test_dns_failure_fails_fast_and_is_not_about_prompts(store, monkeypatch):
    import httpx

    monkeypatch.setenv("RUNWAYML_API_SECRET", "sk-test-SECRET-0123456789")
    calls = []

    def handler(request):
        calls.append(request.url)
        raise httpx.ConnectError("[Errno -2] Name or service not known")

    backend = RunwayBackend(base_url="https://api.dev.runwayml.invalid", transport=httpx.MockTransport(handler),
                            poll_interval_s=0.01, retry=FAST_RETRY)
    outcomes = asyncio.run(generate_shots(store, backend, [req(1)]))
    assert len(calls) == 1, "a DNS failure was retried"
    assert "resolve" in outcomes[0].error and "network" in outcomes[0].hint
    assert "rephrase" not in (outcomes[0].hint or "") and not outcomes[0].moderated
    assert store.project.generations[outcomes[0].cache_key].remote_data == {}, "nothing was sent: no uncertainty"


def test_ctrl_c_on_an_uncancellable_api_says_the_task_may_still_be_charged(serve, mock_clip, store, monkeypatch):
    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET_KEY)
    mock = serve(KlingMock, mock_clip, latency=0.5)
    backend = KlingBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    cancel = threading.Event()
    with pytest.raises(CancelledError):
        asyncio.run(generate_shots(store, backend, [req(1)], cancel=cancel,
                                   on_progress=lambda e: e.state == "submitted" and cancel.set()))
    (record,) = store.project.generations.values()
    assert "could not cancel" in record.error and "may still finish and be charged" in record.error
    assert "rerun resumes" in record.error


def test_ctrl_c_while_a_create_is_in_flight_is_remembered(runway, store):
    """Interrupted while the create request is on the wire: the rerun must not silently pay again."""
    from shotsmith.backends.engine import create_uncertain

    runway.faults.submit_hang_s = 5.0
    backend = runway_backend(runway)

    async def scenario():
        job = asyncio.create_task(generate_shots(store, backend, [req(1)]))
        while runway.submits < 1:
            await asyncio.sleep(0.01)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(scenario())
    (record,) = store.project.generations.values()
    assert create_uncertain(record) and "may have been created" in record.error
    runway.faults.submit_hang_s = 0
    again = asyncio.run(generate_shots(ProjectStore.open(store.root), backend, [req(1)]))
    assert again[0].uncertain and runway.submits == 1


def test_a_failed_shot_is_named_once_even_when_the_backend_named_it():
    from shotsmith.backends.engine import ShotOutcome
    named = ShotOutcome(shot_index=1, request=None, cache_key="k1", error="shot 1: out of memory", hint="lower the resolution")
    plain = ShotOutcome(shot_index=2, request=None, cache_key="k2", error="timed out")
    assert named.describe() == "shot 1: out of memory (lower the resolution)"
    assert plain.describe() == "shot 2: timed out"
