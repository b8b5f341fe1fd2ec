"""What a stretch of the cut costs to render, roughly, so that parallel runs get equal shares of work.

An incremental render encodes the segments to make in one or two ffmpeg runs side by
side. Splitting them at the middle of the *duration* leaves one core idle when the two
halves differ in work: a run that reads a dense 1080p source decodes several times the
bytes of one that reads a flat card, and a run that starts inside a clip decodes all
of that clip (a window keeps every touched clip whole, so its transitions are exact).
Measured on the render bench's first preview, the duration split gave the two runs
2.0 s and 2.8 s of CPU.

The model is deliberately crude and only ever compared with itself: per source frame
read, its pixels (decoding and scaling them) and its share of the file's bytes (entropy
decoding, which dominates dense pictures); per still frame flown over by a camera move,
the canvas's pixels (the perspective filter); per output frame, its pixels (the
encoder, more for slower presets). The constants are seconds on this project's 2-core
bench machine; only their ratios matter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shotsmith.formats import CameraMove, ken_burns_canvas
from shotsmith.media.probe import MediaInfo, probe
from shotsmith.timeline import OutputSettings, Timeline
from shotsmith.tools.render import _is_image, place_clips, still_canvas, still_info

#: Seconds per source pixel decoded and scaled (0.1 s for 194 flat 1080p frames).
SOURCE_PIXEL_S = 0.45e-9
#: Seconds per byte of compressed picture entropy-decoded (0.62 s for 35 MB of dense H.264).
SOURCE_BYTE_S = 17e-9
#: Seconds per canvas pixel of a camera move over a still (2.5 ms for a 768x432 frame).
MOVE_PIXEL_S = 7.5e-9
#: Seconds per output pixel encoded and filtered: the fastest presets, and the rest.
OUTPUT_PIXEL_S = {"ultrafast": 2.8e-9, "superfast": 3.5e-9}
OUTPUT_PIXEL_DEFAULT_S = 6.5e-9


def clip_costs(timeline: Timeline, settings: OutputSettings, *, resolve: Callable[[str], Path],
               infos: dict[Path, MediaInfo]) -> list[float]:
    """The cost of reading each clip of ``timeline`` once, as a run's graph reads it (whole)."""
    placed = place_clips(timeline, settings.fps)
    costs = []
    for p in placed:
        clip = p.clip
        try:
            path = Path(resolve(clip.source))
            if path not in infos:
                infos[path] = still_info(path) or probe(path)
            info = infos[path]
        except Exception:  # noqa: BLE001 - a guess for balancing; the render itself reports a bad source
            costs.append(p.frames * settings.width * settings.height * SOURCE_PIXEL_S)
            continue
        video = info.video
        size = (video.width, video.height) if video is not None else (settings.width, settings.height)
        if _is_image(path, info):
            if clip.motion and clip.motion is not CameraMove.STATIC:
                cw, ch = still_canvas(ken_burns_canvas(settings.width, settings.height), size)
                costs.append(p.frames * cw * ch * MOVE_PIXEL_S)
            else:
                costs.append(size[0] * size[1] * SOURCE_PIXEL_S)  # decoded and fitted once, then looped
            continue
        span = clip.source_length_s
        fps = (video.fps if video is not None and video.fps else settings.fps)
        share = min(1.0, span / info.duration_s) if info.duration_s > 0 else 1.0
        costs.append(span * fps * size[0] * size[1] * SOURCE_PIXEL_S + info.size_bytes * share * SOURCE_BYTE_S)
    return costs


def output_frame_cost(settings: OutputSettings) -> float:
    """The cost of filtering and encoding one output frame."""
    return settings.width * settings.height * OUTPUT_PIXEL_S.get(settings.preset, OUTPUT_PIXEL_DEFAULT_S)


def stretch_cost(clips: set[int] | frozenset[int], frames: int, costs: list[float], per_frame: float) -> float:
    """A run's cost: every clip it touches read whole, and its own frames encoded."""
    return sum(costs[i] for i in clips) + frames * per_frame
