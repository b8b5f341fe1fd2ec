"""pytest plugin (entry point ``pytest11: shotsmith``): fixtures for plugin authors.

Loaded into every pytest run where shotsmith is installed, so it imports
nothing heavy until a fixture is used. Assertion rewriting is enabled for the
conformance module so a failing check explains itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.register_assert_rewrite("shotsmith.testing.conformance")


@pytest.fixture
def backend_conformance(tmp_path) -> Callable[[object], None]:
    """``backend_conformance(MyBackend())`` runs every conformance check in one test."""
    from shotsmith.testing.conformance import check_all

    def run(backend) -> None:
        check_all(backend, tmp_path)

    return run
