"""shotsmith: an agent-driven video editing assistant.

Plugin authors decorate their hook implementations with ``@shotsmith.hookimpl``;
the hook specifications live in :mod:`shotsmith.backends.hookspecs`.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: Marker for plugin hook implementations (``@shotsmith.hookimpl``). A pluggy
#: marker only carries the project name, so defining it here keeps the core free
#: of imports from the feature packages.
hookimpl = pluggy.HookimplMarker("shotsmith")

__all__ = ["__version__", "hookimpl"]
