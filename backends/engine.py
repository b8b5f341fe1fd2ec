"""The job engine: every generation of every backend runs through here.

For a list of shot requests it validates each against the backend's
capabilities (snapping with warnings), skips shots whose cache key already has
a finished clip, and runs the rest concurrently within the backend's
concurrency limit:

* a local backend's ``generate()`` writes into a temporary file;
* a :class:`~shotsmith.backends.remote.RemoteBackend` is driven through submit,
  poll and download (:mod:`shotsmith.backends.jobs`). The remote task id is
  saved in ``project.json`` right after the submit and before the first poll,
  so a run killed at any point and started again resumes polling the same task
  instead of paying for it twice.

Every clip is decoded end to end before it is renamed into ``clips/`` and
recorded (the project is saved atomically after each step, so a crash loses no
finished shot). A failed shot (a moderation refusal, a failed task) is reported
in its :class:`ShotOutcome` and the others carry on. Cancelling (the
``cancel`` event, or cancelling the asyncio task on Ctrl-C) cancels remote
tasks where the API allows and leaves every record in a state a rerun
understands.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from shotsmith.atomic import atomic_output
from shotsmith.backends.base import Backend, GenerationRequest, GenerationResult, ProgressCallback, ProgressEvent
from shotsmith.backends.download import verify_clip
from shotsmith.backends.http import ApiClient
from shotsmith.backends.jobs import RemoteCancelledError, run_remote_job
from shotsmith.backends.remote import RemoteBackend, RemoteTask
from shotsmith.backends.errors import DownloadError
from shotsmith.errors import CancelledError, MediaError, ShotsmithError
from shotsmith.project import GenerationRecord, utcnow
from shotsmith.store import ProjectStore

log = logging.getLogger(__name__)

#: Record states meaning "a remote task may exist and is worth polling again".
RESUMABLE = ("submitted", "running", "downloading")


def _file_digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def cache_key(backend: Backend, request: GenerationRequest) -> str:
    """Hash over (backend, model, request, seed); the shot's position is not part of it.

    The start image is hashed by content, not only by path, so replacing the
    picture behind the same file name regenerates the shot.
    """
    payload = request.model_dump(mode="json", exclude={"shot_index"})
    blob = json.dumps({"backend": backend.name, "model": request.model or backend.model, "request": payload,
                       "settings": backend.cache_identity(),
                       "image_sha256": _file_digest(request.image) if request.image else None},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class ShotOutcome:
    shot_index: int | None
    request: GenerationRequest
    cache_key: str
    clip: Path | None = None
    result: GenerationResult | None = None
    cached: bool = False
    resumed: bool = False
    error: str | None = None
    #: True when the provider refused the shot on content grounds (rephrase, don't retry).
    moderated: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.clip is not None


def _emit(on_progress: ProgressCallback | None, event: ProgressEvent) -> None:
    if on_progress is not None:
        on_progress(event)


def _cached_clip(store: ProjectStore, key: str) -> Path | None:
    record = store.project.generations.get(key)
    if record and record.status == "succeeded" and record.clip and (store.root / record.clip).is_file():
        return store.root / record.clip
    return None


async def generate_shots(store: ProjectStore, backend: Backend, requests: list[GenerationRequest], *,
                         on_progress: ProgressCallback | None = None,
                         cancel: threading.Event | None = None) -> list[ShotOutcome]:
    """Generate every request (or take it from the cache); one outcome per request, in order.

    Raises :class:`CancelledError` when cancelled (finished shots are kept), an
    ``AuthError`` when a remote backend has no key and something must be sent,
    and :class:`~shotsmith.errors.InvalidInputError` when a request cannot be
    made valid for this backend. Per-shot failures land in the outcomes.
    """
    cancel = cancel or threading.Event()
    prepared: list[ShotOutcome] = []
    for request in requests:
        ready, warnings = backend.prepare(request)
        prepared.append(ShotOutcome(request.shot_index, ready, cache_key(backend, ready), warnings=warnings))
    todo = [o for o in prepared if _cached_clip(store, o.cache_key) is None]
    api: ApiClient | None = backend.client() if isinstance(backend, RemoteBackend) and todo else None
    limit = asyncio.Semaphore(backend.capabilities().max_concurrency)
    inflight: dict[str, asyncio.Future] = {}

    async def one(outcome: ShotOutcome) -> None:
        clip = _cached_clip(store, outcome.cache_key)
        if clip is not None:
            outcome.clip, outcome.cached = clip, True
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="cached", percent=100))
            return
        if outcome.cache_key in inflight:  # the same shot twice in one plan: generate once
            await asyncio.shield(inflight[outcome.cache_key])
            outcome.clip, outcome.cached = _cached_clip(store, outcome.cache_key), True
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="cached", percent=100))
            return
        inflight[outcome.cache_key] = asyncio.get_running_loop().create_future()
        try:
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="queued"))
            async with limit:
                if cancel.is_set():
                    raise CancelledError("generation was cancelled")
                await _generate_one(store, backend, api, outcome, on_progress, cancel)
            inflight[outcome.cache_key].set_result(None)
        except BaseException as exc:
            inflight[outcome.cache_key].set_exception(exc)
            inflight[outcome.cache_key].exception()  # mark retrieved: the duplicate shots report it themselves
            raise

    try:
        results = await asyncio.gather(*(one(o) for o in prepared), return_exceptions=True)
    finally:
        if api is not None:
            await api.aclose()
    cancelled = None
    for outcome, result in zip(prepared, results):
        if isinstance(result, CancelledError | asyncio.CancelledError):
            cancelled = cancelled or result
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="cancelled"))
            continue
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            outcome.error = result.message if isinstance(result, ShotsmithError) else f"{type(result).__name__}: {result}"
            outcome.moderated = type(result).__name__ == "ModerationError"
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="failed", message=outcome.error))
    if cancelled is not None:
        raise CancelledError("generation was cancelled; finished shots are kept") from cancelled
    return prepared


async def _generate_one(store: ProjectStore, backend: Backend, api: ApiClient | None, outcome: ShotOutcome,
                        on_progress: ProgressCallback | None, cancel: threading.Event) -> None:
    request = outcome.request
    label = f"shot{request.shot_index:02d}" if request.shot_index is not None else "clip"
    final = store.clips_dir / f"{backend.name}-{label}-{outcome.cache_key[:10]}.mp4"
    previous = store.project.generations.get(outcome.cache_key)
    task: RemoteTask | None = None
    if (isinstance(backend, RemoteBackend) and previous is not None and previous.remote_task_id
            and previous.status in RESUMABLE):
        task = RemoteTask(previous.remote_task_id, dict(previous.remote_data))
        record = previous
        record.status, record.error, record.updated_at = "running", None, utcnow()
        outcome.resumed = True
        log.info("%s: resuming task %s for %s", backend.name, task.id, label)
    else:
        record = GenerationRecord(cache_key=outcome.cache_key, backend=backend.name,
                                  model=request.model or backend.model, shot_index=request.shot_index,
                                  request=request.model_dump(mode="json"), status="running",
                                  cost=backend.estimate_cost(request).model_dump())
        store.project.generations[outcome.cache_key] = record
    store.save()

    def submitted(remote: RemoteTask) -> None:
        # The line that makes a killed run resumable: saved before the first poll.
        record.remote_task_id, record.remote_data = remote.id, dict(remote.data)
        record.status, record.updated_at = "submitted", utcnow()
        store.save()

    def downloading() -> None:
        record.status, record.updated_at = "downloading", utcnow()
        store.save()

    try:
        with atomic_output(final) as tmp:
            if isinstance(backend, RemoteBackend):
                assert api is not None
                result = await run_remote_job(backend, api, request, tmp, on_progress=on_progress, cancel=cancel,
                                              task=task, on_submitted=submitted, on_downloading=downloading)
            else:
                _emit(on_progress, ProgressEvent(shot_index=request.shot_index, state="running", percent=0))
                result = await backend.generate(request, tmp, on_progress=on_progress or (lambda e: None),
                                                cancel=cancel)
                verify_clip(tmp)
    except RemoteCancelledError as exc:
        # Confirmed remote cancel: a rerun submits afresh. Unconfirmed: keep the task resumable.
        if exc.remote_cancelled or not record.remote_task_id:
            record.status = "cancelled"
        record.error, record.updated_at = exc.message, utcnow()
        store.save()
        raise
    except (CancelledError, asyncio.CancelledError) as exc:
        if not record.remote_task_id:
            record.status = "cancelled"
        record.error = "cancelled" if isinstance(exc, asyncio.CancelledError) else exc.message
        record.updated_at = utcnow()
        store.save()
        raise
    except Exception as exc:
        # A task that finished but whose download failed was paid for: keep it resumable so a
        # rerun fetches it again instead of submitting a second time.
        if not (record.status == "downloading" and isinstance(exc, DownloadError | MediaError)):
            record.status = "failed"
        record.error = exc.message if isinstance(exc, ShotsmithError) else f"{type(exc).__name__}: {exc}"
        record.updated_at = utcnow()
        store.save()
        raise
    except BaseException:
        # KeyboardInterrupt, SystemExit and the like: the process is going away. A task that
        # was submitted stays resumable; one that was not is simply not started.
        if not record.remote_task_id:
            record.status = "cancelled"
        record.error, record.updated_at = "interrupted", utcnow()
        store.save()
        raise
    outcome.result = result.model_copy(update={"path": str(final)})
    outcome.clip = final
    record.status, record.clip, record.error, record.updated_at = "succeeded", store.relative(final), None, utcnow()
    store.save()
    _emit(on_progress, ProgressEvent(shot_index=request.shot_index, state="done", percent=100))
