"""The ``sweep`` backend: prompt-coloured gradient sweeps, or Ken Burns moves over a still image.

Why it exists: it is the smallest backend that does real work (an ffmpeg
render with progress and cancellation) so a plugin author can copy its shape.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from pathlib import Path

from shotsmith.backends.base import (Backend, Capabilities, CostEstimate, GenerationMode, GenerationRequest,
                                     GenerationResult, ProgressCallback, ProgressEvent)
from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove, frame_size, zoompan_expressions
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import probe, require_video


def palette(prompt: str, seed: int | None) -> tuple[str, str, str]:
    """Three colours derived from the prompt and seed: same input, same clip."""
    digest = hashlib.sha256(f"{seed}|{prompt}".encode()).hexdigest()
    return tuple(f"0x{digest[i:i + 6]}" for i in (0, 6, 12))  # type: ignore[return-value]


def ken_burns(move: CameraMove, width: int, height: int, frames: int, fps: int) -> str:
    """zoompan over a still scaled to 2x the frame, using shotsmith's own camera-move expressions."""
    zoom, x, y = zoompan_expressions(move, frames, amount=0.25, static_zoom=1.15)
    return (f"scale={width * 2}:{height * 2}:force_original_aspect_ratio=increase,crop={width * 2}:{height * 2},"
            f"zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}:s={width}x{height}:fps={fps}")


class SweepBackend(Backend):
    name = "sweep"
    description = "Example plugin: colour sweeps from the prompt, or Ken Burns moves over a still. Local, free."
    #: Part of every shot's cache key: change it when the output for the same request changes.
    model = "sweep-1"

    # -- required ------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        """What this backend can do; ``prepare()`` checks every request against it before ``generate``."""
        return Capabilities(modes=[GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO], min_duration_s=1.0,
                            max_duration_s=20.0, aspect_ratios=["16:9", "9:16", "1:1"],
                            resolutions=["360p", "480p", "720p"], fps=[24, 30], max_prompt_chars=1000,
                            supports_seed=True, supports_camera_control=True, max_concurrency=2,
                            costs_money=False, local=True)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        """The price of one request, naming where the price comes from."""
        return CostEstimate(amount=0.0, unit="USD", source="local compute (ffmpeg)")

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        """Text-to-video: a colour sweep from the prompt's palette (image-to-video goes to ``generate_from_image``)."""
        if request.mode is GenerationMode.IMAGE_TO_VIDEO:
            return await self.generate_from_image(request, dest, on_progress=on_progress, cancel=cancel)
        width, height = frame_size(request.aspect_ratio, request.resolution)
        frames, duration = self._frames(request)
        c0, c1, c2 = palette(request.prompt, request.seed)
        inputs = ["-f", "lavfi", "-i", f"gradients=s={width}x{height}:r={request.fps}:d={duration + 1:.3f}"
                                       f":c0={c0}:c1={c1}:c2={c2}:nb_colors=3:speed=0.02:seed={request.seed or 0}"]
        return await self._render(request, dest, inputs, "setsar=1,format=yuv420p", frames, duration,
                                  on_progress=on_progress, cancel=cancel)

    # -- optional ------------------------------------------------------------------------
    async def generate_from_image(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                                  cancel: threading.Event) -> GenerationResult:
        """Image-to-video: a Ken Burns move (the request's camera move) over ``request.image``."""
        if not request.image or not Path(request.image).is_file():
            raise InvalidInputError(f"sweep: start image {request.image!r} does not exist")
        width, height = frame_size(request.aspect_ratio, request.resolution)
        frames, duration = self._frames(request)
        graph = ken_burns(request.camera, width, height, frames, request.fps) + ",setsar=1,format=yuv420p"
        return await self._render(request, dest, ["-loop", "1", "-i", request.image], graph, frames, duration,
                                  on_progress=on_progress, cancel=cancel)

    def check_ready(self) -> None:
        """Nothing to check: ffmpeg comes with shotsmith. (Raise a ShotsmithError when the backend cannot run now.)"""
        return None

    def cache_identity(self) -> dict:
        """No settings outside the request change the pixels (hashed into each shot's cache key)."""
        return {}

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _frames(request: GenerationRequest) -> tuple[int, float]:
        frames = max(1, round(request.duration_s * request.fps))
        return frames, frames / request.fps

    async def _render(self, request: GenerationRequest, dest: Path, inputs: list[str], graph: str, frames: int,
                      duration: float, *, on_progress: ProgressCallback, cancel: threading.Event) -> GenerationResult:
        """Encode ``graph`` over ``inputs`` with progress and cancellation, then describe the clip."""

        def progress(seconds: float) -> None:
            on_progress(ProgressEvent(shot_index=request.shot_index, state="running",
                                      percent=min(100.0, 100 * seconds / duration)))

        await asyncio.to_thread(run_ffmpeg, [*inputs, "-vf", graph, "-frames:v", str(frames), "-r", str(request.fps),
                                             "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                                             "-an", str(dest)],
                                duration_s=duration, on_progress=progress, cancel=cancel, what="sweep render")
        info = probe(dest)
        video = require_video(info)
        return GenerationResult(path=str(dest), duration_s=info.duration_s, width=video.width, height=video.height)
