"""Drive one remote task from submit to a verified clip on disk.

Kept apart from the engine so a remote backend can also run on its own
(``RemoteBackend.generate``, the conformance suite) without a project. The
engine passes ``on_submitted`` to persist the task id *before* the first poll,
and ``task`` to resume polling a task a killed run left behind instead of
submitting (and paying for) it again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from shotsmith.backends.base import GenerationRequest, GenerationResult, ProgressCallback, ProgressEvent
from shotsmith.backends.download import download_clip, verify_clip
from shotsmith.backends.errors import DownloadError, ExpiredUrlError, RemoteError
from shotsmith.backends.http import ApiClient
from shotsmith.backends.remote import RemoteBackend, RemoteStatus, RemoteTask
from shotsmith.errors import BackendError, CancelledError, MediaError
from shotsmith.media.probe import probe

log = logging.getLogger(__name__)

#: How often the cancel flag is looked at while waiting between polls.
CANCEL_CHECK_S = 0.05
DOWNLOAD_ATTEMPTS = 4


class RemoteCancelledError(CancelledError):
    """Cancelled while a remote task existed; ``remote_cancelled`` says whether the provider confirmed."""

    def __init__(self, message: str, *, remote_cancelled: bool) -> None:
        super().__init__(message)
        self.remote_cancelled = remote_cancelled


class RemoteTaskCancelledError(BackendError):
    """The provider reports the task cancelled (by us on an earlier Ctrl-C, or by someone else)."""


async def _wait(seconds: float, cancel: threading.Event) -> None:
    end = time.monotonic() + seconds
    while not cancel.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(CANCEL_CHECK_S, left))


async def _cancel_remote(backend: RemoteBackend, api: ApiClient, task: RemoteTask) -> bool:
    try:
        return await asyncio.wait_for(backend.cancel(api, task), timeout=15)
    except (RemoteError, TimeoutError, asyncio.TimeoutError) as exc:
        log.warning("%s: could not cancel task %s: %s", backend.name, task.id, getattr(exc, "message", exc))
        return False


async def run_remote_job(backend: RemoteBackend, api: ApiClient, request: GenerationRequest, dest: Path, *,
                         on_progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                         task: RemoteTask | None = None,
                         on_submitted: Callable[[RemoteTask], Awaitable[None] | None] | None = None,
                         on_downloading: Callable[[], None] | None = None) -> GenerationResult:
    cancel = cancel or threading.Event()
    emit = on_progress or (lambda e: None)
    shot = request.shot_index
    resuming = task is not None
    finished = False  # once the provider reports success, never cancel: it is paid for and resumable
    while True:
        if task is None:
            task = await _submit(backend, api, request, cancel, on_submitted)
            emit(ProgressEvent(shot_index=shot, state="submitted", message=f"task {task.id}"))
        else:
            emit(ProgressEvent(shot_index=shot, state="submitted", message=f"resuming task {task.id}"))
        try:
            status = await _poll_until_done(backend, api, task, request, emit, cancel)
            finished = True
            if on_downloading is not None:
                on_downloading()
            emit(ProgressEvent(shot_index=shot, state="downloading"))
            await _download(backend, api, task, status, dest, cancel)
            break
        except RemoteTaskCancelledError:
            if not resuming:
                raise
            # The task a previous run left behind was cancelled (its Ctrl-C reached the provider):
            # nothing was delivered or charged for it, so this run submits the shot afresh.
            log.info("%s: resumed task %s had been cancelled; submitting again", backend.name, task.id)
            task, resuming = None, False
        except asyncio.CancelledError:
            if not finished:
                await _cancel_remote(backend, api, task)
            raise
    info = probe(dest)  # already decoded end to end by _download
    video = info.video
    assert video is not None
    return GenerationResult(path=str(dest), duration_s=info.duration_s, width=video.width, height=video.height,
                            remote_task_id=task.id, cost=backend.estimate_cost(request))


async def _submit(backend: RemoteBackend, api: ApiClient, request: GenerationRequest, cancel: threading.Event,
                  on_submitted: Callable[[RemoteTask], Awaitable[None] | None] | None) -> RemoteTask:
    if cancel.is_set():
        raise CancelledError("generation was cancelled before it was submitted")
    task = await backend.submit(api, request)
    if on_submitted is not None:
        maybe = on_submitted(task)
        if asyncio.iscoroutine(maybe):
            await maybe
    return task


async def _poll_until_done(backend: RemoteBackend, api: ApiClient, task: RemoteTask, request: GenerationRequest,
                           emit: ProgressCallback, cancel: threading.Event) -> RemoteStatus:
    deadline = time.monotonic() + backend.timeout_s
    shot = request.shot_index
    failures = 0
    last_state = None
    last_percent = None
    while True:
        if cancel.is_set():
            done = await _cancel_remote(backend, api, task)
            raise RemoteCancelledError(f"generation was cancelled{'' if done else ' locally (the provider task may still finish; a rerun resumes it)'}",
                                       remote_cancelled=done)
        try:
            status = await backend.poll(api, task)
            failures = 0
        except RemoteError as exc:
            failures += 1
            if not exc.retryable or failures >= backend.retry.max_attempts:
                raise
            log.info("%s: polling task %s failed (%s); trying again", backend.name, task.id, exc.message)
            await _wait(backend.retry.delay(failures, exc.retry_after_s), cancel)
            continue
        if status.state == "succeeded":
            if not status.video_url:
                raise BackendError(f"{backend.name}: task {task.id} finished without a video")
            return status
        if status.state == "failed":
            raise status.error or BackendError(f"{backend.name}: task {task.id} failed{': ' + status.message if status.message else ''}")
        if status.state == "cancelled":
            raise RemoteTaskCancelledError(f"{backend.name}: task {task.id} was cancelled on the provider's side")
        if status.state != last_state or status.percent != last_percent:
            # A task waiting in the provider's queue is "submitted": progress states only move forward.
            state = "running" if status.state == "running" else "submitted"
            emit(ProgressEvent(shot_index=shot, state=state, percent=status.percent, message=status.message))
            last_state, last_percent = status.state, status.percent
        if time.monotonic() > deadline:
            raise BackendError(f"{backend.name}: task {task.id} did not finish within {backend.timeout_s:.0f}s",
                               hint="a rerun resumes polling it")
        await _wait(backend.poll_interval_s, cancel)


async def _download(backend: RemoteBackend, api: ApiClient, task: RemoteTask, status: RemoteStatus, dest: Path,
                    cancel: threading.Event) -> None:
    url = status.video_url
    assert url is not None
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            await download_clip(api, url, dest, headers=backend.download_headers(url),
                                max_bytes=int(backend.max_download_mb * 1e6),
                                content_types=backend.download_content_types, cancel=cancel)
            verify_clip(dest)
            return
        except MediaError as exc:
            error: DownloadError = DownloadError(f"{backend.name}: the downloaded clip is unusable: {exc.message}",
                                                 retryable=True)
        except DownloadError as exc:
            error = exc
        if not error.retryable or attempt == DOWNLOAD_ATTEMPTS:
            raise error
        log.info("%s: %s; attempt %d of %d", backend.name, error.message, attempt + 1, DOWNLOAD_ATTEMPTS)
        if isinstance(error, ExpiredUrlError):
            fresh = await backend.poll(api, task)  # signed URLs expire; the task hands out a fresh one
            url = fresh.video_url or url
        else:
            await _wait(backend.retry.delay(attempt), cancel)
        if cancel.is_set():
            raise CancelledError("download was cancelled")
