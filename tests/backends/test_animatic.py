"""The animatic backend: exact duration, frame size per aspect ratio, a visible camera move, style palettes."""

from __future__ import annotations

import threading

import av
import numpy as np
import pytest

from shotsmith.backends.animatic import AnimaticBackend, palette_for, wrap_text
from shotsmith.backends.base import GenerationRequest
from shotsmith.backends.registry import get_backend
from shotsmith.formats import CameraMove
from shotsmith.media.probe import probe


def _frames(path, *indices):
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return [frames[i].astype(np.int16) for i in indices], len(frames)


def _render(tmp_path, **kwargs):
    request = GenerationRequest(prompt=kwargs.pop("prompt", "A lighthouse on a cliff, waves crashing, dusk"),
                                duration_s=kwargs.pop("duration_s", 1.0), resolution="360p", fps=24, shot_index=1, **kwargs)
    out = tmp_path / f"{request.camera.value}-{request.aspect_ratio.replace(':', 'x')}.mp4"
    AnimaticBackend().render(request, out)
    return out


def test_registered_through_the_hook():
    assert isinstance(get_backend("animatic"), AnimaticBackend)


@pytest.mark.parametrize(("ratio", "size"), [("16:9", (640, 360)), ("9:16", (360, 640)), ("1:1", (360, 360))])
def test_size_duration_and_fps(tmp_path, ratio, size):
    out = _render(tmp_path, aspect_ratio=ratio, duration_s=1.25)
    info = probe(out)
    assert (info.video.width, info.video.height) == size
    assert info.video.codec == "h264"
    assert info.video.fps == pytest.approx(24)
    _, count = _frames(out, 0)
    assert count == 30  # 1.25 s x 24 fps, exactly


@pytest.mark.parametrize("move", [CameraMove.PAN_RIGHT, CameraMove.ZOOM_IN, CameraMove.TILT_UP])
def test_camera_move_changes_the_picture_static_does_not(tmp_path, move):
    def drift(camera):
        out = _render(tmp_path, camera=camera)
        (first, last), _ = _frames(out, 0, -1)
        return np.abs(first - last).mean()

    # The gradient itself drifts slowly; a camera move shifts the whole grid on top of that.
    assert drift(move) > 1.8 * drift(CameraMove.STATIC)


def test_palette_follows_style_words():
    assert palette_for("warm cinematic grade") != palette_for("cold blue night")
    assert palette_for("film noir") == palette_for("black and white, monochrome")


def test_long_prompt_wraps_and_is_cut_with_ellipsis():
    text = wrap_text("word " * 400, size=20, max_width=300, max_lines=4)
    assert len(text.splitlines()) == 4 and text.endswith("…")


async def test_generate_returns_probed_result(tmp_path):
    backend = AnimaticBackend()
    request = GenerationRequest(prompt="a red kite", duration_s=0.5, resolution="360p", fps=24)
    events = []
    result = await backend.generate(request, tmp_path / "k.mp4", on_progress=events.append, cancel=threading.Event())
    assert result.width == 640 and abs(result.duration_s - 0.5) < 0.05
    assert events and events[-1].percent == pytest.approx(100)
