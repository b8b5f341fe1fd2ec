"""Demo bench: the offline run, brief to MP4, against a bare encode of the same output.

Run: ``.venv/bin/python bench/bench_demo.py [--repeat 1] [--write-readme]``

In the same script, alternating so both see the same machine:

* **offline run**: ``shotsmith run examples/briefs/coffee-shop.txt -o OUT`` in a fresh
  project (nothing cached): the offline planner, the ``sketch`` keyframes, the
  ``animatic`` backend (a still card per shot from its keyframe), the render (the stills
  moved by their cameras, the slates, the dissolves), the CLI's own start-up included;
* **floor**: a bare ffmpeg encode of the same output (its picture and sound decoded
  and encoded again with the project's encoder settings: same length, size, codecs).

Target: the offline run within 2.0x the floor (wall time; CPU time is reported too,
the steadier figure on a shared machine). ``--write-readme`` puts the figures under
``## Offline demo`` in bench/README.md. Exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import probe
from shotsmith.timeline import OutputSettings
from shotsmith.tools.encoding import encoder_args

from bench_render import Timer, write_readme  # a sibling script (run as `python bench/bench_demo.py`): wall/CPU of a block, README sections

ROOT = Path(__file__).resolve().parent.parent
BRIEF = ROOT / "examples" / "briefs" / "coffee-shop.txt"
TARGET = 2.0


def offline_run(folder: Path) -> tuple[Timer, Path, Path]:
    out, project = folder / "demo.mp4", folder / "project"
    command = [str(Path(sys.executable).parent / "shotsmith"), "run", str(BRIEF), "-o", str(out), "-p", str(project)]
    with Timer() as t:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return t, out, project


def floor(source: Path, settings: OutputSettings, out: Path) -> Timer:
    with Timer() as t:
        run_ffmpeg(["-i", str(source), "-map", "0:v", "-map", "0:a?", *encoder_args(settings), str(out)])
    return t


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="Runs of each (medians are reported).")
    parser.add_argument("--write-readme", action="store_true", help="Write the figures to bench/README.md.")
    args = parser.parse_args()
    runs, floors = [], []
    with tempfile.TemporaryDirectory(prefix="shotsmith-bench-demo-") as tmp:
        for n in range(args.repeat):
            folder = Path(tmp) / f"run{n}"
            folder.mkdir()
            timer, out, project = offline_run(folder)
            runs.append(timer)
            settings = OutputSettings.model_validate(
                json.loads((project / "project.json").read_text(encoding="utf-8"))["timeline"]["output"])
            floors.append(floor(out, settings, folder / "floor.mp4"))
        info = probe(out)
        video = info.video
        assert video is not None
        shots = len(json.loads((project / "project.json").read_text(encoding="utf-8"))["plan"]["shots"])
        cards = [p for p in (project / "clips").iterdir() if p.is_file()]
        kinds = ", ".join(sorted({p.suffix.lstrip(".").upper() for p in cards}))
    wall, cpu = statistics.median(t.wall for t in runs), statistics.median(t.cpu for t in runs)
    floor_wall, floor_cpu = statistics.median(t.wall for t in floors), statistics.median(t.cpu for t in floors)
    ratio, cpu_ratio = wall / floor_wall, cpu / floor_cpu
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), load average {load:.1f} at the end; Python "
        f"{platform.python_version()}. Brief `examples/briefs/coffee-shop.txt`, offline planner, `animatic` backend: "
        f"{shots} shots, {info.duration_s:.1f} s, {video.width}x{video.height} {video.codec} + "
        f"{info.audio[0].codec if info.audio else 'no sound'}; the shots' {len(cards)} clips are {kinds} stills. "
        f"Medians of {args.repeat} run(s); CPU = user+system seconds of all processes.",
        "",
        "| run | wall s | CPU s | ratio (wall / CPU) |",
        "|---|---:|---:|---:|",
        f"| floor: bare ffmpeg encode of the same output | {floor_wall:.2f} | {floor_cpu:.2f} | 1.00x |",
        f"| `shotsmith run` brief to MP4 (fresh project) | {wall:.2f} | {cpu:.2f} | {ratio:.2f}x / {cpu_ratio:.2f}x "
        f"(target <= {TARGET}x) |",
        "",
        "How: storyboard first, as every run: `sketch` draws each shot's keyframe (a PNG at the frame size, pure "
        "drawing; its labels kept as text beside it), the `animatic` turns it into a still card at half the Ken "
        "Burns canvas whose slate (shot, framing, subject, setting, camera) is text too; the one render pass "
        "(incremental into the empty segment cache, its runs split over the cores when the load average leaves "
        "one idle) flies each shot's camera over its card and draws the slates static over the cut; the sound "
        "is mixed once into the cache and copied in. Before (6.3x), each shot was an MP4 encoded and the cut "
        "encoded again. Where the rest goes (CPU s, one run at load 7): the render's ffmpeg about 5.1 (x264 about "
        "3.4, as in the floor; the sub-pixel `perspective` camera about 0.9; the rest of the graph about 0.7), "
        "shotsmith's own Python about 1.1 (imports 0.4, drawing and writing 5 panels and 5 cards 0.3, probes, "
        "project saves), the sound mix and the join about 0.15. On a busy machine the serial Python part also "
        "waits for the disk (each project save is fsynced).",
        "",
        f"Reproduce: `.venv/bin/python bench/bench_demo.py --repeat {args.repeat}`.",
    ]
    text = "\n".join(lines)
    print(text)
    failures = [f"the offline run took {ratio:.2f}x a bare encode (target <= {TARGET}x)"] if ratio > TARGET else []
    for failure in failures:
        print(f"FAIL: {failure}")
    if args.write_readme:
        write_readme(text + ("\n\nNot met: " + "; ".join(failures) if failures else ""), heading="Offline demo")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
