"""Refuse any path a model names that leaves the project, before a tool runs.

Tools resolve their own paths through :meth:`ProjectStore.resolve` too; this
guard is the second wall, applied generically to every argument model the
agent sees, so a tool added tomorrow with a ``source`` or ``output`` field is
covered without anyone remembering to. A field counts as a path by its name.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from shotsmith.store import ProjectStore

_READ_NAMES = {"source", "sources", "path", "paths", "input", "inputs", "file", "files", "image", "images", "srt",
               "music", "voiceover", "audio", "clip", "clips", "media", "footage", "lut", "font", "logo", "overlay"}
_WRITE_NAMES = {"output", "outputs", "dest", "destination", "out", "target", "out_dir", "output_dir"}


def _kind(name: str) -> str | None:
    lowered = name.lower()
    if lowered in _WRITE_NAMES or lowered.startswith("output") or lowered.endswith("_output"):
        return "write"
    if lowered in _READ_NAMES or lowered.endswith(("_path", "_file", "_source", "_dir", "_image", "_clip")):
        return "read"
    return None


def guard_paths(store: ProjectStore, value: object, *, kind: str | None = None,
                allowed_outputs: tuple[Path, ...] = ()) -> None:
    """Raise PathSafetyError for the first path-like argument that escapes the project.

    Reads may name a registered input file; writes must land inside the project
    or be one of ``allowed_outputs`` (the file the user named with ``-o``).
    """
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            guard_paths(store, getattr(value, name), kind=_kind(name) or kind, allowed_outputs=allowed_outputs)
    elif isinstance(value, dict):
        for name, item in value.items():
            guard_paths(store, item, kind=_kind(str(name)) or kind, allowed_outputs=allowed_outputs)
    elif isinstance(value, list | tuple):
        for item in value:
            guard_paths(store, item, kind=kind, allowed_outputs=allowed_outputs)
    elif isinstance(value, str) and kind is not None and value.strip():
        if kind == "write" and allowed_outputs:
            raw = Path(value).expanduser()
            if (raw if raw.is_absolute() else store.root / raw).resolve() in allowed_outputs:
                return
        store.resolve(value, allow_inputs=(kind == "read"))
