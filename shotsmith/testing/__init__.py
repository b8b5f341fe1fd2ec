"""Test kit for plugin authors (see docs/plugins.md).

It sits beside the core rather than in it: the conformance suite exercises the
backend contract, so it imports :mod:`shotsmith.backends`. Import
:class:`BackendConformance` from here; the pytest plugin (registered as
``pytest11: shotsmith``) adds the ``backend_conformance`` fixture.
"""

from __future__ import annotations

__all__ = ["BackendConformance"]


def __getattr__(name: str):
    # Lazy, so the pytest plugin that imports this package costs nothing in test runs that don't use it.
    if name == "BackendConformance":
        from shotsmith.testing.conformance import BackendConformance

        return BackendConformance
    raise AttributeError(name)
