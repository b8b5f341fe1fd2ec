"""The walking skeleton end to end: brief in, a playable H.264/AAC MP4 out, offline.

Runs through the Python API and the real console script, then probes and decodes
the output with PyAV.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from shotsmith.assistant.pipeline import RunOptions, run_brief
from shotsmith.media.probe import probe

COFFEE = ("A 15 second ad for a coffee shop: morning light, a barista pouring latte art, happy customers, "
          "warm cinematic grade")
SHOTSMITH = [sys.executable, "-m", "shotsmith"]


def _edge_frames(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    return frames[0], frames[-1]


def _check_video(path: Path, *, duration: float, size: tuple[int, int]) -> None:
    info = probe(path)
    assert info.video is not None and info.video.codec == "h264"
    assert info.video.pixel_format == "yuv420p"
    assert (info.video.width, info.video.height) == size
    assert info.audio and info.audio[0].codec == "aac"
    assert info.duration_s == pytest.approx(duration, abs=0.2)
    first, last = _edge_frames(path)
    assert first.mean() > 20 and last.mean() > 20, "first and last frames are not black"


@pytest.mark.slow
def test_coffee_brief_through_the_python_api(tmp_path):
    events = []
    report = run_brief(RunOptions(brief=COFFEE, output=tmp_path / "coffee.mp4", resolution="360p"), on_event=events.append)
    assert report.output is not None
    _check_video(tmp_path / "coffee.mp4", duration=report.plan["shots"] and sum(s["duration_s"] for s in report.plan["shots"]),
                 size=(640, 360))
    assert abs(report.output.duration_s - 15) <= 0.2
    assert report.backend == "animatic" and report.planner == "offline planner"
    assert len(report.shots) == len(report.plan["shots"]) and not any(s.cached for s in report.shots)
    kinds = {type(e).__name__ for e in events}
    assert {"PlanUpdated", "GenerationProgress", "RenderProgress", "OutputWritten", "Notice"} <= kinds

    # A second run of the same brief generates nothing: every shot is a cache hit.
    again = run_brief(RunOptions(brief=COFFEE, output=tmp_path / "coffee.mp4", resolution="360p"))
    assert all(s.cached for s in again.shots)


@pytest.mark.slow
def test_cli_run_vertical_brief_with_json_report(tmp_path):
    out = tmp_path / "out" / "reel.mp4"
    report_path = tmp_path / "report.json"
    proc = subprocess.run([*SHOTSMITH, "run", "A 6 second vertical clip for Reels: steam rising from a cup, soft pastel style",
                           "-o", str(out), "--resolution", "360p", "--json", str(report_path)],
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert "Shot plan" in proc.stdout and str(out) in proc.stdout
    _check_video(out, duration=6, size=(360, 640))
    report = json.loads(report_path.read_text())
    assert report["output"]["path"] == str(out.resolve())
    assert set(report["timings_s"]) >= {"plan", "generate", "render", "total"}
    assert report["plan"]["aspect_ratio"] == "9:16"


def _run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*SHOTSMITH, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def _assert_clean_failure(proc: subprocess.CompletedProcess, pattern: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    assert pattern in proc.stderr, proc.stderr


def test_empty_brief_fails_cleanly(tmp_path):
    proc = _run_cli("run", "   ", "-o", str(tmp_path / "x.mp4"))
    _assert_clean_failure(proc, "the brief is empty")
    assert not (tmp_path / "x.mp4").exists()


def test_absurd_duration_is_capped_and_said(tmp_path):
    proc = _run_cli("run", "a 5 hours film about trains", "-o", str(tmp_path / "t.mp4"), "--plan-only")
    assert proc.returncode == 0, proc.stderr
    assert "capped at 600 s" in proc.stdout


def test_unwritable_output_path_fails_cleanly(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("I am a file")
    proc = _run_cli("run", "a 4 second clip of rain", "-o", str(blocker / "out.mp4"))
    _assert_clean_failure(proc, "is a file, not a folder")


@pytest.mark.slow
def test_output_over_a_source_clip_is_refused(tmp_path):
    project = tmp_path / "proj"
    out = tmp_path / "rain.mp4"
    assert _run_cli("run", "a 3 second clip of rain", "-o", str(out), "-p", str(project), "-r", "360p").returncode == 0
    clip = next((project / "clips").glob("*.mp4"))
    before = clip.read_bytes()
    proc = _run_cli("run", "a 3 second clip of rain", "-o", str(clip), "-p", str(project), "-r", "360p")
    _assert_clean_failure(proc, "source file")
    assert clip.read_bytes() == before


def test_missing_ffmpeg_fails_cleanly(tmp_path):
    proc = _run_cli("run", "a 3 second clip of rain", "-o", str(tmp_path / "r.mp4"),
                    env={"SHOTSMITH_FFMPEG": str(tmp_path / "no-ffmpeg")})
    _assert_clean_failure(proc, "does not exist")
    assert not (tmp_path / "r.mp4").exists()


def test_failing_ffmpeg_leaves_nothing_half_written(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Conversion failed!' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    proc = _run_cli("run", "a 3 second clip of rain", "-o", str(tmp_path / "r.mp4"), env={"SHOTSMITH_FFMPEG": str(fake)})
    _assert_clean_failure(proc, "Conversion failed!")
    assert not (tmp_path / "r.mp4").exists()
    leftovers = [p for p in tmp_path.rglob("*") if ".part" in p.name]
    assert leftovers == []


def test_every_command_has_help():
    import typer

    from shotsmith.cli import build_app

    root = typer.main.get_command(build_app())
    assert "run" in root.commands
    for name, command in root.commands.items():
        subcommands = getattr(command, "commands", {}) or {}
        for path in [[name], *([name, sub] for sub in subcommands)]:
            proc = _run_cli(*path, "--help")
            assert proc.returncode == 0, f"{' '.join(path)} --help failed: {proc.stderr}"
            assert "Usage" in proc.stdout


def test_missing_backend_key_fails_before_anything_is_planned_or_created(tmp_path):
    out = tmp_path / "b.mp4"
    proc = _run_cli("run", "a 10 second ad for a bike shop", "-o", str(out), "--backend", "runway", "--yes",
                    env={"RUNWAYML_API_SECRET": ""})
    _assert_clean_failure(proc, "no API key for runway")
    assert "Shot plan" not in proc.stdout
    assert not (tmp_path / "b.shotsmith").exists() and not out.exists()
