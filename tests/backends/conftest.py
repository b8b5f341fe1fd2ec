"""Fixtures for the backend tests: a real tiny clip, provider mocks, fast retry policies."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.backends.backend_mocks.server import MockProvider  # noqa: E402

from tests.backends.backend_support import FAST_RETRY  # noqa: E402,F401  (re-exported for fixtures below)
from shotsmith.media.ffmpeg import run_ffmpeg  # noqa: E402
from shotsmith.store import ProjectStore  # noqa: E402



@pytest.fixture(scope="session")
def mock_clip(tmp_path_factory) -> Path:
    """One real 1-second 160x90 H.264 MP4 every mock serves."""
    out = tmp_path_factory.mktemp("mockclip") / "clip.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=24:d=1", "-c:v", "libx264", "-preset", "ultrafast",
                "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)])
    return out


@pytest.fixture(scope="session")
def start_image(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("img") / "start.png"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x320:d=1", "-frames:v", "1", str(out)])
    return out


@pytest.fixture
def store(tmp_path) -> ProjectStore:
    return ProjectStore.create(tmp_path / "proj")


@pytest.fixture
def serve():
    """``serve(MockClass, clip, **kw)`` starts a mock and stops it after the test."""
    started: list[MockProvider] = []

    def start(cls, clip, **kwargs):
        mock = cls(clip, **kwargs).start()
        started.append(mock)
        return mock

    yield start
    for mock in started:
        mock.stop()
