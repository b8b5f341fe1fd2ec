"""The one error hierarchy of shotsmith.

Every failure a user can cause or meet (bad input, a corrupt file, a failing
API, ffmpeg missing) is a :class:`ShotsmithError` carrying a message written for
that user. The CLI and the TUI catch this base class and show ``message`` (and
``hint`` when there is one) instead of a traceback; anything else escaping is a
bug in shotsmith.
"""

from __future__ import annotations


class ShotsmithError(Exception):
    """Base class: ``message`` is shown to the user as it is."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class InvalidInputError(ShotsmithError):
    """An argument, brief, timecode or edit plan that cannot be used."""

    exit_code = 2


class PathSafetyError(InvalidInputError):
    """A path that escapes the project, or an output that would overwrite a source."""


class ProjectError(ShotsmithError):
    """A project folder that is missing, unreadable or of an unknown schema."""


class MediaError(ShotsmithError):
    """A media file that is missing, corrupt, truncated or lacks a needed stream."""


class FFmpegError(ShotsmithError):
    """ffmpeg is missing or failed; ``stderr_tail`` holds its last lines."""

    def __init__(self, message: str, *, stderr_tail: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.stderr_tail = stderr_tail


class BackendError(ShotsmithError):
    """A generation backend refused or failed a request."""


class CancelledError(ShotsmithError):
    """The user cancelled a long operation; the project is left consistent."""

    exit_code = 130
    report = "cancelled"  # the one line the CLI prints for it (a server stopped by Ctrl-C says "stopped")
