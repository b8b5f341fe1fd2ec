"""The animatic backend: a still card with a slate, moved by the render; dissolves never mix two slates."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import av
import numpy as np
import pytest

from shotsmith.backends.animatic import AnimaticBackend, palette_for, wrap_text
from shotsmith.backends.base import GenerationRequest, MediaKind
from shotsmith.backends.download import verify_image
from shotsmith.backends.engine import generate_shots
from shotsmith.backends.registry import get_backend
from shotsmith.formats import CameraMove, Transition, TransitionKind
from shotsmith.store import ProjectStore
from shotsmith.timeline import ClipRef, OutputSettings, Timeline
from shotsmith.tools.render import ken_burns_canvas, render_timeline, still_slate


def _card(tmp_path, **kwargs):
    request = GenerationRequest(prompt=kwargs.pop("prompt", "A lighthouse on a cliff, waves crashing, dusk"),
                                duration_s=kwargs.pop("duration_s", 1.0), resolution="360p", fps=24,
                                shot_index=kwargs.pop("shot_index", 1), **kwargs)
    out = tmp_path / f"{request.shot_index}-{request.camera.value}-{request.aspect_ratio.replace(':', 'x')}.png"
    AnimaticBackend().render(request, out)
    return out


def _frames(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.int16) for f in container.decode(video=0)]


def test_registered_through_the_hook():
    assert isinstance(get_backend("animatic"), AnimaticBackend)


@pytest.mark.parametrize(("ratio", "size"), [("16:9", (640, 360)), ("9:16", (360, 640)), ("1:1", (360, 360))])
def test_card_is_a_still_of_the_frame_shape_with_its_slate(tmp_path, ratio, size):
    out = _card(tmp_path, aspect_ratio=ratio, camera=CameraMove.PAN_LEFT)
    checked = verify_image(out)
    cw, ch = ken_burns_canvas(*size)
    assert (checked.width, checked.height) == (cw // 4 * 2, ch // 4 * 2)  # half the canvas the render moves it on
    height, titles = still_slate(out)
    assert height == size[1]
    texts = [t.text for t in titles]
    assert texts[0] == "SHOT 1" and "ANIMATIC" in texts[1] and "lighthouse" in texts[2]
    assert "PAN LEFT" in texts[3]


def test_palette_follows_style_words():
    assert palette_for("warm cinematic grade") != palette_for("cold blue night")
    assert palette_for("film noir") == palette_for("black and white, monochrome")


def test_long_prompt_wraps_and_is_cut_with_ellipsis():
    text = wrap_text("word " * 400, size=20, max_width=300, max_lines=4)
    assert len(text.splitlines()) == 4 and text.endswith("…")


def test_generate_returns_an_image_result(tmp_path):
    backend = AnimaticBackend()
    request = GenerationRequest(prompt="a red kite", duration_s=0.5, resolution="360p", fps=24)
    events = []
    result = asyncio.run(backend.generate(request, tmp_path / "k.mp4", on_progress=events.append,
                                          cancel=threading.Event()))
    assert result.kind is MediaKind.IMAGE and (result.width, result.height) == (384, 216)
    assert events and events[-1].percent == pytest.approx(100)


def test_the_engine_keeps_a_still_clip_as_an_image(tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    request = GenerationRequest(prompt="warm coffee", duration_s=1, resolution="360p", fps=24, shot_index=1)
    outcome = asyncio.run(generate_shots(store, AnimaticBackend(), [request]))[0]
    assert outcome.ok and outcome.clip.suffix == ".png" and outcome.result.kind is MediaKind.IMAGE
    again = asyncio.run(generate_shots(store, AnimaticBackend(), [request]))[0]
    assert again.cached and again.clip == outcome.clip


def test_the_render_moves_the_card_and_keeps_a_static_card_still(tmp_path):
    def drift(camera):
        card = _card(tmp_path, camera=camera, shot_index=2)
        timeline = Timeline(clips=[ClipRef(source=str(card), in_s=0, out_s=1.0, motion=camera)],
                            output=OutputSettings(width=640, height=360, fps=12))
        out = tmp_path / f"{camera.value}.mp4"
        render_timeline(timeline, out)
        frames = _frames(out)
        assert len(frames) == 12
        return float(np.abs(frames[0] - frames[-1]).mean())

    assert drift(CameraMove.STATIC) < 0.5
    for move in (CameraMove.PAN_RIGHT, CameraMove.ZOOM_IN, CameraMove.TILT_UP):
        assert drift(move) > 2.0


def test_a_dissolve_between_cards_never_shows_two_prompts_mixed(tmp_path):
    """Mid-dissolve, the slate's text is one card's, crisp: its bright pixels are those of a frame of
    one shot alone, while the pictures underneath do mix."""
    a = _card(tmp_path, prompt="ALPHA BRAVO CHARLIE DELTA ECHO FOXTROT", shot_index=1, style="noir",
              camera=CameraMove.ZOOM_IN)
    b = _card(tmp_path, prompt="MIKE NOVEMBER OSCAR PAPA QUEBEC ROMEO", shot_index=2, style="noir",
              camera=CameraMove.PAN_LEFT)
    fps = 10
    timeline = Timeline(clips=[
        ClipRef(source=str(a), in_s=0, out_s=2.0, motion=CameraMove.ZOOM_IN,
                transition_to_next=Transition(kind=TransitionKind.DISSOLVE, duration_s=1.0)),
        ClipRef(source=str(b), in_s=0, out_s=2.0, motion=CameraMove.PAN_LEFT)],
        output=OutputSettings(width=640, height=360, fps=fps, crf=10))
    out = tmp_path / "dissolve.mp4"
    render_timeline(timeline, out)
    frames = _frames(out)
    assert len(frames) == 30
    # the dissolve is frames 10-19; the middle of the prompt's box
    region = (slice(150, 210), slice(60, 580))

    def bright(frame):
        return frame[region] > 215

    def same_text(mask, other):  # intersection over union of the bright (text) pixels
        return (mask & other).sum() / max(1, (mask | other).sum())

    only_a, only_b = bright(frames[5]), bright(frames[25])
    assert only_a.sum() > 300 and only_b.sum() > 300 and same_text(only_a, only_b) < 0.3
    # the check can fail: a cross-fade of the two frames (what baked-in text would give) does
    assert max(same_text(bright((frames[5] + frames[25]) / 2), m) for m in (only_a, only_b)) < 0.3
    for n in (11, 14, 15, 18):
        mid = bright(frames[n])
        assert max(same_text(mid, only_a), same_text(mid, only_b)) > 0.85, \
            f"frame {n}: the text region is neither shot's slate alone"
    # ...while the pictures underneath really are mixed mid-dissolve
    under = (slice(300, 330), slice(0, 640))
    assert np.abs(frames[15][under] - frames[5][under]).mean() > 1
    assert np.abs(frames[15][under] - frames[25][under]).mean() > 1


def test_the_cut_moves_a_generated_still_with_its_shot_camera():
    from shotsmith.brief import Shot, ShotPlan
    from shotsmith.cut import derive_cut

    shots = []
    for i, (camera, clip) in enumerate([(CameraMove.PAN_LEFT, "clips/a.png"), (CameraMove.ZOOM_IN, "clips/b.mp4")], 1):
        shot = Shot(index=i, prompt=f"shot {i}", duration_s=2.0, camera=camera)
        shots.append(shot.model_copy(update={"clip": clip, "clip_signature": shot.generation_signature(),
                                             "clip_length_s": 3600.0 if clip.endswith(".png") else 2.5}))
    cut = derive_cut(ShotPlan(shots=shots))
    assert [c.motion for c in cut.clips] == [CameraMove.PAN_LEFT, None]  # a video clip moves by itself


def test_a_storyboard_panels_labels_ride_in_the_slate_unmoved_by_the_camera(tmp_path):
    """Animated from a sketch panel, the shot's labels (shot, framing, subject, setting) are slate text: at the
    start and the end of a pan the words are the same pixels in the same place while the drawing moved."""
    from shotsmith.backends.base import GenerationMode
    from shotsmith.backends.sketch import render_png

    panel_request = GenerationRequest(prompt="Close-up of a barista pours latte art, in a coffee shop",
                                      mode=GenerationMode.TEXT_TO_IMAGE, duration_s=1.0, resolution="360p",
                                      shot_index=2, camera=CameraMove.PAN_RIGHT)
    panel = tmp_path / "panel.png"
    panel.write_bytes(render_png(panel_request))
    card = _card(tmp_path, prompt=panel_request.prompt, shot_index=2, camera=CameraMove.PAN_RIGHT,
                 mode=GenerationMode.IMAGE_TO_VIDEO, image=str(panel), duration_s=2.0)
    _, titles = still_slate(card)
    words = "\n".join(t.text for t in titles)
    assert "SHOT 2" in words and "CLOSE-UP" in words and "SUBJECT: a barista pours latte art" in words
    assert "SETTING: a coffee shop" in words and "SMOOTH PAN RIGHT" in words
    bottom = next(t for t in titles if t.position == "bottom")
    assert "SUBJECT" in bottom.text  # inside the title-safe margin at the bottom, not in the picture
    timeline = Timeline(clips=[ClipRef(source=str(card), in_s=0, out_s=2.0, motion=CameraMove.PAN_RIGHT)],
                        output=OutputSettings(width=640, height=360, fps=12, crf=12))
    out = tmp_path / "pan.mp4"
    render_timeline(timeline, out)
    frames = _frames(out)
    first, last = frames[0], frames[-1]
    # the lower slate block (two lines of small text, centred) and the shot number (top left)
    for region in ((slice(318, 344), slice(175, 465)), (slice(16, 42), slice(18, 110))):
        text_a, text_b = first[region] > 215, last[region] > 215
        assert text_a.sum() > 300
        # the same words on the same pixels (small text over a moving picture: encoder noise at the edges;
        # the same text moved by 3 px scores 0.1-0.3)
        assert (text_a & text_b).sum() / (text_a | text_b).sum() > 0.8
    # ...while the picture between them moved with the camera
    middle = (slice(80, 260), slice(0, 640))
    assert np.abs(first[middle] - last[middle]).mean() > 4


@pytest.mark.parametrize("move", list(CameraMove))
def test_camera_view_is_the_renders_move(move):
    """formats.camera_view (what the sketch keeps on screen, where a continued shot starts) is the same geometry
    as the zoompan expressions the render's Ken Burns move evaluates, at every frame."""
    from shotsmith.formats import camera_view, zoompan_expressions

    frames, iw, ih = 25, 1000.0, 600.0
    z, x, y = zoompan_expressions(move, frames, amount=0.2, static_zoom=1.0)
    for on in range(frames):
        zoom = eval(z, {"on": on})  # noqa: S307  (our own arithmetic strings)
        scope = {"on": on, "zoom": zoom, "iw": iw, "ih": ih}
        left, top = eval(x, scope) / iw, eval(y, scope) / ih  # noqa: S307
        view = camera_view(move, on / (frames - 1))
        assert view == pytest.approx((left, top, left + 1 / zoom, top + 1 / zoom), abs=1e-9)


def test_the_slate_shows_the_shots_time_on_screen_not_its_clips_length_with_the_handle(tmp_path):
    """A 3 s shot before a 0.5 s dissolve is a 3.5 s clip (its handle lies under the next shot): the slate the
    render draws says 3.0s; the last shot, which has no handle, says its own length."""
    from shotsmith.tools.render import compile_timeline

    first = _card(tmp_path, shot_index=1, duration_s=3.5, camera=CameraMove.PAN_LEFT)
    second = _card(tmp_path, shot_index=2, duration_s=2.0)
    assert all("3.5s" not in t.text for t in still_slate(first)[1])
    dissolve = Transition(kind=TransitionKind.DISSOLVE, duration_s=0.5)
    timeline = Timeline(clips=[ClipRef(source=str(first), in_s=0, out_s=3.5, motion=CameraMove.PAN_LEFT,
                                       transition_to_next=dissolve),
                               ClipRef(source=str(second), in_s=0, out_s=2.0)],
                        output=OutputSettings(width=320, height=180, fps=12))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    compiled = compile_timeline(timeline, scratch=scratch)
    assert compiled.duration_s == pytest.approx(5.0)
    drawn = " ".join(" ".join(p.read_text() for p in sorted(scratch.glob("slate*.txt"))).split())  # unwrapped
    assert "CAMERA: SMOOTH PAN LEFT · 3.0s · 16:9" in drawn and "CAMERA: LOCKED-OFF STATIC CAMERA · 2.0s" in drawn
    assert "3.5s" not in drawn and "{" not in drawn


@pytest.mark.parametrize("move", list(CameraMove))
def test_a_continued_shot_starts_on_the_previous_clips_last_frame_whatever_its_camera_move(tmp_path, move):
    """``continue`` into an animatic shot: the first frame after the cut is the previous clip's last frame for
    every camera move of the continued shot (its still puts the keyframe where the move starts), while the move
    still happens; the cut into the shot after is a jump. With test_continuity's helpers, on a real render."""
    from shotsmith.plan_edits import continue_from, edit_shot
    from tests.assistant.test_continuity import FPS, changed, decoded, diff, planned

    service = planned(tmp_path / "p")
    service.edit(lambda p: edit_shot(p, 1, camera=CameraMove.PAN_RIGHT))
    service.edit(lambda p: edit_shot(p, 2, camera=move, transition=Transition.cut()))
    service.edit(lambda p: continue_from(p, 2, 1))
    service.generate()
    one, two = service.plan.shots[:2]
    words = " ".join(t.text for t in still_slate(service.store.root / two.clip)[1])
    assert "SUBJECT: " in words and "SETTING: " in words  # read from its prompt: its frame is no panel
    rendered = Path(service.render().path)
    cut, end = round(one.duration_s * FPS), round((one.duration_s + two.duration_s) * FPS)
    frames = decoded(rendered, [cut - 1, cut, cut + 1, end - 1, end])
    assert changed(frames[cut - 1], frames[cut]) < 0.07, move  # across the cut: the slate's words only
    assert changed(frames[end - 1], frames[end]) > 0.14  # the hard cut into shot 3 jumps
    if move is not CameraMove.STATIC:
        assert diff(frames[cut], frames[end - 1]) > 1.5, move  # ...and the continued shot's camera moves
