"""Compositing: picture-in-picture, opacity, chroma key over a background, stills with Ken Burns motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.store import ProjectStore
from shotsmith.timeline import ChromaKey, ClipRef, OutputSettings, Overlay, Timeline
from shotsmith.tools import catalogue
from shotsmith.tools.render import render_timeline
from shotsmith.tools.spec import TOOLS, ToolContext

catalogue.load_all()

SMALL = OutputSettings(width=320, height=240, fps=30, preset="ultrafast", crf=18)


def image(folder: Path, name: str, source: str, size: str = "320x240") -> Path:
    out = folder / name
    spec = f"{source}:s={size}" if "=" in source else f"{source}=s={size}"
    run_ffmpeg(["-f", "lavfi", "-i", spec, "-frames:v", "1", str(out)])
    return out


def close(pixel, rgb, tol=40) -> bool:
    return bool(np.all(np.abs(np.asarray(pixel, dtype=int) - np.asarray(rgb)) < tol))


def test_picture_in_picture_position_scale_time_range_and_opacity(make_clip, tmp_path, frame_at):
    base = make_clip("base.mp4", duration=2.0, source="color=c=blue", audio=False)
    pip = make_clip("pip.mp4", duration=2.0, source="color=c=red", audio=False)
    timeline = Timeline(clips=[ClipRef(source=str(base), out_s=2.0)], output=SMALL, overlays=[
        Overlay(source=str(pip), start_s=0.5, end_s=1.5, position="top_left", scale=0.25, margin=10),
        Overlay(source=str(pip), start_s=0.0, position="bottom_right", scale=0.25, margin=10, opacity=0.5)])
    out = Path(render_timeline(timeline, tmp_path / "out.mp4").path)
    early, during = frame_at(out, 0.2), frame_at(out, 1.0)
    # the top-left layer: 80x60 at (10, 10), only between 0.5 s and 1.5 s
    assert close(during[40, 50], (255, 0, 0)) and close(early[40, 50], (0, 0, 255))
    assert close(during[120, 160], (0, 0, 255)) and close(during[40, 100], (0, 0, 255))
    # the half-transparent layer in the bottom-right corner mixes red and blue
    mixed = during[200, 270].astype(int)
    assert 90 < mixed[0] < 170 and 90 < mixed[2] < 170
    assert not close(frame_at(out, 1.8)[40, 50], (255, 0, 0))


def test_chroma_key_shows_the_background_through_the_green(make_clip, tmp_path, frame_at):
    background = image(tmp_path, "bg.png", "color=c=red")
    # a green screen with a white box in the middle
    fg = tmp_path / "fg.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=0x00FF00:s=320x240:r=30:d=1.5,drawbox=x=110:y=80:w=100:h=80:c=white:t=fill",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(fg)])
    timeline = Timeline(clips=[ClipRef(source=str(background), out_s=1.5)], output=SMALL, overlays=[
        Overlay(source=str(fg), position="center", scale=1.0, margin=0,
                chroma_key=ChromaKey(color="0x00FF00", similarity=0.2, blend=0.02))])
    frame = frame_at(Path(render_timeline(timeline, tmp_path / "key.mp4").path), 0.7)
    assert close(frame[20, 20], (255, 0, 0)) and close(frame[220, 300], (255, 0, 0))  # keyed: background shows
    assert close(frame[120, 160], (255, 255, 255))  # the subject stays


def test_still_with_ken_burns_zoom_moves_and_plain_still_does_not(tmp_path, frame_at, durations):
    still = image(tmp_path, "grid.png", "testsrc2", size="640x480")
    timeline = Timeline(clips=[ClipRef(source=str(still), out_s=1.5, motion=CameraMove.ZOOM_IN),
                               ClipRef(source=str(still), out_s=1.0)], output=SMALL)
    out = Path(render_timeline(timeline, tmp_path / "kb.mp4").path)
    got = durations(out)
    assert got["frames"] == 75 and abs(got["audio"] - got["video"]) <= 1 / 30
    start, end = frame_at(out, 0.0).astype(int), frame_at(out, 1.45).astype(int)
    assert np.abs(start - end).mean() > 10  # the zoom changed the picture
    a, b = frame_at(out, 1.6).astype(int), frame_at(out, 2.4).astype(int)
    assert np.abs(a - b).mean() < 3  # the plain still holds


def test_compositing_tools_validate_and_save(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir)
    image(store.assets_dir, "logo.png", "color=c=white", size="64x64")
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=1.0)], output=SMALL)
    store.save()
    ctx = ToolContext(store=store)
    TOOLS["add_overlay"](ctx, {"source": "assets/logo.png", "position": "top_right", "scale": 0.1, "opacity": 0.8})
    TOOLS["add_chroma_key"](ctx, {"source": "clips/a.mp4", "color": "blue", "similarity": 0.1})
    assert store.project.timeline.overlays[1].chroma_key.color == "0x0000FF"
    with pytest.raises(InvalidInputError, match="not a colour"):
        TOOLS["add_chroma_key"](ctx, {"source": "clips/a.mp4", "color": "greenish"})
    with pytest.raises(InvalidInputError, match="after the end"):
        TOOLS["add_overlay"](ctx, {"source": "assets/logo.png", "start_s": 4})
    with pytest.raises(InvalidInputError, match="not an image"):
        TOOLS["add_still"](ctx, {"source": "clips/a.mp4"})
    TOOLS["add_still"](ctx, {"source": "assets/logo.png", "duration_s": 1.0, "motion": "pan_right", "position": 1})
    assert store.project.timeline.clips[0].motion is CameraMove.PAN_RIGHT
    result = TOOLS["render"](ctx, {"output": "renders/c.mp4", "preview": True})
    assert result.duration_s == pytest.approx(2.0, abs=0.05)


def _texture(path: Path, size: tuple[int, int] = (480, 360), seed: int = 7) -> Path:
    """A still with detail at every scale (smoothed noise), so motion between frames can be measured."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(noise).filter(ImageFilter.GaussianBlur(2.5)).save(path)
    return path


def _frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float64) for f in container.decode(video=0)]


def _steps(frames: list[np.ndarray]) -> np.ndarray:
    """Per-frame camera motion (x, y) in pixels, sub-pixel, by phase correlation of consecutive frames."""
    import cv2

    h, w = frames[0].shape
    window = cv2.createHanningWindow((w, h), cv2.CV_64F)
    steps = [cv2.phaseCorrelate(a, b, window)[0] for a, b in zip(frames, frames[1:])]
    return np.array(steps)


@pytest.mark.parametrize("move,axis,sign", [(CameraMove.PAN_RIGHT, 0, -1), (CameraMove.TILT_UP, 1, 1)])
def test_ken_burns_pans_move_by_even_sub_pixel_steps(tmp_path, move, axis, sign):
    """zoompan crops at whole (chroma-aligned) pixels: a 1.08 px/frame pan went 0, 1.2, 1.2, 0... px (judder).
    Every step must now be the same, to a tenth of a pixel."""
    still = _texture(tmp_path / "tex.png")
    fine = OutputSettings(width=320, height=240, fps=30, preset="ultrafast", crf=12)
    timeline = Timeline(clips=[ClipRef(source=str(still), out_s=2.0, motion=move)], output=fine)
    frames = _frames(Path(render_timeline(timeline, tmp_path / "pan.mp4").path))
    assert len(frames) == 60
    steps = _steps(frames)[:, axis] * sign
    # the still fills 1.2x the frame; the pan crosses the spare 0.2 (64 px across, 48 px down) in 59 steps
    expected = (64 if axis == 0 else 48) / 59
    assert np.median(steps) == pytest.approx(expected, abs=0.05)
    assert np.abs(steps - expected).max() < 0.2, np.round(steps, 2)
    assert np.abs(_steps(frames)[:, 1 - axis]).max() < 0.1  # and no wobble across the move


def test_ken_burns_starts_and_ends_where_the_move_says(tmp_path, frame_at):
    """The first frame of a pan shows the left edge of the still (at the move's zoom), the last the right edge."""
    still = _texture(tmp_path / "tex.png", size=(384, 288))  # exactly the 1.2x canvas: no rescale before the move
    fine = OutputSettings(width=320, height=240, fps=30, preset="ultrafast", crf=12)
    timeline = Timeline(clips=[ClipRef(source=str(still), out_s=1.0, motion=CameraMove.PAN_RIGHT)], output=fine)
    out = Path(render_timeline(timeline, tmp_path / "pan.mp4").path)
    from PIL import Image

    src = np.asarray(Image.open(still).convert("RGB")).astype(int)
    first, last = frame_at(out, 0.0).astype(int), frame_at(out, 0.99).astype(int)
    left, right = src[24:264, 0:320], src[24:264, 64:384]
    assert np.abs(first - left).mean() < 4 and np.abs(last - right).mean() < 4
    assert np.abs(first - right).mean() > 3 * np.abs(first - left).mean()  # and the two ends differ
