"""Every cloud adapter against its mock: happy path, each fault, resume, cache, cancel, secrets.

Each test runs once per provider in :data:`providers.PROVIDERS`. Latencies are
tens of milliseconds and retry delays milliseconds, so the faults cost little time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

import pytest
from tests.backends.backend_support import FAST_RETRY
from tests.backends.providers import PROVIDERS

from shotsmith.backends.base import GenerationMode, GenerationRequest
from shotsmith.backends.engine import generate_shots
from shotsmith.backends.errors import AuthError
from shotsmith.errors import CancelledError
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request):
    return PROVIDERS[request.param]


@pytest.fixture
def setup(provider, serve, mock_clip, monkeypatch):
    """(mock, make_backend) with the provider's key in the environment."""
    mock = serve(provider.mock_cls, mock_clip, **provider.extra.get("mock_kwargs", {}))
    for var, value in provider.env.items():
        monkeypatch.setenv(var, value)

    def make_backend(**kwargs):
        options = dict(base_url=mock.url + provider.base_path, poll_interval_s=0.01, retry=FAST_RETRY,
                       concurrency=4)
        options.update(provider.extra.get("backend_kwargs", {}))
        if provider.name == "pika":
            options["storage_url"] = mock.url  # start frames go to fal storage, which the mock serves
        options.update(kwargs)
        return provider.backend_cls(**options)

    return mock, make_backend


def shot(index: int, prompt: str = "a lighthouse at dawn, waves", **kw) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, duration_s=5, aspect_ratio="16:9", resolution="720p", shot_index=index, **kw)


def run(store, backend, requests, **kw):
    return asyncio.run(generate_shots(store, backend, requests, **kw))


def test_happy_path_text_to_video(setup, store):
    mock, make_backend = setup
    events = []
    outcomes = run(store, make_backend(), [shot(1), shot(2, "a red kite over dunes")], on_progress=events.append)
    assert [o.ok for o in outcomes] == [True, True], [o.error for o in outcomes]
    for outcome in outcomes:
        assert outcome.clip.parent == store.clips_dir
        assert probe(outcome.clip).video.width == 160
    assert mock.submits == 2
    saved = json.loads((store.root / "project.json").read_text())
    records = saved["generations"].values()
    assert {r["status"] for r in records} == {"succeeded"}
    assert all(r["remote_task_id"] for r in records)
    assert not list(store.clips_dir.glob(".*part*")), "no temporary file left behind"
    states = [e.state for e in events if e.shot_index == 1]
    assert states[0] == "queued" and states[-1] == "done" and "submitted" in states and "downloading" in states


def test_image_to_video_sends_the_image(setup, store, start_image, provider):
    mock, make_backend = setup
    if provider.name == "luma":  # Luma takes images only as URLs: through an uploader (tests/backends/test_uploaders.py)
        from shotsmith.backends import registry
        from tests.backends.test_uploaders import MockStorePlugin

        if registry.plugin_manager().get_plugin("mock-store") is None:
            registry.register_plugin(MockStorePlugin(), name="mock-store")
        backend = make_backend(uploader="mock-store", upload={"url": mock.url})
    else:
        backend = make_backend()
    if GenerationMode.IMAGE_TO_VIDEO not in backend.capabilities().modes:
        pytest.skip("no image-to-video on this model")
    outcomes = run(store, backend, [shot(1, mode=GenerationMode.IMAGE_TO_VIDEO, image=str(start_image))])
    assert outcomes[0].ok, outcomes[0].error
    assert mock.submits == 1


def test_retries_429_honouring_retry_after(setup, store):
    mock, make_backend = setup
    mock.faults.submit_429 = 1
    mock.faults.retry_after = "1"
    started = time.monotonic()
    outcomes = run(store, make_backend(), [shot(1)])
    assert outcomes[0].ok, outcomes[0].error
    assert time.monotonic() - started >= 1.0, "Retry-After: 1 was not honoured"
    assert mock.submits == 1


@pytest.mark.parametrize("fault", ["submit_500", "poll_500", "poll_429", "poll_drop"])
def test_transient_faults_are_retried(setup, store, fault):
    mock, make_backend = setup
    setattr(mock.faults, fault, 2)
    outcomes = run(store, make_backend(), [shot(1)])
    assert outcomes[0].ok, outcomes[0].error
    assert getattr(mock.faults, fault) == 0, "the fault never fired"


def test_persistent_5xx_gives_up_with_a_clear_error(setup, store):
    mock, make_backend = setup
    mock.faults.submit_500 = 100
    outcomes = run(store, make_backend(), [shot(1)])
    assert not outcomes[0].ok
    assert "500" in outcomes[0].error
    assert mock.submits == 0


def test_failed_task_is_reported_and_others_carry_on(setup, store):
    mock, make_backend = setup
    outcomes = run(store, make_backend(), [shot(1, "FAIL this one"), shot(2)])
    assert not outcomes[0].ok and outcomes[0].error and not outcomes[0].moderated
    assert outcomes[1].ok
    record = store.project.generations[outcomes[0].cache_key]
    assert record.status == "failed"


def test_moderation_is_not_retried(setup, store):
    mock, make_backend = setup
    outcomes = run(store, make_backend(), [shot(1, "FORBIDDEN content"), shot(2)])
    assert outcomes[0].moderated, outcomes[0].error
    assert outcomes[1].ok
    creates = [r for r in mock.log if r.method == "POST" and "FORBIDDEN" in json.dumps(r.body)]
    assert len(creates) == 1, "a moderation refusal was retried"


@pytest.mark.parametrize("fault", ["expire_download", "truncate_download", "truncate_download_silent"])
def test_download_faults_recover(setup, store, fault):
    mock, make_backend = setup
    setattr(mock.faults, fault, 1)
    outcomes = run(store, make_backend(), [shot(1)])
    assert outcomes[0].ok, outcomes[0].error
    assert getattr(mock.faults, fault) == 0
    assert mock.downloads == 2
    assert mock.submits == 1
    probe(outcomes[0].clip)


def test_html_error_page_is_not_accepted_as_a_clip(setup, store):
    mock, make_backend = setup
    mock.faults.download_html = 1
    outcomes = run(store, make_backend(), [shot(1)])
    assert not outcomes[0].ok
    assert "text/html" in outcomes[0].error
    assert not list(store.clips_dir.iterdir())
    # The task was paid for: the record stays resumable and a rerun only downloads again.
    assert store.project.generations[outcomes[0].cache_key].status == "downloading"
    again = run(ProjectStore.open(store.root), make_backend(), [shot(1)])
    assert again[0].ok and again[0].resumed, again[0].error
    assert mock.submits == 1


def test_download_size_cap(setup, store, mock_clip):
    mock, make_backend = setup
    cap_mb = mock_clip.stat().st_size / 2 / 1e6
    outcomes = run(store, make_backend(max_download_mb=cap_mb), [shot(1)])
    assert not outcomes[0].ok and "cap" in outcomes[0].error


class SimulatedKill(BaseException):
    """Stands in for SIGKILL: nothing below the raise runs any cleanup that could call the API."""


def test_resume_after_kill_between_submit_and_download(setup, store):
    mock, make_backend = setup
    mock.latency = 0.3

    def killer(event):
        if event.state == "submitted":
            raise SimulatedKill()

    with pytest.raises(SimulatedKill):
        run(store, make_backend(), [shot(1)], on_progress=killer)
    assert mock.submits == 1
    saved = json.loads((store.root / "project.json").read_text())
    (record,) = saved["generations"].values()
    assert record["remote_task_id"] and record["status"] in ("submitted", "running")
    reopened = ProjectStore.open(store.root)
    outcomes = run(reopened, make_backend(), [shot(1)])
    assert outcomes[0].ok, outcomes[0].error
    assert outcomes[0].resumed
    assert mock.submits == 1, "the resumed run paid for the shot again"


def test_cache_hit_and_miss(setup, store):
    mock, make_backend = setup
    first = run(store, make_backend(), [shot(1), shot(2, "a red kite over dunes")])
    assert all(o.ok for o in first)
    calls = len(mock.log)
    again = run(store, make_backend(), [shot(1), shot(2, "a red kite over dunes")])
    assert [o.cached for o in again] == [True, True]
    assert len(mock.log) == calls, "a cached rerun called the API"
    changed = run(store, make_backend(), [shot(1), shot(2, "a blue kite over dunes")])
    assert [o.cached for o in changed] == [True, False]
    assert mock.submits == 3


def test_cancel_cancels_the_remote_task(setup, store, provider):
    mock, make_backend = setup
    mock.latency = 5.0
    cancel = threading.Event()

    def on_progress(event):
        if event.state == "submitted":
            threading.Timer(0.05, cancel.set).start()

    with pytest.raises(CancelledError):
        run(store, make_backend(), [shot(1)], on_progress=on_progress, cancel=cancel)
    (record,) = store.project.generations.values()
    if provider.remote_cancel:
        assert mock.cancels == 1
        assert record.status == "cancelled"
    else:
        assert record.status in ("submitted", "running"), "an uncancellable task must stay resumable"
    assert not list(store.clips_dir.iterdir())


def test_missing_key_is_a_clear_error(provider, serve, mock_clip, store):
    mock = serve(provider.mock_cls, mock_clip)
    backend = provider.backend_cls(base_url=mock.url + provider.base_path, retry=FAST_RETRY)
    with pytest.raises(AuthError) as info:
        run(store, backend, [shot(1)])
    assert any(var in (info.value.hint or "") for var in provider.env)
    assert mock.log == []


def test_wrong_key_is_not_retried(setup, store, provider, monkeypatch):
    mock, make_backend = setup
    for var in provider.env:
        monkeypatch.setenv(var, "wrong-" + provider.env[var])
    outcomes = run(store, make_backend(), [shot(1)])
    assert not outcomes[0].ok
    assert len(mock.log) == 1, "a refused key was retried"


def test_secrets_never_leak(setup, store, provider, caplog, capsys):
    mock, make_backend = setup
    caplog.set_level(logging.DEBUG)
    mock.faults.submit_500 = 2
    mock.faults.expire_download = 1
    outcomes = run(store, make_backend(), [shot(1), shot(2, "FAIL now"), shot(3, "FORBIDDEN thing")])
    assert outcomes[0].ok
    assert any(provider.secrets(mock)[0] in json.dumps(h) or provider.name in ("kling",) for h in mock.headers_seen())
    text = "\n".join([caplog.text, (store.root / "project.json").read_text(), *(o.error or "" for o in outcomes),
                      repr(make_backend().__dict__), *capsys.readouterr()])
    for value in provider.secrets(mock):
        assert value not in text


# -- creates are sent at most once unless the provider makes a repeat safe ----------------------------------

@pytest.mark.parametrize("fault", ["submit_drop", "submit_accept_drop"])
def test_lost_create_answer_never_pays_twice(setup, store, provider, fault):
    """A create whose connection drops after sending (before or after the provider took it).

    Kling finds its task by external_task_id, or sends again when none exists; Luma finds it in its list of
    generations, and concludes "nothing was created" only after a grace period; the others stop the shot,
    and a rerun does not create again unless ``resubmit`` says to pay again.
    """
    mock, make_backend = setup
    setattr(mock.faults, fault, 1)
    outcomes = run(store, make_backend(), [shot(1)])
    assert mock.submits <= 1
    posts = lambda: len([r for r in mock.log if r.method == "POST"])  # noqa: E731
    if provider.name == "kling":
        assert outcomes[0].ok, outcomes[0].error
        assert mock.submits == 1, "the recovered create paid twice"
        return
    if provider.name == "luma" and fault == "submit_accept_drop":
        assert outcomes[0].ok and mock.submits == 1, outcomes[0].error  # found in the list and adopted
        assert posts() == 1
        return
    assert not outcomes[0].ok and outcomes[0].uncertain
    assert "may have been created" in outcomes[0].error + (outcomes[0].hint or "")
    assert "dashboard" in outcomes[0].hint and "--resubmit" in outcomes[0].hint
    assert posts() == 1, "an ambiguous create was sent again"
    again = run(ProjectStore.open(store.root), make_backend(), [shot(1)])
    assert not again[0].ok and again[0].uncertain
    assert posts() == 1, "a rerun created the uncertain shot again"
    if provider.name == "luma":
        # Once the create is older than the grace period and Luma lists nothing made from it, it was not created.
        backend = make_backend()
        backend.find_grace_s = 0.2
        time.sleep(0.3)
        later = run(ProjectStore.open(store.root), backend, [shot(1)])
        assert later[0].ok, later[0].error
        assert mock.submits == 1 and posts() == 2
        return
    paid = run(ProjectStore.open(store.root), make_backend(), [shot(1)], resubmit=True)
    assert paid[0].ok, paid[0].error
    assert mock.submits == 1 + (fault == "submit_accept_drop")


def test_hung_create_is_not_repeated(setup, store, provider):
    mock, make_backend = setup
    mock.faults.submit_hang_s = 5.0  # the provider takes the create, the answer never comes in time
    outcomes = run(store, make_backend(request_timeout_s=0.3), [shot(1), shot(2, "a red kite over dunes")])
    assert not any(o.ok for o in outcomes) or make_backend().can_find_created
    posts = [r for r in mock.log if r.method == "POST"]
    assert len(posts) == 2, f"{len(posts)} creates for 2 shots against a hung server"
    assert mock.submits == 2
    for outcome in outcomes:
        if not outcome.ok:
            assert outcome.uncertain and "may have been created" in outcome.error


# -- a remote task is never abandoned ------------------------------------------------------------------------

def test_status_outage_keeps_the_task_and_the_rerun_resumes_it(setup, store):
    mock, make_backend = setup
    mock.faults.poll_500 = 1000
    started = time.monotonic()
    outcomes = run(store, make_backend(poll_outage_s=0.3), [shot(1)])
    assert time.monotonic() - started < 2.5, "a status outage outlived poll_outage_s"
    assert not outcomes[0].ok and outcomes[0].resumable and outcomes[0].retryable
    assert "kept" in outcomes[0].error and "resumes" in outcomes[0].error
    record = store.project.generations[outcomes[0].cache_key]
    assert record.remote_task_id and record.status in ("submitted", "running")
    mock.faults.poll_500 = 0
    again = run(ProjectStore.open(store.root), make_backend(), [shot(1)])
    assert again[0].ok and again[0].resumed, again[0].error
    assert mock.submits == 1, "the rerun paid for the shot again"


def test_task_deadline_keeps_the_task_and_the_rerun_resumes_it(setup, store):
    mock, make_backend = setup
    mock.latency = 0.6
    started = time.monotonic()
    outcomes = run(store, make_backend(timeout_s=0.2), [shot(1)])
    assert time.monotonic() - started < 3
    assert not outcomes[0].ok and outcomes[0].resumable
    assert "did not finish within" in outcomes[0].error and "kept" in outcomes[0].error
    again = run(ProjectStore.open(store.root), make_backend(), [shot(1)])
    assert again[0].ok and again[0].resumed, again[0].error
    assert mock.submits == 1


def test_hung_status_endpoint_ends_within_the_task_deadline(setup, store):
    mock, make_backend = setup
    mock.faults.poll_hang_s = 5.0
    started = time.monotonic()
    outcomes = run(store, make_backend(timeout_s=0.6, request_timeout_s=0.2), [shot(1)])
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"a hung status API took {elapsed:.1f}s with timeout_s=0.6"
    assert not outcomes[0].ok and outcomes[0].resumable
    assert store.project.generations[outcomes[0].cache_key].remote_task_id
    assert mock.submits == 1


def test_dripping_download_dies_on_the_rate_floor(setup, store):
    mock, make_backend = setup
    mock.faults.download_drip_s = 0.05  # 20 bytes/s
    started = time.monotonic()
    outcomes = run(store, make_backend(min_download_kbs=1, download_window_s=0.2, download_timeout_s=1.0), [shot(1)])
    assert time.monotonic() - started < 3
    assert not outcomes[0].ok and outcomes[0].resumable
    assert "stalled" in outcomes[0].error or "did not finish in time" in outcomes[0].error
    assert not list(store.clips_dir.glob("*")), "a partial clip was left behind"
    mock.faults.download_drip_s = 0
    again = run(ProjectStore.open(store.root), make_backend(), [shot(1)])
    assert again[0].ok and again[0].resumed and mock.submits == 1


# -- credentials go only to the API host ---------------------------------------------------------------------

def test_redirect_to_another_host_drops_every_credential(setup, store, provider, serve, mock_clip):
    from tests.backends.backend_mocks.server import Bouncer

    mock, make_backend = setup
    foreign = serve(Bouncer, mock_clip)
    mock.faults.foreign = foreign.url
    mock.faults.redirect_poll = 1
    mock.faults.redirect_download = 1
    outcomes = run(store, make_backend(), [shot(1)])
    assert outcomes[0].ok, outcomes[0].error
    assert len(foreign.log) >= 2, "the redirects never reached the other host"
    secrets = provider.secrets(mock)
    for req in foreign.log:
        for name in ("authorization", "x-goog-api-key", "x-api-key", "key", "cookie"):
            assert name not in req.headers, f"{name} followed a redirect to another host"
        seen = json.dumps(req.headers) + json.dumps(req.query)
        assert not any(value in seen for value in secrets)


def test_kling_adopts_a_create_that_arrives_after_the_lookup(serve, mock_clip, store, monkeypatch):
    """The first create is lost, the lookup finds nothing, the repeat is refused as a duplicate id because the
    first arrived late: the task is adopted, not paid twice and not reported as failed."""
    from tests.backends.backend_mocks.kling import ACCESS_KEY, SECRET_KEY, KlingMock
    from tests.backends.backend_mocks.server import DROP

    from shotsmith.backends.kling import KlingBackend

    class LateKling(KlingMock):
        held = None

        def handle(self, req):
            if req.method == "POST" and self.held is None:
                self.held = req  # in flight somewhere: not created yet, the connection drops
                return DROP
            if req.method == "POST" and self.held is not False:
                late, self.held = self.held, False
                super().handle(late)  # the first create lands now, before the repeat
            return super().handle(req)

    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET_KEY)
    mock = serve(LateKling, mock_clip)
    backend = KlingBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    outcomes = run(store, backend, [shot(1)])
    assert outcomes[0].ok, outcomes[0].error
    assert mock.submits == 1
    assert [r.method for r in mock.log[:4]] == ["POST", "GET", "POST", "GET"]
