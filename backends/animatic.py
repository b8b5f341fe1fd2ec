"""The offline ``animatic`` backend: honest pre-visualisation cards, no model involved.

Each shot becomes a full-frame card at the shot's aspect ratio and resolution:
an animated gradient-and-grid background in a palette chosen from the style
words, moved by the shot's camera move (push in, pull back, pan, tilt, static),
with the shot number, the prompt wrapped to fit, the camera move and a
running time bar, and "ANIMATIC · PREVIZ" in the frame so nobody mistakes it for
generated footage. Rendered by one ffmpeg process from lavfi sources.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import threading
from pathlib import Path

import shotsmith
from shotsmith.backends.base import Backend, Capabilities, CostEstimate, GenerationRequest, GenerationResult, ProgressCallback, ProgressEvent
from shotsmith.fonts import font_path, wrap_text
from shotsmith.formats import CameraMove, frame_size, zoompan_expressions
from shotsmith.media.ffmpeg import escape_filter_value, run_ffmpeg
from shotsmith.media.probe import probe, require_video

#: Style words -> three gradient colours. The first word found in the style
#: (then the prompt) wins; order puts the more specific looks first.
PALETTES: list[tuple[tuple[str, ...], tuple[str, str, str]]] = [
    (("noir", "black and white", "black-and-white", "monochrome", "grayscale"), ("0x1a1a1a", "0x5c5c5c", "0xbdbdbd")),
    (("neon", "cyberpunk", "synthwave", "club"), ("0xff2a6d", "0x05d9e8", "0x3d0a6b")),
    (("pastel", "soft", "dreamy", "whimsical"), ("0xffc8dd", "0xbde0fe", "0xcdb4db")),
    (("vintage", "retro", "sepia", "film grain", "nostalgic", "16mm", "super 8"), ("0x704214", "0xc89f6b", "0xe8d5b0")),
    (("warm", "golden", "sunset", "sunrise", "morning", "cozy", "cosy", "amber", "coffee"), ("0xf4a259", "0xbc4b51", "0x5b3a29")),
    (("cool", "blue", "night", "moody", "icy", "winter", "teal"), ("0x0b3954", "0x087e8b", "0x1b264f")),
    (("nature", "forest", "green", "organic", "fresh", "spring"), ("0x2d6a4f", "0x95d5b2", "0x1b4332")),
    (("vibrant", "energetic", "bold", "colorful", "colourful", "playful"), ("0xff006e", "0xfb5607", "0x3a86ff")),
    (("corporate", "clean", "minimal", "tech", "explainer"), ("0x2b2d42", "0x8d99ae", "0xedf2f4")),
]
DEFAULT_PALETTE = ("0x264653", "0x2a9d8f", "0x8ab17d")

#: How far the simulated camera travels: the background is rendered this much
#: larger than the frame so a pan or tilt never shows its edge.
OVERSCAN = 1.3


def palette_for(style: str, prompt: str = "") -> tuple[str, str, str]:
    for text in (style.lower(), prompt.lower()):
        for words, colours in PALETTES:
            if any(w in text for w in words):
                return colours
    return DEFAULT_PALETTE


def camera_filter(move: CameraMove, width: int, height: int, frames: int, fps: int) -> str:
    """Filter that turns the oversized background into the framed, moving shot.

    The background is ``OVERSCAN`` times the frame, so a zoom of ``OVERSCAN``
    frames it exactly; zooms travel between the whole background and that crop.
    """
    z, x, y = zoompan_expressions(move, frames, amount=OVERSCAN - 1)
    return f"zoompan=z='{z}':x='{x}':y='{y}':d=1:s={width}x{height}:fps={fps}"


class AnimaticBackend(Backend):
    name = "animatic"
    description = "Offline previz: labelled cards with the prompt and a simulated camera move. Free, instant, no GPU."
    model = "animatic-v1"

    def capabilities(self) -> Capabilities:
        return Capabilities(min_duration_s=0.5, max_duration_s=120.0,
                            resolutions=["360p", "480p", "540p", "720p", "1080p"], fps=[24, 25, 30, 60],
                            max_prompt_chars=4000, supports_seed=True, supports_camera_control=True,
                            max_concurrency=2, costs_money=False, local=True)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        return CostEstimate(amount=0.0, unit="USD", source="local compute (ffmpeg)")

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        await asyncio.to_thread(self.render, request, Path(dest), on_progress, cancel)
        info = probe(dest)
        video = require_video(info)
        return GenerationResult(path=str(dest), duration_s=info.duration_s, width=video.width, height=video.height)

    def render(self, request: GenerationRequest, dest: Path, on_progress: ProgressCallback | None = None,
               cancel: threading.Event | None = None) -> None:
        width, height = frame_size(request.aspect_ratio, request.resolution)
        fps = request.fps
        frames = max(1, round(request.duration_s * fps))
        duration = frames / fps
        bw, bh = int(width * OVERSCAN) // 2 * 2, int(height * OVERSCAN) // 2 * 2
        c0, c1, c2 = palette_for(request.style, request.prompt)
        seed_source = f"{request.seed}|{request.prompt}".encode()
        seed = request.seed if request.seed is not None else int(hashlib.sha256(seed_source).hexdigest()[:6], 16)
        short = min(width, height)
        head_size = max(14, short // 14)
        body_size = max(12, short // 24)
        small_size = max(10, short // 34)
        margin = max(8, short // 24)
        shot_label = f"SHOT {request.shot_index}" if request.shot_index is not None else "SHOT"
        prompt_text = wrap_text(request.prompt, size=body_size, max_width=int(width * 0.84), max_lines=9)
        footer = f"CAMERA: {request.camera.phrase.upper()}   ·   {duration:.1f}s   ·   {request.aspect_ratio}"
        font = escape_filter_value(str(font_path(False)))
        bold = escape_filter_value(str(font_path(True)))
        with tempfile.TemporaryDirectory(prefix="shotsmith-animatic-") as tmp:
            texts = {}
            for key, text in (("head", shot_label), ("body", prompt_text), ("foot", footer), ("tag", "ANIMATIC · PREVIZ")):
                file = Path(tmp) / f"{key}.txt"
                file.write_text(text, encoding="utf-8")
                texts[key] = escape_filter_value(str(file))
            common = "expansion=none:fontcolor=white"
            graph = ";".join([
                f"gradients=s={bw}x{bh}:r={fps}:d={duration + 1:.3f}:c0={c0}:c1={c1}:c2={c2}:nb_colors=3"
                f":speed=0.004:seed={seed % 2**31}:type=linear,"
                f"drawgrid=w={max(bw // 10, 8)}:h={max(bw // 10, 8)}:t=2:c=white@0.18,"
                f"{camera_filter(request.camera, width, height, frames, fps)},"
                f"setsar=1,format=yuv420p[bg]",
                f"color=c=white:s={width}x{max(4, short // 120)}:r={fps}:d={duration + 1:.3f}[bar]",
                f"[bg][bar]overlay=x='-W+W*t/{duration:.3f}':y=H-h:shortest=1,"
                f"drawtext=textfile={texts['head']}:fontfile={bold}:fontsize={head_size}:{common}"
                f":x={margin}:y={margin}:box=1:boxcolor=black@0.45:boxborderw={margin // 3},"
                f"drawtext=textfile={texts['tag']}:fontfile={bold}:fontsize={small_size}:{common}"
                f":x=w-text_w-{margin}:y={margin}:box=1:boxcolor=0xd62828@0.85:boxborderw={margin // 4},"
                f"drawtext=textfile={texts['body']}:fontfile={font}:fontsize={body_size}:{common}"
                f":line_spacing={body_size // 3}:x=(w-text_w)/2:y=(h-text_h)/2:box=1:boxcolor=black@0.5"
                f":boxborderw={margin // 2}:text_align=C,"
                f"drawtext=textfile={texts['foot']}:fontfile={font}:fontsize={small_size}:{common}"
                f":x=(w-text_w)/2:y=h-text_h-{margin + short // 60}:box=1:boxcolor=black@0.45:boxborderw={margin // 4}",
            ])
            run_ffmpeg(["-filter_complex", graph, "-frames:v", str(frames), "-r", str(fps),
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                        "-g", str(fps), "-movflags", "+faststart", "-an", str(dest)],
                       duration_s=duration, cancel=cancel, what=f"animatic for {shot_label.lower()}",
                       on_progress=(lambda s: on_progress(ProgressEvent(shot_index=request.shot_index, state="running",
                                                                         percent=min(100.0, 100 * s / duration))))
                       if on_progress else None)


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(AnimaticBackend)
