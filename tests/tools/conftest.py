"""Fixtures shared by the editing-tool tests: read rendered media back as numbers."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest


def _frame_at(path: Path, t: float) -> np.ndarray:
    """The decoded RGB frame shown at time ``t`` (seconds) as an HxWx3 uint8 array."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        best = None
        for frame in container.decode(stream):
            if frame.time is not None and frame.time > t + 1e-6:
                break
            best = frame
        assert best is not None, f"no frame at {t}s in {path}"
        return best.to_ndarray(format="rgb24")


def _audio(path: Path) -> tuple[np.ndarray, int]:
    """All audio of ``path`` as a float32 (channels, samples) array and its sample rate."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [f.to_ndarray().astype(np.float32).reshape(f.layout.nb_channels if f.format.is_planar else 1, -1)
                  if f.format.is_planar else f.to_ndarray().astype(np.float32).reshape(-1, f.layout.nb_channels).T
                  for f in container.decode(stream)]
        return np.concatenate(chunks, axis=1), stream.rate


def _durations(path: Path) -> dict[str, float]:
    """Decoded duration of the first video and audio stream (end time of the last frame)."""
    out: dict[str, float] = {}
    with av.open(str(path)) as container:
        if container.streams.video:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or stream.guessed_rate)
            count = 0
            for _ in container.decode(stream):
                count += 1
            out["video"] = count / rate
            out["frames"] = count
    with av.open(str(path)) as container:
        if container.streams.audio:
            samples, rate = 0, container.streams.audio[0].rate
            for frame in container.decode(container.streams.audio[0]):
                samples += frame.samples
            out["audio"] = samples / rate
    return out


@pytest.fixture
def frame_at():
    return _frame_at


@pytest.fixture
def audio_of():
    return _audio


@pytest.fixture
def durations():
    return _durations
