"""Review: the TUI's storyboard (Ctrl+B) on a project made by ``shotsmith run`` marked every shot "… pending".

``run`` is its own approval; a still its shot's clip was made from now reads
"✓ used for clip" (marked like an approved one), and a shot changed in the TUI
gets a new still that is pending again. Driven with Pilot through the real
offline session on the project ``run`` left.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.tui._tui_pilot import SIZE, send

from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.session_factory import open_session
from shotsmith.tui.app import ShotsmithApp
from shotsmith.tui.screens.storyboard import PanelTile, StoryboardScreen

REPO = Path(__file__).resolve().parents[2]
BRIEF = "A 6 second ad for a bakery: fresh croissants, a baker at the oven, morning light, 3 shots"


def labels(screen: StoryboardScreen) -> list[str]:
    return [str(t.query_one(".panel-label").content) for t in screen.query(PanelTile)]


async def test_ctrl_b_after_run_shows_the_stills_as_used_and_a_changed_shot_as_pending(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "shotsmith", "run", BRIEF, "-o", str(tmp_path / "out.mp4"),
                           "--resolution", "360p"], capture_output=True, text=True, env=env, timeout=180,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    session = open_session(tmp_path / "out.shotsmith", options=ServiceOptions(resolution="360p"), offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("ctrl+b")
            screen = app.screen
            assert isinstance(screen, StoryboardScreen)
            await screen.refresh_panels()
            tiles = list(screen.query(PanelTile))
            assert [t.panel.shot for t in tiles] == [1, 2, 3]
            assert all(t.path is not None for t in tiles)  # each still's thumbnail
            assert all(label.endswith("✓ used for clip") for label in labels(screen)), labels(screen)
            assert all(t.has_class("-approved") for t in tiles)
            await pilot.press("escape")

            await send(pilot, "shot 3: a baker dusting flour on a wooden table")
            await send(pilot, "show the storyboard")  # draws shot 3's new still (sketch: free)
            await pilot.press("ctrl+b")
            screen = app.screen
            await screen.refresh_panels()
            marks = [label.splitlines()[-1] for label in labels(screen)]
            assert marks == ["✓ used for clip", "✓ used for clip", "… pending"]
            assert not list(screen.query(PanelTile))[2].has_class("-approved")
    finally:
        session.close()
