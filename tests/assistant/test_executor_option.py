"""``--executor local|ray`` on every command that opens a session: one option, one check, one error line.

``run`` and ``batch`` had it; ``chat``, ``tui`` and ``web`` took the executor from the config only.
All five now share ``assistant/commands/options.EXECUTOR_OPTION``. The chat test drives a real
offline conversation and checks, inside the backend's ``generate``, that the shot ran under the
executor the command line chose (the production service's ``executor_scope``) - no Ray needed for that.
"""

from __future__ import annotations

import importlib.util

import pytest

from shotsmith.backends.executors import current_executor
from shotsmith.cli import main
from tests.assistant._test_backends import GpuBackend

COMMANDS = ("run", "batch", "chat", "tui", "web")


def _argv(command: str, tmp_path) -> list[str]:
    """The smallest command line of ``command`` that would otherwise go on to work."""
    project = str(tmp_path / "proj")
    return {"run": ["run", "a 2 second ad for tea", "-o", str(tmp_path / "x.mp4"), "--plan-only"],
            "batch": ["batch", str(tmp_path), "-o", str(tmp_path / "out")],
            "chat": ["chat", "-p", project, "-m", "hello"],
            "tui": ["tui", "-p", project],
            "web": ["web", "-p", project]}[command]


@pytest.fixture
def no_screen(monkeypatch):
    """``tui`` and ``web`` build everything, draw and serve nothing; what they opened is kept."""
    from shotsmith.tui import web
    from shotsmith.tui.app import ShotsmithApp

    seen: dict = {}
    monkeypatch.setattr(ShotsmithApp, "run", lambda self, *a, **k: seen.setdefault("session", self.session))
    monkeypatch.setattr(web, "serve", lambda command, **kw: seen.setdefault("served", command))
    return seen


@pytest.mark.parametrize("command", COMMANDS)
def test_every_session_command_takes_executor_and_checks_it_the_same_way(command, tmp_path, capsys, no_screen):
    assert main([command, "--help"]) == 0
    assert "--executor" in capsys.readouterr().out
    code = main([*_argv(command, tmp_path), "--executor", "slurm"])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown executor 'slurm'" in err and "choose one of local, ray" in err and "Traceback" not in err
    assert not (tmp_path / "proj").exists() and "session" not in no_screen and "served" not in no_screen


@pytest.mark.parametrize("command", COMMANDS)
def test_ray_missing_is_one_line(command, tmp_path, capsys, monkeypatch, no_screen):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    code = main([*_argv(command, tmp_path), "--executor", "ray"])
    err = capsys.readouterr().err
    assert code == 2 and "the ray executor needs ray, which is not installed" in err
    assert "shotsmith[ray]" in err and "Traceback" not in err and not (tmp_path / "proj").exists()


def test_tui_and_web_hand_the_executor_to_the_session(tmp_path, no_screen):
    pytest.importorskip("ray")
    assert main(["tui", "-p", str(tmp_path / "proj"), "--backend", "animatic", "--executor", "ray"]) == 0
    assert no_screen["session"].service.executor == "ray"
    assert main(["web", "-p", str(tmp_path / "proj"), "--executor", "local"]) == 0
    assert "--executor local" in no_screen["served"]  # each browser tab's `shotsmith tui` gets it too


def test_chat_runs_its_shots_under_the_executor_it_was_given(tmp_path, test_backends, monkeypatch):
    seen: list[str] = []
    original = GpuBackend.generate

    async def generate(self, request, dest, **kwargs):
        seen.append(current_executor())  # what a local model's backend (diffusers) reads to place its pipeline
        return await original(self, request, dest, **kwargs)

    monkeypatch.setattr(GpuBackend, "generate", generate)
    monkeypatch.delenv("SHOTSMITH_EXECUTOR", raising=False)
    project = tmp_path / "proj"
    assert main(["chat", "-p", str(project), "--backend", "gpu-test", "--resolution", "360p", "--yes",
                 "--executor", "local", "-m", "a 2 second ad for tea", "-m", "generate"]) == 0
    assert seen and set(seen) == {"local"}
    seen.clear()
    # ray: only where a local model's shots run changes (no Ray is started for a backend without a pipeline).
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "ray" else real(name, *a))
    assert main(["chat", "-p", str(tmp_path / "other"), "--backend", "gpu-test", "--resolution", "360p", "--yes",
                 "--executor", "ray", "-m", "a 2 second ad for jam", "-m", "generate"]) == 0
    assert seen and set(seen) == {"ray"}
