"""Review of issue 11's TUI, driven with Pilot on the real offline session: each test is a defect found by hand.

The tmux session that found them ran ``shotsmith tui`` at 80x24; the sizes here match.
"""

from __future__ import annotations

import pytest
from tests.tui._tui_pilot import send
from textual.widgets import DataTable, Static

from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.session_factory import open_session
from shotsmith.tui.app import ShotsmithApp
from shotsmith.tui.widgets import PlanTable, ProgressPanel

SMALL = (80, 24)


@pytest.fixture
def session(tmp_path):
    opened = open_session(tmp_path / "p", options=ServiceOptions(backend="animatic", resolution="360p"), offline=True)
    yield opened
    opened.close()


async def test_undo_back_before_the_first_plan_empties_the_plan_table(session):
    app = ShotsmithApp(session)
    async with app.run_test(size=SMALL) as pilot:
        screen = app.screen
        await send(pilot, "A 4 second teaser for a bakery, 2 shots")
        table = screen.query_one("#plan-rows", DataTable)
        assert table.row_count == 2
        await pilot.press("ctrl+z")
        await send(pilot, "")  # let the undo's turn finish (an empty message is not sent)
        assert session.store.project.plan is None
        # Found: the table kept showing the undone plan's two shots (the session re-sends only a plan it has).
        assert table.row_count == 0 and screen.query_one(PlanTable).plan is None
        detail = str(screen.query_one("#plan-detail", Static).content)
        assert detail.startswith("No plan yet")
        assert screen.query_one(ProgressPanel).states == {}
        await pilot.press("ctrl+y")
        await send(pilot, "")
        assert table.row_count == 2


def test_the_help_lists_the_keys_of_every_screen():
    # Found: the storyboard's ← / → and every screen's closing keys (Esc, the help's q) were not in the help;
    # the check left out the storyboard and help screens and the arrows.
    from shotsmith.tui.keys import HELP, documented
    from shotsmith.tui.screens.approval import ApprovalScreen
    from shotsmith.tui.screens.chat import ChatScreen
    from shotsmith.tui.screens.help import HelpScreen
    from shotsmith.tui.screens.storyboard import StoryboardScreen

    screens = (ShotsmithApp, ChatScreen, ApprovalScreen, StoryboardScreen, HelpScreen)
    keys = {key for screen in screens for binding in screen.BINDINGS for key in binding.key.split(",")}
    assert sorted(key for key in keys if not documented(key)) == []
    said = {key.shown: key.description for key in HELP}
    assert "storyboard" in said["← / →"] and "close" in said["Esc / q"]


def test_web_on_a_port_in_use_says_only_that(tmp_path):
    # Found: 'shotsmith web: http://127.0.0.1:N/', textual-serve's banner and 'Press Ctrl+C to quit' came first,
    # then the error: it read as serving. The port is checked before anything is announced or created.
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "shotsmith", "web", "--project", str(tmp_path / "p"),
                               "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[0] == f"error: cannot serve on 127.0.0.1:{port}: address already in use"
    assert not (tmp_path / "p").exists()


async def test_the_palette_has_one_keys_command_and_it_opens_our_help(session):
    from textual.command import CommandList, CommandPalette

    from shotsmith.tui.screens.help import HelpScreen

    app = ShotsmithApp(session)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"keys")
        hits = app.screen.query_one(CommandList)
        for _ in range(60):
            await pilot.pause(0.05)
            if hits.option_count:
                break
        await pilot.pause(0.3)
        titles = [str(hits.get_option_at_index(i).prompt).split("\n")[0].strip().lower() for i in range(hits.option_count)]
        # Found: Textual's own 'Keys' (a side panel of the focused widget's bindings) beside ours.
        assert titles.count("keys") == 1, titles
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


@pytest.fixture
def versioned(tmp_path):
    """A project with v001 (the plan) and v002 (shot 1 slowed), undone back to v001's change."""
    from shotsmith.assistant.production import ProductionService
    from shotsmith.plan_edits import edit_shot

    service = ProductionService.open(tmp_path / "v", ServiceOptions(resolution="360p", fps=24))
    service.plan_brief("a 4 second ad for a bakery, 2 shots")
    service.generate()
    service.render()
    service.edit(lambda p: edit_shot(p, 1, speed=0.5))
    service.render()
    service.store.undo()
    return tmp_path / "v"


async def test_after_an_undo_the_progress_panel_shows_the_render_of_that_change(versioned):
    restarted = open_session(versioned, options=ServiceOptions(resolution="360p"), offline=True)
    try:
        app = ShotsmithApp(restarted)
        async with app.run_test(size=SMALL) as pilot:
            await pilot.pause()
            label = str(app.screen.query_one("#render-label", Static).content)
            # Found: 'render: out of date (v2)', though v001 is the render of the plan on screen.
            assert label == "render: done (v1)"
            assert app.screen.latest_render().path.name == "v001.mp4"
            await pilot.press("ctrl+y")
            await send(pilot, "")
            assert str(app.screen.query_one("#render-label", Static).content) == "render: done (v2)"
    finally:
        restarted.close()


async def test_after_a_restart_a_shot_whose_clip_file_is_gone_is_not_done(versioned):
    import json

    clip = json.loads((versioned / "project.json").read_text())["plan"]["shots"][0]["clip"]
    (versioned / clip).unlink()
    restarted = open_session(versioned, options=ServiceOptions(resolution="360p"), offline=True)
    try:
        app = ShotsmithApp(restarted)
        async with app.run_test(size=SMALL) as pilot:
            await pilot.pause()
            states = app.screen.query_one(ProgressPanel).states
            # Found: '✓ shot 1 done' for a clip deleted from clips/ (the next render makes it again).
            assert states[1][0] == "waiting" and states[2][0] == "done"
    finally:
        restarted.close()
