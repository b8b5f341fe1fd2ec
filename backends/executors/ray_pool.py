"""The driver side of the Ray executor: a pool of :mod:`.ray_worker` actors and one shot's trip through it.

How a shot runs (:meth:`RayPool.run_shot`, called from the diffusers
backend's ``generate()`` inside the job engine, so the engine has already
saved the shot's record as ``running`` and asked the spend guard):

1. **Fetch, never recompute.** Every worker is asked whether it has the job
   (keyed by the engine's cache key). A driver that was killed after sending
   the shot finds it again: still running, it attaches and waits; finished, it
   fetches the clip. Only a job no worker knows is sent.
2. **One shot per actor.** An idle actor is taken (one per GPU, or per
   ``cpus_per_actor`` CPUs on a CPU-only cluster) and the shot sent to it.
3. **Progress** is polled from the actor every ``poll_s`` and handed to the
   engine's callback as the same :class:`ProgressEvent` a local run emits.
4. **Cancel**: the engine's cancel event (or the awaiting task being
   cancelled) sets the shot's cancel event in the actor *and* ``ray.cancel``\\ s
   the task; the pipeline stops at its next step.
5. **A dead worker costs one attempt of that shot**: the actor is restarted
   by Ray (``max_restarts=-1``) and the shot is sent to another actor, up to
   ``max_attempts`` times.
6. **Images travel with the shot**: the keyframe (and last frame) of an
   image-to-video shot, and the clip a ``video-extend`` shot continues, are
   read here and sent as bytes with the request, because
   a worker on another machine cannot open the driver's paths; the worker writes
   them to its own temporary folder and points the request at them.
7. **The clip comes back through Ray's object store** as bytes with their
   SHA-256; the driver checks the digest and decodes the file end to end
   (:func:`~shotsmith.backends.download.verify_clip`) before handing it to the
   engine, which verifies it again and renames it into ``clips/``.

Every wait is bounded: ``shot_timeout_s`` per shot, ``call_timeout_s`` per
control call to an actor.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray

from shotsmith import errors as _errors
from shotsmith.backends.base import GenerationResult, ProgressEvent
from shotsmith.backends.executors.ray_config import (RaySettings, cluster_address, probe_address,  # noqa: F401
                                                     ray_settings)
from shotsmith.backends.errors import DownloadError
from shotsmith.errors import BackendError, CancelledError, InvalidInputError, MediaError, ShotsmithError

log = logging.getLogger(__name__)


def connect(settings: RaySettings) -> bool:
    """Join ``address`` (or $RAY_ADDRESS), else start a local instance; True when joined by address.

    An address is probed first (:func:`probe_address`), so a wrong one is one line within
    ``connect_timeout_s``; Ray's own logging stays out of the terminal (``log_to_driver=False``,
    warnings and worse only)."""
    address = cluster_address(settings)
    if not ray.is_initialized():
        if address:
            probe_address(address, settings.connect_timeout_s)
        try:
            ray.init(address=address, namespace=settings.namespace, include_dashboard=False,
                     ignore_reinit_error=True, log_to_driver=False, configure_logging=False,
                     logging_level=logging.WARNING)
        except Exception as exc:  # a cluster of another ray version...
            raise BackendError(f"could not start or join Ray ({'at ' + address if address else 'locally'}): "
                               f"{type(exc).__name__}: {exc}",
                               hint="check RAY_ADDRESS / [ray] address, or use --executor local") from exc
    return address is not None


@dataclass
class ShotPayload:
    """What one shot brought back: the clip's bytes and the backend's result."""

    data: bytes
    result: GenerationResult
    attempts: int
    fetched: bool  # True when the shot was found on the cluster (attached or already finished)


class RayPool:
    """A fixed set of named :class:`~.ray_worker.ShotWorker` actors and the driver's view of which are busy."""

    def __init__(self, settings: RaySettings) -> None:
        from shotsmith.backends.executors.ray_worker import RemoteShotWorker

        self.settings = settings
        joined = connect(settings)
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0) // settings.gpus_per_actor)
        self.on_gpu = gpus > 0
        size = settings.actors or (gpus if self.on_gpu else max(1, int(resources.get("CPU", 1) // settings.cpus_per_actor)))
        detached = settings.detached if settings.detached is not None else joined
        kind = "gpu" if self.on_gpu else "cpu"
        options: dict[str, Any] = {"namespace": settings.namespace, "get_if_exists": True, "max_restarts": -1,
                                   "max_task_retries": 0, "num_cpus": 0 if self.on_gpu else settings.cpus_per_actor}
        if self.on_gpu:
            options["num_gpus"] = settings.gpus_per_actor
        if detached:
            options["lifetime"] = "detached"
        threads = 0 if self.on_gpu else max(1, int(settings.cpus_per_actor))
        self.actors = [RemoteShotWorker.options(name=f"shotsmith-{kind}-worker-{i}", **options)
                       .remote(threads=threads, keep_results=settings.keep_results) for i in range(size)]
        self._busy: set[int] = set()
        self._lock = threading.Lock()
        #: job id -> index of the actor running it (tests and the TUI read it).
        self.running: dict[str, int] = {}
        log.info("ray executor: %d %s actor(s) in namespace %s", size, kind, settings.namespace)

    @property
    def size(self) -> int:
        return len(self.actors)

    # -- actors ----------------------------------------------------------------------------
    async def _call(self, ref: Any) -> Any:
        return await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout=self.settings.call_timeout_s)

    async def _find(self, job_id: str) -> tuple[int, str] | None:
        """The actor that has this job (running or finished), if any; a dead or slow actor counts as not having it."""
        replies = await asyncio.gather(*(self._call(a.lookup.remote(job_id)) for a in self.actors),
                                       return_exceptions=True)
        for state in ("done", "running"):
            for index, reply in enumerate(replies):
                if reply == state:
                    return index, state
        return None

    async def _acquire(self, avoid: set[int], deadline: float, cancel: threading.Event) -> int:
        while True:
            with self._lock:
                free = [i for i in range(self.size) if i not in self._busy]
                preferred = [i for i in free if i not in avoid] or (free if len(avoid) >= self.size else [])
                if preferred:
                    self._busy.add(preferred[0])
                    return preferred[0]
            if cancel.is_set():
                raise CancelledError("generation was cancelled")
            if time.monotonic() > deadline:
                raise BackendError(f"no Ray worker became free within {self.settings.shot_timeout_s:g}s")
            await asyncio.sleep(self.settings.poll_s / 2)

    def _release(self, index: int) -> None:
        with self._lock:
            self._busy.discard(index)

    async def pids(self) -> list[int]:
        return [reply["pid"] for reply in await asyncio.gather(*(self._call(a.ping.remote()) for a in self.actors))]

    # -- one shot --------------------------------------------------------------------------
    async def run_shot(self, job_id: str, backend: str, settings: dict, request: dict, model: str, *,
                       on_progress: Callable[[ProgressEvent], None], cancel: threading.Event,
                       images: dict[str, tuple[str, bytes]] | None = None) -> ShotPayload:
        """Run (or fetch) one shot; ``images`` maps a request field (``image``, ``end_image``) to the file's
        name and bytes, which the worker writes locally in place of the driver's path."""
        deadline = time.monotonic() + self.settings.shot_timeout_s
        found = await self._find(job_id)
        if found is not None:
            index, state = found
            log.info("ray executor: job %s is %s on worker %d; fetching it", job_id[:10], state, index)
            try:
                payload = await self._follow(index, job_id, self.actors[index].result.remote(job_id), on_progress,
                                             cancel, deadline)
            except ray.exceptions.RayActorError:  # it died with the job: send the shot afresh
                payload = None
            if payload is not None:
                return self._unpack(payload, attempts=0, fetched=True)
        avoid: set[int] = set()
        last: BaseException | None = None
        for attempt in range(1, self.settings.max_attempts + 1):
            index = await self._acquire(avoid, deadline, cancel)
            try:
                self.running[job_id] = index
                ref = self.actors[index].run.remote(job_id, backend, settings, request, model, images)
                payload = await self._follow(index, job_id, ref, on_progress, cancel, deadline)
                return self._unpack(payload, attempts=attempt, fetched=False)
            except ray.exceptions.RayActorError as exc:  # the worker died: this shot is retried elsewhere
                last = exc
                avoid.add(index)
                log.warning("ray executor: worker %d died during %s (attempt %d of %d); retrying on another worker",
                            index, job_id[:10], attempt, self.settings.max_attempts)
                on_progress(ProgressEvent(shot_index=request.get("shot_index"), state="running", percent=0.0,
                                          message=f"worker lost; retrying (attempt {attempt + 1})"))
            finally:
                self.running.pop(job_id, None)
                self._release(index)
        raise BackendError(f"the shot's Ray worker died {self.settings.max_attempts} times "
                           f"({type(last).__name__}: {str(last).splitlines()[0] if str(last) else ''})",
                           hint="check the workers' memory (`ray status`, the actor logs); a rerun tries again")

    async def _follow(self, index: int, job_id: str, ref: Any, on_progress: Callable[[ProgressEvent], None],
                      cancel: threading.Event, deadline: float) -> dict | None:
        """Wait for ``ref`` while forwarding the actor's progress; cancel it on the cancel event or task cancel."""
        actor = self.actors[index]
        waiting = asyncio.wrap_future(ref.future())
        seen = 0
        try:
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=self.settings.poll_s)
                try:
                    events, _state = await self._call(actor.events.remote(job_id, seen))
                except (ray.exceptions.RayActorError, asyncio.TimeoutError):
                    events = []
                for seq, event in events:
                    seen = max(seen, seq)
                    on_progress(ProgressEvent.model_validate(event))
                if done:
                    return waiting.result()  # raises RayActorError when the worker died
                if cancel.is_set():
                    raise CancelledError("generation was cancelled")
                if time.monotonic() > deadline:
                    raise BackendError(f"the shot did not finish on Ray within {self.settings.shot_timeout_s:g}s",
                                       hint="raise [ray] shot_timeout_s, or lower the steps/resolution")
        except (CancelledError, BackendError, asyncio.CancelledError):
            self._cancel(actor, job_id, ref)
            # The task ends with TaskCancelledError (or the shot): nobody waits for it any more.
            waiting.add_done_callback(lambda f: f.cancelled() or f.exception())
            raise

    def _cancel(self, actor: Any, job_id: str, ref: Any) -> None:
        actor.cancel.remote(job_id)  # the step callback sees it at the next step
        try:
            ray.cancel(ref)
        except Exception:  # already finished, or an actor that is gone
            pass

    def _unpack(self, payload: dict, *, attempts: int, fetched: bool) -> ShotPayload:
        if "error" in payload:
            error = payload["error"]
            cls = getattr(_errors, error["type"], None)
            if not (isinstance(cls, type) and issubclass(cls, ShotsmithError)) or cls is _errors.FFmpegError:
                cls = BackendError
            raise cls(error["message"], hint=error.get("hint"))
        data = payload["data"]
        if hashlib.sha256(data).hexdigest() != payload["sha256"]:
            raise DownloadError("the clip from the Ray worker does not match its checksum", retryable=True)
        return ShotPayload(data=data, result=GenerationResult.model_validate(payload["result"]), attempts=attempts,
                           fetched=fetched)

    def forget(self, job_id: str) -> None:
        """The clip is stored: every worker may drop its copy."""
        for actor in self.actors:
            actor.forget.remote(job_id)


_pools: dict[tuple, RayPool] = {}
_pools_lock = threading.Lock()


def get_pool(settings: RaySettings) -> RayPool:
    """One pool per process and settings: its actors keep their pipelines loaded between runs."""
    key = (settings.address or os.environ.get("RAY_ADDRESS"), settings.namespace, settings.actors,
           settings.cpus_per_actor, settings.gpus_per_actor)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = RayPool(settings)
        return pool


def reset_pools() -> None:
    """Forget the pools (their actors stay where they are: named actors are found again)."""
    with _pools_lock:
        _pools.clear()


#: Request fields that name a file on the driver, and what each is called in a message.
FILE_FIELDS = {"image": "start image", "end_image": "end image", "extend_from": "clip to extend"}


def request_images(request: Any) -> dict[str, tuple[str, bytes]]:
    """The request's start and end images (and, for ``video-extend``, the clip to extend: the worker
    conditions on its last frames and writes the whole, longer clip) as ``{field: (file name, bytes)}``,
    read on the driver.

    A missing file is the shot's own error here, before a worker is taken: on the worker it would
    be a path that never existed there."""
    images: dict[str, tuple[str, bytes]] = {}
    for field, what in FILE_FIELDS.items():
        path = getattr(request, field, None)
        if not path:
            continue
        try:
            images[field] = (Path(path).name, Path(path).read_bytes())
        except OSError as exc:
            raise InvalidInputError(f"shot {request.shot_index}: the {what} {path} cannot be read: "
                                    f"{exc.strerror or exc}") from None
    return images


async def generate_on_ray(backend: Any, request: Any, dest: Path, model: str, *,
                          on_progress: Callable[[ProgressEvent], None], cancel: threading.Event,
                          ray_table: dict[str, Any] | None = None) -> GenerationResult:
    """Run one shot of a local backend on the pool and write its verified clip to ``dest``.

    The backend must be rebuildable from ``settings=`` plus its ``settings`` fields and offer
    ``run_blocking(request, dest, model, on_progress, cancel)`` (the diffusers backend does).
    """
    from shotsmith.backends.download import verify_clip
    from shotsmith.backends.engine import cache_key

    pool = get_pool(ray_settings(ray_table))
    job_id = cache_key(backend, request)
    backend_ref = f"{type(backend).__module__}:{type(backend).__qualname__}"
    payload = await pool.run_shot(job_id, backend_ref, backend.settings.model_dump(mode="json"),
                                  request.model_dump(mode="json"), model, on_progress=on_progress, cancel=cancel,
                                  images=request_images(request))
    dest = Path(dest)
    dest.write_bytes(payload.data)
    try:
        verify_clip(dest)  # like a download: nothing undecodable reaches the engine
    except MediaError as exc:
        dest.unlink(missing_ok=True)
        raise BackendError(f"the clip from the Ray worker does not decode: {exc.message}",
                           hint="a rerun generates it again") from exc
    pool.forget(job_id)
    warnings = list(payload.result.warnings)
    if payload.attempts > 1:
        warnings.append(f"shot {request.shot_index}: a Ray worker died; generated on attempt {payload.attempts}")
    return payload.result.model_copy(update={"path": str(dest), "warnings": warnings})
