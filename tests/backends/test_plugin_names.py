"""Plugins are selected by the name users see or the distribution they installed; a miss says why.

Each test installs throwaway distributions (a ``.dist-info`` folder and a module)
on ``sys.path``, which is all ``importlib.metadata`` needs to find entry points.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shotsmith.backends import registry
from shotsmith.backends.registry import UnknownBackendError
from shotsmith.errors import InvalidInputError

GOOD = '''
import shotsmith
from shotsmith.backends.animatic import AnimaticBackend

class LavfiTest(AnimaticBackend):
    name = "lavfitest"
    description = "a test plugin"

@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(LavfiTest)
'''


def install(site: Path, dist: str, ep_name: str, module: str, source: str) -> None:
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[shotsmith.backends]\n{ep_name} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    install(folder, "shotsmith-lavfitest", "lavfitest", "shotsmith_lavfitest", GOOD)
    install(folder, "shotsmith-broken", "broken", "shotsmith_broken", "raise ImportError('needs libfoo 3')\n")
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for name in ("shotsmith_lavfitest", "shotsmith_broken"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("allowed", ["lavfitest", "shotsmith-lavfitest", "Shotsmith_LavfiTest", " lavfitest , other"])
def test_selected_by_entry_point_or_distribution_name(site, monkeypatch, allowed):
    monkeypatch.setenv("SHOTSMITH_LOAD_PLUGINS", allowed)
    registry.reset()
    assert registry.backend_sources()["lavfitest"] == "lavfitest"
    assert "broken" not in {n.name for n in registry.not_loaded() if "import" in n.reason}


def test_filtered_plugin_is_named_in_the_unknown_backend_error(site, monkeypatch):
    monkeypatch.setenv("SHOTSMITH_LOAD_PLUGINS", "")
    registry.reset()
    with pytest.raises(UnknownBackendError) as caught:
        registry.get_backend("lavfitest")
    error = caught.value
    assert isinstance(error, InvalidInputError) and "\n" not in error.message
    assert "animatic" in error.hint
    assert "lavfitest (shotsmith-lavfitest): not in SHOTSMITH_LOAD_PLUGINS=''" in error.hint
    assert "add lavfitest to SHOTSMITH_LOAD_PLUGINS" in error.hint


def test_a_plugin_that_fails_to_import_is_skipped_and_reported(site, monkeypatch):
    monkeypatch.delenv("SHOTSMITH_LOAD_PLUGINS")
    registry.reset()
    assert "lavfitest" in registry.backend_names()  # the broken one does not take the others down
    broken = {n.name: n for n in registry.not_loaded()}["broken"]
    assert broken.distribution == "shotsmith-broken"
    assert broken.reason == "failed to import: ImportError: needs libfoo 3"
    with pytest.raises(UnknownBackendError, match="broken \\(shotsmith-broken\\): failed to import: ImportError"):
        registry.get_backend("broken")


def test_cli_error_for_an_unknown_backend_is_one_line_with_the_reasons(site, tmp_path):
    env = {"SHOTSMITH_LOAD_PLUGINS": "", "PYTHONPATH": str(site), "PATH": "/usr/bin:/bin",
           "SHOTSMITH_CONFIG": str(tmp_path / "none.toml"), "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "shotsmith", "backends", "info", "lavfitest"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert "unknown backend 'lavfitest'" in result.stderr
    assert "not in SHOTSMITH_LOAD_PLUGINS" in result.stderr and "Traceback" not in result.stderr


def test_backends_list_fits_80_columns_without_breaking_a_name_or_header(site, monkeypatch):
    import io

    from rich.console import Console

    from shotsmith.backends.cli import list_backends

    monkeypatch.setenv("SHOTSMITH_LOAD_PLUGINS", "lavfitest")
    registry.reset()
    out = io.StringIO()
    list_backends(Console(file=out, width=80, color_system=None))
    lines = out.getvalue().splitlines()
    assert lines and max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "name" in line)
    cells = [c.strip() for c in header.strip("┃").split("┃")]
    assert cells == ["name", "makes", "what it does", "from"]
    first_cells = {line.split("│")[1].strip() for line in lines if line.startswith("│")}
    for name in registry.backend_names():
        assert name in first_cells, f"{name} is broken across lines"
    assert {"", *registry.backend_names()} >= first_cells  # continuation lines leave the name cell empty
    sweep_row = next(line for line in lines if line.startswith("│ lavfitest "))
    assert sweep_row.rstrip("│ ").endswith("lavfitest") and "video · local" in sweep_row
