"""The backend conformance suite: what every backend must do, checked against yours.

Use it by subclassing :class:`BackendConformance` in your tests and giving it
one fixture, ``backend``, that returns an instance of your backend::

    import pytest
    from shotsmith.testing import BackendConformance
    from my_plugin import MyBackend

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def backend(self):
            return MyBackend()

Or call the ``backend_conformance`` fixture (from the pytest plugin this
package installs) with a backend to run every check in one test.

Each check is also a plain function here, so the suite can be composed
differently. The checks run ``generate`` for real: keep the backend's
shortest duration and smallest resolution cheap, or point a cloud backend at
a mock server in the fixture.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path

import pytest

from shotsmith.backends.base import Backend, GenerationMode, GenerationRequest, ProgressEvent
from shotsmith.backends.download import verify_clip
from shotsmith.errors import CancelledError, InvalidInputError
from shotsmith.formats import ASPECT_RATIOS, RESOLUTIONS, frame_size

#: Progress states in the order a shot may pass through them.
STATE_RANK = {"queued": 0, "submitted": 1, "running": 2, "downloading": 3, "done": 4, "cached": 4, "failed": 4,
              "cancelled": 4}


def smallest_request(backend: Backend, **overrides) -> GenerationRequest:
    """A cheap valid request: shortest allowed duration (at least 1 s), smallest resolution."""
    caps = backend.capabilities()
    durations = caps.durations_s or [max(caps.min_duration_s, min(1.0, caps.max_duration_s))]
    duration = min(durations, key=lambda d: (d < 1.0, d))
    resolution = min(caps.resolutions, key=lambda r: RESOLUTIONS.get(r, 10_000))
    mode = GenerationMode.TEXT_TO_VIDEO if GenerationMode.TEXT_TO_VIDEO in caps.modes else caps.modes[0]
    values = dict(prompt="conformance check: a slow sunrise over hills", duration_s=duration,
                  aspect_ratio=caps.aspect_ratios[0], resolution=resolution, fps=caps.fps[0], mode=mode,
                  seed=1 if caps.supports_seed else None, shot_index=1)
    values.update(overrides)
    return GenerationRequest(**values)


def run_generate(backend: Backend, request: GenerationRequest, dest: Path, *,
                 cancel: threading.Event | None = None) -> tuple[object, list[ProgressEvent]]:
    events: list[ProgressEvent] = []
    result = asyncio.run(backend.generate(request, dest, on_progress=events.append, cancel=cancel or threading.Event()))
    return result, events


def check_identity(backend: Backend) -> None:
    assert isinstance(backend, Backend), "backend must subclass shotsmith.backends.base.Backend"
    assert getattr(type(backend), "name", None), "set a class attribute `name`"
    assert backend.name == backend.name.strip().lower() and " " not in backend.name, "names are lower-case, no spaces"
    assert backend.description, "set `description`: `shotsmith backends list` shows it"


def check_capabilities(backend: Backend) -> None:
    caps = backend.capabilities()
    type(caps).model_validate(caps.model_dump())  # re-validating catches mutated, inconsistent objects
    assert set(caps.aspect_ratios) <= set(ASPECT_RATIOS), f"unknown aspect ratios {set(caps.aspect_ratios) - set(ASPECT_RATIOS)}"
    assert set(caps.resolutions) <= set(RESOLUTIONS), f"unknown resolutions {set(caps.resolutions) - set(RESOLUTIONS)}"
    if caps.durations_s:
        assert all(caps.min_duration_s <= d <= caps.max_duration_s for d in caps.durations_s), \
            "durations_s must lie within min_duration_s..max_duration_s"
    assert all(f > 0 for f in caps.fps) and caps.max_prompt_chars > 0 and caps.max_concurrency >= 1
    assert backend.capabilities() == caps, "capabilities() must be stable between calls"


def check_cost_estimate(backend: Backend) -> None:
    request, _ = backend.prepare(smallest_request(backend))
    estimate = backend.estimate_cost(request)
    assert estimate.amount >= 0 and estimate.source, "estimate_cost must name its pricing source"
    if backend.capabilities().costs_money:
        assert estimate.amount > 0, "a backend that costs money must not estimate zero"


def check_validation(backend: Backend) -> None:
    caps = backend.capabilities()
    with pytest.raises(InvalidInputError):
        backend.prepare(smallest_request(backend, prompt="x" * (caps.max_prompt_chars + 1)))
    missing_ratio = [r for r in ASPECT_RATIOS if r not in caps.aspect_ratios]
    if missing_ratio:
        with pytest.raises(InvalidInputError):
            backend.prepare(smallest_request(backend, aspect_ratio=missing_ratio[0]))
    missing_mode = [m for m in GenerationMode if m not in caps.modes and m is not GenerationMode.IMAGE_TO_VIDEO]
    if missing_mode:
        with pytest.raises(InvalidInputError):
            backend.prepare(smallest_request(backend, mode=missing_mode[0]))
    outside = caps.max_duration_s + 3.7
    ready, warnings = backend.prepare(smallest_request(backend, duration_s=outside))
    assert ready.duration_s <= caps.max_duration_s, "an unsupported duration must be snapped"
    assert warnings, "snapping a duration must say so in a warning, never silently"


def check_generate(backend: Backend, folder: Path, *, duration_tolerance_s: float = 0.25, size_tolerance_px: int = 2) -> None:
    request, _ = backend.prepare(smallest_request(backend))
    dest = folder / "conformance.mp4"
    result, events = run_generate(backend, request, dest)
    info = verify_clip(dest)
    video = info.video
    assert video is not None
    width, height = frame_size(request.aspect_ratio, request.resolution)
    assert abs(video.width - width) <= size_tolerance_px and abs(video.height - height) <= size_tolerance_px, \
        f"clip is {video.width}x{video.height}; {request.aspect_ratio} at {request.resolution} is {width}x{height}"
    assert abs(info.duration_s - request.duration_s) <= duration_tolerance_s, \
        f"clip lasts {info.duration_s:.2f}s; {request.duration_s:g}s was requested"
    assert abs(result.duration_s - info.duration_s) <= duration_tolerance_s, "GenerationResult.duration_s is wrong"
    assert (result.width, result.height) == (video.width, video.height), "GenerationResult size is wrong"
    check_progress(events, request)


def check_progress(events: list[ProgressEvent], request: GenerationRequest) -> None:
    assert all(e.shot_index == request.shot_index for e in events), "progress events must carry the shot index"
    ranks = [STATE_RANK[e.state] for e in events]
    assert ranks == sorted(ranks), f"progress states went backwards: {[e.state for e in events]}"
    percents = [e.percent for e in events if e.state == "running" and e.percent is not None]
    assert percents == sorted(percents), "running percentages must not go down"
    assert all(0 <= p <= 100 for p in percents)


def check_cancellation(backend: Backend, folder: Path, *, within_s: float = 30.0) -> None:
    request, _ = backend.prepare(smallest_request(backend))
    cancel = threading.Event()
    cancel.set()
    started = time.monotonic()
    with pytest.raises(CancelledError):
        run_generate(backend, request, folder / "cancelled.mp4", cancel=cancel)
    assert time.monotonic() - started < within_s, "cancellation took too long"


def check_engine(backend: Backend, folder: Path) -> None:
    """The backend runs through shotsmith's job engine and its result is cached."""
    from shotsmith.backends.engine import generate_shots
    from shotsmith.store import ProjectStore

    store = ProjectStore.create(folder / "project")
    request = smallest_request(backend)
    first = asyncio.run(generate_shots(store, backend, [request]))
    assert first[0].ok, first[0].error
    again = asyncio.run(generate_shots(store, backend, [request]))
    assert again[0].cached, "an unchanged shot must come from the cache"


def check_all(backend: Backend, folder: Path | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="shotsmith-conformance-") as tmp:
        base = Path(folder or tmp)
        check_identity(backend)
        check_capabilities(backend)
        check_cost_estimate(backend)
        check_validation(backend)
        check_generate(backend, base)
        check_cancellation(backend, base)
        check_engine(backend, base)


class BackendConformance:
    """Base class of a conformance test class; supply a ``backend`` fixture."""

    #: Loosen for backends whose clip length is quantised (e.g. by a codec's frame rate).
    duration_tolerance_s = 0.25
    size_tolerance_px = 2

    @pytest.fixture
    def backend(self) -> Backend:
        pytest.fail("define a `backend` fixture in your BackendConformance subclass returning your backend")

    def test_identity(self, backend):
        check_identity(backend)

    def test_capabilities_are_consistent(self, backend):
        check_capabilities(backend)

    def test_cost_estimate_names_its_source(self, backend):
        check_cost_estimate(backend)

    def test_validation_rejects_what_capabilities_exclude(self, backend):
        check_validation(backend)

    def test_generate_makes_a_decodable_clip_of_the_requested_shape(self, backend, tmp_path):
        check_generate(backend, tmp_path, duration_tolerance_s=self.duration_tolerance_s,
                       size_tolerance_px=self.size_tolerance_px)

    def test_cancellation(self, backend, tmp_path):
        check_cancellation(backend, tmp_path)

    def test_runs_through_the_engine_with_caching(self, backend, tmp_path):
        check_engine(backend, tmp_path)
