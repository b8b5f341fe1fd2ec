"""The interface every front end (CLI chat, TUI, scripted runs, the Python API) uses to talk to the assistant.

Two implementations stand behind it: the LLM agent and the offline planner.
``answering`` tells the user which one it is; both drive the same
:class:`~shotsmith.assistant.production.ProductionService`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from shotsmith.assistant.events import AgentEvent
from shotsmith.store import ProjectStore

if TYPE_CHECKING:
    from shotsmith.assistant.production import ProductionService
    from shotsmith.errors import ShotsmithError


@runtime_checkable
class ChatSessionLike(Protocol):
    #: Who answers: "offline planner" or the model's name, e.g. "openai:gpt-4.1-mini".
    answering: str
    store: ProjectStore
    service: "ProductionService"
    #: The error that ended the last turn, if one did.
    last_error: "ShotsmithError | None"

    def send(self, text: str) -> AsyncIterator[AgentEvent]:
        """Run one user turn; yields events. A turn that needs approval ends with ApprovalRequested."""
        ...

    def run_brief(self, brief: str, *, produce: bool = True) -> AsyncIterator[AgentEvent]:
        """A scripted turn: plan ``brief`` and, with ``produce``, generate and render it without questions
        other than spending approval."""
        ...

    def resume(self) -> AsyncIterator[AgentEvent]:
        """Finish what a killed run left: a cut-off step, or re-ask an approval that was never answered."""
        ...

    @property
    def unfinished(self) -> bool:
        """A previous run was cut off mid-step."""
        ...

    def respond(self, approved: bool) -> AsyncIterator[AgentEvent]:
        """Answer the pending ApprovalRequested and continue the same turn."""
        ...

    @property
    def pending_approval(self) -> bool:
        """True between an ApprovalRequested and the matching respond()."""
        ...

    def cancel(self) -> None:
        """Stop the current turn as soon as possible (generation and render are cancelled cleanly)."""
        ...

    def history(self) -> list[tuple[str, str]]:
        """(role, text) pairs of the conversation so far, restored from the project after a restart."""
        ...

    def who_text(self) -> str:
        """One line saying who answers (shown first)."""
        ...

    def announce_who(self) -> str:
        """:meth:`who_text` for a front end that shows it itself; the session does not say it again."""
        ...

    def close(self) -> None:
        """Release files held open."""
        ...
