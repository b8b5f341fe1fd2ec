"""The dependency arrows point one way: tui/assistant -> tools/backends -> core.

Checked on the source with ``ast`` so a violating import fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FEATURES = {"assistant", "backends", "tools", "tui"}
# Which feature packages each folder may import. The core imports none; shotsmith/testing
# is the plugin authors' test kit and exercises the backend contract, so it may use backends.
ALLOWED = {
    "shotsmith": set(),
    "shotsmith/testing": {"backends"},
    "tools": set(),
    "backends": set(),
    "assistant": {"tools", "backends"},
    "tui": {"assistant", "tools", "backends"},
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "shotsmith" and len(parts) > 1 and parts[1] in FEATURES:
                found.add(parts[1])
    return found


def _owner(path: Path) -> str:
    rel = path.relative_to(ROOT).as_posix()
    return "shotsmith/testing" if rel.startswith("shotsmith/testing/") else rel.split("/")[0]


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_imports_follow_the_layers(folder):
    offenders = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        owner = _owner(path)
        if owner != folder:
            continue
        own = {owner} if owner in FEATURES else set()
        bad = _imports(path) - ALLOWED[owner] - own
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_the_check_can_fail(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("from shotsmith.tools.render import render_timeline\nimport shotsmith.errors\n")
    assert _imports(sample) == {"tools"}
