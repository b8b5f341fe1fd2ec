"""The ``shotsmith tui`` command: it opens (or creates) the project and its session through ``open_session``, then the app."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shotsmith.assistant.sessions.offline import OfflineSession
from shotsmith.cli import main
from shotsmith.tui.app import ShotsmithApp


@pytest.fixture
def captured_app(monkeypatch):
    """Replace ``App.run`` so the command builds everything but draws nothing."""
    seen: dict = {}

    def run(self, *args, **kwargs):
        seen["session"] = self.session
        closed = []
        original_close = self.session.close
        self.session.close = lambda: (closed.append(True), original_close())
        seen["closed"] = closed

    monkeypatch.setattr(ShotsmithApp, "run", run)
    return seen


def test_tui_creates_the_project_and_opens_the_offline_session(tmp_path, captured_app):
    project = tmp_path / "coffee"
    assert main(["tui", "--project", str(project), "--backend", "animatic"]) == 0
    assert (project / "project.json").is_file()
    session = captured_app["session"]
    assert session.answering == "offline planner"
    assert session.store.root == project.resolve()
    assert isinstance(session, OfflineSession)
    assert session.service.backend_name == "animatic"
    assert captured_app["closed"] == [True]  # the checkpoint/history files are released on exit


def test_tui_passes_its_options_to_the_service_and_continues_a_project(tmp_path, captured_app):
    project = tmp_path / "coffee"
    assert main(["tui", "--project", str(project), "--backend", "animatic", "--resolution", "360p",
                 "--max-cost", "2.5"]) == 0
    service = captured_app["session"].service
    assert (service.backend_name, service.resolution, service.spending.max_cost_usd) == ("animatic", "360p", 2.5)
    assert not service.spending.auto_approve  # the dialog asks; the TUI has no --yes
    # Reopened without options, the project keeps what it was given.
    assert main(["tui", "--project", str(project)]) == 0
    service = captured_app["session"].service
    assert (service.backend_name, service.resolution, service.spending.max_cost_usd) == ("animatic", "360p", None)


def test_an_unknown_backend_is_one_clean_error_and_creates_nothing(tmp_path, captured_app, capsys):
    project = tmp_path / "coffee"
    code = main(["tui", "--project", str(project), "--backend", "no-such-backend"])
    err = capsys.readouterr().err
    assert code != 0 and "no-such-backend" in err and "Traceback" not in err
    assert not project.exists() and "session" not in captured_app


def test_tui_on_a_file_is_one_clean_error_line(tmp_path, captured_app, capsys):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("hello")
    code = main(["tui", "--project", str(not_a_folder)])
    err = capsys.readouterr().err
    assert code != 0
    assert "is not a folder" in err and "Traceback" not in err
    assert "session" not in captured_app


def test_tui_help_lists_its_options(capsys):
    assert main(["tui", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--project", "--llm", "--llm-base-url", "--backend"):
        assert option in out


def test_registering_the_command_does_not_import_textual():
    # Every shotsmith command loads register_commands; Textual must be paid for only by `tui`.
    code = "import sys, shotsmith.tui.cli; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_model_without_a_key_is_one_clean_error_and_creates_nothing(tmp_path, captured_app, capsys):
    project = tmp_path / "coffee"
    code = main(["tui", "--project", str(project), "--llm", "openai:gpt-4.1-mini"])
    err = capsys.readouterr().err
    assert code != 0 and "needs an API key" in err and "Traceback" not in err
    assert not project.exists()
    assert "session" not in captured_app
