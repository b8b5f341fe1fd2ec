"""Usage errors are one line plus the usage hint, exit 2, no traceback: with every typer the pins allow.

The same command lines run through :mod:`tests.core.cli_driver` in a fresh
interpreter twice: with the installed typer (the top of the range), and (slow)
with the lowest typer that ``pyproject.toml`` allows and its click, installed
once per session with ``pip install --target`` and put first on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.version import Version

from shotsmith.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHOTSMITH = Path(sys.executable).with_name("shotsmith")

# argv -> (what the "error:" line says, lower case; how the usage line starts; the command it points to)
USAGE_CASES: dict[tuple[str, ...], tuple[str, str, str]] = {
    ("probe",): ("missing argument 'file'", "usage: shotsmith probe [OPTIONS] FILE", "shotsmith probe"),
    ("frobnicate",): ("no such command 'frobnicate'", "usage: shotsmith [OPTIONS] COMMAND", "shotsmith"),
    ("run", "x", "--bogus-flag"): ("no such option", "usage: shotsmith run [OPTIONS]", "shotsmith run"),
    ("render", "plan.yaml"): ("missing option '--output'", "usage: shotsmith render [OPTIONS] SOURCE", "shotsmith render"),
    ("chat",): ("missing option '--project'", "usage: shotsmith chat [OPTIONS]", "shotsmith chat"),
    ("trim", "x.mp4", "-o", "y.mp4", "--crf", "abc"): ("invalid value for '--crf'", "usage: shotsmith trim [OPTIONS] FILE",
                                                      "shotsmith trim"),
    ("backends", "info"): ("missing argument 'name'", "usage: shotsmith backends info [OPTIONS] NAME",
                           "shotsmith backends info"),
}
HELP_CASES = [(), ("backends",)]  # a group without its command: the help, and exit 2


def _drive(argvs: list[list[str]], env_extra: dict[str, str] | None = None) -> dict:
    env = {**os.environ, **(env_extra or {})}
    done = subprocess.run([sys.executable, "-m", "tests.core.cli_driver", json.dumps(argvs)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_usage_errors(report: dict) -> None:
    results = {tuple(r["argv"]): r for r in report["results"]}
    for argv, (message, usage, command) in USAGE_CASES.items():
        r = results[argv]
        where = f"shotsmith {' '.join(argv)} with typer {report['versions']['typer']}: {r}"
        assert r["code"] == 2, where
        lines = r["err"].strip().splitlines()
        assert len(lines) == 2 and "Traceback" not in r["err"], where
        assert lines[0].startswith("error: ") and message in lines[0].lower() and "env var" not in lines[0], where
        assert lines[1].startswith(usage), where
        assert f"see {command} --help" in lines[1], where
    for argv in HELP_CASES:
        r = results[argv]
        assert r["code"] == 2 and "Traceback" not in r["err"], r
        assert "Usage" in r["out"] + r["err"] and "Commands" in r["out"] + r["err"], r
    r = results[("--version",)]
    assert r["code"] == 0 and r["out"].startswith("shotsmith "), r
    r = results[("probe", "--help")]
    assert r["code"] == 0 and "Usage" in r["out"], r


ALL_ARGVS = [list(a) for a in USAGE_CASES] + [list(a) for a in HELP_CASES] + [["--version"], ["probe", "--help"]]


def test_usage_errors_with_the_installed_typer():
    report = _drive(ALL_ARGVS)
    assert report["versions"]["typer_file"].startswith(str(Path(sys.prefix)))
    _check_usage_errors(report)


def _lowest(spec: str) -> str:
    found = re.search(r">=\s*([0-9][0-9.]*)", spec)
    assert found, f"no lower bound in {spec!r}"
    return found.group(1)


def _pins() -> tuple[str, str | None]:
    """The lowest typer the project allows, and the lowest click (None when click is not pinned)."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    typer_spec = next(d for d in deps if re.match(r"typer\s*[<>=!~]", d))
    assert re.search(r"<\s*[0-9]", typer_spec), f"pin typer to a tested range, not {typer_spec!r}"
    click_spec = next((d for d in deps if re.match(r"click\s*[<>=!~]", d)), None)
    return _lowest(typer_spec), _lowest(click_spec) if click_spec else None


@pytest.fixture(scope="session")
def lowest_typer(tmp_path_factory) -> Path:
    """The bottom of the range: the lowest typer with the lowest click the pins allow, in a folder of its own."""
    typer_version, click_version = _pins()
    target = tmp_path_factory.mktemp("typer-lowest")
    wanted = [f"typer=={typer_version}", f"click=={click_version}" if click_version else "click"]
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--no-deps", "--target", str(target), *wanted], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        if re.search(r"(?i)connection|resolve|network|temporary failure|no matching distribution", done.stderr):
            pytest.skip(f"PyPI is not reachable to install {wanted}: {done.stderr.strip()[-300:]}")
        pytest.fail(done.stderr[-2000:])
    return target


@pytest.mark.slow
def test_usage_errors_with_the_lowest_allowed_typer(lowest_typer):
    typer_version, click_version = _pins()
    report = _drive(ALL_ARGVS, {"PYTHONPATH": str(lowest_typer)})
    versions = report["versions"]
    assert Version(versions["typer"]) == Version(typer_version) and versions["typer_file"].startswith(str(lowest_typer))
    if click_version:
        assert Version(versions["click"]) == Version(click_version) and versions["click_file"].startswith(str(lowest_typer))
    _check_usage_errors(report)


def test_the_console_script_reports_a_usage_error_in_one_line():
    done = subprocess.run([str(SHOTSMITH), "probe"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0].startswith("error: ")


# -- error lines and logs are scrubbed ---------------------------------------------------------

SECRET = "sk-test-abcdefghijklmnop1234"


def test_error_lines_are_scrubbed(capsys, monkeypatch, tmp_path):
    from shotsmith.scrub import register_secret

    register_secret("hunter2-password-value")
    missing = tmp_path / f"key={SECRET}-hunter2-password-value.mp4"
    assert main(["probe", str(missing)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error:") and SECRET not in err and "hunter2-password-value" not in err and "***" in err


def test_verbose_logs_go_through_the_scrubber(tmp_path):
    # A fresh interpreter, so that basicConfig really installs the stderr handler.
    code = ("import logging, sys\n"
            "from shotsmith.cli import main\n"
            "from shotsmith.scrub import ScrubFilter\n"
            "main(['--verbose', 'presets'])\n"
            "root = logging.getLogger()\n"
            "assert root.handlers and all(any(isinstance(f, ScrubFilter) for f in h.filters) for h in root.handlers)\n"
            f"logging.getLogger('shotsmith.test').debug('calling with Authorization: Bearer {SECRET}')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "calling with Authorization: Bearer ***" in done.stderr and SECRET not in done.stderr


def test_an_unexpected_exception_is_reported_scrubbed(capsys, monkeypatch):
    import shotsmith.cli as cli

    def broken(_app):
        raise RuntimeError(f"boom with {SECRET}")

    class Entry:
        name, value = "broken", "tests:broken"

        def load(self):
            return lambda app: app.command("boom")(lambda: broken(app))

    monkeypatch.setattr(cli.importlib.metadata, "entry_points", lambda group: [Entry()])
    code = main(["boom"])
    err = capsys.readouterr().err
    assert code == 1 and SECRET not in err and "internal error: RuntimeError" in err


def test_a_broken_command_package_does_not_take_the_cli_down(capsys, monkeypatch):
    import shotsmith.cli as cli

    class Entry:
        name, value = "broken", "nowhere.cli:register_commands"

        def load(self):
            raise ModuleNotFoundError("No module named 'nowhere'")

    real = cli.importlib.metadata.entry_points
    monkeypatch.setattr(cli.importlib.metadata, "entry_points", lambda group: [*real(group=group), Entry()])
    assert main(["presets"]) == 0
    captured = capsys.readouterr()
    assert "web" in captured.out and "the broken commands" in captured.err


@pytest.fixture(autouse=True)
def _quiet_root_logger():
    # main(["--verbose", ...]) in-process would leave a DEBUG root handler behind for later tests.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
