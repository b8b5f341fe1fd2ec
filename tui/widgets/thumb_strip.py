"""A strip of shot thumbnails under the plan table, drawn with textual-image.

textual-image picks the terminal's best graphics protocol (Kitty's, or
Sixel) when it is imported, before Textual takes the terminal; where there is
none (most terminals, tmux, a browser through textual-serve, the test Pilot)
this strip draws coloured half-block cells instead, which work everywhere
Textual does. textual-image's own last resort is grey shade characters, which
lose the colour that tells one shot from another, so it is not used.

Frames are decoded in a worker thread (:mod:`shotsmith.tui.thumbs` caches
them), so a plan with many shots never stalls a key press; a newer plan
cancels the worker of the older one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import HorizontalScroll, Vertical
from textual.widgets import Static
from textual_image.renderable import Image as AutoRenderable
from textual_image.renderable.halfcell import Image as HalfcellRenderable
from textual_image.widget import HalfcellImage
from textual_image.widget import Image as AutoImage

from shotsmith.brief import Shot, ShotPlan
from shotsmith.tui import thumbs

#: Height of a thumbnail in cells (the stylesheet's ``ShotThumb .thumb-image`` height).
IMAGE_ROWS = 5


def graphics_protocol() -> str:
    """What textual-image found in the terminal this process started in: "tgp", "sixel", "halfcell" or "unicode"."""
    return AutoRenderable.__module__.rsplit(".", 1)[-1]


def image_class(*, headless: bool, web: bool) -> type:
    """The image widget to draw with: the terminal's protocol where it has one, else half-block cells."""
    if headless or web or AutoRenderable is HalfcellRenderable or graphics_protocol() == "unicode":
        return HalfcellImage
    return AutoImage


class ShotThumb(Vertical):
    """One shot: its picture (or a placeholder until there is one) and its number and duration."""

    def __init__(self, shot: Shot, image_cls: type, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shot = shot
        self._image_cls = image_cls
        self.path: Path | None = None

    def compose(self) -> ComposeResult:
        yield Static("…", classes="thumb-empty")
        yield Static(f"{self.shot.index} · {self.shot.duration_s:.1f}s", classes="thumb-label", markup=False)

    def set_shot(self, shot: Shot) -> None:
        """The same shot, edited (a new duration or speed): relabel it; its picture is checked by the strip."""
        self.shot = shot
        if self.is_mounted:
            self.query_one(".thumb-label", Static).update(f"{shot.index} · {shot.duration_s:.1f}s")

    def set_image(self, path: Path | None, width: int | None = None) -> None:
        """Show ``path``, ``width`` cells wide (None: say there is no picture yet)."""
        self.path = path
        current = self.query_children(".thumb-image, .thumb-empty").first()
        if path is None:
            if isinstance(current, Static):
                current.update("no clip yet")
            else:  # the picture no longer belongs to the shot (a new prompt, an undo)
                current.remove()
                self.mount(Static("no clip yet", classes="thumb-empty"), before=0)
            return
        if isinstance(current, self._image_cls):
            current.image = str(path)
        else:
            current.remove()
            current = self._image_cls(str(path), classes="thumb-image")
            self.mount(current, before=0)
        if width:
            current.styles.width = width


class ThumbStrip(HorizontalScroll, can_focus=False):
    """``show_plan`` lays out one :class:`ShotThumb` per shot and fills them in from a worker.

    Not a Tab stop: the plan table chooses the shot, and the strip scrolls to it.
    """

    def __init__(self, root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.root = Path(root)
        self.plan: ShotPlan | None = None
        self._current: int | None = None
        #: True once the worker for the current plan has filled every thumbnail it could.
        self.loaded = False

    def on_mount(self) -> None:
        self.border_title = "Shots"

    def show_plan(self, plan: ShotPlan | None) -> None:
        if plan == self.plan and self.loaded:
            return
        self.plan = plan
        self.loaded = False
        self._load(plan)

    def highlight(self, index: int | None) -> None:
        """Mark the shot highlighted in the plan table and bring it into view."""
        self._current = index
        for tile in self.query(ShotThumb):
            tile.set_class(tile.shot.index == index, "-current")
            if tile.shot.index == index:
                self.scroll_to_widget(tile, animate=False)

    @work(exclusive=True, group="thumbnails")
    async def _load(self, plan: ShotPlan | None) -> None:
        shots = list(plan.shots) if plan else []
        tiles = self.tiles
        if [tile.shot.index for tile in tiles] != [shot.index for shot in shots] or not tiles:
            # Shots added, removed or none: lay the strip out again. (A plan that only comes back with its
            # clips bound, or a shot re-timed, keeps its tiles: no flicker while a turn runs.)
            await self.remove_children()
            if not shots:
                await self.mount(Static("No shots yet.", classes="thumb-none"))
                self.loaded = True
                return
            image_cls = image_class(headless=self.app.is_headless, web=self.app.is_web)
            tiles = [ShotThumb(shot, image_cls) for shot in shots]
            await self.mount(*tiles)
            self.highlight(self._current)
        for tile, shot in zip(tiles, shots):
            tile.set_shot(shot)
            path = await asyncio.to_thread(thumbs.thumbnail, self.root, shot)
            if tile.is_attached and (path != tile.path or path is None):
                width = await asyncio.to_thread(thumbs.cells_wide, path, IMAGE_ROWS) if path else None
                tile.set_image(path, width)
        self.loaded = True

    @property
    def tiles(self) -> list[ShotThumb]:
        return list(self.query(ShotThumb))
