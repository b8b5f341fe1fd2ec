"""Drive one remote task from create to a verified clip on disk, with every wait bounded.

Kept apart from the engine so a remote backend can also run on its own
(``RemoteBackend.generate``, the conformance suite) without a project. The
engine passes ``on_submitted`` to persist the task id *before* the first poll,
and ``task`` to resume polling a task a killed run left behind instead of
creating (and paying for) it again.

The rules this module keeps:

* **A task that exists is never abandoned.** Only the provider's own final
  answer (the task failed, the content was refused; ``RemoteError.terminal``)
  ends it. A status outage, the task deadline, a hung poll, an interrupted
  download or a Ctrl-C the API cannot act on all raise an error that says the
  task is kept, and the engine leaves its record resumable.
* **Every wait has a total bound**: a create by its attempts, the poll loop by
  the task deadline (``timeout_s``; its retries count against it and are not
  nested inside the HTTP client's), a download by ``download_timeout_s`` and a
  minimum rate.
* **A create is sent at most once** unless nothing was received (the connection
  never opened, a 429/5xx answer) or the adapter can find what it created
  (:meth:`RemoteBackend.find_created`). Otherwise the shot stops with
  :class:`AmbiguousCreateError`.

Results of every kind go through the same steps; only the last check differs
(:func:`~shotsmith.backends.download.verify_output`: a clip decodes end to end,
an image's pixels decode, speech has decodable audio). APIs that answer the
create with the output itself (speech, some image APIs) set
``RemoteBackend.synchronous`` and implement ``submit_and_fetch``: the same
spend guard and create-at-most-once rules apply, and once such a create has
been answered nothing is left at the provider to resume, so a failure after
that regenerates on the next run.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from pathlib import Path

from shotsmith.backends.base import CostEstimate, GenerationRequest, GenerationResult, ProgressCallback, ProgressEvent
from shotsmith.backends.download import KIND_CONTENT_TYPES, VerifiedMedia, download_clip, verify_output
from shotsmith.backends.errors import (AmbiguousCreateError, DownloadError, ExpiredUrlError, RemoteError,
                                       TimeoutExceededError)
from shotsmith.backends.http import ApiClient, call_scope
from shotsmith.backends.tasks import _CREATE_TOKEN, RemoteStatus, RemoteTask
from shotsmith.errors import CancelledError, MediaError

log = logging.getLogger(__name__)

#: How often the cancel flag is looked at while waiting between polls.
CANCEL_CHECK_S = 0.05
DOWNLOAD_ATTEMPTS = 4
#: A cancel request gets this long (bounded like everything else).
CANCEL_TIMEOUT_S = 15.0

AMBIGUOUS_HINT = ("it may have been created; check the provider's dashboard; `--resubmit` pays again "
                  "(a rerun without it does not create this shot again)")


def kept(task_id: str) -> str:
    return f"task {task_id} is kept; a rerun resumes it without paying again"


class RemoteBackend(Protocol):
    """What the job runner uses of :class:`shotsmith.backends.remote.RemoteBackend`.

    Declared here because ``remote`` imports this module (its ``generate`` runs a
    job), so this module must not import ``remote``.
    """

    name: str
    options: dict[str, Any]
    retry: Any
    can_find_created: bool
    request_timeout_s: float
    timeout_s: float
    poll_interval_s: float
    poll_outage_s: float
    download_timeout_s: float
    download_window_s: float
    min_download_kbs: float
    max_download_mb: float
    download_content_types: tuple[str, ...]

    synchronous: bool

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask: ...

    async def submit_and_fetch(self, api: ApiClient, request: GenerationRequest, dest: Path) -> RemoteStatus: ...

    async def poll(self, api: ApiClient, task: RemoteTask) -> RemoteStatus: ...

    async def cancel(self, api: ApiClient, task: RemoteTask) -> bool: ...

    async def find_created(self, api: ApiClient, request: GenerationRequest, token: str,
                           sent_at: float) -> RemoteTask | None: ...

    def download_headers(self, url: str) -> dict[str, str]: ...

    # Optional: ``result_for(task, dest) -> GenerationResult`` adds what the adapter kept about a finished
    # task (word timings, warnings) to the result the runner builds from the downloaded file.

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate: ...


class RemoteCancelledError(CancelledError):
    """Cancelled while a remote task existed; ``remote_cancelled`` says whether the provider confirmed."""

    def __init__(self, message: str, *, remote_cancelled: bool) -> None:
        super().__init__(message)
        self.remote_cancelled = remote_cancelled


class RemoteTaskCancelledError(RemoteError):
    """The provider reports the task cancelled (by us on an earlier Ctrl-C, or by someone else)."""


#: ``before_create(token, sent_at)``: called right before a new create is sent (may raise to refuse).
BeforeCreate = Callable[[str, float], None]
#: ``settle(created)``: called once after each create attempt that ``before_create`` allowed.
Settle = Callable[[bool], None]
#: ``on_answered()``: a synchronous create was answered; nothing is left at the provider to resume or find.
Answered = Callable[[], None]
#: ``on_task_gone(task, why)``: a resumed task is no longer at the provider; a new create follows (guarded).
TaskGone = Callable[[RemoteTask, str], None]


async def _wait(seconds: float, cancel: threading.Event) -> None:
    end = time.monotonic() + seconds
    while not cancel.is_set():
        left = end - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(CANCEL_CHECK_S, left))


async def _cancel_remote(backend: RemoteBackend, api: ApiClient, task: RemoteTask) -> bool:
    try:
        with call_scope(deadline=time.monotonic() + CANCEL_TIMEOUT_S, retry=False, what=f"cancelling task {task.id}"):
            return await asyncio.wait_for(backend.cancel(api, task), timeout=CANCEL_TIMEOUT_S)
    except (RemoteError, TimeoutError, asyncio.TimeoutError) as exc:
        log.warning("%s: could not cancel task %s: %s", backend.name, task.id, getattr(exc, "message", exc))
        return False


async def run_remote_job(backend: RemoteBackend, api: ApiClient, request: GenerationRequest, dest: Path, *,
                         on_progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
                         task: RemoteTask | None = None,
                         on_submitted: Callable[[RemoteTask], Awaitable[None] | None] | None = None,
                         on_downloading: Callable[[], None] | None = None,
                         before_create: BeforeCreate | None = None, settle: Settle | None = None,
                         uncertain: tuple[str, float] | None = None, resubmit: bool = False,
                         on_answered: Answered | None = None,
                         on_task_gone: TaskGone | None = None) -> GenerationResult:
    """Create (or resume, or recover) one task, poll it to the end, download and verify the output.

    ``uncertain`` = (token, sent_at) of an earlier create whose answer was lost:
    the task is looked for (adapters that can), or the shot stops unless
    ``resubmit`` allows a new create.

    A resumed ``task`` the provider no longer has (cancelled there, or unknown to it: a 404 on its status,
    as for an expired task) was not delivered: ``on_task_gone(task, why)`` is told, then the shot is
    created afresh, through ``before_create`` like any create (the spend guard decides: a resume was
    estimated at nothing more, so the new create needs an approval of its own).
    """
    cancel = cancel or threading.Event()
    emit = on_progress or (lambda e: None)
    shot = request.shot_index
    if getattr(backend, "synchronous", False):
        return await _run_synchronous(backend, api, request, dest, emit=emit, cancel=cancel,
                                      before_create=before_create, settle=settle, uncertain=uncertain,
                                      resubmit=resubmit, on_answered=on_answered)
    resuming = task is not None
    finished = False  # once the provider reports success, never cancel: it is paid for and resumable
    if task is None and uncertain is not None:
        task = await _recover(backend, api, request, uncertain, resubmit)
        if task is not None:
            resuming = True
            await _notify(on_submitted, task)
    while True:
        if task is None:
            task = await _submit(backend, api, request, cancel, on_submitted, before_create, settle)
            emit(ProgressEvent(shot_index=shot, state="submitted", message=f"task {task.id}"))
        else:
            emit(ProgressEvent(shot_index=shot, state="submitted", message=f"resuming task {task.id}"))
        try:
            status = await _poll_until_done(backend, api, task, request, emit, cancel)
            finished = True
            if on_downloading is not None:
                on_downloading()
            emit(ProgressEvent(shot_index=shot, state="downloading"))
            checked = await _download(backend, api, task, status, dest, cancel, request)
            break
        except RemoteTaskCancelledError:
            if not resuming:
                raise
            # The task a previous run left behind was cancelled (its Ctrl-C reached the provider):
            # nothing was delivered or charged for it, so this run creates the shot afresh (guarded).
            log.info("%s: resumed task %s had been cancelled; creating it again", backend.name, task.id)
            if on_task_gone is not None:
                on_task_gone(task, "cancelled at the provider")
            task, resuming = None, False
        except RemoteError as exc:
            if not (resuming and not finished and exc.status == 404):
                raise
            # The provider does not know the task a previous run left behind (expired, deleted): nothing
            # will ever be delivered for it; creating the shot again goes through the spend guard.
            log.info("%s: resumed task %s is unknown to the provider (404); creating it again", backend.name, task.id)
            if on_task_gone is not None:
                on_task_gone(task, "the provider no longer knows it: expired or deleted")
            task, resuming = None, False
        except asyncio.CancelledError:
            if not finished:
                await _cancel_remote(backend, api, task)
            raise
    result = _result(backend, request, dest, checked, status, task.id)
    result_for = getattr(backend, "result_for", None)
    if callable(result_for):
        # An adapter that keeps more about a task than its status says (a voice's spooled word timings).
        extra = result_for(task, dest)
        result = result.model_copy(update={"word_timings": extra.word_timings or result.word_timings,
                                           "warnings": [*result.warnings, *extra.warnings]})
    return result


def _result(backend: RemoteBackend, request: GenerationRequest, dest: Path, checked: VerifiedMedia,
            status: RemoteStatus, task_id: str | None) -> GenerationResult:
    return GenerationResult(path=str(dest), duration_s=checked.duration_s, width=checked.width, height=checked.height,
                            remote_task_id=task_id, cost=backend.estimate_cost(request), has_audio=checked.has_audio,
                            kind=checked.kind, word_timings=status.word_timings)


async def _run_synchronous(backend: RemoteBackend, api: ApiClient, request: GenerationRequest, dest: Path, *,
                           emit: ProgressCallback, cancel: threading.Event, before_create: BeforeCreate | None,
                           settle: Settle | None, uncertain: tuple[str, float] | None, resubmit: bool,
                           on_answered: Answered | None) -> GenerationResult:
    """One create whose answer carries the output (speech, some image APIs): no task to poll or resume.

    A create whose answer was lost may have been billed, so, as for tasks, a
    rerun does not send it again unless ``resubmit``. Once answered, nothing is
    left to find: a result that then fails its checks fails the shot, and the
    next run generates it again.
    """
    if uncertain is not None and not resubmit:
        raise _ambiguous(backend, None)
    if cancel.is_set():
        raise CancelledError("generation was cancelled before it was submitted")
    token, sent_at = uuid.uuid4().hex, time.time()
    if before_create is not None:
        before_create(token, sent_at)
    emit(ProgressEvent(shot_index=request.shot_index, state="submitted"))
    created = True
    answered = False
    deadline = time.monotonic() + (backend.request_timeout_s + backend.retry.max_delay_s) * backend.retry.max_attempts
    marker = _CREATE_TOKEN.set(token)
    try:
        with call_scope(deadline=deadline, create=True, what="generating") as scope:
            try:
                status = await backend.submit_and_fetch(api, request, dest)
                answered = True
            except AmbiguousCreateError:
                raise
            except RemoteError as exc:
                if not scope.state.get("accepted"):
                    created = False  # refused, or never sent: nothing was made
                    raise
                answered = True  # answered 2xx, then the answer was unusable: made, and nothing to fetch again
                raise RemoteError(f"{backend.name}: the answer arrived but its output could not be read "
                                  f"({exc.message})", retryable=False, status=exc.status,
                                  hint="running again generates it again (and is charged again)") from exc
    finally:
        _CREATE_TOKEN.reset(marker)
        if answered and on_answered is not None:
            on_answered()
        if settle is not None:
            settle(created)
    if status.state != "succeeded":
        error = status.error or RemoteError(f"{backend.name}: the generation failed"
                                            f"{': ' + status.message if status.message else ''}")
        error.terminal = True
        raise error
    try:
        checked = verify_output(dest, request.mode.kind)
    except MediaError as exc:
        raise RemoteError(f"{backend.name}: the output is unusable: {exc.message}", retryable=False,
                          hint="running again generates it again (and is charged again)") from exc
    emit(ProgressEvent(shot_index=request.shot_index, state="downloading", percent=100))
    return _result(backend, request, dest, checked, status, None)


async def _notify(on_submitted, task: RemoteTask) -> None:
    if on_submitted is not None:
        maybe = on_submitted(task)
        if asyncio.iscoroutine(maybe):
            await maybe


def _ambiguous(backend: RemoteBackend, cause: RemoteError | None) -> AmbiguousCreateError:
    detail = cause.message if cause is not None else f"{backend.name}: an earlier create's answer was lost"
    error = AmbiguousCreateError(detail, status=getattr(cause, "status", None))
    error.hint = AMBIGUOUS_HINT
    return error


async def _find(backend: RemoteBackend, api: ApiClient, request: GenerationRequest, token: str,
                sent_at: float) -> RemoteTask | None:
    deadline = time.monotonic() + backend.request_timeout_s * backend.retry.max_attempts
    with call_scope(deadline=deadline, what="looking for the task an earlier create made"):
        return await backend.find_created(api, request, token, sent_at)


async def _find_lost_create(backend: RemoteBackend, api: ApiClient, request: GenerationRequest, token: str,
                            sent_at: float, cause: RemoteError, *, after_refusal: bool) -> RemoteTask | None:
    """Look for the task a create of this shot may have made although its outcome is unknown to us.

    Two moments of :func:`_create` need it, and differ only in why the create is in doubt:
    ``after_refusal=False``, a create's answer was lost (``cause`` is that :class:`AmbiguousCreateError`);
    ``after_refusal=True``, a create sent again was refused (``cause``), and the refusal may be a
    duplicate-id answer to an earlier attempt that arrived late. What each does when nothing is found
    differs and stays with the caller (send again, or let the refusal stand), so it is not decided here.

    Returns the task to adopt (logged), or None when the provider shows nothing under the create's
    token. A lookup that fails is an :class:`AmbiguousCreateError` chained to ``cause``, whose message
    says the lookup failed: the charge is kept and a rerun does not create again.

    (:func:`_recover`'s lookup, on a rerun after a lost answer, is kept apart: there ``resubmit`` decides
    whether a failed lookup may still create, which neither moment here allows.)
    """
    try:
        found = await _find(backend, api, request, token, sent_at)
    except RemoteError as lookup:
        error = _ambiguous(backend, cause)
        why = "an earlier attempt may have arrived and " if after_refusal else ""
        error.message += f"; {why}looking for it failed ({lookup.message})"
        raise error from cause
    if found is not None:
        log.info("%s: %s; adopted task %s", backend.name,
                 "the first create arrived late" if after_refusal else "the create's answer was lost", found.id)
    return found


async def _recover(backend: RemoteBackend, api: ApiClient, request: GenerationRequest,
                   uncertain: tuple[str, float], resubmit: bool) -> RemoteTask | None:
    """An earlier create's answer was lost: adopt its task if it can be found, else create only if allowed."""
    token, sent_at = uncertain
    if backend.can_find_created:
        try:
            found = await _find(backend, api, request, token, sent_at)
        except RemoteError as exc:
            if not resubmit:
                error = _ambiguous(backend, None)
                error.message += f" and looking for it failed ({exc.message})"
                raise error from exc
            found = None
        if found is not None:
            log.info("%s: adopted task %s that an earlier create made", backend.name, found.id)
        return found
    if resubmit:
        return None
    raise _ambiguous(backend, None)


async def _submit(backend: RemoteBackend, api: ApiClient, request: GenerationRequest, cancel: threading.Event,
                  on_submitted, before_create: BeforeCreate | None, settle: Settle | None) -> RemoteTask:
    if cancel.is_set():
        raise CancelledError("generation was cancelled before it was submitted")
    token = uuid.uuid4().hex
    sent_at = time.time()
    if before_create is not None:
        before_create(token, sent_at)  # the spend guard may refuse here: nothing has been sent
    created = True
    try:
        task = await _create(backend, api, request, token, sent_at)
        if task is None:
            created = False
            raise RemoteError(f"{backend.name}: the create was not accepted", retryable=True)
    except AmbiguousCreateError:
        raise
    except RemoteError:
        created = False  # the provider answered, or nothing was sent: no task exists
        raise
    finally:
        if settle is not None:
            settle(created)
    await _notify(on_submitted, task)
    return task


async def _create(backend: RemoteBackend, api: ApiClient, request: GenerationRequest, token: str,
                  sent_at: float) -> RemoteTask | None:
    attempts = backend.retry.max_attempts if backend.can_find_created else 1
    # One budget for the whole create, repeats after "never arrived" included.
    deadline = time.monotonic() + (backend.request_timeout_s + backend.retry.max_delay_s) * backend.retry.max_attempts
    for attempt in range(1, attempts + 1):
        marker = _CREATE_TOKEN.set(token)
        try:
            with call_scope(deadline=deadline, create=True, what="creating the task") as scope:
                try:
                    return await backend.submit(api, request)
                except AmbiguousCreateError:
                    raise
                except RemoteError as exc:
                    if scope.state.get("accepted"):  # answered 2xx, then the answer was unreadable
                        raise AmbiguousCreateError(f"{backend.name}: the create was accepted but its answer could "
                                                   f"not be read ({exc.message}); the task may have been created") from exc
                    if attempt == 1:
                        raise
                    refused = exc
            # A repeated create was refused: the first one may have arrived late (a duplicate id). Look again.
            # (A failed lookup raises the ambiguity here, inside the try: the handler below then treats it as a
            # lost answer, looking once more before anything is sent again.)
            found = await _find_lost_create(backend, api, request, token, sent_at, refused, after_refusal=True)
            if found is not None:
                return found
            raise refused  # nothing under our id: the refusal stands, nothing was made
        except AmbiguousCreateError as exc:
            if not backend.can_find_created:
                raise _ambiguous(backend, exc) from exc
            found = await _find_lost_create(backend, api, request, token, sent_at, exc, after_refusal=False)
            if found is not None:
                return found
            # The provider shows nothing under our id: the create never arrived; sending it again is safe.
            if attempt == attempts:
                raise _ambiguous(backend, exc) from exc
            log.info("%s: the create never arrived; sending it again (%d/%d)", backend.name, attempt + 1, attempts)
        finally:
            _CREATE_TOKEN.reset(marker)
    return None


async def _poll_until_done(backend: RemoteBackend, api: ApiClient, task: RemoteTask, request: GenerationRequest,
                           emit: ProgressCallback, cancel: threading.Event) -> RemoteStatus:
    deadline = time.monotonic() + backend.timeout_s
    shot = request.shot_index
    failures = 0
    last_ok = time.monotonic()
    last_error: RemoteError | None = None
    last_state = None
    last_percent = None
    while True:
        if cancel.is_set():
            done = await _cancel_remote(backend, api, task)
            raise RemoteCancelledError(
                "generation was cancelled" if done else
                f"generation was cancelled here, but {backend.name} could not cancel task {task.id}: it may still "
                f"finish and be charged; {kept(task.id)}", remote_cancelled=done)
        if time.monotonic() >= deadline:
            raise _task_timeout(backend, task, last_error)
        try:
            with call_scope(deadline=deadline, retry=False, what=f"polling task {task.id}"):
                status = await backend.poll(api, task)
            failures, last_ok, last_error = 0, time.monotonic(), None
        except RemoteError as exc:
            last_error = exc
            if isinstance(exc, TimeoutExceededError) and time.monotonic() >= deadline:
                raise _task_timeout(backend, task, exc) from exc
            if not exc.retryable:
                exc.message = f"{exc.message}; {kept(task.id)}"
                exc.args = (exc.message,)
                raise
            failures += 1
            wait = backend.retry.delay(min(failures, 16), exc.retry_after_s)
            now = time.monotonic()
            if now + wait - last_ok >= backend.poll_outage_s or now + wait >= deadline:
                error = RemoteError(f"{backend.name}: could not read the status of task {task.id} for "
                                    f"{now - last_ok:.3g}s ({failures} tries; last: {exc.message}); {kept(task.id)}",
                                    retryable=True, status=exc.status,
                                    hint=exc.hint or "run again later to resume polling it")
                raise error from exc
            log.info("%s: polling task %s failed (%s); trying again", backend.name, task.id, exc.message)
            await _wait(wait, cancel)
            continue
        if status.state == "succeeded":
            if not status.video_url:
                error = RemoteError(f"{backend.name}: task {task.id} finished without {_noun(request)}")
                error.terminal = True
                raise error
            return status
        if status.state == "failed":
            error = status.error or RemoteError(f"{backend.name}: task {task.id} failed"
                                                f"{': ' + status.message if status.message else ''}")
            error.terminal = True
            raise error
        if status.state == "cancelled":
            error = RemoteTaskCancelledError(f"{backend.name}: task {task.id} was cancelled on the provider's side")
            error.terminal = True
            raise error
        if status.state != last_state or status.percent != last_percent:
            # A task waiting in the provider's queue is "submitted": progress states only move forward.
            state = "running" if status.state == "running" else "submitted"
            emit(ProgressEvent(shot_index=shot, state=state, percent=status.percent, message=status.message))
            last_state, last_percent = status.state, status.percent
        await _wait(min(backend.poll_interval_s, max(deadline - time.monotonic(), 0.0)), cancel)


def _task_timeout(backend: RemoteBackend, task: RemoteTask, last_error: RemoteError | None = None) -> TimeoutExceededError:
    why = f" (the last status call failed: {last_error.message})" if last_error is not None else ""
    return TimeoutExceededError(f"{backend.name}: task {task.id} did not finish within {backend.timeout_s:g}s{why}; "
                                f"it may still be running at the provider; {kept(task.id)}", retryable=True,
                                hint="run again later to resume it, or raise timeout_s for this backend")


def _noun(request: GenerationRequest) -> str:
    return {"video": "a video", "image": "an image", "voice": "audio"}[request.mode.kind.value]


async def _download(backend: RemoteBackend, api: ApiClient, task: RemoteTask, status: RemoteStatus, dest: Path,
                    cancel: threading.Event, request: GenerationRequest) -> VerifiedMedia:
    url = status.video_url
    assert url is not None
    kind = request.mode.kind
    deadline = time.monotonic() + backend.download_timeout_s
    window = backend.download_window_s
    # The backend's own list (CDNs often say octet-stream) plus the kind's own types.
    content_types = tuple(dict.fromkeys((*backend.download_content_types, *KIND_CONTENT_TYPES[kind])))
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        try:
            with call_scope(deadline=deadline, what=f"downloading task {task.id}"):
                await download_clip(api, url, dest, auth_for=backend.download_headers,
                                    max_bytes=int(backend.max_download_mb * 1e6),
                                    content_types=content_types, cancel=cancel, deadline=deadline,
                                    min_rate_bps=backend.min_download_kbs * 1000, rate_window_s=window,
                                    what=kind.value)
            return verify_output(dest, kind)
        except MediaError as exc:
            noun = {"video": "clip", "image": "image", "voice": "audio"}[kind.value]
            error: DownloadError = DownloadError(f"{backend.name}: the downloaded {noun} is unusable: {exc.message}",
                                                 retryable=True)
        except DownloadError as exc:
            error = exc
        error.hint = error.hint or kept(task.id)
        # No time left for another attempt to show its rate: report this attempt's own cause.
        if not error.retryable or attempt == DOWNLOAD_ATTEMPTS or deadline - time.monotonic() < window:
            raise error
        log.info("%s: %s; attempt %d of %d", backend.name, error.message, attempt + 1, DOWNLOAD_ATTEMPTS)
        if isinstance(error, ExpiredUrlError):
            # Signed URLs expire; the task hands out a fresh one.
            with call_scope(deadline=deadline, what=f"refreshing the download URL of task {task.id}"):
                fresh = await backend.poll(api, task)
            url = fresh.video_url or url
        else:
            await _wait(min(backend.retry.delay(attempt), max(deadline - time.monotonic(), 0.0)), cancel)
        if cancel.is_set():
            raise CancelledError("download was cancelled")
