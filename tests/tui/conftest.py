"""Fixtures for the TUI tests: the scripted session, the app around it, and waiting for turns."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _tui_fake_session import ScriptedSession  # noqa: E402

#: The terminal size the tests and snapshots use (what the tmux check used too).
SIZE = (120, 40)


async def wait_for_workers(pilot) -> None:
    """Let every running turn finish and the screen handle what it posted.

    Waits twice: a turn's last messages can start a follow-up (an approval
    answered by a callback), and pausing lets the message queue drain.
    """
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@pytest.fixture
def settle():
    return wait_for_workers


@pytest.fixture
def make_app():
    """``make_app(session)`` → a ShotsmithApp around any ChatSessionLike."""
    from shotsmith.tui.app import ShotsmithApp

    return ShotsmithApp


@pytest.fixture
def scripted():
    """``scripted(turn, turn, …, past=[…], plan=…)`` → a ScriptedSession."""

    def make(*turns, **kwargs) -> ScriptedSession:
        return ScriptedSession(turns=[list(t) for t in turns], **kwargs)

    return make
