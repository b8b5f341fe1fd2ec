"""The example plugin (examples/plugin-backend) is installed, found through its entry point, and conforms.

``make test`` installs it into the environment (``pip install -e examples/plugin-backend``);
if it is missing this fails rather than skips, because the point is to prove
that a separately packaged backend reaches shotsmith.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from shotsmith.backends import registry
from shotsmith.testing import BackendConformance

DIST = "shotsmith-sweep"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugin-backend"


def _require_installed() -> None:
    try:
        importlib.metadata.distribution(DIST)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{DIST} is not installed: run `pip install -e {EXAMPLE}` (make test does)")


def test_not_loaded_unless_allowed(monkeypatch):
    _require_installed()
    monkeypatch.setenv("SHOTSMITH_LOAD_PLUGINS", "")
    registry.reset()
    assert "sweep" not in registry.backend_names()


def test_discovered_through_the_entry_point(monkeypatch):
    _require_installed()
    monkeypatch.setenv("SHOTSMITH_LOAD_PLUGINS", DIST)
    registry.reset()
    assert registry.backend_sources()["sweep"] == "sweep"
    assert "animatic" in registry.backend_names()


def test_shotsmith_backends_list_shows_it():
    """End to end: the real `shotsmith` command, with the plugin allowed by distribution name."""
    _require_installed()
    import os

    env = {**os.environ, "SHOTSMITH_LOAD_PLUGINS": DIST, "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "shotsmith", "backends", "list"], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    line = next((line for line in result.stdout.splitlines() if "│ sweep" in line), None)
    assert line is not None, result.stdout
    assert "local" in line and line.rstrip().rstrip("│").strip().endswith("sweep")
    info = subprocess.run([sys.executable, "-m", "shotsmith", "backends", "info", "sweep"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert info.returncode == 0 and "local compute (ffmpeg)" in info.stdout


class TestExamplePluginConformance(BackendConformance):
    @pytest.fixture
    def backend(self, monkeypatch):
        _require_installed()
        monkeypatch.setenv("SHOTSMITH_LOAD_PLUGINS", DIST)
        registry.reset()
        return registry.get_backend("sweep")
