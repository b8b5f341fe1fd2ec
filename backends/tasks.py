"""What a remote task is, as the engine persists and polls it (no dependency on the adapters).

:class:`RemoteTask` is saved in ``project.json`` right after a create;
:class:`RemoteStatus` is one poll's answer; :func:`create_token` gives an
adapter the unique id of the create being sent (set by the job runner).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Literal

from shotsmith.backends.base import WordTiming
from shotsmith.backends.errors import RemoteError

RemoteState = Literal["queued", "running", "succeeded", "failed", "cancelled"]

_CREATE_TOKEN: contextvars.ContextVar[str | None] = contextvars.ContextVar("shotsmith_create_token", default=None)


def create_token() -> str | None:
    """The unique id of the create being sent now (set by the job engine around ``submit``).

    It is saved in the project before the create goes out, so an adapter whose
    API accepts a client-chosen id (Kling's ``external_task_id``) can send it and
    later find the task by it when the create's answer was lost.
    """
    return _CREATE_TOKEN.get()


@dataclass
class RemoteTask:
    """What the engine persists after a submit: the id plus anything needed to poll it again."""

    id: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class RemoteStatus:
    state: RemoteState
    percent: float | None = None
    #: Where the finished output is fetched from: the clip, the image or the audio (the name is historical).
    video_url: str | None = None
    #: For failed tasks: the error to report (a ModerationError for refusals).
    error: RemoteError | None = None
    message: str = ""
    #: Voice: when each word is spoken, where the provider says so (kept with the result).
    word_timings: list[WordTiming] | None = None
