"""``shotsmith plugin new``: the generated package is complete, valid, and passes its own tests as generated.

The quick tests here run the generated tests in place (``PYTHONPATH=src``, no
install); ``tests/backends/test_plugin_proof.py`` installs generated packages
into a venv and drives them through the ``shotsmith`` command (slow).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shotsmith.backends import scaffold
from shotsmith.backends.scaffold import PluginSpec, ScaffoldError, check_name, render_plugin, write_plugin
from shotsmith.errors import InvalidInputError

SPECS = [PluginSpec("lavfi", kind, remote) for kind in scaffold.KINDS for remote in (False, True)]


@pytest.mark.parametrize("raw, name", [("lavfi", "lavfi"), ("shotsmith-lavfi", "lavfi"), ("my-cloud2", "my-cloud2"),
                                       (" sweep ", "sweep")])
def test_usable_names(raw, name):
    assert check_name(raw) == name


@pytest.mark.parametrize("raw", ["Lavfi", "my cloud", "2d", "a--b", "a-", "my_cloud", "", "x" * 33, "../evil",
                                 "shotsmith-"])
def test_unusable_names_are_one_clear_line(raw):
    with pytest.raises(InvalidInputError) as caught:
        check_name(raw)
    assert "\n" not in caught.value.message and "lower-case letters" in caught.value.message


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.kind}{'-remote' if s.remote else ''}")
def test_every_file_is_rendered_and_valid(spec):
    files = render_plugin(spec)
    expected = {"pyproject.toml", "README.md", "src/shotsmith_lavfi/__init__.py", "src/shotsmith_lavfi/backend.py",
                "tests/test_lavfi.py"} | ({"tests/conftest.py"} if spec.remote else set())
    assert set(files) == expected
    for path, text in files.items():
        assert "$" not in text, f"{path}: a placeholder was left unrendered"
        if path.endswith(".py"):
            ast.parse(text, filename=path)
    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["name"] == "shotsmith-lavfi"
    assert project["project"]["entry-points"]["shotsmith.backends"] == {"lavfi": "shotsmith_lavfi"}
    assert project["project"]["optional-dependencies"]["test"] == ["shotsmith[test]>=0.1"]
    backend = files["src/shotsmith_lavfi/backend.py"]
    assert "class LavfiBackend(" in backend and 'name = "lavfi"' in backend
    assert "raise NotImplementedError(" in backend  # the optional method says how to implement it
    assert "BackendConformance" in files["tests/test_lavfi.py"]


def test_refuses_an_existing_folder_and_overwrites_nothing(tmp_path):
    existing = tmp_path / "shotsmith-lavfi"
    existing.mkdir()
    (existing / "mine.py").write_text("keep me")
    with pytest.raises(ScaffoldError, match="already exists"):
        write_plugin(PluginSpec("lavfi"), tmp_path)
    assert [p.name for p in existing.iterdir()] == ["mine.py"] and (existing / "mine.py").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["shotsmith-lavfi"]  # no staging folder left behind


def test_cli_writes_the_package_and_refuses_bad_input(tmp_path):
    import typer

    from shotsmith.backends.cli import register_commands

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test root"""

    register_commands(app)
    runner = CliRunner()
    ok = runner.invoke(app, ["plugin", "new", "lavfi", "--kind", "image", "--dir", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "shotsmith-lavfi" / "src" / "shotsmith_lavfi" / "backend.py").read_text().count("TEXT_TO_IMAGE")
    again = runner.invoke(app, ["plugin", "new", "lavfi", "--dir", str(tmp_path)])
    assert again.exit_code != 0 and "already exists" in str(again.exception)
    for args, message in ((["plugin", "new", "Bad Name"], "not a usable backend name"),
                          (["plugin", "new", "ok", "--kind", "audio"], "not a kind of backend"),
                          (["plugin", "new", "animatic"], "built-in backend")):
        result = runner.invoke(app, [*args, "--dir", str(tmp_path)])
        assert result.exit_code != 0 and message in str(result.exception), args


def test_optional_stubs_raise_not_implemented_with_guidance(tmp_path, monkeypatch):
    import asyncio
    import importlib
    import threading

    from shotsmith.backends.base import GenerationMode, GenerationRequest

    write_plugin(PluginSpec("stubby"), tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "shotsmith-stubby" / "src"))
    module = importlib.import_module("shotsmith_stubby.backend")
    try:
        request = GenerationRequest(prompt="x", duration_s=1, mode=GenerationMode.IMAGE_TO_VIDEO, image="/x.png")
        with pytest.raises(NotImplementedError, match="add GenerationMode.IMAGE_TO_VIDEO to capabilities"):
            asyncio.run(module.StubbyBackend().generate(request, tmp_path / "o.mp4", on_progress=lambda e: None,
                                                        cancel=threading.Event()))
    finally:
        for name in ("shotsmith_stubby", "shotsmith_stubby.backend"):
            sys.modules.pop(name, None)


def run_generated_tests(folder: Path) -> subprocess.CompletedProcess:
    """The generated package's own tests, in place; the entry-point test needs an install (see the slow proof)."""
    env = {**os.environ, "PYTHONPATH": str(folder / "src"), "SHOTSMITH_LOAD_PLUGINS": ""}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                           str(folder), "-k", "not entry_point"], capture_output=True, text=True, env=env,
                          cwd=folder, timeout=600)


@pytest.mark.parametrize("spec", [PluginSpec("gen-video", "video"), PluginSpec("gen-cloud", "video", True),
                                  PluginSpec("gen-image", "image"), PluginSpec("gen-image-cloud", "image", True),
                                  PluginSpec("gen-voice", "voice"), PluginSpec("gen-voice-cloud", "voice", True)],
                         ids=["video", "video-remote", "image", "image-remote", "voice", "voice-remote"])
def test_generated_package_passes_its_own_tests(spec, tmp_path):
    folder = write_plugin(spec, tmp_path)
    result = run_generated_tests(folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugin-backend"


def _package_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and not any(part.endswith(".egg-info") or part in ("__pycache__", ".pytest_cache")
                                       for part in p.relative_to(folder).parts)}


def _defs(source: str) -> tuple[dict[str, list[str]], set[str]]:
    """Classes with their bases, and top-level function and class names, of a module's source."""
    tree = ast.parse(source)
    classes = {node.name: [ast.unparse(b) for b in node.bases] for node in tree.body if isinstance(node, ast.ClassDef)}
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    return classes, names


def _methods(source: str, cls: str) -> set[str]:
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == cls)
    return {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_the_example_plugin_has_the_shape_the_scaffold_generates():
    """examples/plugin-backend is `shotsmith plugin new sweep --kind video`, made real: same files, same
    packaging, same plugin module, every generated method and test kept (so the two cannot drift)."""
    generated = render_plugin(PluginSpec("sweep", "video"))
    assert _package_files(EXAMPLE) == set(generated)
    example_toml = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())
    generated_toml = tomllib.loads(generated["pyproject.toml"])
    example_toml["project"].pop("description"), generated_toml["project"].pop("description")
    assert example_toml == generated_toml
    init = "src/shotsmith_sweep/__init__.py"
    assert (EXAMPLE / init).read_text() == generated[init]
    backend = "src/shotsmith_sweep/backend.py"
    example_backend = (EXAMPLE / backend).read_text()
    assert _defs(example_backend)[0]["SweepBackend"] == _defs(generated[backend])[0]["SweepBackend"] == ["Backend"]
    assert _methods(generated[backend], "SweepBackend") <= _methods(example_backend, "SweepBackend")
    tests = "tests/test_sweep.py"
    assert _defs(generated[tests])[1] <= _defs((EXAMPLE / tests).read_text())[1]
    headings = [line for line in generated["README.md"].splitlines() if line.startswith("#")]
    assert headings[1:] == [line for line in (EXAMPLE / "README.md").read_text().splitlines()
                            if line.startswith("#")][1:]


# -- the proof: a fresh venv, the scaffold, an install, the generated tests and the real commands ----------------

def _venv_env(venv: Path, home: Path) -> dict[str, str]:
    """The environment of a user of that venv: its bin first, every plugin loading, no config or keys of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOTSMITH_", "PYTEST_", "VIRTUAL_ENV"))
           and not k.endswith("_API_KEY") and k not in ("PYTHONPATH", "COV_CORE_SOURCE")}
    env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}", VIRTUAL_ENV=str(venv),
               SHOTSMITH_CONFIG=str(home / "config.toml"), COLUMNS="80")
    return env


def _sh(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A new venv with only ``pip install -e '.[test]'`` (once per module: ~70 s from the machine's wheel
    folder and local index; pip's cache makes later runs faster). Not --system-site-packages: the test venv's
    own packages (the example plugin among them) must not leak in."""
    home = tmp_path_factory.mktemp("proof")
    venv = home / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    _sh([base, "-m", "venv", str(venv)], cwd=home, env=dict(os.environ))
    env = _venv_env(venv, home)
    _sh([str(venv / "bin" / "pip"), "install", "-q", "-e", f"{ROOT}[test]"], cwd=home, env=env, timeout=900)
    return venv, env


ROOT = Path(__file__).resolve().parents[2]


def _new_installed_tested(venv: Path, env: dict[str, str], work: Path, name: str, kind: str) -> Path:
    """plugin new -> pip install -e -> pytest (the generated tests pass) -> backends list shows it."""
    bin_ = venv / "bin"
    _sh([str(bin_ / "shotsmith"), "plugin", "new", name, "--kind", kind], cwd=work, env=env)
    _sh([str(bin_ / "pip"), "install", "-q", "-e", f"./shotsmith-{name}"], cwd=work, env=env)
    tests = _sh([str(bin_ / "pytest"), "-q", "-p", "no:cacheprovider", f"shotsmith-{name}"], cwd=work, env=env)
    assert " passed" in tests.stdout and "failed" not in tests.stdout and "error" not in tests.stdout.lower()
    listing = _sh([str(bin_ / "shotsmith"), "backends", "list"], cwd=work, env=env).stdout
    assert f"│ {name} " in listing and max(map(len, listing.splitlines())) <= 80, listing
    return work / f"shotsmith-{name}"


@pytest.mark.slow
def test_proof_video_plugin_from_scaffold_to_a_rendered_video(fresh_venv, tmp_path):
    venv, env = fresh_venv
    _new_installed_tested(venv, env, tmp_path, "lavfi", "video")
    _sh([str(venv / "bin" / "shotsmith"), "run", "a 6 second test", "--backend", "lavfi", "-o", "x.mp4"],
        cwd=tmp_path, env=env)
    from shotsmith.media.probe import probe

    info = probe(tmp_path / "x.mp4", need_video=True)
    assert 5.0 <= info.duration_s <= 7.0, info.duration_s


@pytest.mark.slow
def test_proof_image_plugin_from_scaffold_to_a_storyboard(fresh_venv, tmp_path):
    venv, env = fresh_venv
    _new_installed_tested(venv, env, tmp_path, "stills", "image")
    _sh([str(venv / "bin" / "shotsmith"), "storyboard", "a 6 second test", "-p", "proj", "--image-backend",
         "stills", "-o", "board.png"], cwd=tmp_path, env=env)
    from PIL import Image

    with Image.open(tmp_path / "board.png") as board:
        assert board.width > 100 and board.height > 100
    stills = [p for p in (tmp_path / "proj").rglob("*.png") if p.name != "board.png"]
    assert stills, "no storyboard still was drawn"


@pytest.mark.slow
def test_proof_voice_plugin_from_scaffold_to_a_narrated_video(fresh_venv, tmp_path):
    """The install, the generated conformance tests (generate, word timings, engine and cache), `backends list`,
    and `run --voice` narrating a brief through the new voice."""
    venv, env = fresh_venv
    _new_installed_tested(venv, env, tmp_path, "tones", "voice")
    _sh([str(venv / "bin" / "shotsmith"), "run", "A 6 second explainer with a voice-over: how to fold a paper boat",
         "--voice", "tones", "-o", "x.mp4", "-r", "360p"], cwd=tmp_path, env=env)
    import json

    records = json.loads((tmp_path / "x.shotsmith" / "project.json").read_text())["generations"].values()
    assert "tones" in {r["backend"] for r in records}, "the narration was not spoken by the plugin's voice"
    from shotsmith.media.probe import probe

    assert probe(tmp_path / "x.mp4").audio
