"""shotsmith-sweep: a shotsmith video backend plugin.

The module itself is the plugin: the ``shotsmith.backends`` entry point in
pyproject.toml names it, and shotsmith calls :func:`shotsmith_register_backends`
to learn its backends (the first time anything asks for a backend).
"""

from __future__ import annotations

import shotsmith

from shotsmith_sweep.backend import SweepBackend

__all__ = ["SweepBackend"]


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(SweepBackend)
