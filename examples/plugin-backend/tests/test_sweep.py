"""shotsmith-sweep passes shotsmith's conformance suite and is found through its entry point.

The first two tests are the ones ``shotsmith plugin new`` generates; the rest are the sweep's own.
Run with ``pytest`` (``pip install -e '.[test]'`` brings pytest and the suite).
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from shotsmith.backends import registry
from shotsmith.backends.base import GenerationMode, GenerationRequest
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import probe
from shotsmith.testing import BackendConformance
from shotsmith_sweep import SweepBackend


class TestSweepBackendConformance(BackendConformance):
    """Every check shotsmith makes of a backend: identity, capabilities, cost, validation,
    generate (real output of the requested shape), progress, cancellation, engine and cache."""

    @pytest.fixture
    def backend(self):
        return SweepBackend()


def test_found_through_the_entry_point(monkeypatch):
    """Installed (``pip install -e .``), the backend is listed under its name."""
    monkeypatch.setenv("SHOTSMITH_LOAD_PLUGINS", "sweep")
    registry.reset()
    try:
        assert isinstance(registry.get_backend("sweep"), SweepBackend)
    finally:
        registry.reset()


def test_ken_burns_over_a_still(tmp_path):
    image = tmp_path / "still.png"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:d=1", "-frames:v", "1", str(image)])
    request = GenerationRequest(prompt="push in on the still", duration_s=1.5, aspect_ratio="16:9", resolution="360p",
                                mode=GenerationMode.IMAGE_TO_VIDEO, image=str(image), camera="zoom_in")
    dest = tmp_path / "kb.mp4"
    result = asyncio.run(SweepBackend().generate(request, dest, on_progress=lambda e: None, cancel=threading.Event()))
    assert (result.width, result.height) == (640, 360)
    assert abs(probe(dest).duration_s - 1.5) < 0.1


def test_same_prompt_same_palette_different_prompt_different_palette():
    from shotsmith_sweep.backend import palette

    assert palette("sunrise", 1) == palette("sunrise", 1) != palette("sunset", 1)
