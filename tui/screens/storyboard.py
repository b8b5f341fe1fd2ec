"""The storyboard panel: each shot's keyframe still with its number and approval mark, approved one by one.

Video money is spent on a shot only after its still is approved (in a
conversation, for a backend that needs a yes), so this is where a user looks
before saying yes: a row of panels, the chosen one outlined. ``a`` approves
the chosen panel (a continued or footage panel has no still: the hint line
says so instead) and ``A`` every panel by saying "approve 2" / "approve all"
to the session, exactly as if typed, so the offline planner and the agent
answer it through the one production path (a held generation goes on once
the last still is approved); ``r`` closes the panel with "redo N with " in
the input for the user to finish. The marks follow the project, so an
approval or a redo made in the chat shows here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalScroll, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from shotsmith.assistant.production.storyboard import Panel, panels
from shotsmith.brief import Shot
from shotsmith.tui import thumbs
from shotsmith.tui.widgets.thumb_strip import IMAGE_ROWS, image_class

MARKS = {"approved": "✓ approved", "used": "✓ used for clip", "pending": "… pending", "none": "no still yet",
         "footage": "footage", "continues": "↳ continues"}
HINT = "←/→ choose · a approve panel · A approve all · r redo… · Esc close"


def still_thumbnail(root: Path, shot: Shot) -> Path | None:
    """The cached thumbnail of the shot's storyboard still (not of its clip, which the Shots strip shows)."""
    if not shot.bound_keyframe:
        return None
    return thumbs.thumbnail(root, shot.model_copy(update={"clip": None, "source": None}))


class PanelTile(Vertical):
    """One panel: the still (or a placeholder), then ``2 · 3.0s · ✓ approved``."""

    def __init__(self, panel: Panel, image_cls: type, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.panel = panel
        self._image_cls = image_cls
        self.path: Path | None = None

    def compose(self) -> ComposeResult:
        yield Static(MARKS["continues"] if self.panel.state == "continues" else "no still yet", classes="panel-empty")
        yield Static(self.label, classes="panel-label", markup=False)

    @property
    def label(self) -> str:
        return f"{self.panel.shot} · {self.panel.duration_s:.1f}s\n{MARKS[self.panel.state]}"

    def set_panel(self, panel: Panel, path: Path | None) -> None:
        self.panel = panel
        self.set_class(panel.state in ("approved", "used"), "-approved")  # a still a clip was made from needs no yes
        self.query_one(".panel-label", Static).update(self.label)
        if path == self.path:
            return
        self.path = path
        current = self.query_children(".panel-image, .panel-empty").first()
        current.remove()
        if path is None:
            self.mount(Static(MARKS[panel.state], classes="panel-empty"), before=0)
            return
        image = self._image_cls(str(path), classes="panel-image")
        image.styles.width = thumbs.cells_wide(path, IMAGE_ROWS)
        self.mount(image, before=0)


class StoryboardScreen(ModalScreen[None]):
    """The storyboard over the chat screen; ``chat`` is the screen whose ``say`` sends the approvals."""

    BINDINGS = [
        Binding("left", "move(-1)", "Previous", show=False),
        Binding("right", "move(1)", "Next", show=False),
        Binding("a", "approve", "Approve panel"),
        Binding("A", "approve_all", "Approve all"),
        Binding("r", "redo", "Redo…"),
        Binding("escape", "close", "Close"),
    ]

    DEFAULT_CSS = """
    StoryboardScreen { align: center middle; }
    #storyboard-box { width: 90%; height: auto; max-height: 90%; border: round $primary; padding: 0 1;
                      background: $surface; }
    #storyboard-panels { height: auto; }
    PanelTile { width: auto; height: auto; min-width: 16; margin: 0 1 0 0; padding: 0 1; border: tall $panel; }
    PanelTile.-chosen { border: tall $accent; }
    PanelTile.-approved .panel-label { color: $success; }
    PanelTile .panel-image { height: 5; }
    PanelTile .panel-empty { height: 5; width: 16; color: $text-muted; content-align: center middle; }
    #storyboard-hint { color: $text-muted; }
    """

    def __init__(self, chat: Any) -> None:
        super().__init__()
        self.chat = chat
        self.root = Path(chat.session.store.root)
        self.chosen = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="storyboard-box") as box:
            box.border_title = "Storyboard"
            yield HorizontalScroll(id="storyboard-panels")
            yield Static(HINT, id="storyboard-hint", markup=False)

    async def on_mount(self) -> None:
        await self.refresh_panels()
        self.set_interval(0.5, self.refresh_panels)  # approvals and redos said in the chat show here too

    @property
    def tiles(self) -> list[PanelTile]:
        return list(self.query(PanelTile))

    async def refresh_panels(self) -> None:
        plan = self.chat.session.store.project.plan
        shown = panels(plan) if plan is not None else []
        row = self.query_one("#storyboard-panels", HorizontalScroll)
        if not shown:
            if not row.query(".panel-none"):
                await row.remove_children()
                await row.mount(Static("No shots yet: describe the video first.", classes="panel-none"))
            return
        if [t.panel.shot for t in self.tiles] != [p.shot for p in shown]:
            await row.remove_children()
            cls = image_class(headless=self.app.is_headless, web=self.app.is_web)
            await row.mount(*[PanelTile(p, cls) for p in shown])
        shots = {s.index: s for s in plan.shots} if plan is not None else {}
        for tile, panel in zip(self.tiles, shown):
            tile.set_panel(panel, still_thumbnail(self.root, shots[panel.shot]))
        self._mark()

    def _mark(self) -> None:
        tiles = self.tiles
        if not tiles:
            return
        self.chosen = max(0, min(self.chosen, len(tiles) - 1))
        for n, tile in enumerate(tiles):
            tile.set_class(n == self.chosen, "-chosen")
        self.query_one("#storyboard-panels", HorizontalScroll).scroll_to_widget(tiles[self.chosen], animate=False)

    @property
    def chosen_shot(self) -> int | None:
        tiles = self.tiles
        return tiles[self.chosen].panel.shot if tiles else None

    def action_move(self, step: int) -> None:
        self.chosen += step
        self._mark()
        self.query_one("#storyboard-hint", Static).update(HINT)

    def action_approve(self) -> None:
        tiles = self.tiles
        if not tiles:
            return
        panel = tiles[self.chosen].panel
        # A continued shot starts from the previous clip's last frame and a footage shot is the user's clip:
        # neither has a still to approve, and "approve 3" would only come back as an error in the chat.
        if panel.state in ("continues", "footage"):
            why = (f"shot {panel.shot} continues from shot {panel.shot - 1}'s last frame: no still of its own to "
                   f"approve (approve shot {panel.shot - 1})" if panel.state == "continues"
                   else f"shot {panel.shot} is your footage: no still to approve")
            self.query_one("#storyboard-hint", Static).update(why)
            return
        self.chat.say(f"approve {panel.shot}")

    def action_approve_all(self) -> None:
        if self.chosen_shot is not None:
            self.chat.say("approve all")

    def action_redo(self) -> None:
        shot = self.chosen_shot
        self.dismiss(None)
        if shot is not None:
            prompt = self.chat.query_one("#prompt", Input)
            prompt.value = f"redo {shot} with "
            prompt.cursor_position = len(prompt.value)
            prompt.focus()

    def action_close(self) -> None:
        self.dismiss(None)
