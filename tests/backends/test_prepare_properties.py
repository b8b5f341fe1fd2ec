"""Property: for every adapter and any duration, prepare() lands on an allowed duration and warns iff it moved."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotsmith.backends.animatic import AnimaticBackend
from shotsmith.backends.base import GenerationRequest
from shotsmith.backends.fal import PikaBackend
from shotsmith.backends.kling import KlingBackend
from shotsmith.backends.luma import LumaBackend
from shotsmith.backends.runway import RunwayBackend
from shotsmith.backends.veo import VeoBackend

BACKENDS = [AnimaticBackend, RunwayBackend, KlingBackend, PikaBackend, LumaBackend, VeoBackend]


@pytest.mark.parametrize("cls", BACKENDS, ids=lambda c: c.name)
@settings(max_examples=60, deadline=None)
@given(duration=st.floats(min_value=0.05, max_value=200, allow_nan=False))
def test_duration_snapping(cls, duration):
    backend = cls()
    caps = backend.capabilities()
    ready, warnings = backend.prepare(GenerationRequest(prompt="p", duration_s=duration, aspect_ratio=caps.aspect_ratios[0],
                                                        resolution=caps.resolutions[0], fps=caps.fps[0]))
    if caps.durations_s:
        assert ready.duration_s in caps.durations_s
        nearest = min(abs(d - duration) for d in caps.durations_s)
        assert abs(ready.duration_s - duration) == pytest.approx(nearest)
    else:
        assert caps.min_duration_s <= ready.duration_s <= caps.max_duration_s
    moved = abs(ready.duration_s - duration) > 1e-6
    assert moved == any("duration" in w for w in warnings)
