"""Scene detection with PySceneDetect's detectors, fed by our own fast decode loop.

PySceneDetect's detectors (content, adaptive) only need a small BGR frame per
video frame. Its own backends decode, then scale with swscale, one frame at a
time; at 1080p the scaling alone costs as much as the decode. Here PyAV
decodes in a feeder thread with frame threads, skipping the deblocking filter, and the small frame is taken straight from the
decoded YUV planes (every k-th pixel of luma, chroma resized to match) and
converted to BGR at the small size, so detection costs little more than the
decode itself (see ``bench/bench_scenes.py``).

Scenes are frame-exact: a cut is the index of the first frame of the new
scene, and every time reported is that frame's own presentation time, so a
variable-frame-rate file gets true times instead of ``n / fps``.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import threading
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shotsmith.atomic import atomic_write_text
from shotsmith.errors import InvalidInputError, MediaError
from shotsmith.media.probe import MediaInfo, open_video, probe
from shotsmith.tools.spec import ToolContext, edit_tool
from shotsmith.tools.timecode import format_hms, format_smpte, parse_frame
from shotsmith.tools.trim import TimeInput, resolve_output, resolve_source

DetectorName = Literal["content", "adaptive"]

#: Default thresholds: PySceneDetect's own (content score 0-255; adaptive ratio).
DEFAULT_THRESHOLDS: dict[str, float] = {"content": 27.0, "adaptive": 3.0}
#: Frames decoded ahead of the detector by the feeder thread (see :func:`iter_frames`).
PREFETCH = 32
#: Frames are shrunk until the width is at most this (PySceneDetect's auto-downscale target).
TARGET_WIDTH = 256


class DetectionOptions(BaseModel):
    """How cuts are found; shared by ``scenes``, ``split`` and ``contact_sheet``."""

    detector: DetectorName = Field(default="content", description="content: hard cuts by colour/brightness change; adaptive: robust to camera motion.")
    threshold: float | None = Field(default=None, gt=0, le=255, description="Cut sensitivity (lower finds more cuts). Default: 27 for content, 3.0 for adaptive.")
    min_scene_len: TimeInput = Field(default="0.5", description="Shortest scene: seconds (0.5) or frames (15f).")
    downscale: int | None = Field(default=None, ge=1, le=32, description="Keep every n-th pixel for speed; default picks n for a width near 256.")


class Scene(BaseModel):
    model_config = ConfigDict(extra="forbid")  # read back from hand-editable JSON: a typo is an error

    index: int = Field(description="1-based scene number.")
    start_frame: int
    end_frame: int = Field(description="First frame after the scene (exclusive).")
    start_s: float
    end_s: float
    start_timecode: str
    end_timecode: str
    start_smpte: str

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


class SceneList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    fps: float
    frames: int
    duration_s: float
    detector: DetectorName
    threshold: float
    min_scene_len_frames: int
    downscale: int
    scenes: list[Scene]

    @property
    def cuts(self) -> list[int]:
        """Frame indices where a new scene starts (the first scene's 0 excluded)."""
        return [s.start_frame for s in self.scenes[1:]]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["scene", "start_frame", "end_frame", "frames", "start_s", "end_s", "length_s",
                         "start_timecode", "end_timecode", "start_smpte"])
        for s in self.scenes:
            writer.writerow([s.index, s.start_frame, s.end_frame, s.frames, f"{s.start_s:.6f}", f"{s.end_s:.6f}",
                             f"{s.length_s:.6f}", s.start_timecode, s.end_timecode, s.start_smpte])
        return buffer.getvalue()

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


# -- decoding ----------------------------------------------------------------------
def auto_downscale(width: int) -> int:
    return max(1, round(width / TARGET_WIDTH))


def small_bgr(frame: av.VideoFrame, k: int) -> np.ndarray:
    """A BGR image 1/k the size of ``frame``, cheaply, from its YUV planes when 8-bit 4:2:x."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"):
        planes = [np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width] for p in frame.planes[:3]]
        y = planes[0][::k, ::k]
        size = (y.shape[1], y.shape[0])
        u, v = (cv2.resize(p, size, interpolation=cv2.INTER_NEAREST) if p.shape != y.shape else p for p in planes[1:])
        return cv2.cvtColor(cv2.merge((y, v, u)), cv2.COLOR_YCrCb2BGR)
    width, height = max(2, frame.width // k), max(2, frame.height // k)
    return frame.reformat(width=width, height=height, format="bgr24").to_ndarray()


def iter_frames(path: Path, *, threads: bool = True, rough: bool = False,
                prefetch: int = 0) -> Iterator[tuple[int, Fraction, av.VideoFrame]]:
    """Yield ``(index, seconds, frame)`` for every video frame in display order.

    ``rough`` skips the codec's in-loop deblocking filter: about a tenth of
    H.264 decode time, and invisible once a frame is shrunk eightfold for a
    detector. Never use it for pictures a person will see.

    ``prefetch`` > 0 decodes in a background thread, up to that many frames
    ahead. The codec's own threads only get new packets when someone calls
    into it; with the caller busy on a frame they sit idle, and on a busy
    machine the stalls add up to half again the decode time. A feeder thread
    (PyAV releases the GIL while decoding) keeps them fed.
    """
    if prefetch <= 0:
        yield from _decode(path, threads=threads, rough=rough)
        return
    frames: queue.Queue = queue.Queue(maxsize=prefetch)
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def feed() -> None:
        decoder = _decode(path, threads=threads, rough=rough)
        try:
            for item in decoder:
                if not offer(item):
                    return
            offer(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            offer(_Failure(exc))
        finally:
            decoder.close()

    worker = threading.Thread(target=feed, name="shotsmith-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = frames.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join(timeout=10)


_END = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _decode(path: Path, *, threads: bool, rough: bool) -> Iterator[tuple[int, Fraction, av.VideoFrame]]:
    with open_video(path) as (container, stream):
        if threads:
            stream.thread_type = "AUTO"
        if rough:
            stream.codec_context.options = {"skip_loop_filter": "all"}
        origin = Fraction(container.start_time or 0, av.time_base)
        index = 0
        try:
            for frame in container.decode(stream):
                seconds = Fraction(frame.pts) * frame.time_base - origin if frame.pts is not None else Fraction(0)
                yield index, seconds, frame
                index += 1
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: corrupt video data at frame {index} ({exc.strerror or exc})") from exc


# -- detection ---------------------------------------------------------------------
def _make_detector(options: DetectionOptions, min_frames: int):
    from scenedetect import AdaptiveDetector, ContentDetector
    from scenedetect.detector import FlashFilter

    threshold = options.threshold if options.threshold is not None else DEFAULT_THRESHOLDS[options.detector]
    if options.detector == "adaptive":
        return AdaptiveDetector(adaptive_threshold=threshold, min_scene_len=min_frames), threshold
    # SUPPRESS means what "minimum scene length" says: after a cut (or the start), ignore cuts
    # for that long. MERGE would drop every cut of a video whose scenes are all short.
    return ContentDetector(threshold=threshold, min_scene_len=min_frames, filter_mode=FlashFilter.Mode.SUPPRESS), threshold


def detect_scenes(path: Path, options: DetectionOptions | None = None, *, info: MediaInfo | None = None,
                  on_progress: Callable[[float], None] | None = None, cancel=None) -> SceneList:
    """Find the scenes of ``path``; one decode pass."""
    from scenedetect import FrameTimecode

    options = options or DetectionOptions()
    info = info or probe(path, need_video=True)
    video = info.video
    assert video is not None
    rate = video.rate
    min_frames = parse_frame(options.min_scene_len, rate, what="min scene length")
    if min_frames > 0 and Fraction(min_frames) / rate > Fraction(info.duration_s).limit_denominator(1_000_000) + 1:
        raise InvalidInputError(f"min scene length {options.min_scene_len} is longer than {path.name} ({format_hms(info.duration_s)})")
    detector, threshold = _make_detector(options, min_frames)
    k = options.downscale or auto_downscale(video.width)
    times: list[Fraction] = []
    cuts: list[int] = []
    last_tc = None
    step = max(1, int(float(rate)))  # report progress about once a second of video
    for index, seconds, frame in iter_frames(path, rough=True, prefetch=PREFETCH):
        if cancel is not None and cancel.is_set():
            from shotsmith.errors import CancelledError

            raise CancelledError("scene detection was cancelled")
        times.append(seconds)
        last_tc = FrameTimecode(index, rate)
        cuts.extend(c.frame_num for c in detector.process_frame(last_tc, small_bgr(frame, k)))
        if on_progress is not None and index % step == 0:
            on_progress(float(seconds))
    if not times:
        raise MediaError(f"{path}: no decodable video frames")
    if last_tc is not None:
        cuts.extend(c.frame_num for c in detector.post_process(last_tc))
    if len(times) > 1:
        end = times[-1] + (times[-1] - times[-2])
    else:
        end = times[-1] + 1 / rate
    return _scene_list(path, info, options, threshold, min_frames, k, times, end, sorted({c for c in cuts if 0 < c < len(times)}))


def _scene_list(path, info, options, threshold, min_frames, k, times, end, cuts) -> SceneList:
    rate = info.video.rate
    bounds = [0, *cuts, len(times)]
    scenes = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:]), start=1):
        t0 = times[a]
        t1 = times[b] if b < len(times) else end
        scenes.append(Scene(index=i, start_frame=a, end_frame=b, start_s=float(t0), end_s=float(t1),
                            start_timecode=format_hms(t0), end_timecode=format_hms(t1), start_smpte=format_smpte(a, rate)))
    return SceneList(source=str(path), fps=float(rate), frames=len(times), duration_s=float(end), detector=options.detector,
                     threshold=threshold, min_scene_len_frames=min_frames, downscale=k, scenes=scenes)


# -- the tool ----------------------------------------------------------------------
class ScenesArgs(DetectionOptions):
    """Detect the scenes (shots) of a video."""

    source: str = Field(min_length=1, description="Video to analyse.")
    csv_output: str | None = Field(default=None, description="Also write the scene list as CSV here.")
    json_output: str | None = Field(default=None, description="Also write the scene list as JSON here.")


@edit_tool("scenes", "Detect scene cuts in a video (frame-exact); optionally export CSV/JSON.", ScenesArgs)
def scenes(ctx: ToolContext, args: ScenesArgs) -> SceneList:
    source = resolve_source(ctx, args.source)
    outputs = {name: resolve_output(ctx, raw, source) for name, raw in (("csv", args.csv_output), ("json", args.json_output)) if raw}
    result = detect_scenes(source, args, on_progress=ctx.on_progress, cancel=ctx.cancel)
    if "csv" in outputs:
        atomic_write_text(outputs["csv"], result.to_csv())
    if "json" in outputs:
        atomic_write_text(outputs["json"], result.to_json())
    return result


def load_scene_list(path: Path) -> SceneList:
    """Read a scene list written by :meth:`SceneList.to_json`; a wrong one is one line naming the first problem."""
    from pydantic import ValidationError

    from shotsmith.tools.editplan import explain_validation

    name = Path(path).name
    advice = "write one with `shotsmith scenes VIDEO --json FILE`"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read the scene list {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except ValueError as exc:
        raise InvalidInputError(f"{name} is not valid JSON ({str(exc).splitlines()[0]}); {advice}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{name}: a scene list is a JSON object with source, fps, frames and scenes; {advice}")
    try:
        return SceneList.model_validate(data)
    except ValidationError as exc:
        problem = explain_validation(exc, f"{name}: not a scene list", SceneList)
        raise InvalidInputError(f"{problem.message}; {advice}") from None
