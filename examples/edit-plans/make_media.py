"""Make the small media files the example edit plans refer to (into ./media), with ffmpeg.

    python examples/edit-plans/make_media.py            # 1280x720
    python examples/edit-plans/make_media.py --small    # 320x180, for quick tests
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shotsmith.media.ffmpeg import run_ffmpeg

SRT = """1
00:00:01,900 --> 00:00:02,900
Every frame, one pass.

2
00:00:03,000 --> 00:00:05,000
No intermediate files.
"""


def make(folder: Path, width: int, height: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    size = f"{width}x{height}"
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    clips = {"a.mp4": "testsrc2", "b.mp4": "smptebars", "c.mp4": "rgbtestsrc"}
    for n, (name, pattern) in enumerate(clips.items()):
        run_ffmpeg(["-f", "lavfi", "-i", f"{pattern}=s={size}:r=30:d=4", "-f", "lavfi",
                    "-i", f"sine=f={330 + 110 * n}:sample_rate=48000:d=4", *h264, "-c:a", "aac", "-shortest",
                    str(folder / name)])
    run_ffmpeg(["-f", "lavfi", "-i", f"color=c=0x00FF00:s={size}:r=30:d=4,drawbox=x=iw/3:y=ih/4:w=iw/3:h=ih/2:c=orange:t=fill",
                *h264, str(folder / "greenscreen.mp4")])
    run_ffmpeg(["-f", "lavfi", "-i", f"mandelbrot=s={width * 2}x{height * 2}", "-frames:v", "1", str(folder / "poster.png")])
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=white:s=128x128,drawbox=x=16:y=16:w=96:h=96:c=0x2a9d8f:t=fill",
                "-frames:v", "1", str(folder / "logo.png")])
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=220:sample_rate=48000:d=20,volume=0.4", "-c:a", "aac", str(folder / "music.m4a")])
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=900:sample_rate=48000:d=3,volume=0.6", "-c:a", "aac", str(folder / "voice.m4a")])
    (folder / "captions.srt").write_text(SRT, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="320x180 instead of 1280x720")
    parser.add_argument("--folder", type=Path, default=Path(__file__).resolve().parent / "media")
    args = parser.parse_args()
    make(args.folder, *((320, 180) if args.small else (1280, 720)))
    print(f"media written to {args.folder}")
