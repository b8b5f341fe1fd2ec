"""The latest render of a project, as the progress panel and the open key need it.

A restarted TUI must not claim "no render" for a project that has ten: every
final render is kept in ``project.renders`` (``renders/vNNN.mp4``) with the
history entry its cut came from, so the latest one is known, and whether it
still shows the current plan (the history's head is that entry) or is out of
date. A render made in this session (a preview too) is newer than any record
and wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LastRender:
    path: Path
    duration_s: float
    size_bytes: int | None  # None: the file is gone
    version: int | None = None  # renders/vNNN; None for a preview or a render not recorded
    current: bool | None = None  # shows the plan as it is now; None when unknown


def recorded_render(store: Any) -> LastRender | None:
    """The kept render of the change the project is at (after an undo, an earlier version), else the newest one.

    None when the project has none.
    """
    renders = list(getattr(store.project, "renders", None) or [])
    if not renders:
        return None
    head = store.history.index.head if getattr(store, "history", None) is not None else None
    of_head = [r for r in renders if head is not None and r.history_entry == head]
    record = of_head[-1] if of_head else renders[-1]
    path = Path(record.path)
    path = path if path.is_absolute() else Path(store.root) / path
    current = None if record.history_entry is None or head is None else record.history_entry == head
    return LastRender(path=path, duration_s=record.duration_s, size_bytes=_size(path), version=record.version,
                      current=current)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
