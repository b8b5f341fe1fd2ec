"""Helpers and fixtures for the TUI's Pilot tests: terminal size, waiting for turns, typing, sessions.

There is deliberately no ``tests/tui/conftest.py``: other test folders do
``from conftest import …``, and a second top-level ``conftest`` module loaded
after theirs would shadow it when both folders run in one pytest call. Test
modules import the fixtures they use from here instead.
"""

from __future__ import annotations

import pytest
from tests.tui._tui_fake_session import ScriptedSession
from textual.widgets import Input

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


async def type_and_send(pilot, text: str) -> None:
    """Put ``text`` in the input and press Enter (does not wait for the turn)."""
    pilot.app.screen.query_one("#prompt", Input).value = text
    await pilot.press("enter")


async def send(pilot, text: str) -> None:
    """Send ``text`` and wait until the turn it starts has finished."""
    await type_and_send(pilot, text)
    await wait_for_workers(pilot)


@pytest.fixture
def settle():
    """The :func:`wait_for_workers` helper, as a fixture."""
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
