"""shotsmith-sweep: an example backend plugin (colour sweeps and Ken Burns moves, rendered by ffmpeg).

The module itself is the plugin: the ``shotsmith.backends`` entry point names
it, and shotsmith calls :func:`shotsmith_register_backends` to learn its
backends.
"""

from __future__ import annotations

import shotsmith

from shotsmith_sweep.backend import SweepBackend

__all__ = ["SweepBackend"]


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(SweepBackend)
