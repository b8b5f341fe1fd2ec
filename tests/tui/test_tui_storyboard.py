"""The TUI's storyboard panel, driven with Textual's Pilot through the real offline session: thumbnails of
the keyframe stills with their shot numbers and approval marks; ``a`` approves the chosen panel, ``A`` all,
``r`` puts "redo N with " in the input; the palette's "storyboard" command opens it."""

from __future__ import annotations

from tests.tui._tui_pilot import SIZE, send, wait_for_workers as settle
from textual.widgets import Input

from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.session_factory import open_session
from shotsmith.tui.app import ShotsmithApp
from shotsmith.tui.screens.storyboard import PanelTile, StoryboardScreen

BRIEF = "A 6 second ad for a bakery: fresh croissants, a baker at the oven, morning light, 3 shots"


def states(session) -> dict[int, str]:
    return {s.index: s.keyframe_state for s in session.store.project.plan.shots}


async def test_storyboard_panel_shows_the_stills_and_approves_the_chosen_one(tmp_path):
    session = open_session(tmp_path / "b", options=ServiceOptions(resolution="360p", fps=24), offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, BRIEF)
            await send(pilot, "show the storyboard")  # sketch draws the stills (free)
            assert states(session) == {1: "pending", 2: "pending", 3: "pending"}

            await pilot.press("ctrl+b")
            screen = app.screen
            assert isinstance(screen, StoryboardScreen)
            await screen.refresh_panels()
            tiles = list(screen.query(PanelTile))
            assert [t.panel.shot for t in tiles] == [1, 2, 3]
            assert all(t.path is not None and t.path.is_file() for t in tiles)  # a thumbnail of each still
            assert all(t.query(".panel-image") for t in tiles)
            labels = [str(t.query_one(".panel-label").content) for t in tiles]
            assert labels[1].startswith("2 · 2.0s") and labels[1].endswith("pending")

            await pilot.press("right")
            assert screen.chosen_shot == 2 and tiles[1].has_class("-chosen")
            await pilot.press("a")  # approve the chosen panel, through the session
            await settle(pilot)
            assert states(session) == {1: "pending", 2: "approved", 3: "pending"}
            await screen.refresh_panels()
            assert "✓ approved" in str(tiles[1].query_one(".panel-label").content) and tiles[1].has_class("-approved")

            await pilot.press("A")
            await settle(pilot)
            assert set(states(session).values()) == {"approved"}

            await pilot.press("left", "r")  # redo: back to the chat with the words started
            assert not isinstance(app.screen, StoryboardScreen)
            assert app.screen.query_one("#prompt", Input).value == "redo 1 with "
            await pilot.press(*"a lower angle", "enter")
            await settle(pilot)
            assert "a lower angle" in session.store.project.plan.shots[0].prompt
            assert states(session) == {1: "pending", 2: "approved", 3: "approved"}  # only shot 1 drawn anew
    finally:
        session.close()


async def test_palette_command_opens_the_storyboard(tmp_path):
    from tests.tui.test_tui_visible import run_from_palette

    session = open_session(tmp_path / "c", options=ServiceOptions(resolution="360p", fps=24), offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await run_from_palette(pilot, "storyboard")
            assert isinstance(app.screen, StoryboardScreen)
            await pilot.pause()
            assert "No shots yet" in str(app.screen.query_one(".panel-none").content)
            await pilot.press("a")  # no plan yet: nothing to approve, nothing sent
            await settle(pilot)
            assert session.history() == []
            await pilot.press("escape")
            assert not isinstance(app.screen, StoryboardScreen)
    finally:
        session.close()


async def test_the_panel_opens_when_paid_video_waits_for_the_storyboard(tmp_path):
    from tests.assistant._test_backends import ImageToVideoBackend, register

    register()
    ImageToVideoBackend.requests.clear()
    options = ServiceOptions(backend="i2v-test", image_backend="sketch", resolution="360p", fps=24)
    session = open_session(tmp_path / "d", options=options, offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, "a 4 second ad for a bakery: croissants, a baker, 2 shots")
            await send(pilot, "generate")  # free sketch stills; the paid video waits for them
            assert isinstance(app.screen, StoryboardScreen) and ImageToVideoBackend.requests == []
            await app.screen.refresh_panels()
            assert [t.panel.state for t in app.screen.query(PanelTile)] == ["pending", "pending"]
            await pilot.press("A")  # approve all: the held generation goes on and asks about the video's money
            await settle(pilot)
            from shotsmith.tui.screens.approval import ApprovalScreen

            assert isinstance(app.screen, ApprovalScreen)
            assert app.screen.request.estimate.backend == "i2v-test"
            await pilot.press("n")
            await settle(pilot)
            assert ImageToVideoBackend.requests == []
    finally:
        session.close()


async def test_a_on_a_continued_panel_says_why_and_sends_nothing(tmp_path):
    """Review of #10: ``a`` on a continued panel sent "approve 3", which only errors; the hint line says why."""
    from textual.widgets import Static

    session = open_session(tmp_path / "e", options=ServiceOptions(resolution="360p", fps=24), offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, BRIEF)
            await send(pilot, "continue shot 3 from shot 2")
            await send(pilot, "show the storyboard")
            said = len(session.history())
            await pilot.press("ctrl+b")
            screen = app.screen
            await screen.refresh_panels()
            assert [t.panel.state for t in screen.query(PanelTile)][2] == "continues"
            await pilot.press("right", "right", "a")
            await settle(pilot)
            assert len(session.history()) == said  # nothing sent to the session
            hint = str(screen.query_one("#storyboard-hint", Static).content)
            assert "continues from shot 2" in hint and "approve shot 2" in hint
            assert states(session)[3] != "approved"
            await pilot.press("left")
            assert "a approve panel" in str(screen.query_one("#storyboard-hint", Static).content)
    finally:
        session.close()
