"""``shotsmith run --llm`` and ``shotsmith chat`` as real processes against the scripted server.

Covers the exit code contract (0 only when the file was written), the JSON
report, ``--max-cost`` and missing approval stopping before any spending, a run
killed mid-generation and resumed without redoing finished shots, and the key
never appearing in output, logs or the project folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.assistant._fake_openai import call, say
from tests.assistant._assistant_helpers import FAKE_KEY
from shotsmith.media.probe import probe

RUNNER = [sys.executable, "-m", "tests.assistant._run_cli"]
REPO = Path(__file__).resolve().parents[2]
BRIEF = "A 3 second teaser for a bike shop, 3 shots"
SHOTS = [{"subject": "a cyclist", "action": "racing downhill", "camera": "pan_right", "duration_s": 1},
         {"subject": "a mechanic", "action": "tightening a wheel", "camera": "zoom_in", "duration_s": 1},
         {"subject": "the shop sign", "action": "lighting up at dusk", "camera": "tilt_up", "duration_s": 1}]


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "OPENAI_API_KEY": FAKE_KEY, "SHOTSMITH_LOAD_PLUGINS": "",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])), **extra}


def run_args(fake_llm, out: Path, *more: str) -> list[str]:
    return [*RUNNER, "-v", "run", BRIEF, "-o", str(out), "--llm", "openai:fake-model", "--llm-base-url",
            fake_llm.base_url, "-r", "360p", "--fps", "24", *more]


def assert_no_key(*texts: str, folder: Path | None = None) -> None:
    for text in texts:
        assert FAKE_KEY not in text
    for path in (folder.rglob("*") if folder else []):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_run_with_llm_writes_the_video_and_a_report(tmp_path, fake_llm):
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), call("generate_shots", {}),
                 call("render", {}), say("Done."))
    out = tmp_path / "bike.mp4"
    proc = subprocess.run([*run_args(fake_llm, out), "--json", str(tmp_path / "report.json")], env=env(),
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert probe(out).duration_s == pytest.approx(3.0, abs=0.15)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["planner"] == "openai:fake-model" and report["error"] is None
    assert [c["name"] for c in report["tool_calls"]] == ["plan_shots", "generate_shots", "render"]
    assert all(c["ok"] for c in report["tool_calls"]) and all("seconds" in c for c in report["tool_calls"])
    assert len(report["plan"]["shots"]) == 3 and report["output"]["path"] == str(out.resolve())
    assert report["cost"]["spent_usd"] == 0 and not any(s["cached"] for s in report["shots"])
    assert {"generate", "render", "total"} <= set(report["timings_s"])
    assert "Traceback" not in proc.stderr
    assert_no_key(proc.stdout, proc.stderr, folder=tmp_path)


def test_max_cost_stops_before_spending(tmp_path, fake_llm):
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), call("generate_shots", {}))
    out = tmp_path / "bike.mp4"
    proc = subprocess.run([*run_args(fake_llm, out), "--backend", "priced-test", "--yes", "--max-cost", "0.2",
                           "--json", str(tmp_path / "r.json")], env=env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "max-cost" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() and not list((tmp_path / "bike.shotsmith" / "clips").glob("*.*"))
    report = json.loads((tmp_path / "r.json").read_text())
    assert "max-cost" in report["error"] and report["cost"]["spent_usd"] == 0 and report["exit_code"] == 3
    assert report["cost"]["estimate_usd"] == pytest.approx(0.3, abs=0.05)


def test_paid_generation_without_yes_stops_and_spends_nothing(tmp_path, fake_llm):
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), call("generate_shots", {}))
    out = tmp_path / "bike.mp4"
    proc = subprocess.run(run_args(fake_llm, out, "--backend", "priced-test"), env=env(), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3 and "--yes" in proc.stderr
    assert not list((tmp_path / "bike.shotsmith" / "clips").glob("*.*"))


def test_free_but_long_gpu_generation_also_needs_approval(tmp_path):
    out = tmp_path / "gpu.mp4"
    proc = subprocess.run([*RUNNER, "run", BRIEF, "-o", str(out), "--backend", "gpu-test", "-r", "360p"],
                          env=env(OPENAI_API_KEY=""), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 3 and "long GPU time" in proc.stderr and "--yes" in proc.stderr
    assert not out.exists()


def test_offline_run_obeys_max_cost_too(tmp_path):
    proc = subprocess.run([*RUNNER, "run", BRIEF, "-o", str(tmp_path / "o.mp4"), "--backend", "priced-test",
                           "--max-cost", "0.05", "-r", "360p"], env=env(OPENAI_API_KEY=""), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 3 and "max-cost" in proc.stderr
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.slow
def test_a_killed_run_resumes_without_redoing_finished_shots(tmp_path, fake_llm):
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), call("generate_shots", {}),
                 call("render", {}), say("Done."))
    out = tmp_path / "bike.mp4"
    project = tmp_path / "bike.shotsmith" / "project.json"
    args = run_args(fake_llm, out, "--backend", "slow-test", "--json", str(tmp_path / "r.json"))
    proc = subprocess.Popen(args, env=env(SHOTSMITH_TEST_SLOW_S="1.5"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    finished: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not finished:
        time.sleep(0.1)
        try:
            records = json.loads(project.read_text())["generations"]
        except (OSError, ValueError, KeyError):
            continue
        finished = [k for k, r in records.items() if r["status"] == "succeeded"]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert finished, "the first shot never finished"
    assert not out.exists()
    kept = json.loads(project.read_text())["generations"]
    done_before = {k for k, r in kept.items() if r["status"] == "succeeded"}
    assert 1 <= len(done_before) < 3
    assert len(fake_llm.requests) == 2  # planned, then asked to generate; killed inside the tool

    again = subprocess.run(args, env=env(SHOTSMITH_TEST_SLOW_S="0.1"), capture_output=True, text=True, timeout=240)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Resuming" in again.stdout
    assert probe(out).duration_s == pytest.approx(3.0, abs=0.15)
    report = json.loads((tmp_path / "r.json").read_text())
    assert sum(s["cached"] for s in report["shots"]) == len(done_before)
    assert fake_llm.exhausted == 0 and fake_llm.remaining == 0


def test_chat_command_offline_continues_after_restart(tmp_path):
    project = tmp_path / "p"
    first = subprocess.run([*RUNNER, "chat", "-p", str(project), "-r", "360p", "-m",
                            "A 4 second ad for a flower shop, 2 shots: a florist tying a bouquet, a happy customer"],
                           env=env(OPENAI_API_KEY=""), capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "offline planner" in first.stdout and "Planned 2 shots" in first.stdout
    second = subprocess.run([*RUNNER, "chat", "-p", str(project), "-r", "360p", "-m", "swap the last two"],
                            env=env(OPENAI_API_KEY=""), capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "florist" in second.stdout  # the history is shown again
    assert "swapped shots 1 and 2" in second.stdout


def test_plan_only_with_a_model_plans_and_stops(tmp_path, fake_llm):
    fake_llm.add(call("plan_shots", {"brief": BRIEF, "shots": SHOTS}), say("Here is the plan."))
    out = tmp_path / "bike.mp4"
    proc = subprocess.run([*run_args(fake_llm, out), "--plan-only"], env=env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "plan saved" in proc.stdout and not out.exists()
    project = json.loads((tmp_path / "bike.shotsmith" / "project.json").read_text())
    assert project["plan"]["planner"] == "openai:fake-model" and len(project["plan"]["shots"]) == 3


@pytest.mark.slow
def test_offline_paid_run_with_yes_records_the_approval(tmp_path):
    out = tmp_path / "o.mp4"
    proc = subprocess.run([*RUNNER, "run", "A 2 second clip of rain on a window", "-o", str(out), "--backend",
                           "priced-test", "--yes", "--max-cost", "5", "-r", "360p", "--fps", "24", "--json",
                           str(tmp_path / "r.json")], env=env(OPENAI_API_KEY=""), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["planner"] == "offline planner"
    [approval] = report["approvals"]
    assert approval["approved"] and approval["by"] == "--yes" and approval["backend"] == "priced-test"
    assert approval["usd"] == pytest.approx(0.2, abs=0.01) and approval["unit"] == "USD"
    assert out.exists()
