"""The offline ``sketch`` backend: a storyboard panel for each shot, drawn from its request.

A storyboard is for reading the film before money is spent on it, so each
panel shows what a board artist would rough in: the framing (a wide shows
small figures in their setting with a horizon, a medium shot a figure from the
waist, a close-up a head filling the frame, over-the-shoulder a foreground
shoulder and a facing figure, a two-shot two figures, an insert a hand and
the object), the camera move as arrows (push-in converging, pull-back
diverging, pans across, tilts up or down), the style's palette (shared with
the animatic, :mod:`shotsmith.backends.palette`), the light's direction (a
sun, a glow, shaded sides), and small labelled thumbnails of the cast
references in the shot (where every camera move keeps them on screen).

The words (shot number, framing, subject, setting) are **not drawn into the
panel**: they travel as data with it, a PNG text chunk (:data:`LABELS_KEY`,
read back by :func:`panel_labels`). Why: the panel is a keyframe that is then
animated; the animatic's camera move (and any image-to-video model) would
crop, scale and smear words drawn into the picture. The animatic puts them in
its slate, which the render draws over the moving picture, static and sharp;
the contact sheet writes them under each panel.

No model: plain Pillow drawing, deterministic for a request (same request,
same bytes) and fast (tens of milliseconds for a 1280x720 panel). Free, so
it is the image backend when generation is offline.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import random
import re
import threading
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, PngImagePlugin, UnidentifiedImageError

import shotsmith
from shotsmith.backends import sketch_draw as d
from shotsmith.backends.base import (Backend, Capabilities, CostEstimate, GenerationMode, GenerationRequest,
                                     GenerationResult, MediaKind, ProgressCallback, ProgressEvent)
from shotsmith.backends.palette import palette_for, rgb
from shotsmith.backends.reference_images import open_reference
from shotsmith.backends.shot_reading import Framing, ShotReading, read_shot, shorten
from shotsmith.errors import CancelledError
from shotsmith.formats import ASPECT_RATIOS, frame_size, steady_region

#: Where the horizon sits (fraction of the height) by framing and camera height.
HORIZON = {Framing.EXTREME_WIDE: 0.55, Framing.WIDE: 0.6, Framing.MEDIUM: 0.55, Framing.TWO_SHOT: 0.55,
           Framing.OVER_SHOULDER: 0.55, Framing.MEDIUM_CLOSE: 0.6, Framing.CLOSE: 0.62,
           Framing.EXTREME_CLOSE: 0.7, Framing.INSERT: 0.5}
ANGLE_SHIFT = {"low": 0.22, "high": -0.25, "eye": 0.0}
#: The label each framing gets in the panel's strip.
FRAMING_LABEL = {Framing.EXTREME_WIDE: "EXTREME WIDE", Framing.WIDE: "WIDE", Framing.MEDIUM: "MEDIUM",
                 Framing.MEDIUM_CLOSE: "MEDIUM CLOSE-UP", Framing.CLOSE: "CLOSE-UP",
                 Framing.EXTREME_CLOSE: "EXTREME CLOSE-UP", Framing.OVER_SHOULDER: "OVER-SHOULDER",
                 Framing.TWO_SHOT: "TWO-SHOT", Framing.INSERT: "INSERT"}
MAX_REFERENCES = 4
#: PNG text key of a panel's labels: ``[[key, value], ...]`` (shot and framing, subject, setting).
LABELS_KEY = "shotsmith:labels"
#: PNG text key of how to take the camera arrows off a picture (:func:`marks_patch`, :func:`unmarked`).
MARKS_KEY = "shotsmith:unmarked"


def panel(request: GenerationRequest) -> Image.Image:
    """The storyboard panel for ``request`` at its aspect ratio and resolution."""
    return _drawn(request)[0]


def _drawn(request: GenerationRequest) -> tuple[Image.Image, Image.Image]:
    """The panel, and the same panel without its camera arrows (see :func:`unmarked`)."""
    width, height = frame_size(request.aspect_ratio, request.resolution)
    reading = read_shot(request)
    seed = int(hashlib.sha256(f"{request.seed}|{request.prompt}|{request.style}".encode()).hexdigest()[:8], 16)
    rng = random.Random(seed)
    light_c, mid_c, dark_c = (rgb(c) for c in palette_for(request.style, request.prompt))
    horizon = HORIZON[reading.framing] + ANGLE_SHIFT[reading.angle]
    sky = (d.mix(light_c, d.PAPER, 0.55), d.mix(mid_c, d.PAPER, 0.45))
    ground = (d.mix(dark_c, d.PAPER, 0.25), d.mix(mid_c, dark_c, 0.35))
    if reading.setting_kind == "interior":  # a room's back wall rather than a sky
        sky = (d.mix(mid_c, d.PAPER, 0.6), d.mix(mid_c, d.PAPER, 0.4))
    image = d.backdrop(width, height, horizon, sky, ground, reading.light)
    draw = ImageDraw.Draw(image)
    line_c = d.mix(dark_c, d.INK, 0.55)
    detail = {Framing.EXTREME_WIDE: 1.0, Framing.WIDE: 1.0, Framing.MEDIUM: 0.6, Framing.TWO_SHOT: 0.6,
              Framing.OVER_SHOULDER: 0.5}.get(reading.framing, 0.3)
    if reading.subject_is_place:
        detail = 1.0
    d.setting(draw, width, height, reading.setting_kind, horizon, d.mix(line_c, d.PAPER, 0.35), rng, detail=detail,
              window_light=d.mix(reading.light.colour, d.PAPER, 0.3))
    d.light_mark(draw, width, height, reading.light)
    cast = _reference_thumbnails(request)
    scene = np.asarray(image).copy() if cast else None
    heads = _subject(draw, width, height, reading, horizon, light_c, mid_c, line_c, rng)
    if cast:
        # The cast marks who is in the shot: kept where every camera move keeps them on screen all along (the
        # animatic flies the render's move over the panel; pans and tilts cut up to a sixth off each side), in
        # the corner of that region the figures leave clearest (not over the faces of a two-shot). The camera
        # arrows are then drawn around them: a pan's head hidden under a thumbnail said no direction.
        left, top, right, bottom = steady_region()
        box = (round(left * width), round(top * height), round(right * width), round(bottom * height))
        drawn = np.abs(np.asarray(image).astype(np.int16) - scene).max(axis=2) > 24
        corner = _clearest_corner(drawn, heads, len(cast), box)
        cells = d.thumbnail_cells((width, height), len(cast), box, corner)
        plain = image.copy()
        d.camera_arrows(draw, width, height, request.camera.value, avoid=d.cells_footprint(cells))
        d.thumbnails(image, cast, box, corner)
        d.thumbnails(plain, cast, box, corner)
    else:
        plain = image.copy()
        d.camera_arrows(draw, width, height, request.camera.value)
    for picture in (image, plain):
        ImageDraw.Draw(picture).rectangle((0, 0, width - 1, height - 1), outline=d.INK,
                                          width=max(2, min(width, height) // 180))
    return image, plain


def marks_patch(marked: Image.Image, plain: Image.Image) -> str | None:
    """What ``marked`` looks like without its camera arrows, as the few pixels that differ: JSON of the box they
    fill and that part of ``plain`` (a PNG, base64), or None when nothing differs (a static shot)."""
    diff = np.asarray(marked.convert("RGB")).astype(np.int16) - np.asarray(plain.convert("RGB"))
    rows, cols = np.nonzero(np.abs(diff).max(axis=2))
    if not len(rows):
        return None
    box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    buffer = io.BytesIO()
    plain.convert("RGB").crop(box).save(buffer, "PNG", compress_level=1)
    return json.dumps({"box": box, "png": base64.b64encode(buffer.getvalue()).decode("ascii")})


def unmarked(image: Image.Image) -> Image.Image:
    """``image`` without the camera arrows its :data:`MARKS_KEY` chunk says how to take off (a sketch panel, an
    animatic card made from one), else ``image`` as it is (RGB).

    Why: a continued shot starts from the previous clip's last frame; the arrows of the previous shot's move,
    drawn into its panel, would be carried into the new shot as a stale mark of a move it does not make.
    """
    picture = image.convert("RGB")
    raw = image.info.get(MARKS_KEY)
    if not raw:
        return picture
    try:
        patch = json.loads(raw)
        with Image.open(io.BytesIO(base64.b64decode(patch["png"]))) as part:
            picture.paste(part.convert("RGB"), tuple(patch["box"][:2]))
    except (ValueError, KeyError, TypeError, OSError, UnidentifiedImageError):
        return image.convert("RGB")  # a damaged chunk: the marked picture is still a picture
    return picture


def labels(request: GenerationRequest) -> list[tuple[str, str]]:
    """The panel's words, kept beside the picture: ``[("SHOT 3", "CLOSE-UP"), ("SUBJECT", …), ("SETTING", …)]``."""
    reading = read_shot(request)
    size = FRAMING_LABEL[reading.framing] + (f" · {reading.angle.upper()} ANGLE" if reading.angle != "eye" else "")
    return [(f"SHOT {request.shot_index}" if request.shot_index is not None else "SHOT", size),
            ("SUBJECT", shorten(_named(reading.subject, request), 60) or "-"),
            ("SETTING", shorten(_named(reading.setting, request), 50) or reading.setting_kind)]


def _named(text: str, request: GenerationRequest) -> str:
    """``@theo`` (or "theo", as a plan writes it) in a label reads as the cast member's name as cast ("Theo"),
    not the tag a brief types; any other ``@word`` loses its "@"."""
    names = {ref.tag.removesuffix("_x") for ref in request.references if ref.tag}
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![\w@])@?{re.escape(name)}(?!\w)", name, text, flags=re.IGNORECASE)
    return re.sub(r"@(\w)", r"\1", text)


def panel_labels(path: str | Path) -> list[tuple[str, str]] | None:
    """The labels a panel file carries (:data:`LABELS_KEY`), or None (another backend's still, no file)."""
    try:
        with Image.open(path) as image:
            raw = image.info.get(LABELS_KEY)
        cells = json.loads(raw) if raw else None
        return [(str(k), str(v)) for k, v in cells] if cells else None
    except (OSError, ValueError, TypeError, UnidentifiedImageError):
        return None


def _subject(draw: ImageDraw.ImageDraw, width: int, height: int, reading: ShotReading, horizon: float,
             light_c, mid_c, line_c, rng: random.Random) -> list[tuple[float, float, float, float]]:
    """The figures (or the object) at the size the framing gives them; returns the boxes of the heads drawn
    (what the cast thumbnails must not cover)."""
    heads: list[tuple[float, float, float, float]] = []

    def person(draw, cx, top, head, **kw):
        if not kw.get("back"):  # the back of a head (an over-the-shoulder foreground) has no face to keep clear
            heads.append((cx - 0.45 * head, top, cx + 0.45 * head, top + head * 1.05))
        d.person(draw, cx, top, head, **kw)

    skin = d.mix((232, 196, 160), light_c, 0.15)
    coat = d.mix(mid_c, d.INK, 0.25)
    lit = -1.0 if reading.light.x < 0.45 else (1.0 if reading.light.x > 0.55 else 0.0)
    if reading.light.key == "back":
        skin, coat = d.mix(skin, d.INK, 0.55), d.mix(coat, d.INK, 0.55)  # against the light: near silhouettes
    framing = reading.framing
    H, W = height, width
    if reading.people == 0 and framing not in (Framing.OVER_SHOULDER, Framing.TWO_SHOT):
        if reading.subject_is_place:
            return heads  # the place itself: the setting is the subject
        if reading.hands and framing not in (Framing.WIDE, Framing.EXTREME_WIDE):
            framing = Framing.INSERT  # hands at work read as an insert whatever the size word says
        size = {Framing.EXTREME_WIDE: 0.08, Framing.WIDE: 0.16, Framing.MEDIUM: 0.38, Framing.MEDIUM_CLOSE: 0.5,
                Framing.CLOSE: 0.62, Framing.EXTREME_CLOSE: 0.85, Framing.INSERT: 0.42}[framing] * H
        base = min(horizon * H + size * 0.25, 0.86 * H) if framing in (Framing.WIDE, Framing.EXTREME_WIDE) \
            else 0.5 * H + size * 0.5
        if framing in (Framing.MEDIUM, Framing.MEDIUM_CLOSE, Framing.CLOSE, Framing.INSERT):
            draw.rectangle((0, base, W, H), fill=d.mix(mid_c, d.PAPER, 0.2))  # the surface it stands on
            draw.line((0, base, W, base), fill=line_c, width=max(2, H // 200))
        d.thing(draw, reading.object_kind, W * 0.5, base, size, fill=coat, outline=line_c, rng=rng)
        if framing is Framing.INSERT:
            d.hand(draw, W * 0.5 + size * 0.75, base - size * 0.35, size * 0.45, fill=skin, outline=line_c)
        return heads
    if framing in (Framing.WIDE, Framing.EXTREME_WIDE):
        head = (0.035 if framing is Framing.WIDE else 0.016) * H
        feet = min(horizon + (0.14 if framing is Framing.WIDE else 0.06), 0.86) * H
        xs = {1: [0.5], 2: [0.45, 0.56], 3: [0.38, 0.47, 0.58, 0.66]}[min(reading.people, 3)]
        for i, x in enumerate(xs):
            top = feet - head * 7.4
            person(draw, W * x, top, head, fill=skin, clothes=d.mix(coat, (200, 80, 60), 0.25 * i),
                     outline=line_c, face=False, lit_from=lit)
        return heads
    if framing is Framing.INSERT:
        d.thing(draw, reading.object_kind, W * 0.42, 0.78 * H, 0.42 * H, fill=coat, outline=line_c, rng=rng)
        d.hand(draw, W * 0.56, 0.5 * H, 0.2 * H, fill=skin, outline=line_c)
        return heads
    if framing is Framing.OVER_SHOULDER:
        # The one we look past: the back of a head and a shoulder, dark and cropped by the frame edge.
        person(draw, W * 0.64, 0.15 * H, 0.26 * H, fill=skin, outline=line_c, look=-0.8, lit_from=lit,
                 hair=d.mix(coat, d.INK, 0.4), clothes=d.mix(coat, (170, 70, 60), 0.3))
        fg = d.mix(coat, d.INK, 0.6)
        person(draw, W * 0.12, 0.14 * H, 0.45 * H, fill=d.mix(skin, d.INK, 0.5), clothes=fg, outline=d.INK,
                 back=True, hair=d.mix(fg, d.INK, 0.5))
        return heads
    if framing is Framing.TWO_SHOT or (reading.people >= 2 and framing is Framing.MEDIUM):
        for x, look, tint in ((0.33, 0.7, 0.0), (0.67, -0.7, 0.35)):
            person(draw, W * x, 0.16 * H, 0.21 * H, fill=skin, outline=line_c, look=look, lit_from=lit,
                     hair=d.mix(d.mix(coat, (150, 90, 50), tint), d.INK, 0.3),
                     clothes=d.mix(coat, (170, 70, 60), tint))
        return heads
    head_top, head = {Framing.MEDIUM: (0.1, 0.22), Framing.MEDIUM_CLOSE: (0.1, 0.32), Framing.CLOSE: (0.1, 0.56),
                      Framing.EXTREME_CLOSE: (-0.27, 1.38)}[framing]
    # Seen from below the figure looms (bigger, higher); from above it shrinks into the floor.
    head_top, head = {"low": (head_top - 0.03, head * 1.12), "high": (head_top + 0.07, head * 0.85)}.get(
        reading.angle, (head_top, head))
    cx = W * (0.5 if framing in (Framing.CLOSE, Framing.EXTREME_CLOSE) else rng.choice((0.42, 0.58)))
    person(draw, cx, head_top * H, head * H, fill=skin, outline=line_c, look=0.3 * (1 if cx < W * 0.5 else -1),
             lit_from=lit, hair=d.mix(coat, d.INK, 0.35), clothes=coat)
    if reading.people >= 3:  # the rest of the group, softer behind
        for x in (0.18, 0.84):
            person(draw, W * x, (head_top + 0.08) * H, head * 0.7 * H, fill=d.mix(skin, d.PAPER, 0.35),
                     clothes=d.mix(coat, d.PAPER, 0.35), outline=d.mix(line_c, d.PAPER, 0.4), face=False,
                     lit_from=lit)
    return heads


def _clearest_corner(drawn: np.ndarray, heads: list[tuple[float, float, float, float]], count: int,
                     box: tuple[int, int, int, int]) -> str:
    """The corner of ``box`` where the thumbnails would cover least of what ``drawn`` marks (the subject and the
    camera arrows), a face counting three times; a bottom corner must be clearly better (on screen the slate's
    lower block is under it, three lines high in a portrait frame)."""
    height, width = drawn.shape
    faces = np.zeros_like(drawn)
    for x0, y0, x1, y1 in heads:
        faces[max(0, int(y0)):max(0, int(y1)), max(0, int(x0)):max(0, int(x1))] = True

    def covered(corner: str) -> float:
        x0, y0, x1, y1 = d.cells_footprint(d.thumbnail_cells((width, height), count, box, corner))
        area = (slice(max(0, y0), y1), slice(max(0, x0), x1))
        return float(drawn[area].mean()) + 3 * float(faces[area].mean()) + (0.3 if corner.startswith("bottom") else 0)

    return min(d.CORNERS, key=covered)


def _reference_thumbnails(request: GenerationRequest) -> list[tuple[Image.Image, str]]:
    pictures = []
    for ref in request.references[:MAX_REFERENCES]:
        if ref.tag == "previous":  # a redo's earlier still (storyboard.PREVIOUS_TAG) is no cast member to draw
            continue
        pictures.append((open_reference(ref.path), ref.tag or Path(ref.path).stem))
    return pictures


def render_png(request: GenerationRequest) -> bytes:
    """The panel as PNG bytes with its labels as text (fast compression: a panel is a draft, not an archive)."""
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text(LABELS_KEY, json.dumps(labels(request)))
    marked, plain = _drawn(request)
    patch = marks_patch(marked, plain)
    if patch:
        info.add_text(MARKS_KEY, patch)
    marked.save(buffer, "PNG", compress_level=1, pnginfo=info)
    return buffer.getvalue()


class SketchBackend(Backend):
    name = "sketch"
    description = ("Offline storyboard panels: framing, figures, setting, light and camera arrows drawn from each "
                   "shot. Free, instant, no model.")
    # v2: labels beside the drawing; v4: the cast inside every move, faces clear; v5: angle words; v6: arrows
    # kept off the cast thumbnails, @names and "the camera" out of the labels
    model = "sketch-v6"

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE],
                            aspect_ratios=list(ASPECT_RATIOS), resolutions=["360p", "480p", "540p", "720p", "1080p"],
                            max_prompt_chars=4000, supports_seed=True, supports_camera_control=True,
                            max_references=MAX_REFERENCES, max_concurrency=2, costs_money=False, local=True)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        return CostEstimate(amount=0.0, unit="USD", source="local compute (Pillow drawing)")

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        if cancel.is_set():
            raise CancelledError("storyboard panel was cancelled")
        data = await asyncio.to_thread(render_png, request)
        if cancel.is_set():
            raise CancelledError("storyboard panel was cancelled")
        Path(dest).write_bytes(data)
        on_progress(ProgressEvent(shot_index=request.shot_index, state="running", percent=100))
        width, height = frame_size(request.aspect_ratio, request.resolution)
        return GenerationResult(path=str(dest), duration_s=0.0, width=width, height=height, kind=MediaKind.IMAGE,
                                cost=self.estimate_cost(request))


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(SketchBackend)
