"""docs/plugins.md stands alone: its code runs as written, and nothing a plugin author needs is undocumented.

Modelled on datasette's ``test_plugin_hooks_are_documented``: the lists of
what must be documented are taken from the code (the hook specs, the fields
of the contract types, every ``shotsmith`` name the scaffold's templates and
the example plugin import, the testing kit's public names), so a new hook,
field or helper without a line in the guide fails here.
"""

from __future__ import annotations

import ast
import inspect
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
#: Languages whose blocks are not run: commands to type, illustrations, other files' syntax.
SKIPPED = {"sh", "console", "text"}
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.M | re.S)


def blocks() -> list[tuple[int, str, str]]:
    """(line number, language, code) of every fenced block in the guide."""
    text = GUIDE.read_text(encoding="utf-8")
    return [(text[:m.start()].count("\n") + 1, m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def documented(name: str) -> bool:
    return f"`{name}" in GUIDE.read_text(encoding="utf-8") or re.search(rf"\b{re.escape(name)}\b",
                                                                        GUIDE.read_text(encoding="utf-8")) is not None


def test_every_block_says_what_it_is():
    untagged = [line for line, lang, _ in blocks() if not lang]
    assert not untagged, f"docs/plugins.md: blocks at lines {untagged} need a language (python, toml, sh, text)"


PYTHON = [(line, code) for line, lang, code in blocks() if lang == "python"]


@pytest.mark.parametrize("line, code", PYTHON, ids=[f"line{line}" for line, _ in PYTHON])
def test_python_block_runs_as_written(line, code, tmp_path, monkeypatch):
    """Each block on its own, imports included, in a fresh namespace (as a reader would paste it)."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_plugins_line{line}"}
    exec(compile(code, f"docs/plugins.md:{line}", "exec"), namespace)  # noqa: S102 - our own documentation


TOML = [(line, code) for line, lang, code in blocks() if lang == "toml"]


@pytest.mark.parametrize("line, code", TOML, ids=[f"line{line}" for line, _ in TOML])
def test_toml_block_parses(line, code):
    tomllib.loads(code)


def test_every_hook_is_documented():
    from shotsmith.backends import hookspecs

    hooks = [name for name, obj in vars(hookspecs).items() if name.startswith("shotsmith_") and inspect.isfunction(obj)]
    assert hooks
    missing = [name for name in hooks if f"`{name}" not in GUIDE.read_text(encoding="utf-8")
               and f"def {name}(" not in GUIDE.read_text(encoding="utf-8")]
    assert not missing, f"hooks missing from docs/plugins.md: {missing}"


def test_every_field_of_the_contract_types_is_documented():
    from shotsmith.backends import base
    from shotsmith.media import probe

    guide = GUIDE.read_text(encoding="utf-8")
    missing = [f"{model.__name__}.{field}"
               for model in (base.GenerationRequest, base.GenerationResult, base.Capabilities, base.ProgressEvent,
                             base.CostEstimate, base.Reference, base.WordTiming, probe.MediaInfo,
                             probe.VideoStreamInfo, probe.AudioStreamInfo)
               for field in model.model_fields if f"`{field}`" not in guide and f" {field}," not in guide
               and f"({field}," not in guide and f" {field})" not in guide]
    assert not missing, f"fields missing from docs/plugins.md: {missing}"


def shotsmith_imports(source: str) -> set[str]:
    """Names a module imports from ``shotsmith.*`` (``import shotsmith`` itself counts as nothing)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module == "shotsmith" or (node.module or "").startswith("shotsmith.")):
            names |= {alias.name for alias in node.names}
    return names


def used_by_plugins() -> set[str]:
    """Every shotsmith name the generated packages (all kinds, local and remote) and the example import."""
    from shotsmith.backends.scaffold import KINDS, PluginSpec, render_plugin

    names: set[str] = set()
    for kind in KINDS:
        for remote in (False, True):
            for path, text in render_plugin(PluginSpec("docs", kind, remote)).items():
                if path.endswith(".py"):
                    names |= shotsmith_imports(text)
    for path in (ROOT / "examples" / "plugin-backend").rglob("*.py"):
        names |= shotsmith_imports(path.read_text(encoding="utf-8"))
    return names - {"shotsmith_docs", "DocsBackend"}


def test_every_helper_a_plugin_uses_is_documented():
    names = used_by_plugins()
    assert {"frame_size", "run_ffmpeg", "probe", "require_video", "BackendConformance", "TaskAPIMock"} <= names
    missing = sorted(name for name in names if not documented(name))
    assert not missing, f"helpers the scaffold or the example use but docs/plugins.md does not mention: {missing}"


def test_the_testing_kit_is_documented():
    from shotsmith.testing import conformance, taskmock

    public = set(taskmock.__all__) | {name for name in vars(conformance) if name.startswith("check_")} | {
        "smallest_request", "BackendConformance", "backend_conformance"}
    faults = {name for name in taskmock.Faults.__dataclass_fields__}
    missing = sorted(name for name in public | faults if not documented(name))
    assert not missing, f"testing kit names missing from docs/plugins.md: {missing}"


def test_the_scaffold_and_the_name_rules_are_documented():
    guide = GUIDE.read_text(encoding="utf-8")
    for text in ("shotsmith plugin new", "--kind image", "--kind voice", "--remote", "shotsmith[test]",
                 "SHOTSMITH_LOAD_PLUGINS=sweep", "SHOTSMITH_LOAD_PLUGINS=shotsmith-sweep", "`.txt` or\n`.md`"):
        assert text in guide, text
    assert "brief.yaml --backend" not in guide  # run does not read YAML briefs
