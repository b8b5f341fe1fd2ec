"""Errors a remote backend raises, classified so the engine knows what to do next.

A :class:`RemoteError` says whether trying again could help (``retryable``):
connection trouble, timeouts, 429 and 5xx can; a request the provider calls
wrong (400, 401, 404) or refuses on moderation grounds (:class:`ModerationError`)
cannot, and retrying it would only cost money. ``terminal`` marks the provider's
own final answer about a task (it failed, it was refused): only such an answer
ends a task that exists; every other failure leaves it resumable. Messages are
for the user and are built without headers, so a key never appears in one.
"""

from __future__ import annotations

from shotsmith.errors import BackendError


class RemoteError(BackendError):
    """A provider call failed; ``retryable`` tells the engine whether to try again."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None,
                 code: str | None = None, retry_after_s: float | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.status = status
        self.code = code
        self.retry_after_s = retry_after_s
        #: The provider's final word on a task (failed, refused): the task is over, a rerun creates anew.
        self.terminal = False


class ModerationError(RemoteError):
    """The provider refused the prompt or the output on content grounds: never retried."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message, retryable=False, status=status, code=code,
                         hint="rephrase the prompt for this shot; the other shots carry on")


class AuthError(RemoteError):
    """The key is missing or refused: never retried, and the message names the variable, not the value."""


class NetworkError(RemoteError):
    """The API host could not be reached at all (DNS failure, connection refused): nothing was sent."""


class TimeoutExceededError(RemoteError):
    """A bounded wait ran out (one request, a poll loop, a download, a whole task)."""


class AmbiguousCreateError(RemoteError):
    """A create was sent and its answer lost (timeout, dropped connection, 504): it may exist and be billed.

    Never retried by the client: retrying could pay twice. The engine stops that
    shot and remembers it, so a rerun does not create again unless asked to
    (``resubmit``).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, retryable=False, status=status)


class DownloadError(RemoteError):
    """The finished clip could not be fetched or is not a usable video."""


class ExpiredUrlError(DownloadError):
    """The provider's signed download URL has expired: fetch the task again for a fresh one."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)
