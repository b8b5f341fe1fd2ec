"""A new take typed in the TUI ("another take of shot 2"): the same session and the same path as the chat.

The TUI has no key of its own for a new take (its storyboard ``r`` redraws a still with a change); typed,
the phrase goes to the session like any message, so a paid backend's take opens the approval dialog with
that shot's own price, a no sends nothing, and Ctrl+Z brings the previous take back.
"""

from __future__ import annotations

from tests.tui._tui_pilot import SIZE, send, wait_for_workers as settle

from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.session_factory import open_session
from shotsmith.tui.app import ShotsmithApp
from shotsmith.tui.screens.approval import ApprovalScreen
from shotsmith.tui.screens.storyboard import StoryboardScreen


async def test_a_take_typed_in_the_tui_asks_first_and_ctrl_z_brings_the_old_take_back(tmp_path):
    from tests.assistant._test_backends import ImageToVideoBackend, register

    register()
    ImageToVideoBackend.requests.clear()
    options = ServiceOptions(backend="i2v-test", image_backend="sketch", resolution="360p", fps=24)
    session = open_session(tmp_path / "d", options=options, offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, "a 4 second ad for a bakery: croissants, a baker, 2 shots")
            await send(pilot, "generate")  # free sketch stills; the paid video waits for their approval
            await pilot.press("A")  # approve all; then the video's money is asked about
            await settle(pilot)
            assert isinstance(app.screen, ApprovalScreen)
            await pilot.press("y")
            await settle(pilot)
            assert len(ImageToVideoBackend.requests) == 2
            if isinstance(app.screen, StoryboardScreen):  # back where the approval was given: close it
                await pilot.press("escape")
            first = session.store.project.plan.shots[1]

            await send(pilot, "another take of shot 2")
            assert isinstance(app.screen, ApprovalScreen)  # no storyboard hold: shot 2's still stays approved
            assert app.screen.request.estimate.shots == [2]
            await pilot.press("n")
            await settle(pilot)
            assert len(ImageToVideoBackend.requests) == 2  # refused: nothing sent
            assert session.store.project.plan.shots[1].take == 1

            await pilot.press("ctrl+z")
            await settle(pilot)
            back = session.store.project.plan.shots[1]
            assert back.take == 0 and back.bound_clip == first.clip

            await send(pilot, "redo shot 2")
            assert isinstance(app.screen, ApprovalScreen)
            await pilot.press("y")
            await settle(pilot)
            assert [r.take for r in ImageToVideoBackend.requests[2:]] == [1]
            assert session.store.project.plan.shots[1].bound_clip not in (None, first.clip)
    finally:
        session.close()
