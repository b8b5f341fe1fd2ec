"""Where local generation runs: in this process (``local``) or on a Ray cluster (``ray``).

Why an *executor* and not a second workflow: the job engine
(:mod:`shotsmith.backends.engine`) keeps every guarantee a shot needs (the
record saved before work starts, the cache, the spend guard, verification
before a clip lands in ``clips/``), and every entry point already drives it.
Only *where* a local model's pipeline runs changes, so the choice is read by
the backend that runs a local model (``diffusers``) inside its ``generate()``.
Cloud backends have no pipeline to place and ignore it.

The choice comes from, first to last: :func:`executor_scope` (the production
service sets it from ``ServiceOptions.executor``, i.e. ``--executor``), then
``SHOTSMITH_EXECUTOR``, then ``executor = "..."`` in the config file, then
``local``. A context variable carries it, so concurrent runs in one process
(``shotsmith batch``) each keep their own.

Nothing here imports ray; :mod:`.ray_pool` does, when a shot is sent there.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from shotsmith.errors import InvalidInputError

EXECUTORS = ("local", "ray")

_current: ContextVar[str | None] = ContextVar("shotsmith_executor", default=None)


def check_executor(name: str) -> str:
    """``name`` if it is a known executor that can run here; a usage error otherwise (before any work).

    For ``ray`` with a cluster address (``[ray] address`` or ``$RAY_ADDRESS``) the head is probed
    (:func:`.ray_config.probe_address`, bounded by ``connect_timeout_s``; ray itself is not started)."""
    if name not in EXECUTORS:
        raise InvalidInputError(f"unknown executor {name!r}", hint=f"choose one of {', '.join(EXECUTORS)}")
    if name == "ray" and importlib.util.find_spec("ray") is None:
        raise InvalidInputError("the ray executor needs ray, which is not installed",
                                hint="pip install 'shotsmith[ray]'")
    if name == "ray":  # a cluster named by address must answer now, not fail every shot later
        from shotsmith.backends.executors.ray_config import cluster_address, probe_address, ray_settings
        from shotsmith.config import load_settings

        settings = ray_settings(load_settings().ray)
        address = cluster_address(settings)
        if address:
            probe_address(address, settings.connect_timeout_s)
    return name


@contextmanager
def executor_scope(name: str | None) -> Iterator[None]:
    """Run the body (and every task it starts) with ``name`` as the executor; ``None`` keeps the default."""
    if name is not None:
        check_executor(name)
    token = _current.set(name)
    try:
        yield
    finally:
        _current.reset(token)


def current_executor(default: str = "local") -> str:
    """The executor in force here: the scope's, else ``default`` (the settings' ``executor``)."""
    return _current.get() or default
