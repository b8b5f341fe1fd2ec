"""What the tests of the local diffusers backends share: one torch thread, a fresh pipeline cache, the tiny
model folders and a backend set up for them.

Import the fixtures into a test module (``from tests.backends.diffusers_support import one_cpu_thread``):
pytest finds fixtures among a module's names, and an autouse one then runs for that module only. Every
module using this has already skipped itself when torch or diffusers is missing.
"""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from shotsmith.backends import local_diffusion
from shotsmith.backends.base import GenerationRequest, ProgressEvent
from shotsmith.backends.local_diffusion import DiffusersBackend
from shotsmith.config import Settings
from tests.backends import tiny_video_pipelines


@pytest.fixture(scope="module", autouse=True)
def one_cpu_thread():
    """Tiny models on a shared 2-core box: torch's thread pool spinning under contention is 10x slower.
    The module's loaded pipeline is dropped at its end."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
    local_diffusion.clear_pipeline_cache()


@pytest.fixture(autouse=True)
def fresh_pipeline():
    """Each test loads its own pipeline (a spy or recording class must be in place before the load)."""
    local_diffusion.clear_pipeline_cache()
    yield
    local_diffusion.clear_pipeline_cache()


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """The module's folder of tiny model folders (each built once, by :func:`tiny_model`)."""
    return tmp_path_factory.mktemp("models")


def tiny_model(models: Path, name: str) -> Path:
    """``models/name``: the tiny video pipeline ``tiny_video_pipelines.build_<name>`` saved there, once."""
    folder = models / name
    if not (folder / "model_index.json").is_file():
        getattr(tiny_video_pipelines, f"build_{name}")(folder)
    return folder


def make_video_backend(model: Path | None, **options) -> DiffusersBackend:
    """The ``diffusers`` backend on ``model`` at the tests' tiny sizes (32 px, 8 fps, 2 steps, on the CPU)."""
    defaults = dict(short_side=32, fps=[8], steps=2, device="cpu", min_duration_s=0.25, max_duration_s=4.0)
    return DiffusersBackend(model=str(model) if model else None, settings=Settings(), **{**defaults, **options})


async def generate_recorded(backend: DiffusersBackend, request: GenerationRequest, dest: Path,
                            cancel: threading.Event | None = None, on_event=None):
    """``(result, events)``: ``request`` prepared and generated into ``dest`` as the engine would, with every
    progress event kept (and handed to ``on_event`` as it comes, e.g. to cancel at a step)."""
    events: list[ProgressEvent] = []

    def record(event: ProgressEvent) -> None:
        events.append(event)
        if on_event:
            on_event(event)

    ready, _ = backend.prepare(request)
    result = await backend.generate(ready, dest, on_progress=record, cancel=cancel or threading.Event())
    return result, events


def decode(path: Path) -> np.ndarray:
    """Every video frame of ``path`` as RGB uint8, (frames, height, width, 3)."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
