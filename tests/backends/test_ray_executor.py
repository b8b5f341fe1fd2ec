"""The Ray executor: diffusers shots on a pool of Ray actors, with the local engine's guarantees.

Each test drives the real job engine (``generate_shots``) inside
``executor_scope("ray")`` on one shared local Ray instance (2 CPUs, 2 CPU
actors) with the tiny random-weight ModelScope pipeline, loaded by each actor
through ``from_pretrained`` like a real model. Few tests, because every actor
pays for importing torch once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
pytest.importorskip("diffusers")
pytest.importorskip("torch")

from tests.backends import tiny_pipelines  # noqa: E402
from tests.backends.ray_support import NAMESPACE, ray_instance  # noqa: E402
from shotsmith.backends.base import GenerationRequest, ProgressEvent  # noqa: E402
from shotsmith.backends.download import verify_clip  # noqa: E402
from shotsmith.backends.engine import cache_key, generate_shots  # noqa: E402
from shotsmith.backends.executors import check_executor, current_executor, executor_scope  # noqa: E402
from shotsmith.backends.local_diffusion import DiffusersBackend  # noqa: E402
from shotsmith.config import Settings  # noqa: E402
from shotsmith.errors import CancelledError, InvalidInputError  # noqa: E402
from shotsmith.store import ProjectStore  # noqa: E402

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def ray():
    return ray_instance()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    try:
        return tiny_pipelines.build_modelscope(tmp_path_factory.mktemp("models") / "tiny-modelscope")
    except tiny_pipelines.PipelineUnavailable as exc:
        pytest.skip(str(exc))


def backend(model_dir: Path, **options) -> DiffusersBackend:
    settings = Settings(executor="ray", ray={"namespace": NAMESPACE, "poll_s": 0.05})
    defaults = dict(short_side=32, fps=[8], steps=2, device="cpu", max_duration_s=4.0)
    return DiffusersBackend(model=str(model_dir), settings=settings, **{**defaults, **options})


def requests(count: int, prompt: str = "the cat on the mat", **kwargs) -> list[GenerationRequest]:
    """``count`` different shots (each its own prompt, so its own cache key)."""
    return [GenerationRequest(**{"prompt": f"{prompt}, take {i}", "duration_s": 1.0, "aspect_ratio": "1:1",
                                 "resolution": "360p", "fps": 8, "seed": 7, "shot_index": i, **kwargs})
            for i in range(1, count + 1)]


def pool_of(be: DiffusersBackend):
    from shotsmith.backends.executors.ray_pool import get_pool, ray_settings

    return get_pool(ray_settings(be.ray_table))


def runs(ray, pool) -> int:
    return sum(reply["runs"] for reply in ray.get([a.ping.remote() for a in pool.actors], timeout=60))


def test_the_executor_choice_and_its_errors():
    assert current_executor() == "local" and current_executor("ray") == "ray"
    with executor_scope("ray"):
        assert current_executor() == "ray"
    assert current_executor() == "local"
    with pytest.raises(InvalidInputError, match="unknown executor"):
        check_executor("slurm")


async def test_shots_run_on_the_actor_pool_and_a_rerun_is_cached(ray, model_dir, tmp_path):
    be = backend(model_dir)
    store = ProjectStore.create(tmp_path / "proj")
    events: list[ProgressEvent] = []
    with executor_scope("ray"):
        assert be.capabilities().max_concurrency > 1 and be.capabilities().long_running  # approval still asked
        outcomes = await generate_shots(store, be, requests(3), on_progress=events.append)
    pool = pool_of(be)
    assert pool.size == 2  # one CPU actor per CPU of the local instance
    assert all(o.ok and not o.cached for o in outcomes)
    for o in outcomes:
        info = verify_clip(o.clip)
        assert (info.video.width, info.video.height) == (32, 32)
        assert store.project.generations[o.cache_key].status == "succeeded"
    steps = [e for e in events if e.state == "running" and e.message.startswith("step")]
    assert {e.shot_index for e in steps} == {1, 2, 3}  # the actors' progress came back to the driver
    assert [e.state for e in events if e.shot_index == 1][-1] == "done"
    made = runs(ray, pool)
    with executor_scope("ray"):
        again = await generate_shots(store, be, requests(3))
    assert all(o.cached for o in again) and runs(ray, pool) == made  # cached: nothing sent to the cluster


async def test_a_shot_finished_or_running_on_the_cluster_is_fetched_not_recomputed(ray, model_dir, tmp_path):
    """A driver killed after sending shots: its rerun finds them on the workers (one done, one still running)."""
    be = backend(model_dir, steps=12)
    shots = [be.prepare(r)[0] for r in requests(2, prompt="a lighthouse at dusk")]
    pool = pool_of(be)
    keys = [cache_key(be, r) for r in shots]
    ref = "shotsmith.backends.local_diffusion:DiffusersBackend"
    refs = [pool.actors[i].run.remote(keys[i], ref, be.settings.model_dump(mode="json"),
                                      shots[i].model_dump(mode="json"), str(model_dir)) for i in range(2)]
    ray.get(refs[0], timeout=120)  # the first finished while no driver was listening
    before = runs(ray, pool)
    store = ProjectStore.create(tmp_path / "proj")
    with executor_scope("ray"):
        outcomes = await generate_shots(store, be, shots)
    assert all(o.ok for o in outcomes)
    assert runs(ray, pool) == before  # fetched (and attached to), never run again
    for o in outcomes:
        verify_clip(o.clip)


async def test_cancel_stops_the_shot_on_its_worker(ray, model_dir, tmp_path):
    be = backend(model_dir, steps=200)
    store = ProjectStore.create(tmp_path / "proj")
    cancel = threading.Event()

    def on_event(event: ProgressEvent) -> None:
        if event.message.startswith("step"):
            cancel.set()

    started = time.monotonic()
    with executor_scope("ray"), pytest.raises(CancelledError):
        await generate_shots(store, be, requests(1, prompt="a slow river"), on_progress=on_event, cancel=cancel)
    assert time.monotonic() - started < 60
    (record,) = store.project.generations.values()
    assert record.status == "cancelled" and not list(store.clips_dir.glob("*.mp4"))
    pool = pool_of(be)
    key = record.cache_key
    for _ in range(100):  # the worker left the denoising loop at its next step
        states = ray.get([a.lookup.remote(key) for a in pool.actors], timeout=30)
        if "running" not in states:
            break
        await asyncio.sleep(0.1)
    assert "running" not in states


async def test_a_worker_killed_mid_shot_costs_only_that_shot(ray, model_dir, tmp_path):
    be = backend(model_dir, steps=40)
    store = ProjectStore.create(tmp_path / "proj")
    pool = pool_of(be)
    pids = await pool.pids()
    killed: list[int] = []

    def on_event(event: ProgressEvent) -> None:
        if event.shot_index == 1 and event.message.startswith("step") and not killed:
            index = pool.running[next(k for k in pool.running if k == key)]
            os.kill(pids[index], signal.SIGKILL)
            killed.append(index)

    shots = requests(2, prompt="a red kite over the dunes")
    key = cache_key(be, be.prepare(shots[0])[0])
    with executor_scope("ray"):
        outcomes = await generate_shots(store, be, shots, on_progress=on_event)
    assert killed, "the shot finished before it could be killed"
    assert all(o.ok for o in outcomes)
    assert any("attempt 2" in w for w in outcomes[0].result.warnings)  # retried on the other worker
    assert not any("attempt" in w for w in outcomes[1].result.warnings)  # the other shot never noticed
    verify_clip(outcomes[0].clip)
    assert (await pool.pids())[killed[0]] != pids[killed[0]]  # Ray restarted the dead actor


async def test_a_worker_error_is_the_shots_own(ray, model_dir, tmp_path):
    be = backend(tmp_path / "no-such-model")
    store = ProjectStore.create(tmp_path / "proj")
    with executor_scope("ray"):
        (outcome,) = await generate_shots(store, be, requests(1))
    assert not outcome.ok and "does not exist" in outcome.error and "model_index.json" in (outcome.hint or "")
