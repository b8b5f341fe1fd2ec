"""Aspect ratios, resolutions and camera/transition vocabularies shared by all layers."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AspectRatio = Literal["16:9", "9:16", "1:1", "4:5"]
ASPECT_RATIOS: tuple[str, ...] = ("16:9", "9:16", "1:1", "4:5")

#: Output height ("720p") is the short side for landscape and the long side
#: for portrait would be surprising, so resolutions name the *short* side.
RESOLUTIONS: dict[str, int] = {"360p": 360, "480p": 480, "540p": 540, "720p": 720, "1080p": 1080, "1440p": 1440, "2160p": 2160}


def frame_size(aspect_ratio: str, resolution: str = "720p") -> tuple[int, int]:
    """Width and height (both even) for an aspect ratio at a named resolution.

    The resolution names the short side: 9:16 at 720p is 720x1280.
    """
    if resolution not in RESOLUTIONS:
        raise ValueError(f"unknown resolution {resolution!r}; choose one of {', '.join(RESOLUTIONS)}")
    short = RESOLUTIONS[resolution]
    w_ratio, h_ratio = (int(p) for p in aspect_ratio.split(":"))
    if w_ratio >= h_ratio:
        h, w = short, short * w_ratio / h_ratio
    else:
        w, h = short, short * h_ratio / w_ratio
    return _even(w), _even(h)


def _even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


class CameraMove(StrEnum):
    """Camera moves the planner writes and the animatic simulates."""

    STATIC = "static"
    ZOOM_IN = "zoom_in"
    ZOOM_OUT = "zoom_out"
    PAN_LEFT = "pan_left"
    PAN_RIGHT = "pan_right"
    TILT_UP = "tilt_up"
    TILT_DOWN = "tilt_down"

    @property
    def phrase(self) -> str:
        """How the move reads inside a generation prompt."""
        return {
            "static": "locked-off static camera",
            "zoom_in": "slow push-in",
            "zoom_out": "slow pull-back",
            "pan_left": "smooth pan left",
            "pan_right": "smooth pan right",
            "tilt_up": "gentle tilt up",
            "tilt_down": "gentle tilt down",
        }[self.value]


def zoompan_expressions(move: CameraMove, frames: int, *, amount: float = 0.2,
                        static_zoom: float | None = None) -> tuple[str, str, str]:
    """``z``, ``x``, ``y`` expressions for ffmpeg's ``zoompan`` that fly a camera over a picture.

    Zooms go between 1 and ``1 + amount`` over ``frames`` output frames; pans and
    tilts hold the zoom at ``1 + amount`` and travel across the spare margin.
    ``static_zoom`` is the zoom for a static shot (default: the same ``1 + amount``
    centre crop). The renderer uses this for stills (Ken Burns), the animatic for
    its previz cards, so a move looks the same wherever it is drawn.
    """
    n = max(frames - 1, 1)
    progress = f"on/{n}"
    z, x, y = f"{1 + amount:g}", "(iw-iw/zoom)/2", "(ih-ih/zoom)/2"
    if move is CameraMove.ZOOM_IN:
        z = f"1+{amount:g}*{progress}"
    elif move is CameraMove.ZOOM_OUT:
        z = f"{1 + amount:g}-{amount:g}*{progress}"
    elif move is CameraMove.PAN_RIGHT:
        x = f"(iw-iw/zoom)*{progress}"
    elif move is CameraMove.PAN_LEFT:
        x = f"(iw-iw/zoom)*(1-{progress})"
    elif move is CameraMove.TILT_DOWN:
        y = f"(ih-ih/zoom)*{progress}"
    elif move is CameraMove.TILT_UP:
        y = f"(ih-ih/zoom)*(1-{progress})"
    elif static_zoom is not None:
        z = f"{static_zoom:g}"
    return z, x, y


class TransitionKind(StrEnum):
    """Transitions between two clips; all but ``cut`` and ``continue`` map onto ffmpeg ``xfade``.

    ``continue`` is a hard cut in the edit whose next shot is generated image-to-video from this
    shot's last frame (see :mod:`shotsmith.assistant.production.continuity`).
    """

    CUT = "cut"
    CONTINUE = "continue"
    FADE = "fade"
    DISSOLVE = "dissolve"
    FADE_BLACK = "fadeblack"
    FADE_WHITE = "fadewhite"
    WIPE_LEFT = "wipeleft"
    WIPE_RIGHT = "wiperight"
    WIPE_UP = "wipeup"
    WIPE_DOWN = "wipedown"
    SLIDE_LEFT = "slideleft"
    SLIDE_RIGHT = "slideright"
    SLIDE_UP = "slideup"
    SLIDE_DOWN = "slidedown"


class Transition(BaseModel):
    """The transition from one clip into the next; ``duration_s`` overlaps the two."""

    model_config = ConfigDict(extra="forbid")  # a misspelled key in a plan is an error, not a silent cut

    kind: TransitionKind = TransitionKind.CUT
    duration_s: float = Field(default=0.0, ge=0.0, le=5.0)

    @property
    def overlap_s(self) -> float:
        return 0.0 if self.kind in (TransitionKind.CUT, TransitionKind.CONTINUE) else self.duration_s

    @property
    def continues(self) -> bool:
        """The next shot starts from this shot's last frame (a hard cut, no overlap)."""
        return self.kind is TransitionKind.CONTINUE

    @classmethod
    def cut(cls) -> "Transition":
        return cls(kind=TransitionKind.CUT, duration_s=0.0)


#: PNG text key of a still's slate: the words the render draws over a still card (see backends/animatic.py).
SLATE_KEY = "shotsmith:slate"
#: How far a Ken Burns move zooms into a still (the canvas is the frame at this zoom).
KEN_BURNS_AMOUNT = 0.2


def ken_burns_canvas(width: int, height: int, amount: float = KEN_BURNS_AMOUNT) -> tuple[int, int]:
    """The size a still is prepared at for a move: the frame at the move's largest zoom (even numbers).

    In the core because a backend that makes still cards (the animatic) and the renderer that moves
    them must agree on it, and backends do not import the editing tools.
    """
    return (max(2, round(width * (1 + amount) / 2) * 2), max(2, round(height * (1 + amount) / 2) * 2))


#: (left, top, right, bottom) of a still, as fractions of its width and height.
Box = tuple[float, float, float, float]


def camera_view(move: CameraMove, progress: float, amount: float = KEN_BURNS_AMOUNT) -> Box:
    """The part of a still the render's ``move`` shows at ``progress`` (0 = first frame, 1 = last).

    The numbers of :func:`zoompan_expressions` (the render's Ken Burns move) as fractions of the still
    (static: the whole still, as the render fits a static still). Why it exists: what the sketch must keep
    on screen, and what a continued shot's first frame is, are both read from the move itself.
    """
    t = min(1.0, max(0.0, progress))
    zoom = {CameraMove.STATIC: 1.0, CameraMove.ZOOM_IN: 1 + amount * t,
            CameraMove.ZOOM_OUT: 1 + amount * (1 - t)}.get(move, 1 + amount)
    size = 1 / zoom
    x = y = (1 - size) / 2
    spare = 1 - size
    if move is CameraMove.PAN_RIGHT:
        x = spare * t
    elif move is CameraMove.PAN_LEFT:
        x = spare * (1 - t)
    elif move is CameraMove.TILT_DOWN:
        y = spare * t
    elif move is CameraMove.TILT_UP:
        y = spare * (1 - t)
    return (x, y, x + size, y + size)


def steady_region(moves: "list[CameraMove] | None" = None, amount: float = KEN_BURNS_AMOUNT) -> Box:
    """The part of a still on screen for the whole of every move in ``moves`` (default: every move).

    Each move's view travels in a straight line (or shrinks/grows about the centre), so what its first and
    last views share is on screen throughout; the sketch keeps the shot's identifying marks (the cast) there.
    """
    views = [camera_view(m, t, amount) for m in (moves or list(CameraMove)) for t in (0.0, 1.0)]
    return (max(v[0] for v in views), max(v[1] for v in views), min(v[2] for v in views), min(v[3] for v in views))


#: Stands in a still's slate for the shot's time on screen; the render writes it in (a backend sees the clip's
#: length, which includes the outgoing transition's handle, not the shot's duration).
SLATE_SCREEN_TIME = "{screen_time}"
