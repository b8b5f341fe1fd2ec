"""The offline ``animatic`` backend: honest pre-visualisation cards, no model involved.

A shot's result is a **still card** (PNG), not a clip: a gradient-and-grid picture
in a palette chosen from the style words (or the shot's storyboard panel, when
the request carries one), drawn at half the size of the renderer's Ken Burns
canvas (the render moves a still at its own size, and a soft card loses nothing),
and a **slate**: the shot number, the prompt, the camera move, the shot's time on
screen (:data:`~shotsmith.formats.SLATE_SCREEN_TIME`, written in by the render) and "ANIMATIC ·
PREVIZ", kept as text in the PNG (``shotsmith:slate``) rather than drawn into it.
When the shot is animated from a storyboard panel (image-to-video), the panel is
pure drawing and its labels (shot, framing, subject, setting: the ``sketch``
backend keeps them beside the picture, :func:`~shotsmith.backends.sketch.panel_labels`)
become the slate's lower block. Any other start image (a continued shot's first frame, the previous
clip's last; another image backend's still) is image-to-video's *first frame*: the card puts it where the
camera move starts (:func:`first_frame_still`), so the move begins on the whole image. A card made from a
panel keeps how to take the panel's camera arrows off (:func:`~shotsmith.backends.sketch.unmarked`), so a shot
continued from it does not start with the previous move's arrows; its own move is marked in the slate instead
(an arrow glyph beside the camera line), where it stays sharp and still while the picture moves.

Why a still: the render animates it anyway. Encoding a moving card per shot and
then encoding the whole cut again cost 6x a bare encode for the offline demo;
a still costs a few milliseconds, and the single render pass flies the shot's
camera over it (:func:`shotsmith.tools.render.ken_burns`, sub-pixel, the same
geometry the old cards used). Why the slate is text beside the picture: the
render draws it over the cut, static on screen and switched at the middle of a
transition, so a dissolve between two cards never mixes two prompts into
unreadable double text, and the camera moves the picture, not the words.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from pathlib import Path

import numpy as np

import shotsmith
from shotsmith.backends.base import (Backend, Capabilities, CostEstimate, GenerationMode, GenerationRequest,
                                     GenerationResult, MediaKind, ProgressCallback, ProgressEvent)
from shotsmith.backends.palette import DEFAULT_PALETTE, PALETTES, palette_for  # noqa: F401  (shared with sketch)
from shotsmith.backends.sketch import MARKS_KEY, labels, marks_patch, panel_labels, unmarked
from shotsmith.errors import CancelledError
from shotsmith.fonts import wrap_text
from shotsmith.formats import SLATE_KEY, SLATE_SCREEN_TIME, CameraMove, camera_view, frame_size, ken_burns_canvas

#: Longest prompt shown on a card (a title holds 500 characters).
MAX_CARD_CHARS = 480
#: A camera move as the slate marks it where the picture has no arrow of its own (DejaVu Sans draws these).
MOVE_GLYPHS = {"zoom_in": "→ ←", "zoom_out": "← →", "pan_left": "←", "pan_right": "→", "tilt_up": "↑",
               "tilt_down": "↓"}


class AnimaticBackend(Backend):
    name = "animatic"
    description = "Offline previz: labelled cards with the prompt and a simulated camera move. Free, instant, no GPU."
    model = "animatic-v1"  # the same name keeps old projects' cards cached (test_media_kinds pins the key)

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO],
                            min_duration_s=0.5, max_duration_s=120.0,
                            resolutions=["360p", "480p", "540p", "720p", "1080p"], fps=[24, 25, 30, 60],
                            max_prompt_chars=4000, supports_seed=True, supports_camera_control=True,
                            max_concurrency=2, costs_money=False, local=True, still_clips=True)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        return CostEstimate(amount=0.0, unit="USD", source="local compute")

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        width, height = await asyncio.to_thread(self.render, request, Path(dest), on_progress, cancel)
        return GenerationResult(path=str(dest), duration_s=request.duration_s, width=width, height=height,
                                kind=MediaKind.IMAGE)

    def render(self, request: GenerationRequest, dest: Path, on_progress: ProgressCallback | None = None,
               cancel: threading.Event | None = None) -> tuple[int, int]:
        """Write the card (PNG, whatever ``dest``'s suffix) with its slate; returns its size."""
        from PIL import Image, PngImagePlugin

        if cancel is not None and cancel.is_set():
            raise CancelledError("cancelled")
        width, height = frame_size(request.aspect_ratio, request.resolution)
        cw, ch = ken_burns_canvas(width, height)
        canvas = (max(2, cw // 4 * 2), max(2, ch // 4 * 2))  # half the canvas: the render moves it at this size
        seed_source = f"{request.seed}|{request.prompt}".encode()
        seed = request.seed if request.seed is not None else int(hashlib.sha256(seed_source).hexdigest()[:6], 16)
        info = PngImagePlugin.PngInfo()
        if request.image and Path(request.image).is_file() and panel_labels(request.image) is not None:
            picture, plain = _panel(Path(request.image), canvas)
            patch = marks_patch(Image.fromarray(picture), Image.fromarray(plain))
            if patch:  # how a continued shot takes this shot's arrows off its last frame
                info.add_text(MARKS_KEY, patch)
        elif request.image and Path(request.image).is_file():
            picture = first_frame_still(Path(request.image), (cw, ch), request.camera)
        else:
            picture = card_picture(canvas, palette_for(request.style, request.prompt), seed)
        info.add_text(SLATE_KEY, json.dumps({"height": height, "titles": slate(request, width, height)}))
        Image.fromarray(picture).save(dest, format="PNG", pnginfo=info, compress_level=1)
        if on_progress is not None:
            on_progress(ProgressEvent(shot_index=request.shot_index, state="running", percent=100.0))
        return picture.shape[1], picture.shape[0]


def slate(request: GenerationRequest, width: int, height: int) -> list[dict]:
    """The card's words as title fields (sizes in pixels of a ``height``-line frame): the render draws them."""
    short = min(width, height)
    head, body, small = max(14, short // 14), max(12, short // 24), max(10, short // 34)
    prompt = request.prompt.replace(SLATE_SCREEN_TIME, "")
    prompt = prompt if len(prompt) <= MAX_CARD_CHARS else prompt[:MAX_CARD_CHARS - 1] + "…"
    shot = f"SHOT {request.shot_index}" if request.shot_index is not None else "SHOT"
    if request.take:  # a new take of the same card looks the same: the slate says which one it is
        shot += f" · TAKE {request.take + 1}"
    # The shot's length is its time on screen, which only the render knows (the request's duration includes
    # the outgoing transition's handle: a 3 s shot before a 0.5 s dissolve is a 3.5 s clip): it writes it in.
    footer = f"CAMERA: {request.camera.phrase.upper()}   ·   {SLATE_SCREEN_TIME}   ·   {request.aspect_ratio}"
    common = {"fade_in_s": 0.0, "fade_out_s": 0.0, "color": "white"}
    previz = {"text": "ANIMATIC · PREVIZ", "position": "top_right", "size": small, "bold": True,
              "box_color": "0xd62828@0.85", **common}
    if request.image:  # a start image: the picture says it all; the labels (a panel keeps them beside it) go here
        cells = panel_labels(request.image)
        if cells is None:  # another still: the words read from the prompt. A continued shot's picture (the
            # previous clip's last frame, its arrows taken off) has no arrow for this move: the slate gives it.
            cells = labels(request)
            glyph = MOVE_GLYPHS.get(request.camera.value)
            footer = f"CAMERA: {glyph} {request.camera.phrase.upper()}" + footer[footer.index("   ·   "):] \
                if glyph else footer
        framing = next((value for key, value in cells if key.startswith("SHOT")), "")
        words = "   ·   ".join(f"{key}: {value}" for key, value in cells if not key.startswith("SHOT"))
        lines = [f"{framing}   ·   {footer}" if framing else footer] + ([words] if words else [])
        return [{"text": shot, "position": "top_left", "size": head, "bold": True, "box_color": "black@0.45",
                 **common}, previz,
                {"text": "\n".join(lines), "position": "bottom", "size": small, "bold": False,
                 "box_color": "black@0.55", **common}]
    return [
        {"text": shot, "position": "top_left", "size": head, "bold": True, "box_color": "black@0.45", **common},
        previz,
        {"text": wrap_text(prompt, size=body, max_width=int(width * 0.84), max_lines=9), "position": "center",
         "size": body, "bold": False, "box_color": "black@0.5", **common},
        {"text": footer, "position": "bottom", "size": small, "bold": False, "box_color": "black@0.45", **common},
    ]


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[2:4], 16), int(colour[4:6], 16), int(colour[6:8], 16)], dtype=np.float32)


def card_picture(size: tuple[int, int], palette: tuple[str, str, str], seed: int) -> np.ndarray:
    """A three-colour gradient at an angle and a soft light spot (both from ``seed``) under a grid.

    The grid is what makes the camera move readable on a card with nothing else on it.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, np.pi)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    along = (x / width - 0.5) * np.cos(angle) + (y / height - 0.5) * np.sin(angle)
    t = np.clip((along - along.min()) / max(1e-6, float(along.max() - along.min())), 0, 1)[..., None]
    c0, c1, c2 = (_rgb(c) for c in palette)
    picture = np.where(t < 0.5, c0 + (c1 - c0) * (t * 2), c1 + (c2 - c1) * (t * 2 - 1))
    cx, cy = rng.uniform(0.25, 0.75) * width, rng.uniform(0.25, 0.75) * height
    light = np.exp(-(((x - cx) / (0.35 * width)) ** 2 + ((y - cy) / (0.35 * height)) ** 2))[..., None]
    picture = picture + (255 - picture) * 0.25 * light
    step = max(width // 12, 8)
    lines = np.zeros((height, width), dtype=bool)
    lines[:, (np.arange(width) % step) < 2] = True
    lines[(np.arange(height) % step) < 2, :] = True
    picture[lines] = picture[lines] * 0.8 + 255 * 0.2
    return np.clip(picture, 0, 255).astype(np.uint8)


def first_frame_still(path: Path, canvas: tuple[int, int], camera: CameraMove) -> np.ndarray:
    """A still the render's ``camera`` move starts on ``path`` whole: image-to-video's first frame is the image.

    The image fills the part of the canvas the move shows at its first frame
    (:func:`~shotsmith.formats.camera_view` at 0: the whole canvas for a static shot or a push-in, the
    centre for a pull-back, one side for a pan or tilt); the rest, which the move travels into, is the image
    mirrored out from its edges and blurred, so it reads as beyond the frame. Why: a continued shot's start
    image is the previous clip's last frame, and the cut into it is seamless only if the first frame shows
    exactly that. Made at the full canvas so the first frame is the image at the frame's own size.
    """
    from PIL import Image, ImageFilter, ImageOps

    width, height = canvas
    left, top, right, bottom = camera_view(camera, 0.0)
    x0, y0 = round(left * width), round(top * height)
    w, h = round(right * width) - x0, round(bottom * height) - y0
    with Image.open(path) as image:
        inner = ImageOps.fit(image.convert("RGB"), (w, h), Image.Resampling.LANCZOS)
    if (w, h) == (width, height):
        return np.asarray(inner)
    pads = ((y0, height - y0 - h), (x0, width - x0 - w), (0, 0))
    beyond = Image.fromarray(np.pad(np.asarray(inner), pads, mode="symmetric"))
    beyond = beyond.filter(ImageFilter.GaussianBlur(max(2, min(width, height) // 60)))
    beyond.paste(inner, (x0, y0))
    return np.asarray(beyond)


def _panel(path: Path, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A storyboard panel filling the card (cropped to its shape): the camera moves over the drawing. Also the
    same card without the panel's camera arrows (:func:`~shotsmith.backends.sketch.unmarked`)."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        fit = [np.asarray(ImageOps.fit(picture, size, Image.Resampling.LANCZOS))
               for picture in (image.convert("RGB"), unmarked(image))]
    return fit[0], fit[1]


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(AnimaticBackend)
