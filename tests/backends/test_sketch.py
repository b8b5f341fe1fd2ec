"""The sketch backend: panels that read as their framing, camera move, light, palette and cast; fast and repeatable."""

from __future__ import annotations

import asyncio
import io
import time

import numpy as np
import pytest
from PIL import Image

from shotsmith.backends import sketch_draw
from shotsmith.backends.base import GenerationMode, GenerationRequest, Reference
from shotsmith.backends.engine import generate_shots
from shotsmith.backends.registry import get_backend
from shotsmith.backends.shot_reading import Framing, read_framing, read_light, read_people, read_setting, \
    read_shot, read_subject
from shotsmith.backends.sketch import SketchBackend, panel, render_png
from shotsmith.errors import InvalidInputError
from shotsmith.formats import ASPECT_RATIOS, CameraMove, frame_size


def still(prompt: str, **kw) -> GenerationRequest:
    values = dict(prompt=prompt, duration_s=1, mode=GenerationMode.TEXT_TO_IMAGE, shot_index=1, resolution="360p")
    values.update(kw)
    return GenerationRequest(**values)


# -- reading the shot ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prompt, framing", [
    ("Wide establishing shot of a neighbourhood coffee shop setting the scene, slow push-in", Framing.EXTREME_WIDE),
    ("Wide shot of a couple laughs by the window, in a cafe", Framing.WIDE),
    ("Medium shot of a barista pours latte art, in a cafe", Framing.MEDIUM),
    ("Medium close-up of a chef tasting", Framing.MEDIUM_CLOSE),
    ("Close-up of beans with subtle movement, in a coffee shop", Framing.CLOSE),
    ("Extreme close-up of neon night sign", Framing.EXTREME_CLOSE),
    ("Macro close-up of a watch face", Framing.EXTREME_CLOSE),
    ("Over-the-shoulder shot of a customer reading, near the entrance", Framing.OVER_SHOULDER),
    ("Two-shot of two friends talking", Framing.TWO_SHOT),
    ("Insert shot of a cup on the counter", Framing.INSERT),
    ("Bird's-eye view of the market", Framing.EXTREME_WIDE),
    ("a dog runs on the beach", Framing.MEDIUM),
])
def test_framing_is_read_from_the_prompt(prompt, framing):
    assert read_framing(prompt) is framing


def test_subject_setting_people_and_light_are_read():
    prompt = ("Close-up of a barista pours latte art, in a neighbourhood coffee shop, smooth pan right, "
              "golden hour light, polished commercial look")
    assert read_subject(prompt) == "a barista pours latte art"
    assert read_setting(prompt) == "a neighbourhood coffee shop"
    assert read_people("a barista pours latte art") == 1
    assert read_people("a couple laughs by the window") == 2
    assert read_people("a family having a picnic") == 3
    assert read_people("beans with subtle movement") == 0
    assert read_people("a table", characters=1) == 1  # a cast member is a person
    assert read_light(prompt).key == "golden"
    assert read_light("backlit runner").key == "back" and read_light("early morning mist").key == "morning"
    assert read_light("hard side light").key == "side" and read_light("midday sun overhead").key == "top"
    reading = read_shot(still("Wide shot of the street, in the city, night"))
    assert reading.subject_is_place and reading.setting_kind == "street" and reading.light.key == "night"
    assert not read_shot(still("Insert shot of a cup of coffee on the counter")).subject_is_place
    # The planner's padding stays out of the label; the angle is read.
    assert read_subject("Low-angle shot of the baker revealed in fine detail, in a bakery") == "the baker"
    assert read_shot(still("Low-angle shot of the baker, in a bakery")).angle == "low"


def test_hands_at_work_are_drawn_as_a_hand(drawn):
    panel(still("Close-up of hands dust flour, in a bakery"))
    assert drawn["hand"] and not drawn["person"]


# -- what gets drawn ------------------------------------------------------------------------------------------------

@pytest.fixture
def drawn(monkeypatch):
    """Record the figures, hands, things and arrows a panel draws (and still draw them)."""
    calls: dict[str, list] = {"person": [], "hand": [], "thing": [], "arrow": []}
    for name in calls:
        original = getattr(sketch_draw, name)

        def recorder(*args, _name=name, _original=original, **kwargs):
            calls[_name].append((args, kwargs))
            return _original(*args, **kwargs)

        monkeypatch.setattr(sketch_draw, name, recorder)
    return calls


def heads(calls) -> list[float]:
    return [args[3] for args, _ in calls["person"]]


def test_figures_grow_from_wide_to_medium_to_close_up_to_extreme(drawn):
    sizes = {}
    for framing in ("Extreme wide shot", "Wide shot", "Medium shot", "Close-up", "Extreme close-up"):
        drawn["person"].clear()
        panel(still(f"{framing} of a runner stretching, in a park", resolution="720p"))
        (size,) = heads(drawn)
        sizes[framing] = size / 720
    assert list(sizes.values()) == sorted(sizes.values()), sizes
    assert sizes["Wide shot"] * 7.4 < 0.4  # a whole figure, small in its setting
    assert sizes["Close-up"] > 0.45  # a head filling the frame
    assert sizes["Extreme close-up"] > 1.0  # the face is bigger than the frame


def test_a_medium_shot_is_cut_at_the_waist(drawn):
    panel(still("Medium shot of a barista at the counter", resolution="720p"))
    ((args, _),) = drawn["person"]
    head_top, head = args[2], args[3]
    waist, feet = head_top + 3.0 * head, head_top + 7.4 * head
    assert waist < 720 * 0.9 < feet  # the waist above the label strip, the feet out of frame


def test_over_the_shoulder_has_a_foreground_back_and_a_facing_figure(drawn):
    panel(still("Over-the-shoulder shot of a customer reading, in a cafe", resolution="720p"))
    figures = drawn["person"]
    assert len(figures) == 2
    back = [f for f in figures if f[1].get("back")]
    facing = [f for f in figures if not f[1].get("back")]
    assert len(back) == 1 and len(facing) == 1
    assert back[0][0][3] > facing[0][0][3]  # the near shoulder is bigger
    assert back[0][0][1] < 1280 * 0.3 < facing[0][0][1]  # on the other side of the frame
    assert facing[0][1]["look"] < 0  # looking back towards the foreground


def test_two_shot_and_group_and_insert(drawn):
    panel(still("Two-shot of a couple laughs by the window", resolution="720p"))
    assert len(drawn["person"]) == 2
    drawn["person"].clear()
    panel(still("Wide shot of a family having a picnic, in a park"))
    assert len(drawn["person"]) >= 3
    drawn["person"].clear()
    panel(still("Insert shot of a cup of coffee on the counter"))
    assert drawn["hand"] and drawn["thing"][0][0][1] == "cup" and not drawn["person"]


def test_an_establishing_shot_of_a_place_draws_the_place_only(drawn):
    panel(still("Extreme wide shot of the street, in the city, night"))
    assert not drawn["person"] and not drawn["thing"]


@pytest.mark.parametrize("move, check", [
    (CameraMove.ZOOM_IN, "in"), (CameraMove.ZOOM_OUT, "out"), (CameraMove.PAN_RIGHT, "right"),
    (CameraMove.PAN_LEFT, "left"), (CameraMove.TILT_UP, "up"), (CameraMove.TILT_DOWN, "down"),
    (CameraMove.STATIC, "none")])
def test_camera_move_is_drawn_as_arrows(drawn, move, check):
    panel(still("Medium shot of a runner, in a park, soft light", camera=move, resolution="720p"))
    arrows = [args[1:3] for args, _ in drawn["arrow"]]
    centre = np.array([640, 360])
    if check == "none":
        assert arrows == []
    elif check in ("in", "out"):
        assert len(arrows) == 4
        for start, end in arrows:
            closer = np.linalg.norm(np.array(end) - centre) < np.linalg.norm(np.array(start) - centre)
            assert closer == (check == "in")
    else:
        ((start, end),) = arrows
        dx, dy = end[0] - start[0], end[1] - start[1]
        expected = {"right": (dx > 0 and dy == 0), "left": (dx < 0 and dy == 0), "up": (dy < 0 and dx == 0),
                    "down": (dy > 0 and dx == 0)}[check]
        assert expected, (start, end)


# -- pixels ------------------------------------------------------------------------------------------------------------

def luminance(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32)


@pytest.mark.parametrize("words, brighter", [("morning light", "left"), ("golden hour light", "right"),
                                             ("side light", "left")])
def test_the_light_comes_from_its_side(words, brighter):
    image = panel(still(f"Wide shot of an empty field, {words}", resolution="360p"))
    sky = luminance(image)[20:120]
    left, right = sky[:, :200].mean(), sky[:, -200:].mean()
    assert (left > right + 3) if brighter == "left" else (right > left + 3), (left, right)


def test_top_light_is_brighter_above():
    image = luminance(panel(still("Wide shot of an empty field, overhead midday sun")))
    assert image[10:60, 200:440].mean() > image[150:200, 200:440].mean()


def test_the_style_palette_is_the_animatics():
    from shotsmith.backends import animatic, palette

    assert animatic.palette_for is palette.palette_for
    neon = np.asarray(panel(still("Wide shot of a street, in the city", style="neon cyberpunk"))).reshape(-1, 3)
    noir = np.asarray(panel(still("Wide shot of a street, in the city", style="film noir"))).reshape(-1, 3)
    saturation = lambda px: (px.max(axis=1).astype(int) - px.min(axis=1)).mean()  # noqa: E731
    assert saturation(neon) > saturation(noir) + 20


def test_cast_references_appear_as_thumbnails(tmp_path):
    mara = tmp_path / "mara.png"
    Image.new("RGB", (120, 160), (12, 201, 33)).save(mara)
    image = panel(still("Medium shot of @Mara reading, in a library", resolution="720p",
                        references=[Reference(path=str(mara), tag="Mara")]))
    corner = np.asarray(image)[:260, -340:].reshape(-1, 3)  # the top-right corner of the steady region
    assert (np.abs(corner.astype(int) - (12, 201, 33)).sum(axis=1) < 6).sum() > 2000
    plain = np.asarray(panel(still("Medium shot of @Mara reading, in a library", resolution="720p")))[:260, -340:]
    assert (np.abs(plain.reshape(-1, 3).astype(int) - (12, 201, 33)).sum(axis=1) < 6).sum() == 0
    with pytest.raises(InvalidInputError, match="does not exist"):
        panel(still("x", references=[Reference(path=str(tmp_path / "gone.png"))]))


@pytest.mark.parametrize("ratio", list(ASPECT_RATIOS))
def test_panels_have_the_requested_size(ratio):
    for resolution in ("360p", "720p"):
        data = render_png(still("Close-up of a chef, in a kitchen", aspect_ratio=ratio, resolution=resolution))
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG" and image.size == frame_size(ratio, resolution)


def test_same_request_same_bytes_and_the_seed_varies_the_details():
    request = still("Wide shot of a cyclist, in the city, morning light", seed=3, resolution="720p")
    assert render_png(request) == render_png(request.model_copy())
    assert render_png(request) != render_png(request.model_copy(update={"seed": 4}))


def test_a_panel_takes_well_under_100_ms_of_cpu():
    request = still("Wide shot of a hiker walking along a trail, in the mountains, golden hour light",
                    camera=CameraMove.PAN_LEFT, resolution="720p")
    render_png(request)  # fonts loaded once
    times = []
    for _ in range(5):
        started = time.process_time()
        render_png(request)
        times.append(time.process_time() - started)
    assert sorted(times)[2] < 0.1, times


# -- as a backend -------------------------------------------------------------------------------------------------------

def test_sketch_is_a_registered_free_local_image_backend():
    backend = get_backend("sketch")
    caps = backend.capabilities()
    assert isinstance(backend, SketchBackend) and not caps.needs_approval
    assert GenerationMode.TEXT_TO_IMAGE in caps.modes and caps.max_references >= 1


def test_sketch_through_the_engine(store):
    requests = [still(f"{f} of a baker, in a bakery", shot_index=i, resolution="360p")
                for i, f in enumerate(("Wide shot", "Medium shot", "Close-up"), 1)]
    outcomes = asyncio.run(generate_shots(store, SketchBackend(), requests))
    assert all(o.ok and o.clip.suffix == ".png" for o in outcomes)
    assert len({o.clip.read_bytes() for o in outcomes}) == 3
    again = asyncio.run(generate_shots(store, SketchBackend(), requests))
    assert all(o.cached for o in again)


# -- the words travel beside the drawing ------------------------------------------------------------------------------

def test_labels_are_kept_as_data_not_drawn_into_the_panel(tmp_path):
    """The panel is pure drawing (a camera move or an image-to-video model would crop the words); the labels
    are a text chunk of the PNG, read back by panel_labels."""
    from shotsmith.backends.sketch import LABELS_KEY, labels, panel_labels

    request = still("Close-up of a barista pours latte art, in a neighbourhood coffee shop", shot_index=3,
                    resolution="720p")
    path = tmp_path / "p.png"
    path.write_bytes(render_png(request))
    cells = panel_labels(path)
    assert cells == labels(request)
    assert cells[0] == ("SHOT 3", "CLOSE-UP")
    assert ("SUBJECT", "a barista pours latte art") in cells and ("SETTING", "a neighbourhood coffee shop") in cells
    with Image.open(path) as image:
        assert LABELS_KEY in image.info
        pixels = np.asarray(image.convert("RGB")).astype(int)
    # no dark label strip along the bottom (it was (22, 22, 26) across the whole width) and no white badge top left
    bottom = pixels[-40:-6, 6:-6].reshape(-1, 3)
    assert (np.abs(bottom - (22, 22, 26)).sum(axis=1) < 6).mean() < 0.2
    badge = pixels[10:60, 10:60].reshape(-1, 3)
    assert (np.abs(badge - (250, 248, 240)).sum(axis=1) < 4).mean() < 0.2
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    assert panel_labels(plain) is None and panel_labels(tmp_path / "missing.png") is None


@pytest.mark.parametrize("ratio", list(ASPECT_RATIOS))
def test_the_cast_stays_inside_every_camera_moves_view_for_its_whole_duration(tmp_path, ratio):
    """The animatic flies the render's move over the panel (formats.camera_view is that move's geometry): every
    pixel of every cast thumbnail is in the view at the first, middle and last frame of every move."""
    from shotsmith.formats import camera_view

    refs = []
    for i, colour in enumerate(((200, 30, 160), (20, 150, 140), (230, 120, 10), (60, 60, 220))):
        path = tmp_path / f"m{i}.png"
        Image.new("RGB", (100, 130), colour).save(path)
        refs.append((Reference(path=str(path), tag=f"m{i}"), colour))
    for count in (1, 4):
        for move in CameraMove:
            picture = np.asarray(panel(still("Medium shot of @m0 reading, in a library", aspect_ratio=ratio,
                                             camera=move, references=[r for r, _ in refs[:count]]))).astype(int)
            h, w = picture.shape[:2]
            for _, colour in refs[:count]:
                ys, xs = np.nonzero(np.abs(picture - colour).sum(axis=2) < 6)
                assert len(xs) > 200, (ratio, move, colour)
                for t in (0.0, 0.5, 1.0):
                    left, top, right, bottom = camera_view(move, t)
                    assert xs.min() >= left * w and xs.max() < right * w, (ratio, move, t, colour)
                    assert ys.min() >= top * h and ys.max() < bottom * h, (ratio, move, t, colour)


@pytest.mark.parametrize("prompt", ["Two-shot of two friends talking, in a cafe",
                                    "Over-the-shoulder shot of a customer, near the entrance",
                                    "Medium shot of a couple, in a kitchen"])
def test_the_cast_thumbnails_leave_the_faces_clear(tmp_path, prompt, monkeypatch):
    """Boards put the cast in a corner; in a two-shot the top right is the right-hand face, so the thumbnails go
    to the corner of the steady region the figures leave clearest. The faces are where the drawing put heads."""
    mara = tmp_path / "mara.png"
    Image.new("RGB", (100, 130), (12, 201, 33)).save(mara)
    refs = [Reference(path=str(mara), tag="mara"), Reference(path=str(mara), tag="theo")]
    heads = []
    drawn_person = sketch_draw.person

    def person(draw, cx, top, head, **kw):
        if not kw.get("back"):
            heads.append((cx - 0.4 * head, top, cx + 0.4 * head, top + head))
        drawn_person(draw, cx, top, head, **kw)

    monkeypatch.setattr(sketch_draw, "person", person)
    with_cast = np.asarray(panel(still(prompt, references=refs))).astype(int)
    plain = np.asarray(panel(still(prompt))).astype(int)
    cast = np.abs(with_cast - plain).max(axis=2) > 24
    assert cast.sum() > 2000 and heads
    for x0, y0, x1, y1 in heads:
        face = cast[max(0, int(y0)):int(y1), max(0, int(x0)):int(x1)]
        assert face.mean() < 0.05, (prompt, (x0, y0, x1, y1))


@pytest.mark.parametrize("ratio", ["16:9", "9:16", "1:1"])
@pytest.mark.parametrize("move", ["pan_right", "pan_left", "tilt_up", "tilt_down", "zoom_in", "zoom_out"])
def test_the_camera_arrows_stay_off_the_cast_thumbnails(tmp_path, monkeypatch, move, ratio):
    """Review of #10: a pan's arrow ran under Theo's thumbnail, its head hidden: the arrows go around the cast
    (drawn without the thumbnails here, to see what they would hide), and a pan or tilt still has its head."""
    theo = tmp_path / "theo.png"
    Image.new("RGB", (64, 64), (12, 201, 33)).save(theo)
    placed = []
    monkeypatch.setattr(sketch_draw, "thumbnails", lambda image, pictures, box, corner: placed.append((box, corner)))
    request = still("Medium shot of @Theo walking across the street", aspect_ratio=ratio, resolution="360p",
                    camera=CameraMove(move), references=[Reference(path=str(theo), tag="Theo")])
    pixels = np.asarray(panel(request)).astype(int)
    box, corner = placed[0]  # (drawn on the panel and on its arrow-free copy)
    x0, y0, x1, y1 = sketch_draw.cells_footprint(sketch_draw.thumbnail_cells(pixels.shape[1::-1], 1, box, corner))
    arrow = np.abs(pixels - sketch_draw.ARROW).sum(axis=2) < 30
    assert arrow.sum() > 50  # the move is still marked
    assert not arrow[max(0, y0):y1, max(0, x0):x1].any()


def test_labels_name_the_cast_member_and_the_camera_is_no_setting():
    """Review of #10: "SUBJECT: @theo waves" kept the tag's "@", and "waves at the camera" was read as the
    setting "the camera"."""
    from shotsmith.backends.sketch import labels

    theo = Reference(path="unused.png", tag="Theo")
    cells = dict(labels(still("Medium shot of @theo waving at the camera, in a bakery", references=[theo])))
    assert cells["SUBJECT"] == "Theo waving at the camera" and cells["SETTING"] == "a bakery"
    assert read_setting("Medium shot of a woman waves at the camera, slow push-in") != "the camera"
    assert read_setting("Close-up of a barista smiling at the lens") == ""


def test_a_member_named_without_the_at_is_labelled_as_cast():
    from shotsmith.backends.sketch import labels

    cells = dict(labels(still("Medium shot of theo pouring coffee, in a cafe",
                              references=[Reference(path="unused.png", tag="Theo")])))
    assert cells["SUBJECT"] == "Theo pouring coffee"
    assert dict(labels(still("Medium shot of @zed waving")))["SUBJECT"] == "zed waving"
