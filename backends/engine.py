"""The job engine: every generation of every backend runs through here.

For a list of shot requests it validates each against the backend's
capabilities, skips shots whose cache key already has a finished clip,
generates the rest concurrently within the backend's concurrency limit,
verifies each clip decodes, renames it into ``clips/`` and records it in the
project (saved atomically after each shot, so a crash loses no finished shot).
A failed shot is reported and the others carry on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from shotsmith.atomic import atomic_output
from shotsmith.backends.base import Backend, GenerationRequest, GenerationResult, ProgressCallback, ProgressEvent
from shotsmith.errors import CancelledError, ShotsmithError
from shotsmith.media.probe import probe, require_video
from shotsmith.project import GenerationRecord, utcnow
from shotsmith.store import ProjectStore


def cache_key(backend: Backend, request: GenerationRequest) -> str:
    """Hash over (backend, model, request, seed); the shot's position is not part of it."""
    payload = request.model_dump(mode="json", exclude={"shot_index"})
    blob = json.dumps({"backend": backend.name, "model": request.model or backend.model, "request": payload},
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
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.clip is not None


def _emit(on_progress: ProgressCallback | None, event: ProgressEvent) -> None:
    if on_progress is not None:
        on_progress(event)


async def generate_shots(store: ProjectStore, backend: Backend, requests: list[GenerationRequest], *,
                         on_progress: ProgressCallback | None = None,
                         cancel: threading.Event | None = None) -> list[ShotOutcome]:
    cancel = cancel or threading.Event()
    prepared: list[ShotOutcome] = []
    for request in requests:
        ready, warnings = backend.prepare(request)
        prepared.append(ShotOutcome(request.shot_index, ready, cache_key(backend, ready), warnings=warnings))
    limit = asyncio.Semaphore(backend.capabilities().max_concurrency)

    async def one(outcome: ShotOutcome) -> None:
        record = store.project.generations.get(outcome.cache_key)
        if record and record.status == "succeeded" and record.clip and (store.root / record.clip).is_file():
            outcome.clip, outcome.cached = store.root / record.clip, True
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="cached", percent=100))
            return
        _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="queued"))
        async with limit:
            if cancel.is_set():
                raise CancelledError("generation was cancelled")
            await _generate_one(store, backend, outcome, on_progress, cancel)

    results = await asyncio.gather(*(one(o) for o in prepared), return_exceptions=True)
    for outcome, result in zip(prepared, results):
        if isinstance(result, CancelledError | asyncio.CancelledError):
            raise CancelledError("generation was cancelled; finished shots are kept") from result
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            outcome.error = result.message if isinstance(result, ShotsmithError) else f"{type(result).__name__}: {result}"
            _emit(on_progress, ProgressEvent(shot_index=outcome.shot_index, state="failed", message=outcome.error))
    return prepared


async def _generate_one(store: ProjectStore, backend: Backend, outcome: ShotOutcome,
                        on_progress: ProgressCallback | None, cancel: threading.Event) -> None:
    request = outcome.request
    label = f"shot{request.shot_index:02d}" if request.shot_index is not None else "clip"
    final = store.clips_dir / f"{backend.name}-{label}-{outcome.cache_key[:10]}.mp4"
    record = GenerationRecord(cache_key=outcome.cache_key, backend=backend.name, model=request.model or backend.model,
                              shot_index=request.shot_index, request=request.model_dump(mode="json"), status="running",
                              cost=backend.estimate_cost(request).model_dump())
    store.project.generations[outcome.cache_key] = record
    store.save()
    _emit(on_progress, ProgressEvent(shot_index=request.shot_index, state="running", percent=0))
    try:
        with atomic_output(final) as tmp:
            result = await backend.generate(request, tmp, on_progress=on_progress or (lambda e: None), cancel=cancel)
            require_video(probe(tmp))
    except BaseException as exc:
        record.status = "cancelled" if isinstance(exc, CancelledError | asyncio.CancelledError) else "failed"
        record.error = exc.message if isinstance(exc, ShotsmithError) else str(exc)
        record.updated_at = utcnow()
        store.save()
        raise
    outcome.result = result.model_copy(update={"path": str(final)})
    outcome.clip = final
    record.status, record.clip, record.updated_at = "succeeded", store.relative(final), utcnow()
    store.save()
    _emit(on_progress, ProgressEvent(shot_index=request.shot_index, state="done", percent=100))
