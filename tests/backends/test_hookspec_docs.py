"""Every hook is documented and exercised by a test (a new hook without either fails here)."""

from __future__ import annotations

import inspect
from pathlib import Path

from shotsmith.backends import hookspecs

HOOKS = [name for name, obj in vars(hookspecs).items() if name.startswith("shotsmith_") and inspect.isfunction(obj)]
TESTS = Path(__file__).resolve().parents[1]


def test_there_are_hooks():
    assert HOOKS


def test_every_hook_has_a_docstring():
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc) > 80, f"hook {name} needs a docstring for plugin authors"


def test_every_hook_is_used_by_a_test_besides_this_one():
    sources = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("test_*.py") if p.name != Path(__file__).name)
    plugin_sources = "\n".join(p.read_text(encoding="utf-8") for p in (TESTS.parent / "examples").rglob("*.py"))
    for name in HOOKS:
        assert name in sources or name in plugin_sources, f"hook {name} is not exercised by any test"
