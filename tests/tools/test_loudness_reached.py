"""A mix that cannot reach its loudness target says what it reached (user review of #13): the render result
carries it, a cached mix keeps it (a render that reuses the mix reports it too), the CLI summary shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.tools.editplan import dump_plan, load_plan
from shotsmith.tools.incremental import render_incremental
from shotsmith.tools.render import LoudnessReached, render_timeline


def clicks_plan(folder: Path, *, ceiling_bound: bool = True) -> Path:
    """Sparse full-scale pings (or a steady tone): the pings' peaks sit at the ceiling long before their
    short energy reaches -14 LUFS, so more gain is limited away."""
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=160x120:r=30", "-t", "2", "-c:v", "libx264", "-preset",
                "ultrafast", "-pix_fmt", "yuv420p", str(folder / "picture.mp4")])
    sound = ("aevalsrc='0.99*sin(2*PI*1000*t)*exp(-300*mod(t,0.5))':d=2:s=48000" if ceiling_bound
             else "sine=f=440:sample_rate=48000:d=2,volume=0.05")
    run_ffmpeg(["-f", "lavfi", "-i", sound, "-c:a", "aac", str(folder / "sound.m4a")])
    plan = folder / "mix.yaml"
    plan.write_text(dump_plan({"version": 1, "output": {"width": 160, "height": 120, "preset": "ultrafast",
                                                        "loudness_lufs": -14.0},
                               "clips": [{"source": "picture.mp4", "out_s": 2}],
                               "audio": [{"source": "sound.m4a"}]}))
    return plan


def test_a_ceiling_bound_mix_reports_the_loudness_it_reached_also_from_the_cached_mix(tmp_path):
    timeline, resolve = load_plan(clicks_plan(tmp_path))
    one_pass = render_timeline(timeline, tmp_path / "a.mp4", resolve=resolve).loudness
    assert one_pass is not None and one_pass.limited and one_pass.target_lufs == -14.0
    assert one_pass.reached_lufs < -14.5
    first = render_incremental(timeline, tmp_path / "b.mp4", cache=tmp_path / "cache", resolve=resolve)
    assert first.sound == "mixed" and first.render.loudness == one_pass
    again = render_incremental(timeline, tmp_path / "c.mp4", cache=tmp_path / "cache", resolve=resolve)
    assert again.sound == "cached" and again.render.loudness == one_pass  # nothing measured, still said
    text = one_pass.describe()
    assert text.startswith(f"loudness \u2212{abs(one_pass.reached_lufs):.1f} LUFS (target \u221214; limited by")


def test_a_mix_on_target_says_so_without_a_limit(tmp_path):
    timeline, resolve = load_plan(clicks_plan(tmp_path, ceiling_bound=False))
    reached = render_timeline(timeline, tmp_path / "a.mp4", resolve=resolve).loudness
    assert reached == LoudnessReached(target_lufs=-14.0, reached_lufs=-14.0, limited=False)
    assert reached.describe() == "loudness \u221214.0 LUFS (target \u221214)"
    plain = timeline.output.model_copy(update={"loudness_lufs": None})
    assert render_timeline(timeline, tmp_path / "b.mp4", resolve=resolve, settings=plain).loudness is None


def test_the_render_command_shows_it(tmp_path, capsys):
    from shotsmith.cli import main

    plan = clicks_plan(tmp_path)
    assert main(["render", str(plan), "-o", str(tmp_path / "web.mp4")]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "web.mp4" in line and "LUFS (target \u221214; limited by the true-peak ceiling)" in line


pytestmark = pytest.mark.timeout(120)


def test_the_run_summary_and_report_show_it(tmp_path, capsys):
    """`run` with a music bed renders loudness-normalised (through the project's cached mix)."""
    import json

    from shotsmith.cli import main

    clicks_plan(tmp_path)
    code = main(["run", "a 2 second ad for tea", "--music", str(tmp_path / "sound.m4a"), "-o",
                 str(tmp_path / "run.mp4"), "-r", "360p", "--json", str(tmp_path / "r.json")])
    assert code == 0
    out = capsys.readouterr().out
    summary = next(line for line in out.splitlines() if "wrote" in line and "run.mp4" in line and "·" in line)
    assert "LUFS (target \u221214; limited by the true-peak ceiling)" in summary
    loudness = json.loads((tmp_path / "r.json").read_text())["output"]["loudness"]
    assert loudness["limited"] and loudness["reached_lufs"] < -14.5
