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
    keyframes = _keyframe_rows(done.stdout)  # without --clip-model: the colour/structure test, per image backend
    assert list(keyframes) == ["sketch", "runway-image"]
    assert keyframes["sketch"] == ["colour/structure", "1.00", "1.00", "1.00"]


def _tiny_clip(folder: Path) -> Path:
    """A random-weight CLIP saved like a model folder (no hub): its similarities mean nothing, its shapes do."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    tiny = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = transformers.CLIPConfig(text_config=tiny, vision_config={**tiny, "image_size": 32, "patch_size": 8},
                                     projection_dim=16)
    transformers.CLIPModel(config).save_pretrained(str(folder))
    transformers.CLIPImageProcessor(size={"shortest_edge": 32},
                                    crop_size={"height": 32, "width": 32}).save_pretrained(str(folder))
    return folder


def _keyframe_rows(stdout: str) -> dict[str, list[str]]:
    start = stdout.index("| backend | measure |")
    rows = {}
    for line in stdout[start:].splitlines()[2:]:
        if not line.startswith("| "):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.timeout(120)
def test_the_bench_scores_each_backends_keyframes_by_clip_similarity_from_local_folders(tmp_path, tmp_path_factory):
    """Tiny random CLIP and tiny random SD 1.5: the CLIP path runs over sketch's and diffusers-image's keyframes."""
    pytest.importorskip("diffusers")
    from tests.backends.tiny_image_pipelines import shared_stable_diffusion

    clip = _tiny_clip(tmp_path / "tiny-clip")
    done = subprocess.run([sys.executable, str(BENCH), "--smoke", "--no-mock", "--clip-model", str(clip),
                           "--clip-threshold", "0.5", "--image-model", str(shared_stable_diffusion(tmp_path_factory))],
                          cwd=tmp_path, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr[-3000:]
    assert ("keyframes against the cast's references, measure: CLIP image cosine >= 0.50 (tiny-clip, whole keyframe)"
            in done.stdout)
    rows = _keyframe_rows(done.stdout)
    assert list(rows) == ["sketch", "diffusers-image"]  # the t2v run keeps no keyframes; no mock
    for measure, *shares in rows.values():
        assert measure == "CLIP >= 0.50"
        assert len(shares) == 3 and all(0.0 <= float(v) <= 1.0 for v in shares)
    assert done.stdout.strip().splitlines()[-1] == "consistency storyboard 1.00 vs t2v 0.00"  # the colour path still


def test_the_colour_measure_scores_the_keyframes_and_a_bad_clip_folder_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(BENCH), "--smoke", "--no-mock"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=110)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "measure: colour/structure (one connected patch" in done.stdout
    assert _keyframe_rows(done.stdout)["sketch"][1:] == ["1.00", "1.00", "1.00"]
    (tmp_path / "empty").mkdir()
    bad = subprocess.run([sys.executable, str(BENCH), "--smoke", "--clip-model", str(tmp_path / "empty")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=110)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--clip-model" in bad.stderr and "not a CLIP model folder" in bad.stderr
