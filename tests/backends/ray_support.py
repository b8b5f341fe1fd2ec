"""One local Ray instance for the whole test session (starting one costs seconds on 2 cores).

``ray_instance()`` starts it on first use with the machine's 2 CPUs and no dashboard,
and stops it when the test process exits; every Ray test shares it and its actors
(which keep their pipelines loaded). Without ray installed the caller skips.
"""

from __future__ import annotations

import atexit
import importlib.util
import os

import pytest

NAMESPACE = "shotsmith-tests"
_started = False


def ray_instance():
    """The ``ray`` module, connected to the session's local instance (skips the test without ray)."""
    global _started
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (the [ray] extra; `make test` installs it)")
    import ray

    if not ray.is_initialized():
        os.environ.pop("RAY_ADDRESS", None)  # never a real cluster from the test suite
        ray.init(num_cpus=2, include_dashboard=False, namespace=NAMESPACE, log_to_driver=False,
                 configure_logging=False, object_store_memory=200 * 2**20)
        if not _started:
            atexit.register(ray.shutdown)
        _started = True
    return ray
