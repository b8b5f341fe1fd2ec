"""``shotsmith run`` end to end, offline: brief in, a playable H.264/AAC MP4 out; and every way it refuses.

Runs through the Python API and the real console script (with the priced test
backends registered by ``tests.assistant._run_cli``), then probes and decodes
the output with PyAV. Spending: exit 3 and nothing sent without approval,
``--max-cost`` counted across runs from the project's ledger, cached reruns
free and key-less.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from shotsmith.assistant import ServiceOptions, drive_brief, open_session
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore

COFFEE = ("A 15 second ad for a coffee shop: morning light, a barista pouring latte art, happy customers, "
          "warm cinematic grade")
REPO = Path(__file__).resolve().parents[2]
RUNNER = [sys.executable, "-m", "tests.assistant._run_cli"]


def run_cli(*args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([*RUNNER, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def assert_clean_failure(proc: subprocess.CompletedProcess, pattern: str, code: int | None = None) -> None:
    assert proc.returncode != 0
    if code is not None:
        assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert pattern in proc.stderr, proc.stderr


def _edge_frames(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="gray") for f in container.decode(video=0)]
    return frames[0], frames[-1]


def check_video(path: Path, *, duration: float, size: tuple[int, int]) -> None:
    info = probe(path)
    assert info.video is not None and info.video.codec == "h264"
    assert info.video.pixel_format == "yuv420p"
    assert (info.video.width, info.video.height) == size
    assert info.audio and info.audio[0].codec == "aac"
    assert info.duration_s == pytest.approx(duration, abs=0.2)
    first, last = _edge_frames(path)
    assert first.mean() > 20 and last.mean() > 20, "first and last frames are not black"


def generation_count(project: Path, *, paid_only: bool = True) -> int:
    """Generations on the run's backend (the free storyboard stills drawn by sketch first do not count)."""
    records = json.loads((project / "project.json").read_text())["generations"].values()
    return sum(1 for r in records if not paid_only or r["backend"] != "sketch")


@pytest.mark.slow
def test_coffee_brief_through_the_python_api(tmp_path):
    events = []
    out = tmp_path / "coffee.mp4"
    session = open_session(tmp_path / "coffee.shotsmith", options=ServiceOptions(resolution="360p", outputs=(out,)))
    report, error = drive_brief(session, COFFEE, out, on_event=events.append)
    assert error is None, error
    check_video(out, duration=15, size=(640, 360))
    assert abs(report.output.duration_s - 15) <= 0.2
    assert report.backend == "animatic" and report.planner == "offline planner"
    assert len(report.shots) == len(report.plan["shots"]) and not any(s.cached for s in report.shots)
    kinds = {type(e).__name__ for e in events}
    assert {"PlanUpdated", "GenerationProgress", "RenderProgress", "OutputWritten", "Notice"} <= kinds

    # The same brief again in the same project: every shot is a cache hit.
    again = open_session(tmp_path / "coffee.shotsmith", options=ServiceOptions(outputs=(out,)))
    report, error = drive_brief(again, COFFEE, out)
    assert error is None and all(s.cached for s in report.shots)


@pytest.mark.slow
def test_cli_run_vertical_brief_with_json_report(tmp_path):
    out = tmp_path / "out" / "reel.mp4"
    report_path = tmp_path / "report.json"
    proc = run_cli("run", "A 6 second vertical clip for Reels: steam rising from a cup, soft pastel style",
                   "-o", str(out), "--resolution", "360p", "--json", str(report_path))
    assert proc.returncode == 0, proc.stderr
    assert "Shot plan" in proc.stdout and str(out) in proc.stdout
    check_video(out, duration=6, size=(360, 640))
    report = json.loads(report_path.read_text())
    assert report["output"]["path"] == str(out.resolve())
    assert set(report["timings_s"]) >= {"plan", "generate", "render", "total"}
    assert report["plan"]["aspect_ratio"] == "9:16"
    assert report["cost"]["spent_usd"] == 0 and report["exit_code"] == 0


def test_empty_brief_fails_cleanly(tmp_path):
    proc = run_cli("run", "   ", "-o", str(tmp_path / "x.mp4"))
    assert_clean_failure(proc, "the brief is empty", 2)
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "x.shotsmith").exists()


def test_absurd_duration_is_capped_and_said_and_plan_only_draws_no_bars(tmp_path):
    proc = run_cli("run", "a 5 hours film about trains", "-o", str(tmp_path / "t.mp4"), "--plan-only")
    assert proc.returncode == 0, proc.stderr
    assert "capped at 600 s" in proc.stdout
    assert "━" not in proc.stdout.split("Shot plan")[-1].split("┘")[-1]  # nothing after the table: no bars
    assert "plan saved" in proc.stdout


def test_a_yaml_file_is_not_read_as_a_brief(tmp_path):
    plan = tmp_path / "brief.yaml"
    plan.write_text("shots: []\n")
    proc = run_cli("run", str(plan), "-o", str(tmp_path / "y.mp4"))
    assert_clean_failure(proc, "only from .txt or .md", 2)


def test_brief_from_a_text_file(tmp_path):
    brief = tmp_path / "brief.md"
    brief.write_text("# Ad\nA 4 second clip of rain on a window, 2 shots\n")
    proc = run_cli("run", str(brief), "-o", str(tmp_path / "r.mp4"), "--plan-only", "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["plan"]["shots"][1]


def test_unwritable_output_path_fails_cleanly(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("I am a file")
    proc = run_cli("run", "a 4 second clip of rain", "-o", str(blocker / "out.mp4"))
    assert_clean_failure(proc, "is a file, not a folder", 2)


@pytest.mark.slow
def test_output_over_a_source_clip_is_refused(tmp_path, make_clip):
    project = tmp_path / "proj"
    out = tmp_path / "rain.mp4"
    assert run_cli("run", "a 3 second clip of rain", "-o", str(out), "-p", str(project), "-r", "360p").returncode == 0
    footage = make_clip("beach.mp4", duration=1, size="320x240", folder=project / "assets")
    still = next(p for p in (project / "clips").iterdir() if p.is_file())  # the animatic's clips are stills
    for source, refusal in ((footage, "source file"), (still, "must end in")):
        before = source.read_bytes()
        proc = run_cli("run", "a 3 second clip of rain", "-o", str(source), "-p", str(project), "-r", "360p")
        assert_clean_failure(proc, refusal)
        assert source.read_bytes() == before


def test_missing_ffmpeg_fails_cleanly(tmp_path):
    proc = run_cli("run", "a 3 second clip of rain", "-o", str(tmp_path / "r.mp4"),
                   env={"SHOTSMITH_FFMPEG": str(tmp_path / "no-ffmpeg")})
    assert_clean_failure(proc, "does not exist")
    assert not (tmp_path / "r.mp4").exists()


def test_failing_ffmpeg_leaves_nothing_half_written(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Conversion failed!' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    proc = run_cli("run", "a 3 second clip of rain", "-o", str(tmp_path / "r.mp4"), env={"SHOTSMITH_FFMPEG": str(fake)})
    assert_clean_failure(proc, "Conversion failed!")
    assert not (tmp_path / "r.mp4").exists()
    assert [p for p in tmp_path.rglob("*") if ".part" in p.name] == []


def test_missing_backend_key_fails_before_anything_is_planned_or_created(tmp_path):
    out = tmp_path / "b.mp4"
    proc = run_cli("run", "a 10 second ad for a bike shop", "-o", str(out), "--backend", "runway", "--yes",
                   env={"RUNWAYML_API_SECRET": ""})
    assert_clean_failure(proc, "no API key for runway")
    assert "Shot plan" not in proc.stdout
    assert not (tmp_path / "b.shotsmith").exists() and not out.exists()


# -- spending ---------------------------------------------------------------------------------------
def test_paid_backend_without_yes_exits_3_and_sends_nothing(tmp_path):
    out = tmp_path / "p.mp4"
    proc = run_cli("run", "a 4 second clip of rain, 2 shots", "-o", str(out), "--backend", "priced-test", "-r", "360p",
                   "--json", str(tmp_path / "p.json"))
    assert_clean_failure(proc, "needs approval", 3)
    assert generation_count(tmp_path / "p.shotsmith") == 0
    report = json.loads((tmp_path / "p.json").read_text())
    assert report["exit_code"] == 3 and report["cost"]["spent_usd"] == 0 and not out.exists()


def test_yes_records_a_typed_approval_and_the_unit_is_usd(tmp_path):
    out = tmp_path / "y.mp4"
    proc = run_cli("run", "a 4 second clip of rain, 2 shots", "-o", str(out), "--backend", "priced-test", "-r", "360p",
                   "--yes", "--json", str(tmp_path / "y.json"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "y.json").read_text())
    [approval] = report["approvals"]
    assert approval["approved"] and approval["by"] == "--yes" and approval["shots"] == [1, 2]
    assert approval["usd"] == pytest.approx(0.4 + 0.04, abs=0.05)  # 4 s (+ a transition handle) at 0.10 USD/s
    assert report["cost"]["spent_usd"] == pytest.approx(approval["usd"])
    assert "spent 0.4" in proc.stdout


def test_max_cost_holds_across_runs_from_the_ledger(tmp_path):
    project = tmp_path / "budget"
    first = run_cli("run", "a 4 second clip of rain, 2 shots", "-o", str(tmp_path / "a.mp4"), "-p", str(project),
                    "--backend", "priced-test", "-r", "360p", "--yes", "--max-cost", "0.5")
    assert first.returncode == 0, first.stderr
    spent = ProjectStore.open(project).project.spending.spent_usd
    assert 0.3 < spent <= 0.5
    # A different brief in the same project would spend another ~0.4: over the 0.5 USD cap in total.
    second = run_cli("run", "a 4 second clip of snow falling on a street, 2 shots", "-o", str(tmp_path / "b.mp4"),
                     "-p", str(project), "--backend", "priced-test", "-r", "360p", "--yes", "--max-cost", "0.5")
    assert_clean_failure(second, "exceeds --max-cost 0.5", 3)
    assert ProjectStore.open(project).project.spending.spent_usd == spent
    assert not (tmp_path / "b.mp4").exists()


def test_a_fully_cached_rerun_needs_no_key_and_no_budget(tmp_path):
    project = tmp_path / "cached"
    brief = "a 4 second clip of rain, 2 shots"
    first = run_cli("run", brief, "-o", str(tmp_path / "a.mp4"), "-p", str(project), "--backend", "envkey-test",
                    "-r", "360p", "--yes", env={"ENVKEY_TEST_KEY": "k-123456"})
    assert first.returncode == 0, first.stderr
    again = run_cli("run", brief, "-o", str(tmp_path / "b.mp4"), "-p", str(project), "--backend", "envkey-test",
                    "-r", "360p", "--max-cost", "0.01", env={"ENVKEY_TEST_KEY": ""})
    assert again.returncode == 0, again.stderr
    assert "2 shot(s) from cache" in again.stdout


@pytest.mark.slow
def test_ctrl_c_during_a_run_prints_cancelled_and_exits_130(tmp_path):
    out = tmp_path / "slow.mp4"
    proc = subprocess.Popen([*RUNNER, "run", "a 6 second clip of rain, 3 shots", "-o", str(out), "--backend",
                             "slow-test", "-r", "360p"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "SHOTSMITH_TEST_SLOW_S": "3"})
    project = tmp_path / "slow.shotsmith"
    deadline = time.monotonic() + 60
    while not (project / "project.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, stderr)
    assert "cancelled" in stderr and "Traceback" not in stderr + stdout
    assert not out.exists()
