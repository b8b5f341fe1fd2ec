"""Snapshot tests (pytest-textual-snapshot): the main screen after scripted turns, and the approval dialog.

Update after an intended change of the layout with ``pytest tests/tui --snapshot-update``
and look at the SVGs in ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from tests.tui._tui_fake_session import (BRIEF, ScriptedSession, approval_turn, coffee_plan, generation_turn,
                                         plan_turn)
from tests.tui._tui_pilot import SIZE, send, wait_for_workers
from textual.widgets import Input

from shotsmith.assistant.events import AssistantText, PlanUpdated
from shotsmith.tui.app import ShotsmithApp


def _steady(pilot) -> None:
    """Take out what depends on the wall clock: toasts time out, the input cursor blinks."""
    pilot.app.clear_notifications()
    pilot.app.get_screen("chat").query_one("#prompt", Input).cursor_blink = False


def slower_turn() -> list:
    return [PlanUpdated(coffee_plan(speed=0.5)), AssistantText("Shot 2 now plays at half speed.")]


def test_main_screen_after_a_turn(snap_compare):
    """Plan with one shot at 0.5x (the speed column), generated, rendered, 0.75 USD spent."""
    app = ShotsmithApp(ScriptedSession(turns=[plan_turn(), slower_turn(), approval_turn(), generation_turn()]))

    async def run_before(pilot) -> None:
        _steady(pilot)
        await send(pilot, BRIEF)
        await send(pilot, "make shot 2 slower")
        await send(pilot, "generate")
        await pilot.press("y")
        await wait_for_workers(pilot)
        _steady(pilot)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_approval_dialog(snap_compare):
    app = ShotsmithApp(ScriptedSession(turns=[plan_turn(), approval_turn()]))

    async def run_before(pilot) -> None:
        _steady(pilot)
        await send(pilot, BRIEF)
        await send(pilot, "generate")
        _steady(pilot)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_approval_dialog_without_an_estimate(snap_compare):
    app = ShotsmithApp(ScriptedSession(turns=[plan_turn(), approval_turn(unpriced=True)]))

    async def run_before(pilot) -> None:
        _steady(pilot)
        await send(pilot, BRIEF)
        await send(pilot, "generate")
        _steady(pilot)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_narrow_terminal(snap_compare):
    """80x24: the camera column gives way, the speed column stays, nothing spills out of its box."""
    app = ShotsmithApp(ScriptedSession(turns=[plan_turn(), slower_turn()]))

    async def run_before(pilot) -> None:
        _steady(pilot)
        await send(pilot, BRIEF)
        await send(pilot, "make shot 2 slower")
        _steady(pilot)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=(80, 24))


def _still(path, colour, accent):
    """A small picture with a sky, a ground and a sun, so the half-block cells have something to show."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (96, 170), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 110, 96, 170), fill=accent)
    draw.ellipse((30, 30, 66, 66), fill=(250, 220, 120))
    image.save(path)
    return path


def test_thumbnails_of_the_shots(snap_compare, tmp_path, monkeypatch):
    """The strip under the plan: a picture per shot that has one (half-block cells), the highlighted one marked."""
    from shotsmith.tui import thumbs

    stills = {1: _still(tmp_path / "1.png", (60, 90, 160), (90, 60, 30)),
              2: _still(tmp_path / "2.png", (170, 110, 60), (240, 240, 230))}
    monkeypatch.setattr(thumbs, "thumbnail", lambda root, shot: stills.get(shot.index))
    app = ShotsmithApp(ScriptedSession(turns=[plan_turn()]))

    async def run_before(pilot) -> None:
        _steady(pilot)
        await send(pilot, BRIEF)
        await wait_for_workers(pilot)
        _steady(pilot)
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_help_screen(snap_compare):
    app = ShotsmithApp(ScriptedSession())

    async def run_before(pilot) -> None:
        _steady(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)
