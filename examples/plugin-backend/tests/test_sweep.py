"""The sweep backend passes shotsmith's conformance suite and is found through its entry point."""

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


class TestSweepConformance(BackendConformance):
    @pytest.fixture
    def backend(self):
        return SweepBackend()


def test_discovered_through_the_entry_point(monkeypatch):
    monkeypatch.setenv("SHOTSMITH_LOAD_PLUGINS", "shotsmith-sweep")
    registry.reset()
    try:
        assert registry.backend_sources()["sweep"] == "sweep"
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
