"""Drawing primitives for storyboard panels: sky and ground, light, places, figures, objects, arrows.

Plain Pillow and numpy, no model: shapes a storyboard artist would rough in.
Every function draws at the size it is given (in pixels computed from frame
fractions), so a panel reads the same at 640x360 and 1920x1080. Figures are
built on a head-height unit (a standing adult is about 7.5 heads), which is
what makes a medium shot read as "from the waist" and a wide as "small in the
setting".
"""

from __future__ import annotations

import math
import random
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from shotsmith.backends.shot_reading import Light
from shotsmith.fonts import font_path

INK = (28, 26, 30)
PAPER = (246, 242, 234)
ARROW = (214, 40, 40)

Colour = tuple[int, int, int]


def mix(a: Colour, b: Colour, t: float) -> Colour:
    """``a`` moved a fraction ``t`` of the way to ``b``."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold)), max(8, int(size)))


# -- background ------------------------------------------------------------------------------------------------

def backdrop(width: int, height: int, horizon: float, sky: tuple[Colour, Colour], ground: tuple[Colour, Colour],
             light: Light) -> Image.Image:
    """Sky gradient above ``horizon`` (a frame fraction), ground below, lit by ``light`` (a soft glow).

    Everything here is smooth, so it is computed at a quarter of the size and scaled up (a few milliseconds).
    """
    full = (width, height)
    width, height = max(2, width // 4), max(2, height // 4)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    h = min(max(horizon, 0.0), 1.0)
    sky_t = np.clip(ys / max(h, 1e-3), 0, 1)
    ground_t = np.clip((ys - h) / max(1 - h, 1e-3), 0, 1)
    top, low = np.array(sky[0], np.float32), np.array(sky[1], np.float32)
    near, far = np.array(ground[0], np.float32), np.array(ground[1], np.float32)
    column = np.where(ys[..., None] < h, top + (low - top) * sky_t[..., None],
                      far + (near - far) * ground_t[..., None])  # (H, 1, 3)
    pixels = np.repeat(column, width, axis=1)
    # The light: a broad glow around its source (which may sit outside the frame).
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    aspect = width / height
    dist = np.sqrt(((xs - light.x) * aspect) ** 2 + (ys - light.y) ** 2)
    glow = np.clip(1.0 - dist / 1.35, 0, 1) ** 2 * light.strength
    pixels += (np.array(light.colour, np.float32) - pixels) * glow[..., None]
    # Falloff away from the light keeps the direction readable even where the source is out of frame.
    shade = np.clip(dist / 2.2, 0, 1) * 0.28
    pixels *= (1.0 - shade)[..., None]
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    # Sharp horizon: the scaled gradient would blur it, so the line is drawn again by the setting.
    return image.resize(full, Image.Resampling.BILINEAR)


def light_mark(draw: ImageDraw.ImageDraw, width: int, height: int, light: Light) -> None:
    """The source itself where it is in frame: a sun with rays, the moon; else an arrow from its side."""
    short = min(width, height)
    if light.key == "soft":
        return  # diffuse light has no source to point at
    if light.sun and 0 <= light.x <= 1 and 0 <= light.y <= 1:
        cx, cy, r = light.x * width, light.y * height, short * 0.045
        if light.key == "night":
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(236, 240, 255))
            draw.ellipse((cx - r * 0.45, cy - r * 1.1, cx + r * 1.5, cy + r * 0.8), fill=None)
            return
        for k in range(12):
            a = k * math.pi / 6
            draw.line((cx + math.cos(a) * r * 1.35, cy + math.sin(a) * r * 1.35,
                       cx + math.cos(a) * r * 1.9, cy + math.sin(a) * r * 1.9), fill=mix(light.colour, INK, 0.15),
                      width=max(1, int(short * 0.006)))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=light.colour, outline=mix(light.colour, INK, 0.3),
                     width=max(1, int(short * 0.004)))
        return
    # Off-frame source: a sun half-hidden by the frame edge it shines from, rays pointing in.
    r = short * 0.06
    cx = min(max(light.x, 0.0), 1.0) * width
    cy = min(max(light.y, 0.0), 1.0) * height
    toward = math.atan2(0.5 * height - cy, 0.5 * width - cx)
    colour = mix(light.colour, (255, 200, 80), 0.35)
    for k in (-1, 0, 1):
        a = toward + k * 0.45
        draw.line((cx + math.cos(a) * r * 1.25, cy + math.sin(a) * r * 1.25, cx + math.cos(a) * r * 2.1,
                   cy + math.sin(a) * r * 2.1), fill=mix(colour, INK, 0.2), width=max(2, int(short * 0.007)))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour, outline=mix(colour, INK, 0.3),
                 width=max(1, int(short * 0.004)))


# -- places -------------------------------------------------------------------------------------------------------

def setting(draw: ImageDraw.ImageDraw, width: int, height: int, kind: str, horizon: float, colour: Colour,
            rng: random.Random, *, detail: float = 1.0, window_light: Colour = (255, 240, 200)) -> None:
    """Rough in the place: a room's back wall and window, a street of buildings, trees and hills, the sea.

    ``detail`` scales how much is drawn (close shots keep only soft, large shapes).
    """
    y = horizon * height
    line = max(1, int(min(width, height) * 0.004))
    if kind == "interior":
        # Back wall down to the floor line, a window letting the light in, a counter or table.
        for i, x0 in enumerate((0.12, 0.62)[: 1 + int(detail > 0.5)]):
            wx0, wx1 = (x0 + rng.uniform(-0.03, 0.03)) * width, (x0 + 0.24) * width
            wy0, wy1 = y - 0.52 * height, y - 0.14 * height
            draw.rectangle((wx0, wy0, wx1, wy1), fill=window_light, outline=colour, width=line * 2)
            draw.line(((wx0 + wx1) / 2, wy0, (wx0 + wx1) / 2, wy1), fill=colour, width=line)
            draw.line((wx0, (wy0 + wy1) / 2, wx1, (wy0 + wy1) / 2), fill=colour, width=line)
        draw.line((0, y, width, y), fill=colour, width=line * 2)
        if detail > 0.5:
            tx0, tx1 = 0.58 * width, 0.95 * width
            draw.rectangle((tx0, y + 0.06 * height, tx1, y + 0.09 * height), fill=colour)
            for lx in (tx0 + 0.03 * width, tx1 - 0.03 * width):
                draw.line((lx, y + 0.09 * height, lx, y + 0.3 * height), fill=colour, width=line * 2)
    elif kind == "street":
        x = -0.02 * width
        while x < width:
            w = rng.uniform(0.08, 0.17) * width
            h = rng.uniform(0.18, 0.45) * height * (0.6 + 0.4 * detail)
            draw.rectangle((x, y - h, x + w - line * 2, y), fill=mix(colour, (255, 255, 255), 0.25),
                           outline=colour, width=line)
            if detail > 0.5:
                for wy in np.arange(y - h + 0.04 * height, y - 0.05 * height, 0.07 * height):
                    for wx in np.arange(x + 0.02 * width, x + w - 0.04 * width, 0.045 * width):
                        draw.rectangle((wx, wy, wx + 0.018 * width, wy + 0.03 * height),
                                       fill=mix(colour, window_light, 0.55))
            x += w
        # The road in perspective towards a vanishing point on the horizon.
        vx = 0.5 * width
        for side in (-1, 1):
            draw.line((vx + side * 0.03 * width, y, vx + side * 0.7 * width, height), fill=colour, width=line * 2)
        draw.line((vx, y + 0.02 * height, vx, height), fill=mix(colour, (255, 255, 255), 0.6), width=line)
    elif kind == "nature":
        hill = [(0, y)]
        for k in range(9):
            hill.append(((k + 0.5) / 8 * width, y - rng.uniform(0.02, 0.12) * height))
        hill += [(width, y), (width, y + 2)]
        draw.polygon(hill + [(0, y + 2)], fill=mix(colour, (255, 255, 255), 0.3))
        for _ in range(int(4 + 6 * detail)):
            tx = rng.uniform(0.0, 1.0) * width
            th = rng.uniform(0.12, 0.3) * height * (0.5 + 0.5 * detail)
            ty = y + rng.uniform(-0.01, 0.05) * height
            draw.line((tx, ty, tx, ty - th * 0.55), fill=colour, width=line * 3)
            r = th * 0.3
            draw.ellipse((tx - r, ty - th - r * 0.2, tx + r, ty - th * 0.45), fill=mix(colour, (60, 110, 60), 0.3),
                         outline=colour, width=line)
    elif kind == "water":
        draw.rectangle((0, y, width, y + 0.16 * height), fill=mix(colour, (120, 170, 210), 0.55))
        for k in range(int(3 + 5 * detail)):
            wy = y + (0.02 + 0.025 * k) * height
            for wx in np.arange(rng.uniform(0, 0.1) * width, width, 0.12 * width):
                draw.arc((wx, wy, wx + 0.05 * width, wy + 0.02 * height), 200, 340, fill=colour, width=line)
    draw.line((0, y, width, y), fill=colour, width=line)


# -- people -------------------------------------------------------------------------------------------------------

def person(draw: ImageDraw.ImageDraw, cx: float, head_top: float, head: float, *, fill: Colour, outline: Colour,
           face: bool = True, look: float = 0.0, back: bool = False, lit_from: float = 0.0,
           hair: Colour | None = None, clothes: Colour | None = None) -> None:
    """A standing figure, ``head`` pixels per head height (an adult is about 7.5 heads tall).

    Parts outside the panel are clipped, so the same figure makes a wide (small,
    whole), a medium shot (cut at the waist) or a close-up (head and shoulders).
    ``look`` turns the face left (-1) or right (+1); ``back`` shows the back of
    the head (over-the-shoulder foregrounds); ``lit_from`` (-1 left .. +1 right)
    shades the side away from the light. ``fill`` is the skin, ``clothes`` the body.
    """
    skin = fill
    fill = clothes or fill
    w = max(1, int(head * 0.06))
    hw = head * 0.78
    neck_y = head_top + head * 0.95
    shoulder_y = head_top + head * 1.3
    waist_y = head_top + head * 3.0
    hip_y = head_top + head * 3.75
    foot_y = head_top + head * 7.4
    shoulder = head * 1.05
    # Legs and arms first (the torso overlaps their tops).
    leg_w = max(2, int(head * 0.5))
    for side in (-1, 1):
        draw.line((cx + side * head * 0.38, hip_y, cx + side * head * 0.45, foot_y), fill=outline, width=leg_w + 2 * w)
        draw.line((cx + side * head * 0.38, hip_y, cx + side * head * 0.45, foot_y), fill=fill, width=leg_w)
    arm_w = max(2, int(head * 0.36))
    for side in (-1, 1):
        elbow = (cx + side * (shoulder + head * 0.1), head_top + head * 2.4)
        hand = (cx + side * (shoulder - head * 0.05), head_top + head * 3.55)
        start = (cx + side * shoulder * 0.9, shoulder_y + head * 0.15)
        draw.line((start, elbow, hand), fill=outline, width=arm_w + 2 * w, joint="curve")
        draw.line((start, elbow, hand), fill=fill, width=arm_w, joint="curve")
        r = head * 0.2
        draw.ellipse((hand[0] - r, hand[1] - r * 0.6, hand[0] + r, hand[1] + r * 1.3), fill=skin, outline=outline,
                     width=w)
    torso = [(cx - shoulder, shoulder_y), (cx + shoulder, shoulder_y), (cx + head * 0.75, waist_y),
             (cx + head * 0.85, hip_y), (cx - head * 0.85, hip_y), (cx - head * 0.75, waist_y)]
    draw.polygon(torso, fill=fill, outline=outline, width=w)
    draw.ellipse((cx - shoulder, shoulder_y - head * 0.25, cx + shoulder, shoulder_y + head * 0.5), fill=fill)
    draw.arc((cx - shoulder, shoulder_y - head * 0.25, cx + shoulder, shoulder_y + head * 0.5), 180, 360,
             fill=outline, width=w)
    if lit_from:
        # The side away from the light, a shade darker.
        away = -1 if lit_from > 0 else 1
        draw.polygon([(cx, shoulder_y), (cx + away * shoulder, shoulder_y), (cx + away * head * 0.75, waist_y),
                      (cx + away * head * 0.85, hip_y), (cx, hip_y)], fill=mix(fill, INK, 0.25))
    draw.rectangle((cx - head * 0.17, neck_y - head * 0.1, cx + head * 0.17, shoulder_y - head * 0.12), fill=skin,
                   outline=outline, width=w)
    if back:  # seen from behind: a collar line, ears, and the back of the head all hair
        hair = hair or mix(skin, INK, 0.55)
        draw.arc((cx - head * 0.4, shoulder_y - head * 0.3, cx + head * 0.4, shoulder_y + head * 0.1), 0, 180,
                 fill=outline, width=w)
        box = (cx - hw / 2, head_top, cx + hw / 2, head_top + head)
        for side in (-1, 1):
            ex = cx + side * hw * 0.5
            draw.ellipse((ex - head * 0.07, head_top + head * 0.45, ex + head * 0.07, head_top + head * 0.7),
                         fill=skin, outline=outline, width=max(1, w // 2))
        draw.ellipse(box, fill=hair, outline=outline, width=w)
        return
    if clothes is not None:  # a collar: the neck goes into the coat
        draw.polygon([(cx - head * 0.3, shoulder_y - head * 0.16), (cx, shoulder_y + head * 0.35),
                      (cx + head * 0.3, shoulder_y - head * 0.16)], fill=skin, outline=outline, width=w)
    box = (cx - hw / 2, head_top, cx + hw / 2, head_top + head)
    draw.ellipse(box, fill=skin, outline=outline, width=w)
    if lit_from:
        # The half of the head away from the light, a shade darker.
        start, end = (-90, 90) if lit_from < 0 else (90, 270)
        draw.pieslice(box, start, end, fill=mix(skin, INK, 0.22))
        draw.ellipse(box, outline=outline, width=w)
    hair = hair or mix(skin, INK, 0.55)
    draw.chord(box, 190, 350, fill=hair, outline=outline, width=w)
    if face and head >= 18:
        eye_y = head_top + head * 0.5
        shift = look * hw * 0.14
        er = max(1.5, head * 0.045)
        for side in (-1, 1):
            ex = cx + side * hw * 0.2 + shift
            draw.ellipse((ex - er * 1.6, eye_y - er, ex + er * 1.6, eye_y + er), fill=(250, 250, 250),
                         outline=outline, width=max(1, w // 2))
            draw.ellipse((ex - er * 0.8 + shift * 0.2, eye_y - er * 0.8, ex + er * 0.8 + shift * 0.2,
                          eye_y + er * 0.8), fill=INK)
            brow_y = eye_y - head * 0.1
            draw.line((ex - er * 2, brow_y, ex + er * 2, brow_y - head * 0.015), fill=outline, width=max(1, w))
        nose_x = cx + shift * 1.3
        draw.line((nose_x, eye_y + head * 0.04, nose_x + look * head * 0.05 - head * 0.02, eye_y + head * 0.2,
                   nose_x, eye_y + head * 0.22), fill=outline, width=max(1, w), joint="curve")
        mouth_y = head_top + head * 0.8
        draw.arc((cx - hw * 0.17 + shift, mouth_y - head * 0.05, cx + hw * 0.17 + shift, mouth_y + head * 0.04),
                 20, 160, fill=outline, width=max(1, w))
        for side in (-1, 1):  # ears
            ex = cx + side * hw * 0.5
            draw.ellipse((ex - head * 0.06, eye_y - head * 0.02, ex + head * 0.06, eye_y + head * 0.2), fill=skin,
                         outline=outline, width=max(1, w // 2))


def hand(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, *, fill: Colour, outline: Colour,
         from_side: int = 1) -> None:
    """A hand reaching in from the bottom (``from_side`` tilts the forearm), fingers up around ``(cx, cy)``."""
    w = max(1, int(size * 0.03))
    forearm_w = int(size * 0.55)
    base = (cx + from_side * size * 0.9, cy + size * 2.4)
    wrist = (cx + from_side * size * 0.15, cy + size * 0.55)
    draw.line((base, wrist), fill=outline, width=forearm_w + 2 * w)
    draw.line((base, wrist), fill=fill, width=forearm_w)
    palm = (cx - size * 0.35, cy - size * 0.1, cx + size * 0.4, cy + size * 0.65)
    draw.rounded_rectangle(palm, radius=size * 0.2, fill=fill, outline=outline, width=w)
    for k in range(4):
        fx = cx - size * 0.28 + k * size * 0.19
        top = cy - size * (0.55 if k in (1, 2) else 0.45)
        draw.rounded_rectangle((fx - size * 0.075, top, fx + size * 0.075, cy + size * 0.05), radius=size * 0.075,
                               fill=fill, outline=outline, width=w)
    draw.line((cx - size * 0.35, cy + size * 0.35, cx - size * 0.62, cy + size * 0.0), fill=outline,
              width=int(size * 0.17) + 2 * w)
    draw.line((cx - size * 0.35, cy + size * 0.35, cx - size * 0.62, cy + size * 0.0), fill=fill,
              width=int(size * 0.17))


# -- things -------------------------------------------------------------------------------------------------------

def thing(draw: ImageDraw.ImageDraw, kind: str, cx: float, base_y: float, size: float, *, fill: Colour,
          outline: Colour, rng: random.Random) -> None:
    """A product-like object standing on ``base_y``, about ``size`` pixels tall: cup, bottle, device, cluster, box."""
    w = max(1, int(size * 0.02))
    if kind == "cup":
        top, r = base_y - size * 0.75, size * 0.38
        draw.ellipse((cx - size * 0.62, base_y - size * 0.08, cx + size * 0.62, base_y + size * 0.1),
                     fill=mix(fill, (255, 255, 255), 0.5), outline=outline, width=w)  # saucer
        draw.polygon([(cx - r, top), (cx + r, top), (cx + r * 0.8, base_y), (cx - r * 0.8, base_y)], fill=fill,
                     outline=outline, width=w)
        draw.arc((cx + r * 0.6, top + size * 0.12, cx + r * 1.5, top + size * 0.5), 270, 90, fill=outline,
                 width=max(2, int(size * 0.07)))
        draw.ellipse((cx - r, top - size * 0.08, cx + r, top + size * 0.08), fill=(120, 80, 50), outline=outline,
                     width=w)
        draw.ellipse((cx - r * 0.4, top - size * 0.03, cx + r * 0.4, top + size * 0.03), fill=(240, 225, 200))
    elif kind == "bottle":
        body = (cx - size * 0.2, base_y - size * 0.62, cx + size * 0.2, base_y)
        draw.rounded_rectangle(body, radius=size * 0.08, fill=fill, outline=outline, width=w)
        draw.polygon([(cx - size * 0.2, base_y - size * 0.6), (cx - size * 0.07, base_y - size * 0.8),
                      (cx + size * 0.07, base_y - size * 0.8), (cx + size * 0.2, base_y - size * 0.6)], fill=fill,
                     outline=outline, width=w)
        draw.rectangle((cx - size * 0.07, base_y - size, cx + size * 0.07, base_y - size * 0.8), fill=fill,
                       outline=outline, width=w)
        draw.rectangle((cx - size * 0.17, base_y - size * 0.45, cx + size * 0.17, base_y - size * 0.22),
                       fill=(245, 240, 230), outline=outline, width=w)
    elif kind == "device":
        body = (cx - size * 0.3, base_y - size, cx + size * 0.3, base_y)
        draw.rounded_rectangle(body, radius=size * 0.07, fill=INK, outline=outline, width=w)
        draw.rounded_rectangle((cx - size * 0.26, base_y - size * 0.93, cx + size * 0.26, base_y - size * 0.07),
                               radius=size * 0.04, fill=mix(fill, (255, 255, 255), 0.6))
    elif kind == "cluster":
        for _ in range(26):
            ox, oy = rng.gauss(0, size * 0.45), rng.gauss(-size * 0.25, size * 0.2)
            r = size * rng.uniform(0.09, 0.14)
            x, y = cx + ox, base_y + oy
            draw.ellipse((x - r * 1.3, y - r, x + r * 1.3, y + r), fill=fill, outline=outline, width=w)
            draw.arc((x - r * 0.9, y - r * 0.5, x + r * 0.9, y + r * 0.5), 200, 340, fill=outline, width=w)
    else:
        front = (cx - size * 0.42, base_y - size * 0.7, cx + size * 0.28, base_y)
        draw.polygon([(front[0], front[1]), (front[0] + size * 0.14, front[1] - size * 0.12),
                      (front[2] + size * 0.14, front[1] - size * 0.12), (front[2], front[1])],
                     fill=mix(fill, (255, 255, 255), 0.35), outline=outline)
        draw.polygon([(front[2], front[1]), (front[2] + size * 0.14, front[1] - size * 0.12),
                      (front[2] + size * 0.14, front[3] - size * 0.12), (front[2], front[3])],
                     fill=mix(fill, INK, 0.3), outline=outline)
        draw.rectangle(front, fill=fill, outline=outline, width=w)


# -- camera --------------------------------------------------------------------------------------------------------

def arrow(draw: ImageDraw.ImageDraw, start: tuple[float, float], end: tuple[float, float], *, colour: Colour = ARROW,
          width: int = 6, outline: Colour | None = (255, 255, 255)) -> None:
    """A storyboard arrow from ``start`` to ``end`` with a filled head (white-edged so it reads on any ground)."""
    (x0, y0), (x1, y1) = start, end
    angle = math.atan2(y1 - y0, x1 - x0)
    head = width * 3.2
    back = (x1 - math.cos(angle) * head, y1 - math.sin(angle) * head)
    left = (back[0] + math.cos(angle + math.pi / 2) * head * 0.6, back[1] + math.sin(angle + math.pi / 2) * head * 0.6)
    right = (back[0] - math.cos(angle + math.pi / 2) * head * 0.6, back[1] - math.sin(angle + math.pi / 2) * head * 0.6)
    if outline is not None:
        draw.line((x0, y0, *back), fill=outline, width=width + 4)
        draw.polygon([(x1, y1), left, right], outline=outline, width=4)
    draw.line((x0, y0, *back), fill=colour, width=width)
    draw.polygon([(x1, y1), left, right], fill=colour)


def _clear_of(a: tuple[float, float], b: tuple[float, float], avoid: tuple[float, float, float, float] | None,
              gap: float) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The part of the straight arrow ``a``→``b`` left of ``avoid`` (a box, grown by ``gap``): the arrow as it is
    when it misses the box, else cut back along its line to the longer side the box leaves (None when it is a
    diagonal the box sits on: it is dropped)."""
    if avoid is None:
        return a, b
    x0, y0, x1, y1 = avoid[0] - gap, avoid[1] - gap, avoid[2] + gap, avoid[3] + gap
    if max(a[0], b[0]) < x0 or min(a[0], b[0]) > x1 or max(a[1], b[1]) < y0 or min(a[1], b[1]) > y1:
        return a, b
    axis = 0 if a[1] == b[1] else 1 if a[0] == b[0] else None
    if axis is None:
        return None
    lo, hi = sorted((a[axis], b[axis]))
    low_side, high_side = (lo, min(hi, (x0, y0)[axis])), (max(lo, (x1, y1)[axis]), hi)
    span = max(low_side, high_side, key=lambda s: s[1] - s[0])
    forward = b[axis] > a[axis]
    start, end = (span if forward else span[::-1])

    def point(v: float) -> tuple[float, float]:
        return (v, a[1]) if axis == 0 else (a[0], v)
    return point(start), point(end)


def camera_arrows(draw: ImageDraw.ImageDraw, width: int, height: int, move: str,
                  avoid: tuple[float, float, float, float] | None = None) -> None:
    """The move as a storyboard artist marks it: push-in converging, pull-back diverging, pan across, tilt up/down.

    ``avoid`` is a box the arrows stay off (the cast thumbnails): a pan or tilt is shortened, a push-in's corner
    arrow that would cross it is left out (three still say the move)."""
    short = min(width, height)
    line = max(3, int(short * 0.012))
    gap = line * 3
    if move in ("zoom_in", "zoom_out"):
        inner = (0.3, 0.3, 0.7, 0.7)
        ix0, iy0, ix1, iy1 = inner[0] * width, inner[1] * height, inner[2] * width, inner[3] * height
        dash = max(4, int(short * 0.02))
        dashes = [(x, y, min(x + dash, ix1), y) for x in np.arange(ix0, ix1, dash * 2) for y in (iy0, iy1)]
        dashes += [(x, y, x, min(y + dash, iy1)) for y in np.arange(iy0, iy1, dash * 2) for x in (ix0, ix1)]
        for x0, y0, x1, y1 in dashes:
            if _clear_of((x0, y0), (x1, y1), avoid, line) == ((x0, y0), (x1, y1)):  # the frame breaks at the cast
                draw.line((x0, y0, x1, y1), fill=ARROW, width=max(2, line // 2))
        for (ox, oy), (tx, ty) in (((0.06, 0.08), (ix0, iy0)), ((0.94, 0.08), (ix1, iy0)),
                                   ((0.06, 0.8), (ix0, iy1)), ((0.94, 0.8), (ix1, iy1))):
            outer = (ox * width, oy * height)
            a, b = (outer, (tx, ty)) if move == "zoom_in" else ((tx, ty), outer)
            # Stop short of the target so the heads do not sit on the frame corners.
            end = (a[0] + (b[0] - a[0]) * 0.85, a[1] + (b[1] - a[1]) * 0.85)
            start = (a[0] + (b[0] - a[0]) * 0.1, a[1] + (b[1] - a[1]) * 0.1)
            kept = _clear_of(start, end, avoid, gap)
            if kept:
                arrow(draw, *kept, width=line)
    elif move in ("pan_left", "pan_right"):
        y = 0.2 * height
        a, b = (0.18 * width, y), (0.82 * width, y)
        kept = _clear_of(*((a, b) if move == "pan_right" else (b, a)), avoid, gap)
        if kept:
            arrow(draw, *kept, width=line)
    elif move in ("tilt_up", "tilt_down"):
        x = 0.9 * width
        a, b = (x, 0.72 * height), (x, 0.16 * height)
        kept = _clear_of(*((a, b) if move == "tilt_up" else (b, a)), avoid, gap)
        if kept:
            arrow(draw, *kept, width=line)


# -- text on thumbnails (the panel's own words travel beside it: sketch.labels) -------------------------------

def fit_text(text: str, face: ImageFont.FreeTypeFont, max_width: float) -> str:
    """``text`` shortened with an ellipsis until it fits ``max_width`` pixels."""
    if face.getlength(text) <= max_width:
        return text
    words = text.split()
    while len(words) > 1 and face.getlength(" ".join(words) + "…") > max_width:
        words.pop()
    cut = " ".join(words)
    while cut and face.getlength(cut + "…") > max_width:  # one long word: cut inside it
        cut = cut[:-1]
    return cut.rstrip() + "…"


#: The corners of a box the cast thumbnails can sit in, in order of preference (top right first, as boards do).
CORNERS = ("top_right", "top_left", "bottom_right", "bottom_left")


def thumbnail_cells(image_size: tuple[int, int], count: int, box: tuple[int, int, int, int] | None = None,
                    corner: str = "top_right") -> list[tuple[int, int, int]]:
    """Where ``count`` cast thumbnails go in ``corner`` of ``box`` (pixels, default the whole image): ``(x, y,
    size)`` of each picture, its frame drawn 3 px around it and its name under it. They shrink to fit the box's
    width when there are many (a portrait frame)."""
    if count <= 0:
        return []
    left, top, right, bottom = box or (0, 0, *image_size)
    pad = max(4, int(min(image_size) * 0.016))
    size = max(16, min(int(min(image_size) * 0.16), (right - left) // count - pad * 3))
    step = size + pad * 2 + 6
    y = top + pad + 3 if corner.startswith("top") else bottom - pad - 3 - size - int(size * 0.24)
    if corner.endswith("right"):
        return [(right - pad - 3 - size - i * step, y, size) for i in range(count)]
    return [(left + pad + 3 + i * step, y, size) for i in range(count)]


def cells_footprint(cells: list[tuple[int, int, int]]) -> tuple[int, int, int, int]:
    """The pixels the thumbnails in ``cells`` cover, frames and names included."""
    return (min(x for x, _, _ in cells) - 3, min(y for _, y, _ in cells) - 3,
            max(x + s for x, _, s in cells) + 3, max(y + s + int(s * 0.24) for _, y, s in cells) + 3)


def thumbnails(image: Image.Image, pictures: list[tuple[Image.Image, str]],
               box: tuple[int, int, int, int] | None = None, corner: str = "top_right") -> None:
    """Small labelled thumbnails of the cast in ``corner`` of ``box`` (who is in the shot).

    The sketch passes the part of the panel that every camera move keeps on screen as ``box``, so an animated
    panel never crops who is in it, and the corner its figures leave clearest.
    """
    if not pictures:
        return
    draw = ImageDraw.Draw(image)
    for (picture, tag), (x, y, size) in zip(pictures, thumbnail_cells(image.size, len(pictures), box, corner)):
        thumb = picture.convert("RGB")
        thumb.thumbnail((size, size))
        cell = Image.new("RGB", (size, size), (250, 250, 250))
        cell.paste(thumb, ((size - thumb.width) // 2, (size - thumb.height) // 2))
        draw.rectangle((x - 3, y - 3, x + size + 2, y + size + int(size * 0.24) + 2), fill=(250, 250, 250),
                       outline=INK, width=2)
        image.paste(cell, (x, y))
        draw.text((x + size / 2, y + size + size * 0.12), fit_text(tag, font(size * 0.16, True), size),
                  font=font(size * 0.16, True), fill=INK, anchor="mm")
