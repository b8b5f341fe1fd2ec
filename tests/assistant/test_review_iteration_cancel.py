"""Review of issue 11: Ctrl-C in the middle of a run, pressed twice as impatient people do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNNER = [sys.executable, "-m", "tests.assistant._run_cli"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_second_ctrl_c_while_the_turn_cleans_up_is_still_one_line(tmp_path):
    # Found: a second Ctrl-C while the run stopped its turn printed asyncio's 'Task exception was never
    # retrieved' / 'Task was destroyed but it is pending!' with a traceback after 'cancelled'.
    env = {**os.environ, "PYTHONPATH": str(REPO), "SHOTSMITH_TEST_SLOW_S": "4"}
    out = tmp_path / "ad.mp4"
    proc = subprocess.Popen([*RUNNER, "run", "A 6 second ad for a bakery, 2 shots", "-o", str(out), "--backend",
                             "slow-test", "-r", "360p"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "ad.shotsmith" / "project.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # planned, the slow shots are being made
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "asyncio" not in err, err
    assert err.strip().splitlines()[-1] == "cancelled"
    assert not out.exists() and [p for p in tmp_path.rglob("*") if ".part" in p.name] == []
