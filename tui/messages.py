"""The Textual messages a turn's worker posts to the chat screen.

The worker that iterates ``session.send`` / ``session.respond`` never touches a
widget. It wraps every assistant event, unchanged, in one :class:`SessionEvent`
and posts it; the chat screen's single handler ``match``es the event (as
darrenburns/posting's messages carry the ``httpx.Response`` itself). So an
event kind added to :mod:`shotsmith.assistant.events` needs one new ``case``,
not a mirror class, a converter and a handler.

:class:`TurnEnded` is the only message of the UI's own: it says that a turn
stopped iterating, and with which error, so the screen can leave the busy
state and raise a notification.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from shotsmith.assistant.events import AgentEvent
from shotsmith.errors import ShotsmithError


@dataclass
class SessionEvent(Message):
    """An event of turn number ``turn``, carried as the session yielded it."""

    event: AgentEvent
    turn: int


@dataclass
class TurnEnded(Message):
    """Turn number ``turn`` stopped; ``error`` is what ended it early (cancelled, refused, failed), if anything."""

    turn: int
    error: ShotsmithError | None = None
