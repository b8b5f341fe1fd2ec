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

Every result is checked by its kind before it is renamed into ``clips/`` and
recorded (:func:`~shotsmith.backends.download.verify_output`: a clip decodes
end to end, an image's pixels decode, speech has decodable audio); its suffix
there comes from its content (``.png``/``.jpg``/``.webp``, ``.wav``/``.mp3``/
``.flac``/``.ogg``/``.m4a``, ``.mp4`` for clips), and a voice result's word
timings are kept in its record, so a cached voice clip keeps them. The result
is recorded (the project is saved atomically after each step, so a crash
loses no finished shot). A failed shot (a moderation refusal, a failed task) is reported
in its :class:`ShotOutcome` with its own cause and hint, and the others carry
on. Cancelling (the ``cancel`` event, or cancelling the asyncio task on Ctrl-C)
cancels remote tasks where the API allows and leaves every record in a state a
rerun understands.

Money rules:

* **A remote task is never abandoned**: once a task id is recorded, only the
  provider's final answer (failed, refused) ends it; every other failure keeps
  the record resumable and the rerun polls it instead of creating a new one.
* **A create whose answer was lost** is remembered (a token and the time are
  saved *before* every create is sent): a rerun adopts the task if the adapter
  can find it, and otherwise refuses to create again unless ``resubmit=True``.
* **Spending fails closed at the side effect**: an optional :class:`SpendGuard`
  is asked immediately before each new create (and before a local backend's
  ``generate()``); when it refuses, nothing more is submitted.
* **A resume costs nothing more, a task gone costs a create**: estimates count a
  shot that resumes its task (:func:`resumable_task`, the engine's own rule) at
  nothing more; when the provider no longer has that task (cancelled there, a 404),
  the record stops resuming and the new create is asked of the guard like any
  other, so it needs an approval of its own (the one line says so).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from shotsmith.atomic import atomic_output
from shotsmith.backends.base import (Backend, GenerationRequest, GenerationResult, MediaKind,
                                     ProgressCallback, ProgressEvent, WordTiming)
from shotsmith.backends.cache_keys import (LATER_FIELDS, LOCAL_FILE_FIELDS, cache_key, carried_files, key_payload,
                                           legacy_cache_key, moved_legacy_keys, recorded_payload, request_payload,
                                           same_but_files, same_request, timed_cache_key)
from shotsmith.backends.download import DEFAULT_SUFFIXES, verify_output
from shotsmith.backends.errors import AmbiguousCreateError, ModerationError, RemoteError
from shotsmith.backends.http import ApiClient
from shotsmith.backends.jobs import AMBIGUOUS_HINT, RemoteCancelledError, run_remote_job
from shotsmith.backends.remote import RemoteBackend, RemoteTask
from shotsmith.errors import BackendError, CancelledError, ShotsmithError
from shotsmith.project import GenerationRecord, utcnow
from shotsmith.store import ProjectStore

log = logging.getLogger(__name__)

#: Record states meaning "a remote task may exist and is worth polling again".
RESUMABLE = ("submitted", "running", "downloading")
#: remote_data keys saved before a create is sent; removed once the task id is known or nothing was created.
CREATE_TOKEN = "create_token"
CREATE_SENT_AT = "create_sent_at"

#: Staging folders in ``clips/`` older than this are left over from a killed run and are removed.
STALE_STAGING_S = 6 * 3600

__all__ = ["LATER_FIELDS", "LOCAL_FILE_FIELDS", "RESUMABLE", "ShotOutcome", "SpendGuard", "cache_key",
           "carried_files", "collapse_warnings", "create_uncertain", "failed_shots_error", "find_record",
           "finished_clip", "generate_shots", "key_payload", "legacy_cache_key", "recorded_payload",
           "request_payload", "resumable_task", "same_request", "timed_cache_key"]


def create_uncertain(record: GenerationRecord) -> bool:
    """True when this shot's last create may have reached the provider but its task id is unknown.

    A rerun adopts the task where the adapter can find it; otherwise it does not
    create the shot again unless ``generate_shots(..., resubmit=True)``.
    """
    return record.status != "succeeded" and not record.remote_task_id and bool(record.remote_data.get(CREATE_TOKEN))


def resumable_task(backend: Backend, record: GenerationRecord | None) -> str | None:
    """The remote task id :func:`generate_shots` resumes for this record instead of creating (and paying for)
    the shot again; None when it would create.

    The one rule, shared with estimates (a shot that resumes costs nothing more): a remote backend and a
    record with a task id in a state worth polling. Whether the provider still has the task is only known
    when it is polled; if it does not, the new create goes through the spend guard (see ``on_task_gone`` in
    :func:`~shotsmith.backends.jobs.run_remote_job`).
    """
    if isinstance(backend, RemoteBackend) and record is not None and record.remote_task_id \
            and record.status in RESUMABLE:
        return record.remote_task_id
    return None


@runtime_checkable
class SpendGuard(Protocol):
    """Consulted where money is actually committed (see :func:`generate_shots`)."""

    def authorize(self, backend: Backend, request: GenerationRequest, cache_key: str) -> None:
        """Called immediately before the engine sends a NEW create to a remote backend, or starts a local
        backend's generate() — never for cache hits and never when resuming an existing remote task id.
        Raises a ShotsmithError to refuse; then that request is not sent and generate_shots stops submitting
        anything further (it raises that error after already-running shots settle or are cancelled)."""

    def settle(self, cache_key: str, *, created: bool) -> None:
        """Called once after each authorized create attempt: created=False only when the provider definitely
        did not create the task (a 4xx on create, a connection refused before sending); True when it did or may have."""


class _SpendRefused(Exception):
    """Internal: the guard refused this shot's create (carries the guard's error)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _NotSubmitted(Exception):
    """Internal: an earlier refusal stopped this shot before anything was sent."""


def _live(store: ProjectStore, record: GenerationRecord | None) -> bool:
    """A record worth having: a finished clip that is still there, a remote task to resume, or a create
    whose answer was lost (it may have made a task: never create it again unasked)."""
    if record is None:
        return False
    if record.status == "succeeded":
        return bool(record.clip and (store.root / record.clip).is_file())
    return bool(record.remote_task_id and record.status in RESUMABLE) or create_uncertain(record)


def find_record(store: ProjectStore, backend: Backend, request: GenerationRequest,
                key: str | None = None) -> GenerationRecord | None:
    """The generation record of a prepared ``request``: the one lookup every cache check goes through.

    Looks under :func:`cache_key` (``key`` when the caller has it), then, for a still, under the key stills had
    with their duration in it (:func:`timed_cache_key`, at any duration its stills were made at), then under
    :func:`legacy_cache_key` (here, then as it was in each folder the project was moved out of:
    :func:`moved_legacy_keys`), so a project written before a key change reuses its clips and stills and
    resumes its remote tasks instead of paying again. A legacy record found is filed under the new key (saved
    atomically): a finished one is copied (the old entry stays for code from before the change), an unfinished
    one is moved, so one record follows each remote task. Returns the new key's record otherwise (or None);
    it may be failed or unfinished, so callers check what they need (see :func:`finished_clip`).
    """
    key = key or cache_key(backend, request)
    generations = store.project.generations
    record = generations.get(key)
    if _live(store, record):
        return record
    old_key = next((k for k in _legacy_keys(store, backend, request, key) if _live(store, generations.get(k))), None)
    if old_key is None:
        return record
    old = generations[old_key]
    if old.status == "succeeded":
        adopted = old.model_copy(deep=True, update={"cache_key": key})
    else:
        adopted = generations.pop(old_key)
        adopted.cache_key = key
    # The legacy key matched these very contents (at these project-relative names): their digests go with it.
    adopted.file_sha256 = adopted.file_sha256 or carried_files(request)
    generations[key] = adopted
    store.save()
    log.info("%s: record %s filed under its new cache key %s", backend.name, old_key[:10], key[:10])
    return adopted


def _legacy_keys(store: ProjectStore, backend: Backend, request: GenerationRequest, key: str) -> Iterator[str]:
    """Where a record of ``request`` written before a key change may be, first match wins.

    For a still, the keys it had while stills were keyed with their duration (:func:`timed_cache_key`), at
    the shot's duration now and then at each other duration this backend's stills were made at in the
    project: a shot re-timed since its still was made finds it. At each duration: that key, the legacy key
    here, then the legacy keys it had in the folders the project was moved out of (keys equal to the new
    one are skipped: nothing changed for them).
    """
    seen = {key}
    for timed in _durations(store, backend, request):
        still = timed.mode.kind is MediaKind.IMAGE  # for video and speech the timed key is the key itself
        before, legacy = timed_cache_key(backend, timed) if still else key, legacy_cache_key(backend, timed)
        for candidate in (before, legacy):
            if candidate not in seen:
                seen.add(candidate)
                yield candidate
        if legacy != before:  # a local file is carried: the folder was in the legacy key
            yield from moved_legacy_keys(backend, timed, store.root, store.project.generations.values())


def _durations(store: ProjectStore, backend: Backend, request: GenerationRequest) -> Iterator[GenerationRequest]:
    """``request`` as it is, then (a still only) at each other duration this backend's stills were recorded at."""
    yield request
    if request.mode.kind is not MediaKind.IMAGE:
        return
    # Only the lengths of stills of this very picture (files aside: they are keyed below): no file is read
    # for a project's other stills, and a new still costs one key per length at most.
    lengths = {record.request.get("duration_s") for record in store.project.generations.values()
               if record.backend == backend.name
               and same_but_files(record, request, exclude=("shot_index", "duration_s"))}
    for length in sorted(x for x in lengths if isinstance(x, int | float) and x > 0 and x != request.duration_s):
        yield request.model_copy(update={"duration_s": float(length)})


def finished_clip(store: ProjectStore, record: GenerationRecord | None) -> Path | None:
    """The record's clip when it succeeded and the file is still in the project; else None."""
    if record and record.status == "succeeded" and record.clip and (store.root / record.clip).is_file():
        return store.root / record.clip
    return None


_SHOT_LABEL = re.compile(r"^shot (\d+): (.*)$", re.S)


def collapse_warnings(warnings: Iterable[str] | Iterable[ShotOutcome]) -> list[str]:
    """Each distinct warning once, naming every shot it applies to: ``shots 1-3, 5: …``.

    ``prepare`` words its warnings per shot (``shot N: …``); a run over twenty
    shots on a backend without a seed would otherwise say the same thing twenty
    times. Accepts warning strings or the outcomes of a run; order of first
    appearance is kept.
    """
    lines: list[str] = []
    for item in warnings:
        lines.extend(item.warnings if isinstance(item, ShotOutcome) else [item])
    shots: dict[str, list[int]] = {}
    order: list[str] = []
    for line in lines:
        match = _SHOT_LABEL.match(line)
        text, index = (match.group(2), int(match.group(1))) if match else (line, None)
        if text not in shots:
            shots[text] = []
            order.append(text)
        if index is not None and index not in shots[text]:
            shots[text].append(index)
    out = []
    for text in order:
        indices = sorted(shots[text])
        if not indices:
            out.append(text)
        elif len(indices) == 1:
            out.append(f"shot {indices[0]}: {text}")
        else:
            out.append(f"shots {_ranges(indices)}: {text}")
    return out


def _ranges(indices: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``1-3, 5``."""
    parts: list[str] = []
    start = prev = indices[0]
    for n in indices[1:] + [None]:  # type: ignore[list-item]
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}-{prev}" if prev > start else f"{start}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


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
    #: What the user can do about this shot's error (the env var to set, the cap to raise, …).
    hint: str | None = None
    #: True when running again could succeed without changing anything.
    retryable: bool = False
    #: True when a remote task exists and a rerun resumes it (no new charge).
    resumable: bool = False
    #: True when the create's answer was lost: the task may exist; a rerun does not create it again.
    uncertain: bool = False
    #: True when the provider refused the shot on content grounds (rephrase, don't retry).
    moderated: bool = False
    warnings: list[str] = field(default_factory=list)
    #: What ``clip`` is: a video clip, a still image or speech (the name "clip" stays for every kind).
    kind: MediaKind = MediaKind.VIDEO
    #: Voice: when each word is spoken (from the result, or from the record for a cached clip).
    word_timings: list[WordTiming] | None = None

    @property
    def ok(self) -> bool:
        return self.clip is not None

    def describe(self) -> str:
        """``shot N: cause (hint)`` for a failed shot."""
        label = f"shot {self.shot_index}" if self.shot_index is not None else "clip"
        error = str(self.error or "").removeprefix(f"{label}: ")  # a backend may have named the shot already
        return f"{label}: {error}{f' ({self.hint})' if self.hint else ''}"


def failed_shots_error(outcomes: list[ShotOutcome]) -> BackendError | None:
    """One error for every failed shot, each with its own cause and hint; ``None`` when none failed.

    Only when every failure is retryable (a rerun could succeed as is) does the
    overall hint say "run again".
    """
    failed = [o for o in outcomes if not o.ok]
    if not failed:
        return None
    detail = "; ".join(o.describe() for o in failed)
    if all(o.retryable for o in failed):
        hint = "finished shots are kept; run again to retry only the failed ones"
    else:
        hint = "finished shots are kept; each failed shot says what to do"
    return BackendError(f"{len(failed)} of {len(outcomes)} shots failed to generate: {detail}", hint=hint)


def _emit(on_progress: ProgressCallback | None, event: ProgressEvent) -> None:
    if on_progress is not None:
        on_progress(event)


def _cached_clip(store: ProjectStore, key: str) -> Path | None:
    """The finished clip under ``key`` (legacy records were filed under it by :func:`find_record` already)."""
    return finished_clip(store, store.project.generations.get(key))


def _take_cached(store: ProjectStore, outcome: ShotOutcome) -> bool:
    """Fill ``outcome`` from a finished record of its key (clip, kind, word timings); False when there is none."""
    clip = _cached_clip(store, outcome.cache_key)
    if clip is None:
        return False
    record = store.project.generations[outcome.cache_key]
    outcome.clip, outcome.cached = clip, True
    outcome.kind = MediaKind(record.kind)
    outcome.word_timings = [WordTiming.model_validate(w) for w in record.word_timings] \
        if record.word_timings is not None else None
    return True


@contextmanager
def _staging(clips_dir: Path, stem: str, kind: MediaKind) -> Iterator[Path]:
    """A temporary path in ``clips/`` to generate into; its suffix is the kind's usual one (muxers infer the
    format from it) until the content says otherwise. Removed afterwards, whatever happened."""
    clips_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=clips_dir))
    try:
        yield folder / f"{stem}{DEFAULT_SUFFIXES[kind]}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_stale_staging(clips_dir: Path) -> None:
    """Staging folders a killed run left behind (never those of a run still going: they are recent)."""
    if not clips_dir.is_dir():
        return
    now = time.time()
    for folder in clips_dir.glob(".staging-*"):
        try:
            if now - folder.stat().st_mtime > STALE_STAGING_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


async def generate_shots(store: ProjectStore, backend: Backend, requests: list[GenerationRequest], *,
                         on_progress: ProgressCallback | None = None,
                         cancel: threading.Event | None = None,
                         spend_guard: SpendGuard | None = None,
                         resubmit: bool = False) -> list[ShotOutcome]:
    """Generate every request (or take it from the cache); one outcome per request, in order.

    Raises :class:`CancelledError` when cancelled (finished shots are kept), an
    ``AuthError`` when a remote backend has no key and something must be sent,
    and :class:`~shotsmith.errors.InvalidInputError` when a request cannot be
    made valid for this backend. Per-shot failures land in the outcomes.

    ``spend_guard.authorize`` runs immediately before each new create (or local
    ``generate()``); when it raises, that request is not sent, nothing further
    is submitted, and its error is raised once the shots already running have
    settled. ``resubmit=True`` allows a new create for a shot whose earlier
    create may have been received (its answer was lost): that pays again.
    """
    cancel = cancel or threading.Event()
    prepared: list[ShotOutcome] = []
    for request in requests:
        ready, warnings = backend.prepare(request)
        key = cache_key(backend, ready)
        find_record(store, backend, ready, key)  # a record filed under the legacy key moves to the new one
        prepared.append(ShotOutcome(request.shot_index, ready, key, warnings=warnings, kind=ready.mode.kind))
    todo = [o for o in prepared if _cached_clip(store, o.cache_key) is None]
    if todo:
        _remove_stale_staging(store.clips_dir)
    api: ApiClient | None = backend.client() if isinstance(backend, RemoteBackend) and todo else None
    limit = asyncio.Semaphore(backend.capabilities().max_concurrency)
    inflight: dict[str, asyncio.Future] = {}
    refused: list[BaseException] = []

    async def one(outcome: ShotOutcome) -> None:
        if _take_cached(store, outcome):
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="cached", percent=100))
            return
        if outcome.cache_key in inflight:  # the same shot twice in one plan: generate once
            await asyncio.shield(inflight[outcome.cache_key])
            _take_cached(store, outcome)
            outcome.cached = True
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="cached", percent=100))
            return
        inflight[outcome.cache_key] = asyncio.get_running_loop().create_future()
        try:
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="queued"))
            async with limit:
                if cancel.is_set():
                    raise CancelledError("generation was cancelled")
                await _generate_one(store, backend, api, outcome, on_progress, cancel, spend_guard, refused, resubmit)
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
        if isinstance(result, _SpendRefused | _NotSubmitted):
            outcome.error = "not submitted: spending was refused"
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="cancelled", message=outcome.error))
            continue
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            _record_failure(outcome, result)
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="failed", message=outcome.error))
    if refused:
        raise refused[0]
    if cancelled is not None:
        raise CancelledError("generation was cancelled; finished shots are kept") from cancelled
    return prepared


def _suffix_of(path: Path, kind: MediaKind) -> str:
    """The suffix a remote result's content calls for (it was verified when it was fetched)."""
    if kind is MediaKind.VIDEO:
        return DEFAULT_SUFFIXES[kind]
    return verify_output(path, kind).suffix


def _record_failure(outcome: ShotOutcome, exc: Exception) -> None:
    if isinstance(exc, ShotsmithError):
        outcome.error, outcome.hint = exc.message, exc.hint
    else:
        outcome.error = f"{type(exc).__name__}: {exc}"
    outcome.moderated = isinstance(exc, ModerationError) or type(exc).__name__ == "ModerationError"
    outcome.uncertain = isinstance(exc, AmbiguousCreateError)
    outcome.retryable = bool(getattr(exc, "retryable", False))
    outcome.resumable = bool(getattr(exc, "_shotsmith_resumable", False))


async def _generate_one(store: ProjectStore, backend: Backend, api: ApiClient | None, outcome: ShotOutcome,
                        on_progress: ProgressCallback | None, cancel: threading.Event,
                        guard: SpendGuard | None, refused: list[BaseException], resubmit: bool) -> None:
    request = outcome.request
    key = outcome.cache_key
    label = f"shot{request.shot_index:02d}" if request.shot_index is not None else "clip"
    kind = request.mode.kind
    stem = f"{backend.name}-{label}-{key[:10]}"
    previous = store.project.generations.get(key)
    snapshot = previous.model_copy(deep=True) if previous is not None else None
    remote = isinstance(backend, RemoteBackend)
    task: RemoteTask | None = None
    uncertain: tuple[str, float] | None = None
    gone: list[str] = []  # what became of the resumed task, once the provider says it no longer has it
    if previous is not None and resumable_task(backend, previous):
        task = RemoteTask(previous.remote_task_id, dict(previous.remote_data))
        record = previous
        record.status, record.error, record.updated_at = "running", None, utcnow()
        outcome.resumed = True
        log.info("%s: resuming task %s for %s", backend.name, task.id, label)
    elif remote and previous is not None and create_uncertain(previous):
        # An earlier create's answer was lost (or the run died while it was in flight).
        record = previous
        try:
            sent_at = float(previous.remote_data.get(CREATE_SENT_AT) or 0)
        except ValueError:
            sent_at = 0.0
        uncertain = (previous.remote_data[CREATE_TOKEN], sent_at)
        record.status, record.updated_at = "running", utcnow()
    else:
        record = GenerationRecord(cache_key=key, backend=backend.name,
                                  model=request.model or backend.model, shot_index=request.shot_index,
                                  request=request.model_dump(mode="json"), file_sha256=carried_files(request),
                                  status="running",
                                  cost=backend.estimate_cost(request).model_dump(), kind=kind.value)
        store.project.generations[key] = record
    store.save()

    def authorize() -> None:
        if refused:
            raise _NotSubmitted()
        if guard is None:
            return
        try:
            guard.authorize(backend, request, key)
        except BaseException as exc:
            if gone and isinstance(exc, ShotsmithError):  # say why a shot estimated as a resume wants a create
                exc.message = (f"shot {request.shot_index}: {gone[0]}, so making it again is a new create; "
                               f"{exc.message}")
                exc.args = (exc.message,)
                exc.hint = "run again: the estimate now prices the new create; answer yes, or pass --yes"
            refused.append(exc)
            raise _SpendRefused(exc) from exc

    def task_gone(old: RemoteTask, why: str) -> None:
        # Nothing will come of the old task: its record no longer resumes (a refused create leaves it so, and
        # the next estimate prices the create), and this shot is no longer a resume.
        nonlocal snapshot
        gone.append(f"task {old.id} on {backend.name} is gone ({why})")
        outcome.resumed = False
        record.remote_task_id, record.remote_data = None, {}
        record.status, record.error, record.updated_at = "failed", f"task {old.id} is gone ({why})", utcnow()
        store.save()
        snapshot = record.model_copy(deep=True)

    def before_create(token: str, sent_at: float) -> None:
        authorize()
        # Saved before the create is sent: a run killed while it is in flight knows a task may exist.
        record.remote_task_id = None
        record.remote_data = {CREATE_TOKEN: token, CREATE_SENT_AT: f"{sent_at:.3f}"}
        record.status, record.updated_at = "running", utcnow()
        store.save()

    def settle(created: bool) -> None:
        if not created and not record.remote_task_id:
            record.remote_data = {}  # nothing exists at the provider: a rerun may create freely
            store.save()
        if guard is not None:
            guard.settle(key, created=created)

    def submitted(remote_task: RemoteTask) -> None:
        # The line that makes a killed run resumable: saved before the first poll.
        record.remote_task_id, record.remote_data = remote_task.id, dict(remote_task.data)
        record.status, record.updated_at = "submitted", utcnow()
        store.save()

    def downloading() -> None:
        record.status, record.updated_at = "downloading", utcnow()
        store.save()

    def answered() -> None:
        # A synchronous create was answered: nothing is left at the provider, so a rerun may create again.
        record.remote_data, record.updated_at = {}, utcnow()
        store.save()

    try:
        with _staging(store.clips_dir, stem, kind) as tmp:
            if remote:
                assert api is not None
                result = await run_remote_job(backend, api, request, tmp, on_progress=on_progress, cancel=cancel,
                                              task=task, on_submitted=submitted, on_downloading=downloading,
                                              before_create=before_create, settle=settle, uncertain=uncertain,
                                              resubmit=resubmit, on_answered=answered, on_task_gone=task_gone)
                suffix = _suffix_of(tmp, kind)
            else:
                authorize()
                _emit(on_progress, ProgressEvent(shot_index=request.shot_index, state="running", percent=0))
                try:
                    result = await backend.generate(request, tmp, on_progress=on_progress or (lambda e: None),
                                                    cancel=cancel)
                finally:
                    if guard is not None:
                        guard.settle(key, created=True)
                if kind is MediaKind.VIDEO and result.kind is MediaKind.IMAGE and backend.capabilities().still_clips:
                    kind = MediaKind.IMAGE  # a still clip (the animatic's card): checked and kept as the image it is
                suffix = verify_output(tmp, kind).suffix
            final = store.clips_dir / f"{stem}{suffix}"
            with atomic_output(final) as out:
                os.replace(tmp, out)
    except (_SpendRefused, _NotSubmitted):
        # Nothing was sent for this shot: put its record back as it was.
        if snapshot is None:
            store.project.generations.pop(key, None)
        else:
            store.project.generations[key] = snapshot
        store.save()
        raise
    except RemoteCancelledError as exc:
        # Confirmed remote cancel: a rerun creates afresh. Unconfirmed: keep the task resumable.
        if exc.remote_cancelled or not record.remote_task_id:
            record.status = "cancelled"
        record.error, record.updated_at = exc.message, utcnow()
        store.save()
        raise
    except (CancelledError, asyncio.CancelledError) as exc:
        if not record.remote_task_id:
            record.status = "cancelled"  # a create in flight keeps its token: the rerun checks for it
        record.error = "cancelled" if isinstance(exc, asyncio.CancelledError) else exc.message
        if create_uncertain(record):
            record.error = f"{record.error} while its create was in flight; {AMBIGUOUS_HINT}"
        record.updated_at = utcnow()
        store.save()
        raise
    except Exception as exc:
        terminal = isinstance(exc, RemoteError) and exc.terminal
        if record.remote_task_id and not terminal:
            # The task exists and the provider has not ended it: never abandon it. A rerun resumes it.
            if record.status not in RESUMABLE:
                record.status = "running"
            exc._shotsmith_resumable = True  # type: ignore[attr-defined]
        else:
            record.status = "failed"
        record.error = exc.message if isinstance(exc, ShotsmithError) else f"{type(exc).__name__}: {exc}"
        record.updated_at = utcnow()
        store.save()
        raise
    except BaseException:
        # KeyboardInterrupt, SystemExit and the like: the process is going away. A task that
        # was submitted stays resumable; one that was not is simply not started.
        if not record.remote_task_id and not record.remote_data.get(CREATE_TOKEN):
            record.status = "cancelled"
        record.error, record.updated_at = "interrupted", utcnow()
        store.save()
        raise
    outcome.result = result.model_copy(update={"path": str(final), "kind": kind})
    outcome.clip, outcome.kind = final, kind
    outcome.word_timings = result.word_timings
    label_text = f"shot {request.shot_index}: " if request.shot_index is not None else ""
    outcome.warnings += [w if w.startswith("shot ") else f"{label_text}{w}" for w in result.warnings
                         if w not in outcome.warnings]
    record.status, record.clip, record.error, record.updated_at = "succeeded", store.relative(final), None, utcnow()
    record.kind = kind.value
    record.word_timings = [w.model_dump() for w in result.word_timings] if result.word_timings is not None else None
    store.save()
    _emit(on_progress, ProgressEvent(shot_index=request.shot_index, state="done", percent=100))
