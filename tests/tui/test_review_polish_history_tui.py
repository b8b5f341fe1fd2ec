"""Review: history labels name the change ("shot 1: speed 0.67x", not "shot 1 edited"); in the TUI at 80
columns Ctrl+Z's notification and the chat line say it whole. Pilot on the real offline session."""

from __future__ import annotations

from tests.tui._tui_pilot import send, wait_for_workers as settle

from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.session_factory import open_session
from shotsmith.tui.app import ShotsmithApp


async def test_ctrl_z_at_80_columns_names_the_change_it_took_back(tmp_path):
    session = open_session(tmp_path / "h", options=ServiceOptions(resolution="360p", fps=24), offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await send(pilot, "A 4 second teaser for a bakery, 2 shots")
            await send(pilot, "make shot 1 slower")
            await send(pilot, "shot 2: a close-up of a croissant torn open")
            await pilot.press("ctrl+z")
            await settle(pilot)
            (toast,) = [n for n in app._notifications if n.title == "Undo"]
            assert toast.message.startswith("Undone: change 4 (shot 2: prompt); now at change 3 (shot 1: speed 0.67x)")
            await pilot.pause()
            shown = [w for w in app.screen.walk_children() if type(w).__name__ == "Toast"]
            assert shown and all(t.region.right <= 80 for t in shown)  # on the screen, not cut at its edge
            shown_text = " ".join(" ".join(str(t.render()).split()) for t in shown)
            assert "(shot 2: prompt); now at change 3 (shot 1: speed 0.67x)." in shown_text  # whole, not cut
    finally:
        session.close()
