"""End to end through the real offline ChatSession: brief → plan table → generate → output written."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from tests.tui._tui_pilot import SIZE, send
from textual.widgets import DataTable

from shotsmith.assistant.session import ChatSession
from shotsmith.tui.app import ShotsmithApp
from shotsmith.tui.widgets import ChatLog, ProgressPanel, StatusLine


@pytest.mark.slow
async def test_offline_session_plans_generates_and_renders(tmp_path):
    session = ChatSession.open(tmp_path / "bakery", backend="animatic", resolution="360p", offline=True)
    try:
        app = ShotsmithApp(session)
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert screen.query_one(StatusLine).answering == "offline planner"
            await send(pilot, "A 6 second ad for a bakery: fresh croissants, morning light, warm grade")

            table = screen.query_one("#plan-rows", DataTable)
            assert table.row_count >= 1
            total = sum(float(table.get_row_at(i)[1].rstrip("s")) for i in range(table.row_count))
            assert abs(total - 6.0) < 0.2

            await send(pilot, "generate")  # the animatic is free and local: no approval asked
            progress = screen.query_one(ProgressPanel)
            assert progress.output is not None, [str(e.content) for e in screen.query_one(ChatLog).entries]
            path, duration, size = progress.output
            assert Path(path).is_file() and Path(path).stat().st_size == size
            assert abs(duration - 6.0) < 0.3
            assert {state for state, _, _ in progress.states.values()} <= {"done", "cached"}
            with av.open(path) as container:
                assert container.streams.video[0].codec_context.name == "h264"
            assert not screen.busy
        # The conversation was saved in the project: a restarted TUI shows it.
        assert [role for role, _ in session.history()][:2] == ["user", "assistant"]
    finally:
        session.close()
