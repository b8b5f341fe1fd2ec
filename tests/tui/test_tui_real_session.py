"""End to end through the real offline session: brief → plan table → generate → output written → restart."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from tests.tui._tui_pilot import SIZE, send, wait_for_workers as settle
from textual.widgets import DataTable, Static

from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.session_factory import open_session
from shotsmith.tui.app import ShotsmithApp
from shotsmith.tui.widgets import ChatLog, ProgressPanel, StatusLine, ThumbStrip

BRIEF = "A 6 second ad for a bakery: fresh croissants, morning light, warm grade"


def table_of(screen) -> DataTable:
    return screen.query_one("#plan-rows", DataTable)


def entries(screen, css_class: str) -> list[str]:
    return [str(e.content) for e in screen.query_one(ChatLog).entries if e.has_class(css_class)]


@pytest.mark.slow
async def test_offline_session_plans_generates_renders_and_comes_back(tmp_path):
    project = tmp_path / "bakery"
    session = open_session(project, options=ServiceOptions(backend="animatic", resolution="360p"), offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            status = screen.query_one(StatusLine)
            assert (status.answering, status.backend) == ("offline planner", "animatic")
            await send(pilot, BRIEF)

            table = screen.query_one("#plan-rows", DataTable)
            assert table.row_count >= 1
            total = sum(float(table.get_row_at(i)[1].rstrip("s")) for i in range(table.row_count))
            assert abs(total - 6.0) < 0.2
            assert entries(screen, "notice")[1].startswith("• Answering: the offline planner")

            await send(pilot, "make shot 1 slower")
            assert "speed" in [str(c.label) for c in table.columns.values()]
            assert table.get_row_at(0)[2] == "0.67x"  # the offline planner's "slower" is 1/1.5

            await send(pilot, "generate")  # the animatic is free and local: no approval asked
            progress = screen.query_one(ProgressPanel)
            assert progress.output is not None, [str(e.content) for e in screen.query_one(ChatLog).entries]
            path, duration, size = progress.output
            assert Path(path).is_file() and Path(path).stat().st_size == size
            # Shot 1 slowed down is on screen longer: the rendered file lasts what the table shows.
            shown = sum(float(table.get_row_at(i)[1].rstrip("s")) for i in range(table.row_count))
            assert shown > total + 0.5 and abs(duration - shown) < 0.3
            # The plan came back with its clips bound: the shots stay done.
            assert {state for state, _, _ in progress.states.values()} <= {"done", "cached"}
            with av.open(path) as container:
                assert container.streams.video[0].codec_context.name == "h264"
            assert not screen.busy and not entries(screen, "error")
    finally:
        session.close()

    # A restarted TUI shows the conversation, the plan and the shots that have clips.
    session = open_session(project, offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            screen = app.screen
            restored = entries(screen, "restored")
            assert restored[0] == f"you\n{BRIEF}" and len(restored) == 6
            assert screen.query_one("#plan-rows", DataTable).row_count == table.row_count
            assert screen.query_one(StatusLine).backend == "animatic"
            panel = screen.query_one(ProgressPanel)
            assert {s for s, _, _ in panel.states.values()} == {"done"}
            # The last render is the project's, not "none in this session", and it shows the plan as it is.
            assert str(panel.query_one("#render-label", Static).content) == "render: done (v1)"
            assert str(panel.query_one("#output-line", Static).content).startswith("✓ renders/v001.mp4")
            # Every shot has a clip: the strip shows a picture of each.
            await settle(pilot)
            assert all(tile.path is not None for tile in screen.query_one(ThumbStrip).tiles)

            # Ctrl+Z takes back the speed change (through the session, as typing "undo" would), Ctrl+Y redoes it.
            await pilot.press("ctrl+z")
            await settle(pilot)
            assert "speed" not in [str(c.label) for c in table_of(screen).columns.values()]
            assert str(panel.query_one("#render-label", Static).content) == "render: out of date"
            assert any(n.title == "Undo" and "Undone" in n.message for n in app._notifications)
            await pilot.press("ctrl+y")
            await settle(pilot)
            assert table_of(screen).get_row_at(0)[2] == "0.67x"
            assert {s for s, _, _ in panel.states.values()} == {"done"}  # the clips stayed cached
            assert str(panel.query_one("#render-label", Static).content) == "render: done (v1)"  # current again
    finally:
        session.close()
