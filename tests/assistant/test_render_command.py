"""``shotsmith render DIR`` renders a project the way run, chat and the TUI do: through the production
service (one path), so a final render is kept as renders/vNNN with its change, the output gets a copy,
previews read proxies, and a cut that cannot be rendered is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shotsmith.assistant import ServiceOptions
from shotsmith.assistant.production import ProductionService
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore

REPO = Path(__file__).resolve().parents[2]


def shotsmith(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "shotsmith", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=180, stdin=subprocess.DEVNULL)


@pytest.fixture
def produced(tmp_path) -> Path:
    service = ProductionService.open(tmp_path / "p", ServiceOptions(resolution="360p", fps=12))
    service.plan_brief("a 4 second ad for a bakery, 2 shots, with a voice-over")
    service.produce()
    return service.store.root


def test_a_projects_final_render_is_kept_as_a_version_and_the_output_gets_a_copy(produced, tmp_path):
    out = tmp_path / "cut.mp4"
    result = shotsmith("render", str(produced), "-o", str(out))
    assert result.returncode == 0, result.stderr
    store = ProjectStore.open(produced)
    latest = store.project.renders[-1]
    assert latest.version == 2 and latest.output in (str(out), str(out.resolve()))
    kept = produced / latest.path
    assert kept.read_bytes() == out.read_bytes() and kept.name == "v002.mp4"
    assert probe(out).has_audio  # the narration laid in, as run's render has it
    assert "v002.mp4" in shotsmith("history", "-p", str(produced)).stdout


def test_a_preview_keeps_no_version_and_a_preset_render_keeps_its_format(produced, tmp_path):
    preview = shotsmith("render", str(produced), "-o", str(tmp_path / "p.mp4"), "--preview")
    assert preview.returncode == 0, preview.stderr
    assert probe(tmp_path / "p.mp4").video.height == 360
    assert len(ProjectStore.open(produced).project.renders) == 1
    gif = shotsmith("render", str(produced), "-o", str(tmp_path / "c.gif"), "--preset", "gif")
    assert gif.returncode == 0, gif.stderr
    renders = ProjectStore.open(produced).project.renders
    assert renders[-1].path.endswith("v002.gif") and (produced / renders[-1].path).is_file()


def test_a_cut_with_a_missing_clip_is_one_line(produced, tmp_path):
    for clip in (produced / "clips").iterdir():
        clip.unlink()
    result = shotsmith("render", str(produced), "-o", str(tmp_path / "x.mp4"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1
    assert not (tmp_path / "x.mp4").exists()


def test_a_relative_output_is_from_where_the_command_runs_not_inside_the_project(produced, tmp_path):
    here = tmp_path / "here"
    here.mkdir()
    result = subprocess.run([sys.executable, "-m", "shotsmith", "render", str(produced), "-o", "cut.mp4"],
                            capture_output=True, text=True, cwd=here, env={**os.environ, "PYTHONPATH": str(REPO)},
                            timeout=180, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert (here / "cut.mp4").is_file() and not (produced / "cut.mp4").exists()


def test_print_command_prints_the_cut_the_service_renders_with_its_narration(produced, tmp_path):
    store = ProjectStore.open(produced)
    store.project.timeline = store.project.timeline.model_copy(update={"audio": []})  # as a project saved before
    store.save()                                                                     # its narration was laid in
    result = shotsmith("render", str(produced), "-o", str(tmp_path / "x.mp4"), "--print-command")
    assert result.returncode == 0, result.stderr
    voices = [path for path in (produced / "clips").iterdir() if path.suffix == ".wav"]
    assert voices and all(str(v) in result.stdout for v in voices)
    assert not ProjectStore.open(produced).project.timeline.audio  # printing wrote nothing of the cut
