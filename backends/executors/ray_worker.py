"""The Ray actor that runs diffusers shots: one per GPU (or per ``cpus_per_actor`` CPUs).

Why an actor and not a Ray task: loading a video pipeline takes longer than
many shots, so a worker keeps it loaded (the diffusers backend's one-pipeline
cache lives in the actor's process) and shot after shot reuses it.

Why an *async* actor: while a shot runs in a worker thread, the actor still
answers ``events`` (the driver polls progress), ``cancel`` (sets the shot's
cancel event, which the step callback checks) and ``lookup``/``result`` (a
driver that restarted finds a shot this worker is running or has finished and
fetches it instead of computing it again).

Every job is keyed by the engine's cache key, so "the same shot" means the
same thing on the cluster as in ``project.json``. A finished clip's bytes are
kept here until the driver says it has verified and stored them (``forget``),
at most ``keep_results`` of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
import tempfile
import threading
import time
from pathlib import Path

import ray

#: Progress events kept per job (the driver polls often; older ones are of no use to it).
MAX_EVENTS = 500


class _Job:
    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self.state = "running"
        self.events: list[tuple[int, dict]] = []
        self.seq = 0
        self.cancel = threading.Event()
        self.done = asyncio.Event()
        self.payload: dict | None = None
        self.finished_at = 0.0

    def add_event(self, event: dict) -> None:
        self.seq += 1
        self.events.append((self.seq, event))
        del self.events[:-MAX_EVENTS]


class ShotWorker:
    """Runs one shot at a time with a pipeline it keeps loaded."""

    def __init__(self, threads: int = 0, keep_results: int = 32) -> None:
        self.threads = threads
        self.keep_results = keep_results
        self.jobs: dict[str, _Job] = {}
        self.runs = 0  # pipeline runs started here: tests and the bench read it
        self.busy_s = 0.0  # seconds spent making shots (the bench compares it with the driver's wall time)
        self._one_at_a_time = asyncio.Lock()

    async def ping(self) -> dict:
        return {"pid": os.getpid(), "runs": self.runs, "busy_s": self.busy_s,
                "jobs": {k: j.state for k, j in self.jobs.items()}}

    async def lookup(self, job_id: str) -> str | None:
        """``running``, ``done``, ``failed`` or None: what this worker knows of the job."""
        job = self.jobs.get(job_id)
        return job.state if job else None

    async def events(self, job_id: str, since: int = 0) -> tuple[list[tuple[int, dict]], str | None]:
        job = self.jobs.get(job_id)
        if job is None:
            return [], None
        return [(n, e) for n, e in job.events if n > since], job.state

    async def cancel(self, job_id: str) -> bool:
        job = self.jobs.get(job_id)
        if job is None or job.state != "running":
            return False
        job.cancel.set()
        return True

    async def forget(self, job_id: str) -> None:
        """The driver has the clip: drop its bytes."""
        job = self.jobs.get(job_id)
        if job is not None and job.state != "running":
            del self.jobs[job_id]

    async def result(self, job_id: str) -> dict | None:
        """Wait for a job this worker has (running or finished) and return its payload; None if unknown."""
        job = self.jobs.get(job_id)
        if job is None:
            return None
        await job.done.wait()
        return job.payload

    async def run(self, job_id: str, backend: str, settings: dict, request: dict, model: str,
                  images: dict[str, tuple[str, bytes]] | None = None) -> dict:
        """Generate one shot; returns ``{"data": bytes, "sha256", "result"}`` or ``{"error": {...}}``.

        ``backend`` names the backend class (``module:Class``) whose ``run_blocking`` makes the shot, built
        here from ``settings``: the worker knows no backend itself, so any local backend can use the pool.
        ``images`` are the request's start/end images (and an extension's source clip, ``extend_from``) as
        ``{field: (name, bytes)}`` (the driver's paths mean nothing on this machine); they are written next
        to the clip and the request points at them.
        """
        existing = self.jobs.get(job_id)
        if existing is not None and existing.state in ("running", "done"):
            await existing.done.wait()  # a second driver asked for the same shot: never twice
            return existing.payload  # type: ignore[return-value]
        job = self.jobs[job_id] = _Job(job_id)
        try:
            async with self._one_at_a_time:
                payload = await asyncio.to_thread(self._run_blocking, job, backend, settings, request, model,
                                                  images or {})
        except asyncio.CancelledError:  # ray.cancel on the task: stop the thread at its next step
            job.cancel.set()
            job.state, job.payload = "failed", _error("CancelledError", "generation was cancelled")
            job.done.set()
            raise
        job.state = "done" if "data" in payload else "failed"
        job.payload, job.finished_at = payload, time.time()
        job.done.set()
        self._evict()
        return payload

    def _run_blocking(self, job: _Job, backend_ref: str, settings: dict, request: dict, model: str,
                      images: dict[str, tuple[str, bytes]]) -> dict:
        from shotsmith.backends.base import GenerationRequest, ProgressEvent
        from shotsmith.config import Settings
        from shotsmith.errors import ShotsmithError

        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        self.runs += 1
        started = time.perf_counter()

        def on_progress(event: ProgressEvent) -> None:
            job.add_event(event.model_dump(mode="json"))

        try:
            module, _, name = backend_ref.partition(":")
            backend = getattr(importlib.import_module(module), name)(settings=Settings(), **settings)
            with tempfile.TemporaryDirectory(prefix="shotsmith-ray-") as tmp:
                local = dict(request)
                for field, (name, data) in images.items():
                    path = Path(tmp) / field / (Path(name).name or "image")  # the driver's file name, for messages
                    path.parent.mkdir()
                    path.write_bytes(data)
                    local[field] = str(path)
                ready = GenerationRequest.model_validate(local)
                dest = Path(tmp) / "clip.mp4"
                result = backend.run_blocking(ready, dest, model, on_progress, job.cancel)
                data = dest.read_bytes()
        except ShotsmithError as exc:
            return _error(type(exc).__name__, exc.message, exc.hint)
        except Exception as exc:  # a bug or a torch error the backend did not word: still the shot's own
            return _error("BackendError", f"{type(exc).__name__}: {exc}")
        finally:
            self.busy_s += time.perf_counter() - started
        return {"data": data, "sha256": hashlib.sha256(data).hexdigest(),
                "result": result.model_dump(mode="json"), "pid": os.getpid()}

    def _evict(self) -> None:
        finished = sorted((j for j in self.jobs.values() if j.state != "running"), key=lambda j: j.finished_at)
        for job in finished[: max(0, len(finished) - self.keep_results)]:
            del self.jobs[job.id]


def _error(kind: str, message: str, hint: str | None = None) -> dict:
    return {"error": {"type": kind, "message": message, "hint": hint}}


#: The Ray actor class (async: ``run`` leaves the event loop free for ``events`` and ``cancel``).
RemoteShotWorker = ray.remote(ShotWorker)
