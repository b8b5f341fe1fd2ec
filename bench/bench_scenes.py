"""Scene-detection bench: our detector against a bare ffmpeg decode of the same file.

Run: ``.venv/bin/python bench/bench_scenes.py [--seconds 30] [--repeat 3] [--stock]``

For 720p and 1080p at 30 fps it makes a test video with ffmpeg: segments of
``testsrc2``, ``mandelbrot`` and ``smptebars`` concatenated so every cut sits
at a known frame, with a sine-tone audio track, encoded with libx264 (B-frames,
a keyframe every 2 s, no keyframes forced at the cuts). It then times, in the
same run and alternating so both see the same machine state:

* the floor: ``ffmpeg -i FILE -f null -`` (a bare decode, the issue's yardstick);
* ``shotsmith.tools.scenes.detect_scenes`` with the content detector (and the
  adaptive one);
* with ``--stock``, PySceneDetect's own pipeline (``open_video(backend="pyav")`` and
  ``SceneManager`` with its auto downscale) for comparison.

Both wall-clock and CPU time are reported: on a shared machine other jobs
stretch wall time unevenly, while the CPU ratio shows the work done.

Checks: every known cut is found within one frame, and no other cut is
reported. Prints the median times and ratios; exits 1 when a check fails or
the content detector takes more than 1.5x the bare decode.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shotsmith.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from shotsmith.tools.scenes import DetectionOptions, detect_scenes

SOURCES = ("testsrc2", "mandelbrot", "smptebars")
#: Segment lengths in frames, cycled until the video is long enough; uneven on purpose.
PATTERN = (75, 120, 48, 96, 150, 66, 105, 84, 57, 99)
TARGET_RATIO = 1.5


def segment_lengths(total_frames: int) -> list[int]:
    lengths: list[int] = []
    i = 0
    while sum(lengths) < total_frames:
        lengths.append(PATTERN[i % len(PATTERN)])
        i += 1
    lengths[-1] -= sum(lengths) - total_frames
    if lengths[-1] < 30:  # keep the last scene long enough to be a scene
        lengths[-2] += lengths.pop()
    return lengths


def make_media(out: Path, size: str, fps: int, seconds: int) -> list[int]:
    """Write the test video; return the frame indices of its cuts."""
    lengths = segment_lengths(seconds * fps)
    args: list[str] = []
    for i, n in enumerate(lengths):
        source = SOURCES[i % len(SOURCES)]
        # Alternate the testsrc2/smptebars phase so repeated sources are not identical.
        args += ["-f", "lavfi", "-i", f"{source}=s={size}:r={fps},trim=start_frame={i * 7}:end_frame={i * 7 + n},setpts=PTS-STARTPTS,format=yuv420p"]
    args += ["-f", "lavfi", "-i", f"sine=f=440:sample_rate=48000:d={seconds}"]
    graph = "".join(f"[{i}:v]" for i in range(len(lengths))) + f"concat=n={len(lengths)}:v=1:a=0[v]"
    args += ["-filter_complex", graph, "-map", "[v]", "-map", f"{len(lengths)}:a",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", str(2 * fps), "-bf", "2", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-b:a", "128k", str(out)]
    run_ffmpeg(args)
    cuts, at = [], 0
    for n in lengths[:-1]:
        at += n
        cuts.append(at)
    return cuts


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


#: CPU seconds of the last timed run, by contender (wall time can lie on a shared machine).
CPU: dict[str, list[float]] = {}


def bare_decode(path: Path) -> float:
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"], check=True)
    wall = time.perf_counter() - start
    CPU.setdefault("decode", []).append(_cpu(resource.RUSAGE_CHILDREN) - cpu)
    return wall


def ours(path: Path, detector: str) -> tuple[float, list[int]]:
    cpu = _cpu(resource.RUSAGE_SELF)
    start = time.perf_counter()
    found = detect_scenes(path, DetectionOptions(detector=detector))
    wall = time.perf_counter() - start
    CPU.setdefault(detector, []).append(_cpu(resource.RUSAGE_SELF) - cpu)
    return wall, found.cuts


def stock(path: Path) -> tuple[float, list[int]]:
    from scenedetect import ContentDetector, SceneManager, open_video

    start = time.perf_counter()
    video = open_video(str(path), backend="pyav")
    manager = SceneManager()
    manager.add_detector(ContentDetector(min_scene_len=15))
    manager.detect_scenes(video)
    cuts = [s[0].frame_num for s in manager.get_scene_list()[1:]]
    return time.perf_counter() - start, cuts


def check(found: list[int], known: list[int]) -> tuple[bool, str]:
    missed = [k for k in known if not any(abs(f - k) <= 1 for f in found)]
    false = [f for f in found if not any(abs(f - k) <= 1 for k in known)]
    exact = sum(1 for k in known if k in found)
    ok = not missed and not false
    return ok, f"{exact}/{len(known)} exact, {len(known) - len(missed)}/{len(known)} within 1 frame, {len(false)} false"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="length of each test video (default 30)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each contender (median kept)")
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--stock", action="store_true", help="also time PySceneDetect's own pyav pipeline")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the test media here (default: a temp folder)")
    opts = parser.parse_args(argv)

    print(f"machine: {platform.machine()} {os.cpu_count()} CPU(s), {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.processor() or 'unknown cpu'}")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        folder = opts.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = []
        for size in opts.sizes.split(","):
            path = folder / f"cuts_{size}_{opts.seconds}s.mp4"
            sidecar = path.with_suffix(".cuts.json")
            started = time.perf_counter()
            if opts.workdir and path.is_file() and sidecar.is_file():
                known = json.loads(sidecar.read_text())  # made by an earlier run with --workdir
            else:
                known = make_media(path, size, 30, opts.seconds)
                sidecar.write_text(json.dumps(known))
            print(f"\n{size}: {opts.seconds}s, {len(known)} cuts, made in {time.perf_counter() - started:.1f}s ({path.stat().st_size / 1e6:.1f} MB)")
            # Warm-up, untimed: page cache, and the one-off imports (cv2, scenedetect) of a first call.
            bare_decode(path)
            ours(path, "content")
            CPU.clear()
            times: dict[str, list[float]] = {"decode": [], "content": [], "adaptive": []}
            results: dict[str, list[int]] = {}
            for _ in range(opts.repeat):
                times["decode"].append(bare_decode(path))
                for detector in ("content", "adaptive"):
                    seconds, results[detector] = ours(path, detector)
                    times[detector].append(seconds)
            if opts.stock:
                cpu = _cpu(resource.RUSAGE_SELF)
                seconds, results["stock"] = stock(path)
                CPU["stock"] = [_cpu(resource.RUSAGE_SELF) - cpu]
                times["stock"] = [seconds]
            floor = statistics.median(times["decode"])
            floor_cpu = statistics.median(CPU["decode"])
            print(f"  bare decode (ffmpeg -f null): {floor:.2f}s wall, {floor_cpu:.2f}s CPU")
            for name in [k for k in times if k != "decode"]:
                median = statistics.median(times[name])
                cpu_ratio = statistics.median(CPU[name]) / floor_cpu if name in CPU else None
                ok, summary = check(results[name], known)
                ratio = median / floor
                label = {"content": "shotsmith content", "adaptive": "shotsmith adaptive", "stock": "PySceneDetect stock (pyav)"}[name]
                cpu_text = f"{cpu_ratio:4.2f}x" if cpu_ratio is not None else "  - "
                print(f"  {label:28s} {median:6.2f}s  {ratio:4.2f}x decode (CPU {cpu_text})  cuts: {summary}")
                if name != "stock":
                    failed |= not ok
                if name == "content" and ratio > TARGET_RATIO:
                    failed = True
                rows.append((size, label, median, floor, ratio, cpu_text.strip(), summary))
    print(f"\nload average after the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\n| video | detector | time | bare decode | wall ratio | CPU ratio | cuts |")
    print("|---|---|---|---|---|---|---|")
    for size, label, median, floor, ratio, cpu_text, summary in rows:
        print(f"| {size} 30 fps {opts.seconds}s | {label} | {median:.2f}s | {floor:.2f}s | {ratio:.2f}x | {cpu_text} | {summary} |")
    print("\nFAIL" if failed else "\nOK: every cut within one frame, no false cuts, content detector within "
          f"{TARGET_RATIO}x of a bare decode")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
