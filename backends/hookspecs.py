"""Hook specifications: the plugin author's reference. Markers and specs live here together."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

import shotsmith

hookspec = pluggy.HookspecMarker("shotsmith")
hookimpl = shotsmith.hookimpl


@hookspec
def shotsmith_register_backends(register: Callable[[type], None]) -> None:
    """Register video generation backends.

    Call ``register(BackendClass)`` once per backend. ``BackendClass`` subclasses
    :class:`shotsmith.backends.base.Backend`, has a unique ``name`` and can be
    built with no arguments (it reads its keys from the environment or config
    when it is used, not when it is registered, so listing backends never
    needs a key). Registering two backends under one name is an error.
    """
