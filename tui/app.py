"""The shotsmith Textual app: bindings, styles, the chat screen, and worker-failure handling.

The app takes any :class:`~shotsmith.assistant.protocol.ChatSessionLike`, so
tests drive it with a scripted session and the ``tui`` command with the real
one. Everything else lives in :mod:`shotsmith.tui.screens` and
:mod:`shotsmith.tui.widgets`.
"""

from __future__ import annotations

import logging

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from shotsmith.assistant.protocol import ChatSessionLike
from shotsmith.errors import CancelledError, ShotsmithError
from shotsmith.tui.messages import ErrorReported
from shotsmith.tui.screens.chat import ChatScreen

log = logging.getLogger(__name__)


class ShotsmithApp(App[None]):
    CSS_PATH = "shotsmith.tcss"
    TITLE = "shotsmith"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, session: ChatSessionLike) -> None:
        super().__init__()
        self.session = session

    def on_mount(self) -> None:
        self.install_screen(ChatScreen(self.session), name="chat")
        self.push_screen("chat")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is reported: a message for the user, never a crash.

        Workers run with ``exit_on_error=False``; a :class:`ShotsmithError` is
        the user's to read (message and hint), anything else is a shotsmith bug,
        shown as one line with its details in the log.
        """
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, ShotsmithError):
            level = "warning" if isinstance(error, CancelledError) else "error"
            report = ErrorReported(error.message, error.hint, level)
        else:
            log.warning("worker %s failed", event.worker.name, exc_info=error)
            report = ErrorReported(f"unexpected {type(error).__name__}: {error}",
                                   "this is a bug in shotsmith; the log has the details")
        warning = report.level == "warning"
        self.notify(report.message + (f"\n{report.hint}" if report.hint else ""),
                    title="Cancelled" if warning else "Error", severity="warning" if warning else "error")
        self.get_screen("chat").post_message(report)
