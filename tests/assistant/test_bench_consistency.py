"""bench/bench_consistency.py --smoke: storyboard-first against text-to-video, offline and against the Runway mock.

The bench's figures go in bench/README.md; here it runs scaled down (two shots) and its claims are checked
from what it printed: the storyboard path sends every shot from a first frame and every still with both cast
members' references (in the project's records and on the wire), the text-to-video path none, and the cast's
reference images reach the storyboard path's pictures and not the previz cards.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_consistency.py"


@pytest.mark.timeout(300)
def test_the_consistency_bench_runs_scaled_down(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH), "--smoke"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines
                                              if line.startswith("| ") and not line.startswith("| path"))}
    assert rows["offline storyboard-first"][1:3] == ["2/2 (100 %)", "2/2 (100 %)"]
    assert rows["offline t2v (--keyframes off)"][1:3] == ["0/2 (0 %)", "0/0"]
    assert rows["mock runway storyboard-first"][1:3] == ["2/2 (100 %)", "2/2 (100 %)"]
    assert rows["mock runway t2v (--keyframes off)"][1:3] == ["0/2 (0 %)", "0/0"]
    assert rows["mock runway storyboard-first"][3:6] == ["-", "-", "-"]  # no pixel figure from the mock's fixed clip
    assert ("mock runway storyboard-first: runway mock received text_to_video 0, image_to_video 2, "
            "with promptImage 2, text_to_image 2, with both @tags 2") in lines
    assert "mock runway t2v (--keyframes off): runway mock received text_to_video 2, image_to_video 0" in done.stdout
    match = re.fullmatch(r"consistency storyboard ([0-9.]+) vs t2v ([0-9.]+)", lines[-1])
    assert match, lines[-1]
    storyboard, t2v = (float(v) for v in match.groups())
    assert t2v == 0.0 and storyboard > 0.0  # the references reach the panels' pixels; the previz cards show none
    assert re.fullmatch(r"ssim storyboard [0-9.]+ vs t2v [0-9.]+", lines[-2])
