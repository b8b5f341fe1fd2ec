"""The assistant: planning, the production service, and the conversations that drive it.

The Python API is the same path the CLI and the TUI take::

    from shotsmith.assistant import ServiceOptions, drive_brief, open_session

    session = open_session("out/ad.shotsmith", options=ServiceOptions(backend="animatic"))
    report, error = drive_brief(session, "a 15 second ad for a bakery", output=None)

Names are resolved lazily so that importing the planner does not load LangChain.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "open_session": "shotsmith.assistant.session_factory",
    "drive_brief": "shotsmith.assistant.run",
    "ProductionService": "shotsmith.assistant.production",
    "ServiceOptions": "shotsmith.assistant.production",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'shotsmith.assistant' has no attribute {name!r}")
