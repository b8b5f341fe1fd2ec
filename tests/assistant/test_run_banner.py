"""Who answers is said once: the command's own line (with the project) and not again by the session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_run_and_chat_say_who_answers_once(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-m", "shotsmith", "run", "a 4 second ad for a bakery, 2 shots",
                          "-o", str(tmp_path / "ad.mp4"), "--plan-only"], capture_output=True, text=True, env=env,
                         timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr
    assert (run.stdout + run.stderr).count("Answering:") == 1 and "· project" in run.stdout
    chat = subprocess.run([sys.executable, "-m", "shotsmith", "chat", "-p", str(tmp_path / "ad.shotsmith"),
                           "-m", "show the plan"], capture_output=True, text=True, env=env, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert chat.returncode == 0, chat.stderr
    assert (chat.stdout + chat.stderr).count("Answering:") == 1
