"""Compile a Timeline into ONE ffmpeg filter graph and run it in ONE ffmpeg process.

Every clip is read once (input seeking to its in point), normalised to the
output settings (fps, fit into the frame, square pixels, pixel format), cut to
an exact frame count, and joined: runs of hard cuts go through ``concat``, the
other transitions through ``xfade`` (picture) and ``acrossfade`` (sound), so
the audio is always exactly as long as the video. Overlays, titles and captions
are drawn on the joined picture, music and voice-over are mixed (with ducking
and loudness normalisation) under the joined sound, and the encoder settings
come from :class:`shotsmith.timeline.OutputSettings`.

With a loudness target the mix is measured first (the same graph, sound only, to
``-f null`` through ffmpeg's ``ebur128``), then the one render applies a single
linear gain (and a true-peak limiter only where the gain needs it), so the result
measures the target; ffmpeg's one-pass dynamic ``loudnorm`` missed it on real mixes.

Clip boundaries are quantised to whole output frames from their exact timeline
positions, so the rendered length equals ``Timeline.duration_s`` within half a
frame however many clips there are.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from shotsmith.atomic import atomic_output
from shotsmith.errors import InvalidInputError, MediaError, PathSafetyError, ShotsmithError
from shotsmith.fonts import FONTS_DIR
from shotsmith.formats import KEN_BURNS_AMOUNT, SLATE_KEY, SLATE_SCREEN_TIME, CameraMove, TransitionKind, ken_burns_canvas, zoompan_expressions
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import MediaInfo, probe
from shotsmith.timeline import ClipRef, OutputSettings, Overlay, Timeline, Title
from shotsmith.tools.colors import key_color
from shotsmith.tools.encoding import encoder_args, preview_settings, settings_for_output
from shotsmith.tools.graph import F, Filter, FilterGraph
from shotsmith.tools.title_filters import (bottom_clearance, drawtext_filter, title_box_border, title_text_height,
                                          write_title_text)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
SAMPLE_RATE = 48000
#: A longer graph than this goes to a script file instead of argv.
MAX_INLINE_GRAPH = 60_000

log = logging.getLogger(__name__)


class LoudnessReached(BaseModel):
    """The loudness a render's mix reached against its target: said in the render summary, because a mix
    whose peaks the true-peak ceiling holds can end under the target (more gain is limited away)."""

    target_lufs: float
    reached_lufs: float
    limited: bool = Field(False, description="Under the target because the true-peak ceiling holds the peaks.")

    def describe(self) -> str:
        """'loudness −15.2 LUFS (target −14; limited by the true-peak ceiling)'."""
        def signed(value: float, digits: int) -> str:
            return f"{value:.{digits}f}".replace("-", "\u2212")

        note = "; limited by the true-peak ceiling" if self.limited else ""
        return (f"loudness {signed(self.reached_lufs, 1)} LUFS "
                f"(target {signed(self.target_lufs, 1).removesuffix('.0')}{note})")


class RenderResult(BaseModel):
    path: str
    duration_s: float
    size_bytes: int
    width: int
    height: int
    sidecars: list[str] = Field(default_factory=list, description="Caption files written beside it (style srt).")
    loudness: LoudnessReached | None = Field(None, description="With a loudness target: what the mix reached.")


# ---------------------------------------------------------------------------------------------
# encoder settings per container

# ---------------------------------------------------------------------------------------------
# the compiler

@dataclass
class Compiled:
    """A compiled timeline: the full ffmpeg argument list and the expected length."""

    args: list[str]
    graph: FilterGraph
    duration_s: float
    frames: int
    settings: OutputSettings
    scratch: list[Path] = field(default_factory=list)
    #: the graph's output pads (None: no such stream), for callers that write their own output options
    video: str | None = None
    audio: str | None = None


def _is_image(path: Path, info: MediaInfo | None) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES or bool(info and info.is_image)


#: A still's slate: a PNG text chunk with {"height": its frame height, "titles": [Title fields]}.


def still_slate(path: Path) -> tuple[int, list[Title]] | None:
    """The slate a still carries (the animatic writes one per card), or None."""
    import json

    from PIL import Image

    try:
        with Image.open(path) as image:
            raw = image.info.get(SLATE_KEY)
        if not raw:
            return None
        data = json.loads(raw)
        return int(data["height"]), [Title.model_validate(t) for t in data["titles"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def still_info(path: Path) -> MediaInfo | None:
    """A still's description from its header (Pillow reads a few bytes; a probe decodes the picture), or None
    for anything that is not a still image Pillow knows (then :func:`probe` decides)."""
    if path.suffix.lower() not in (".png", ".bmp"):  # (a JPEG's EXIF orientation is the probe's to read)
        return None
    from PIL import Image, UnidentifiedImageError

    from shotsmith.media.probe import VideoStreamInfo

    try:
        with Image.open(path) as image:
            if getattr(image, "n_frames", 1) != 1:
                return None  # an animated GIF/WebP/PNG is a clip: the probe reads its frames
            width, height, kind = image.width, image.height, (image.format or path.suffix.lstrip(".")).lower()
        size = path.stat().st_size
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    video = VideoStreamInfo(codec=kind, width=width, height=height, fps=25.0, variable_frame_rate=False,
                            pixel_format=None, rotation=0, frames=None, duration_s=None)
    return MediaInfo(path=str(path), format=kind, duration_s=0.0, size_bytes=size, video=video, audio=[],
                     is_image=True)


def atempo_chain(speed: float) -> list[Filter]:
    """atempo filters whose product is ``speed`` (each within atempo's 0.5..2 sweet spot)."""
    filters: list[Filter] = []
    remaining = speed
    while remaining < 0.5 - 1e-9:
        filters.append(F("atempo", 0.5))
        remaining /= 0.5
    while remaining > 2.0 + 1e-9:
        filters.append(F("atempo", 2.0))
        remaining /= 2.0
    if abs(remaining - 1.0) > 1e-9:
        filters.append(F("atempo", round(remaining, 6)))
    return filters


def xfade_name(kind: TransitionKind) -> str:
    """ffmpeg ``xfade`` transition for one of ours.

    ``dissolve`` is what an NLE means by it, a cross-dissolve (a linear mix of the two
    pictures): xfade's own ``dissolve`` is a random pixel dither, so it maps to ``fade``.
    """
    if kind in (TransitionKind.CUT, TransitionKind.DISSOLVE):
        return "fade"
    return kind.value


def fit_filters(graph: FilterGraph, label: str, fit: str, width: int, height: int, background: str,
                src_size: tuple[int, int] | None, flags: str | None = None) -> str:
    """Fit the stream ``label`` into width x height; returns the new label.

    ``flags`` picks the scaler (a preview takes ``fast_bilinear``: a third of bicubic's cost
    on a 1080p source, where the scaling was a third of the whole preview)."""
    if src_size == (width, height):
        return graph.chain(label, [F("setsar", 1)], hint="fit")
    if fit == "stretch":
        return graph.chain(label, [F("scale", width, height, flags=flags), F("setsar", 1)], hint="fit")
    if fit == "cover":
        return graph.chain(label, [F("scale", width, height, force_original_aspect_ratio="increase", flags=flags),
                                   F("crop", width, height), F("setsar", 1)], hint="fit")
    contain = [F("scale", width, height, force_original_aspect_ratio="decrease", force_divisible_by=2, flags=flags)]
    if fit == "blur":
        fg, bg = graph.split(label, 2)
        small_w, small_h = max(16, width // 8 // 2 * 2), max(16, height // 8 // 2 * 2)
        blurred = graph.chain(bg, [F("scale", small_w, small_h, force_original_aspect_ratio="increase"),
                                   F("crop", small_w, small_h), F("boxblur", 6, 2),
                                   F("scale", width, height), F("setsar", 1)], hint="blur")
        front = graph.chain(fg, [*contain, F("setsar", 1)], hint="front")
        return graph.chain([blurred, front], [F("overlay", "(W-w)/2", "(H-h)/2")], hint="fit")
    return graph.chain(label, [*contain, F("pad", width, height, "(ow-iw)/2", "(oh-ih)/2", color=background),
                               F("setsar", 1)], hint="fit")


#: How far a Ken Burns move zooms: between 1x and 1.2x of the frame (the animatic uses the same).


def ken_burns(move: CameraMove, frames: int, width: int, height: int, fps: float,
              amount: float = KEN_BURNS_AMOUNT) -> list[Filter]:
    """Fly a camera over a still at sub-pixel precision; the still comes in filling (1+amount)x the frame.

    zoompan crops at whole (chroma-aligned) pixels, so a slow pan moves in uneven steps
    (e.g. 0 px, 1.2 px, 0 px...) and judders. Here ``perspective`` samples the view
    rectangle (its corners evaluated per frame, bilinear: bicubic cost 2.7x the time for
    no measurable difference after the downscale) from the still prepared at the move's
    largest zoom, so no frame is upscaled from fewer pixels than it shows; the result is
    scaled to the output size. The geometry is :func:`zoompan_expressions`'s, the same
    move the animatic draws.
    """
    z, x, y = zoompan_expressions(move, frames, amount=amount, static_zoom=1.0)

    # perspective counts output frames from 1 (zoompan from 0) and names the input size W, H
    zoom = re.sub(r"\bon\b", "(on-1)", z)

    def expr(text: str) -> str:
        text = re.sub(r"\bon\b", "(on-1)", text).replace("iw", "W").replace("ih", "H")
        return re.sub(r"\bzoom\b", f"({zoom})", text)

    x0, y0 = expr(x), expr(y)
    x1, y1 = f"{x0}+W/({zoom})", f"{y0}+H/({zoom})"
    # one frame per output frame, timed in the output's own time base (an image's 1/25 would round them)
    num, den = _fps_text(fps).split("/")
    still = [F("loop", loop=frames - 1, size=1, start=0), F("settb", f"{den}/{num}"), F("setpts", "N")]
    view = F("perspective", x0=x0, y0=y0, x1=x1, y1=y0, x2=x0, y2=y1, x3=x1, y3=y1,
             interpolation="linear", sense="source", eval="frame")
    return [F("format", "yuv420p"), *still, view, F("scale", width, height), F("setsar", 1)]


def still_canvas(canvas: tuple[int, int], still: tuple[int, int]) -> tuple[int, int]:
    """The size a still is moved at: the Ken Burns canvas, or less when the still has fewer pixels.

    Flying the camera over a still upscaled to the canvas costs the canvas's pixels
    for no detail the still does not have; a smaller still is moved at its own size
    (the canvas's shape, covered without upscaling) and the view scaled to the frame.
    The animatic's cards are drawn at half the canvas for this reason.
    """
    cw, ch = canvas
    factor = min(1.0, max(still[0] / cw, still[1] / ch))
    return max(2, round(cw * factor / 2) * 2), max(2, round(ch * factor / 2) * 2)


def span_args(start_s: float, length_s: float) -> list[str]:
    """Input options reading ``length_s`` seconds of a file from ``start_s``.

    No ``-ss`` at the start of a file: ffmpeg then seeks to 0, and a seek loses the
    encoder delay an MP4's edit list tells the decoder to drop (AAC's 1024 priming
    samples), so every sound read from its start came out 21 ms early at 48 kHz.
    From any later point the seek's timestamps trim exactly.
    """
    length = ["-t", f"{length_s:.6f}"]
    return length if start_s <= 0 else ["-ss", f"{start_s:.6f}", *length]


def _fps_text(fps: float) -> str:
    from shotsmith.media.probe import frame_rate_fraction

    frac = frame_rate_fraction(fps)
    return f"{frac.numerator}/{frac.denominator}"


@dataclass
class _Placed:
    clip: ClipRef
    index: int
    start_frame: int
    end_frame: int

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


def place_clips(timeline: Timeline, fps: float | None = None) -> list[_Placed]:
    """Quantise every clip's span on the timeline to output frames (at ``fps``, else the timeline's own);
    validate transitions fit."""
    fps = fps or timeline.output.fps
    placed: list[_Placed] = []
    start = 0.0
    for i, clip in enumerate(timeline.clips):
        end = start + clip.length_s
        s_f, e_f = round(start * fps), round(end * fps)
        if e_f - s_f < 1:
            raise InvalidInputError(f"clip {i + 1} ({clip.source}) is shorter than one frame on the timeline")
        placed.append(_Placed(clip, i, s_f, e_f))
        if i < len(timeline.clips) - 1:
            start = end - clip.transition_to_next.overlap_s
    for i in range(len(placed) - 1):
        a, b = placed[i], placed[i + 1]
        overlap = a.end_frame - b.start_frame
        if overlap > min(a.frames, b.frames):
            raise InvalidInputError(
                f"the {a.clip.transition_to_next.kind.value} between clips {i + 1} and {i + 2} lasts "
                f"{a.clip.transition_to_next.duration_s:g}s, longer than one of the clips",
                hint="shorten the transition or lengthen the clips")
        into = placed[i - 1].end_frame - a.start_frame if i > 0 else 0
        if into + overlap > a.frames:
            raise InvalidInputError(
                f"clip {i + 1} ({a.clip.source}) is {a.clip.length_s:g}s long, too short for the transitions into "
                f"and out of it", hint="shorten the transitions or lengthen the clip")
    return placed


class _Compiler:
    def __init__(self, timeline: Timeline, settings: OutputSettings, resolve: Callable[[str], Path], scratch: Path,
                 *, loudness: "Loudness | None" = None, measure_to: Path | None = None,
                 window: tuple[int, int] | None = None, sound_only: bool = False, fast: bool = False,
                 infos: dict[Path, MediaInfo] | None = None) -> None:
        self.t = timeline
        #: the measured loudness of the mix, to normalise it linearly (the second pass)
        self.loudness = loudness
        #: the first pass: build the sound only and write its EBU R128 measurement here
        self.measure_to = measure_to
        self.audio_only = measure_to is not None or sound_only
        #: the picture of output frames [start, end) only, no sound (a segment of an incremental render)
        self.window = window
        #: a preview: the fastest scaler (and, in compile_timeline, decoders that skip deblocking)
        self.scale_flags = "fast_bilinear" if fast else None
        #: every clip's place on the timeline (set by compile)
        self.placed: list[_Placed] = []
        #: sizes given in pixels (title size, margins) were meant for the timeline's own frame height
        self.scale = settings.height / timeline.output.height if timeline.output.height else 1.0
        self.s = settings
        self.resolve = resolve
        self.scratch = scratch
        self.g = FilterGraph()
        #: probes of the sources (shared between the compiles of one incremental render)
        self.infos: dict[Path, MediaInfo] = {} if infos is None else infos
        self.fps = settings.fps
        self.W, self.H = settings.width, settings.height

    # -- sources -----------------------------------------------------------------------------
    def source(self, ref: str, what: str) -> Path:
        try:
            path = Path(self.resolve(ref))
        except ShotsmithError:
            raise
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{what}: cannot use {ref!r} ({exc})") from exc
        if not path.is_file():
            raise MediaError(f"{what}: {path} does not exist")
        return path

    def info(self, path: Path) -> MediaInfo:
        if path not in self.infos:
            self.infos[path] = still_info(path) or probe(path)
        return self.infos[path]

    # -- clips -------------------------------------------------------------------------------
    def clip_streams(self, p: _Placed, duration_s: float) -> tuple[str | None, str]:
        clip = p.clip
        what = f"clip {p.index + 1} ({clip.source})"
        path = self.source(clip.source, what)
        info = self.info(path)
        image = _is_image(path, info)
        if info.video is None:
            raise MediaError(f"{what}: has no picture (audio-only file?)", hint="add it as a music or voice-over track")
        if not image:
            tolerance = 1.5 / (info.video.fps or self.fps) + 0.05
            if clip.in_s >= info.duration_s:
                raise InvalidInputError(f"{what}: in point {clip.in_s:g}s is past the end of the media ({info.duration_s:g}s)")
            if clip.out_s > info.duration_s + tolerance:
                raise InvalidInputError(f"{what}: out point {clip.out_s:g}s is past the end of the media ({info.duration_s:g}s)")
        frames = p.frames
        seconds = frames / self.fps
        fit = clip.fit or self.s.fit
        if self.audio_only:  # the loudness measurement: the sound only, read exactly as the render reads it
            if image or not info.has_audio or clip.mute or clip.volume <= 0:
                return None, self.silence(seconds)
            idx = self.g.add_input(path, *span_args(clip.in_s, clip.source_length_s + 0.1))
            v, has_audio = None, True
        elif image:
            idx = self.g.add_input(path)
            label = f"{idx}:v"
            if clip.motion and clip.motion is not CameraMove.STATIC:
                cw, ch = still_canvas(ken_burns_canvas(self.W, self.H), (info.video.width, info.video.height))
                big = self.g.chain(label, [F("scale", cw, ch, force_original_aspect_ratio="increase"),
                                           F("crop", cw, ch), F("setsar", 1)], hint="still")
                v = self.g.chain(big, ken_burns(clip.motion, frames, self.W, self.H, self.fps), hint="kb")
            else:
                fitted = fit_filters(self.g, label, fit, self.W, self.H, self.s.background,
                                     (info.video.width, info.video.height), self.scale_flags)
                v = self.g.chain(fitted, [F("loop", loop=frames - 1, size=1, start=0),
                                          F("setpts", f"N/({_fps_text(self.fps)})/TB")], hint="still")
            v = self.g.chain(v, [F("fps", _fps_text(self.fps)), F("format", "yuv420p"),
                                 F("tpad", stop_mode="clone", stop=2),
                                 F("trim", end_frame=frames), F("setpts", "PTS-STARTPTS")], hint="v")
            has_audio = False
        else:
            span = clip.source_length_s
            idx = self.g.add_input(path, *span_args(clip.in_s, span + 0.1))
            pre = [F("setpts", "PTS-STARTPTS" if clip.speed == 1 else f"(PTS-STARTPTS)/{clip.speed:g}"),
                   F("fps", _fps_text(self.fps))]
            src = self.g.chain(f"{idx}:v", pre, hint="pre")
            fitted = fit_filters(self.g, src, fit, self.W, self.H, self.s.background,
                                 (info.video.width, info.video.height) if info.video.rotation % 180 == 0 else None,
                                 self.scale_flags)
            v = self.g.chain(fitted, [F("format", "yuv420p"), F("tpad", stop_mode="clone", stop_duration=1),
                                      F("trim", end_frame=frames), F("setpts", "PTS-STARTPTS")], hint="v")
            has_audio = info.has_audio
        if self.window is not None:  # a picture segment: the sound is mixed over the whole timeline elsewhere
            return v, None
        if has_audio and not clip.mute and clip.volume > 0:
            chain = [F("asetpts", "PTS-STARTPTS"), *atempo_chain(clip.speed)]
            chain += [F("aresample", SAMPLE_RATE),
                      F("aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo")]
            if clip.volume != 1:
                chain.append(F("volume", clip.volume))
            chain += [F("apad"), F("atrim", end_sample=round(seconds * SAMPLE_RATE)), F("asetpts", "PTS-STARTPTS")]
            a = self.g.chain(f"{idx}:a", chain, hint="a")
        else:
            a = self.silence(seconds)
        return v, a

    def silence(self, seconds: float) -> str:
        return self.g.chain([], [F("anullsrc", r=SAMPLE_RATE, cl="stereo"),
                                 F("aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo"),
                                 F("atrim", end_sample=round(seconds * SAMPLE_RATE))], hint="sil")

    def join_clips(self, placed: list[_Placed]) -> tuple[str | None, str, int]:
        streams = [self.clip_streams(p, 0) for p in placed]
        overlaps = [placed[i].end_frame - placed[i + 1].start_frame for i in range(len(placed) - 1)]
        overlaps = [max(0, o) for o in overlaps]
        total = placed[-1].end_frame - placed[0].start_frame
        video = None if self.audio_only else self._join_video(placed, [v for v, _ in streams], overlaps)
        audio = None if self.window is not None else self._join_audio([a for _, a in streams], overlaps)
        return video, audio, total

    def _join_video(self, placed: list[_Placed], videos: list[str], overlaps: list[int]) -> str:
        """Cut every clip into head | body | tail; xfade only tail+head, then concat all pieces.

        A chain of xfades would push every frame of the cut through every later
        xfade (each copying it); this way each transition touches only its own
        frames and everything else is passed by reference through one concat.
        """
        if not any(overlaps):
            if len(videos) == 1:
                return videos[0]
            joined = self.g.chain(videos, [F("concat", n=len(videos), v=1, a=0)], hint="cat")
            return self.g.chain(joined, [F("settb", self._tb()), F("setpts", "N")], hint="catb")
        pieces: list[str] = []
        tails: list[str | None] = []
        heads: list[str | None] = []
        bodies: list[str | None] = []
        for i, (p, label) in enumerate(zip(placed, videos)):
            head = overlaps[i - 1] if i > 0 else 0
            tail = overlaps[i] if i < len(overlaps) else 0
            body = p.frames - head - tail
            wanted = [(name, a, b) for name, a, b in (("h", 0, head), ("b", head, head + body),
                                                     ("t", head + body, p.frames)) if b > a]
            outs = self.g.split(label, len(wanted)) if len(wanted) > 1 else [label]
            got: dict[str, str] = {}
            for (name, a, b), out in zip(wanted, outs):
                got[name] = self.g.chain(out, [F("trim", start_frame=a, end_frame=b), F("setpts", "PTS-STARTPTS")],
                                         hint=name)
            heads.append(got.get("h"))
            bodies.append(got.get("b"))
            tails.append(got.get("t"))
        for i in range(len(placed)):
            if i > 0 and overlaps[i - 1]:
                name = xfade_name(placed[i - 1].clip.transition_to_next.kind)
                pieces.append(self.g.chain([tails[i - 1], heads[i]],
                                           [F("xfade", transition=name, duration=round(overlaps[i - 1] / self.fps, 6),
                                              offset=0)], hint="xf"))
            if bodies[i] is not None:
                pieces.append(bodies[i])
        if len(pieces) == 1:
            return pieces[0]
        joined = self.g.chain(pieces, [F("concat", n=len(pieces), v=1, a=0)], hint="cat")
        return self.g.chain(joined, [F("settb", self._tb()), F("setpts", "N")], hint="catb")

    def _join_audio(self, audios: list[str], overlaps: list[int]) -> str:
        """Concat runs joined by cuts; acrossfade the runs (keeps the sound as long as the picture)."""
        runs: list[list[int]] = [[0]]
        for i in range(1, len(audios)):
            if overlaps[i - 1] <= 0:
                runs[-1].append(i)
            else:
                runs.append([i])
        run_streams = [audios[run[0]] if len(run) == 1 else
                       self.g.chain([audios[i] for i in run], [F("concat", n=len(run), v=0, a=1)], hint="ca")
                       for run in runs]
        a = run_streams[0]
        for r in range(1, len(runs)):
            d = round(overlaps[runs[r][0] - 1] / self.fps, 6)
            a = self.g.chain([a, run_streams[r]], [F("acrossfade", d=d, c1="tri", c2="tri")], hint="ax")
        return a

    def _tb(self) -> str:
        from shotsmith.media.probe import frame_rate_fraction

        frac = frame_rate_fraction(self.fps)
        return f"{frac.denominator}/{frac.numerator}"

    # -- layers ------------------------------------------------------------------------------
    def overlay(self, base: str, ov: Overlay, n: int, duration_s: float) -> str:
        what = f"overlay {n + 1} ({ov.source})"
        path = self.source(ov.source, what)
        info = self.info(path)
        if info.video is None:
            raise MediaError(f"{what}: has no picture")
        if ov.start_s >= duration_s:
            raise InvalidInputError(f"{what}: starts at {ov.start_s:g}s, after the end of the timeline ({duration_s:g}s)")
        image = _is_image(path, info)
        end = min(ov.end_s if ov.end_s is not None else duration_s, duration_s)
        if image:
            idx = self.g.add_input(path)
        else:
            if ov.in_s >= info.duration_s:
                raise InvalidInputError(f"{what}: in point {ov.in_s:g}s is past the end of the media ({info.duration_s:g}s)")
            end = min(end, ov.start_s + (info.duration_s - ov.in_s))
            idx = self.g.add_input(path, *span_args(ov.in_s, end - ov.start_s + 0.5))
        width = max(2, int(round(self.W * ov.scale / 2)) * 2)
        chain: list[Filter] = []
        if ov.chroma_key is not None:
            key = ov.chroma_key
            chain.append(F("chromakey", color=key_color(key.color),
                           similarity=key.similarity, blend=key.blend))
        chain += [F("scale", width, -2), F("setsar", 1), F("format", "yuva420p")]
        if ov.opacity < 1:
            chain.append(F("colorchannelmixer", aa=ov.opacity))
        chain.append(F("setpts", f"PTS-STARTPTS+{ov.start_s:g}/TB"))
        layer = self.g.chain(f"{idx}:v", chain, hint="ov")
        m = round(ov.margin * self.scale)
        positions = {
            "center": ("(W-w)/2", "(H-h)/2"), "top_left": (f"{m}", f"{m}"), "top_right": (f"W-w-{m}", f"{m}"),
            "bottom_left": (f"{m}", f"H-h-{m}"), "bottom_right": (f"W-w-{m}", f"H-h-{m}"),
            "top": ("(W-w)/2", f"{m}"), "bottom": ("(W-w)/2", f"H-h-{m}"), "left": (f"{m}", "(H-h)/2"),
            "right": (f"W-w-{m}", "(H-h)/2"),
        }
        x, y = positions[ov.position]
        return self.g.chain([base, layer], [F("overlay", x=ov.x or x, y=ov.y or y,
                                                  enable=f"between(t,{ov.start_s:g},{end:g})",
                                                  eof_action="repeat" if image else "pass", format="auto")], hint="ovl")

    def title(self, base: str, title: Title, n: int, duration_s: float) -> str:
        start = title.start_s
        end = min(title.end_s if title.end_s is not None else duration_s, duration_s)
        if start >= duration_s:
            raise InvalidInputError(f"title {n + 1} starts at {start:g}s, after the end of the timeline ({duration_s:g}s)")
        if end <= start:
            raise InvalidInputError(f"title {n + 1} ends ({end:g}s) before it starts ({start:g}s)")
        from shotsmith.tools.titles import validate_title

        validate_title(title, duration_s)
        if title.size and self.scale != 1:
            title = title.model_copy(update={"size": max(4, round(title.size * self.scale))})
        text_file = self.scratch / f"title{n}.txt"
        write_title_text(title, text_file, self.W, self.H)
        return self.g.chain(base, drawtext_filter(title, text_file, self.W, self.H, start, end), hint="title")

    def captions(self, base: str, duration_s: float) -> str:
        """Burn captions: cues with word times through libass (the spoken word highlighted), the other
        cues with drawtext (text taken literally), SRT files with libass."""
        from shotsmith.tools.karaoke import write_ass
        from shotsmith.tools.subtitles import check_captions_fit, clip_captions, stack_offsets

        cs = self.t.caption_settings
        size = round(cs.size * self.scale) if cs.size else max(10, round(self.H / 18))
        cues = sorted(self.t.captions, key=lambda c: c.start_s)
        check_captions_fit(cues, duration_s)
        spoken = clip_captions([c for c in cues if c.words], duration_s)
        cues = [c for c in cues if not c.words]
        # a slate's label strip at the bottom (the animatic's) keeps its place: captions go above it
        clear = [(s.start_s, s.end_s if s.end_s is not None else duration_s, px) for s in self.slates()
                 if (px := bottom_clearance(s, self.W, self.H))]
        if spoken:
            script = write_ass(spoken, self.scratch / "captions.ass", width=self.W, height=self.H, size=size,
                               highlight=cs.highlight, mode=cs.highlight_mode, clear=clear)
            base = self.g.chain(base, [F("ass", filename=str(script), fontsdir=str(FONTS_DIR))], hint="ass")
        margin = max(8, self.H // 20)
        styles, files, extents = [], [], []
        for n, cue in enumerate(cues):
            style = Title.model_construct(**{**Title.model_construct(text="-").model_dump(), "text": cue.text,
                                             "position": "bottom", "size": size, "color": "white", "box": True,
                                             "box_color": "black@0.55", "fade_in_s": 0.0, "fade_out_s": 0.0,
                                             "bold": False})
            text_file = self.scratch / f"caption{n}.txt"
            write_title_text(style, text_file, self.W, self.H)
            # the boxed block's height (drawtext's geometry, title_filters) plus a small gap between stacked cues
            block = (title_text_height(style, text_file.read_text(encoding="utf-8"), self.H)
                     + 2 * title_box_border(style, self.H) + max(2, size // 4))
            styles.append(style)
            files.append(text_file)
            extents.append((cue.start_s, min(cue.end_s, duration_s), block))
        # cues on screen at the same time are stacked upwards instead of drawn over each other, and above
        # a bottom slate on screen with them
        for style, text_file, (start, end, _), offset in zip(styles, files, extents, stack_offsets(extents)):
            taken = max((px for s, e, px in clear if s < end and start < e), default=0)
            offset += max(0, taken + title_box_border(style, self.H) + max(2, size // 4) - margin)
            if offset:
                style = style.model_copy(update={"y": f"h-text_h-{margin + offset}"})
            base = self.g.chain(base, drawtext_filter(style, text_file, self.W, self.H, start, end), hint="cap")
        if cs.srt:
            path = self.source(cs.srt, "subtitle file")
            # libass sizes fonts against PlayResY (288 by default); scale so `size` is in output pixels
            ass_size = max(1, round(size * 288 / self.H))
            style_text = (f"FontName=DejaVu Sans,Fontsize={ass_size},PrimaryColour=&H00FFFFFF,"
                          "OutlineColour=&H80000000,BorderStyle=1,Outline=1.5,Shadow=0,MarginV=12")
            base = self.g.chain(base, [F("subtitles", filename=str(path), fontsdir=str(FONTS_DIR),
                                         force_style=style_text, charenc="UTF-8")], hint="sub")
        return base

    # -- audio -------------------------------------------------------------------------------
    def mix_audio(self, base: str, duration_s: float) -> str:
        music: list[str] = []
        duck_music: list[str] = []
        voices: list[str] = []
        for n, track in enumerate(self.t.audio):
            what = f"{track.role} track {n + 1} ({track.source})"
            path = self.source(track.source, what)
            info = self.info(path)
            if not info.has_audio:
                raise MediaError(f"{what}: has no audio stream")
            if track.in_s >= info.duration_s:
                raise InvalidInputError(f"{what}: in point {track.in_s:g}s is past the end of the media ({info.duration_s:g}s)")
            if track.start_s >= duration_s:
                raise InvalidInputError(f"{what}: starts at {track.start_s:g}s, after the end of the timeline ({duration_s:g}s)")
            out = min(track.out_s if track.out_s is not None else info.duration_s, info.duration_s)
            span = out - track.in_s
            room = duration_s - track.start_s
            play = room if track.loop else min(span, room)
            idx = self.g.add_input(path, *span_args(track.in_s, span))
            chain = [F("asetpts", "PTS-STARTPTS"), F("aresample", SAMPLE_RATE),
                     F("aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo")]
            if track.loop and span < room:
                chain.append(F("aloop", loop=-1, size=max(1, round(span * SAMPLE_RATE))))
            chain.append(F("atrim", end_sample=round(play * SAMPLE_RATE)))
            if track.volume != 1:
                chain.append(F("volume", track.volume))
            if track.fade_in_s > 0:
                chain.append(F("afade", t="in", st=0, d=min(track.fade_in_s, play)))
            if track.fade_out_s > 0:
                d = min(track.fade_out_s, play)
                chain.append(F("afade", t="out", st=round(play - d, 6), d=d))
            if track.start_s > 0:
                chain.append(F("adelay", delays=f"{round(track.start_s * 1000)}", all=1))
            label = self.g.chain(f"{idx}:a", chain, hint="trk")
            if track.role == "voiceover":
                voices.append(label)
            elif track.duck:
                duck_music.append(label)
            else:
                music.append(label)
        if duck_music and voices:
            bed = self._mix(duck_music, duration_s)
            voice = self._mix(voices, duration_s)
            voice, side = self.g.split(voice, 2, audio=True)
            ducked = self.g.chain([bed, side], [F("sidechaincompress", threshold=0.02, ratio=8, attack=20,
                                                  release=400, makeup=1)], hint="duck")
            layers = [base, ducked, voice, *music]
        else:
            layers = [base, *duck_music, *voices, *music]
        mixed = layers[0] if len(layers) == 1 else self.g.chain(
            layers, [F("amix", inputs=len(layers), duration="first", normalize=0, dropout_transition=0)], hint="mix")
        target = self.s.loudness_lufs
        tail: list[Filter] = []
        if target is not None and self.loudness is not None:
            tail += loudness_gain(self.loudness, target)
        elif target is not None and self.measure_to is None:
            # no measurement given (e.g. a printed command): ffmpeg's one-pass, dynamic loudnorm
            tail += [F("loudnorm", I=target, TP=TRUE_PEAK_DB, LRA=11), F("aresample", SAMPLE_RATE)]
        tail += [F("aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo"),
                 F("apad"), F("atrim", end_sample=round(duration_s * SAMPLE_RATE)), F("asetpts", "PTS-STARTPTS")]
        if self.measure_to is not None:
            tail += [F("ebur128", metadata=1, peak="true"), F("ametadata", mode="print", file=str(self.measure_to))]
        elif self.s.sample_rate != SAMPLE_RATE:
            tail.append(F("aresample", self.s.sample_rate))
        return self.g.chain(mixed, tail, hint="aout")

    def _mix(self, labels: list[str], duration_s: float) -> str:
        padded = [self.g.chain(lab, [F("apad"), F("atrim", end_sample=round(duration_s * SAMPLE_RATE))], hint="pad")
                  for lab in labels]
        if len(padded) == 1:
            return padded[0]
        return self.g.chain(padded, [F("amix", inputs=len(padded), duration="longest", normalize=0)], hint="m")

    # -- everything --------------------------------------------------------------------------
    def layers(self, v: str, duration_s: float) -> str:
        """Overlays, titles and burned captions over the joined picture (in a window, those it can show)."""
        for n, ov in enumerate(self.t.overlays):
            if self._shows(ov.start_s, ov.end_s, duration_s):
                v = self.overlay(v, ov, n, duration_s)
        for n, slate in enumerate(self.slates()):
            if self._shows(slate.start_s, slate.end_s, duration_s):
                text_file = self.scratch / f"slate{n}.txt"
                write_title_text(slate, text_file, self.W, self.H)
                v = self.g.chain(v, drawtext_filter(slate, text_file, self.W, self.H, slate.start_s,
                                                    slate.end_s or duration_s), hint="slate")
        for n, title in enumerate(self.t.titles):
            if self._shows(title.start_s, title.end_s, duration_s):
                v = self.title(v, title, n, duration_s)
        cs = self.t.caption_settings
        if (self.t.captions or cs.srt) and cs.mode == "burn" and (
                cs.srt or any(self._shows(c.start_s, c.end_s, duration_s) for c in self.t.captions)):
            v = self.captions(v, duration_s)  # every cue: how cues stack depends on the others
        return v

    def slates(self) -> list[Title]:
        """The slates of still clips that carry one (the animatic's cards), timed to their clips.

        A slate is static on screen (the camera moves the picture, not the words) and
        switches to the next clip's at the middle frame of a transition, so a dissolve
        never shows two of them mixed.
        """
        placed = self.placed
        found: list[Title] = []
        for i, p in enumerate(placed):
            if Path(p.clip.source).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            card = still_slate(self.source(p.clip.source, f"clip {i + 1} ({p.clip.source})"))
            if card is None:
                continue
            height, titles = card
            begin = 0 if i == 0 else p.start_frame + (placed[i - 1].end_frame - p.start_frame) // 2
            end = placed[-1].end_frame if i == len(placed) - 1 else \
                placed[i + 1].start_frame + (p.end_frame - placed[i + 1].start_frame) // 2
            # the shot's time on screen: until the next clip starts (a clip's handle lies under that one)
            screen = (placed[i + 1].start_frame if i < len(placed) - 1 else p.end_frame) - p.start_frame
            for title in titles:
                size = max(4, round(title.size * self.H / height)) if title.size else 0
                found.append(title.model_copy(update={
                    "size": size, "text": title.text.replace(SLATE_SCREEN_TIME, f"{screen / self.fps:.1f}s"),
                    "start_s": begin / self.fps, "end_s": (end - 0.5) / self.fps}))
        return found

    def _shows(self, start_s: float, end_s: float | None, duration_s: float) -> bool:
        """Whether a layer on screen from ``start_s`` to ``end_s`` (inclusive) can touch the window's frames."""
        if self.window is None:
            return True
        a, b = self.window
        end = duration_s if end_s is None else end_s
        return start_s <= b / self.fps and end >= a / self.fps

    def compile_window(self, placed: list[_Placed]) -> tuple[str, None, int]:
        """The picture of output frames [a, b) exactly as the whole render makes them, without the rest.

        Only the clips the window touches are read; they keep their places (so a still's
        camera move, a clip's frame count and every transition are the whole render's), are
        joined as usual, stamped with their global frame times (so titles, overlays and
        captions see the timeline's clock), then trimmed to the window.
        """
        a, b = self.window or (0, 0)
        total = placed[-1].end_frame - placed[0].start_frame
        if not 0 <= a < b <= total:
            raise InvalidInputError(f"frames {a}-{b} are not inside the timeline's {total} frames")
        touched = [p for p in placed if p.start_frame < b and p.end_frame > a]
        first = touched[0].start_frame
        v, _, _ = self.join_clips(touched)
        assert v is not None
        v = self.g.chain(v, [F("settb", self._tb()), F("setpts", f"N+{first}")], hint="win")
        v = self.layers(v, total / self.fps)
        v = self.g.chain(v, [F("trim", start_frame=a - first, end_frame=b - first), F("setpts", "PTS-STARTPTS"),
                             F("format", self.s.pixel_format)], hint="vout")
        return v, None, b - a

    def compile(self) -> tuple[str | None, str | None, int]:
        if not self.t.clips:
            raise InvalidInputError("the timeline has no clips to render", hint="add clips first")
        placed = place_clips(self.t, self.fps)
        self.placed = placed
        if self.window is not None:
            return self.compile_window(placed)
        v, a, frames = self.join_clips(placed)
        duration_s = frames / self.fps
        if self.audio_only:
            return None, self.mix_audio(a, duration_s), frames
        v = self.layers(v, duration_s)
        container = self.s.container
        if container in ("gif", "webp"):
            self.g.sink(a, audio=True)
        else:
            a = self.mix_audio(a, duration_s)
        if container == "gif":
            x, y = self.g.split(v, 2)
            pal = self.g.chain(y, [F("palettegen", stats_mode="diff", max_colors=256)], hint="pal")
            v = self.g.chain([x, pal], [F("paletteuse", dither="bayer", bayer_scale=4)], hint="gif")
            audio: str | None = None
        elif container == "webp":
            v = self.g.chain(v, [F("format", "yuva420p")], hint="webp")
            audio = None
        else:
            v = self.g.chain(v, [F("format", self.s.pixel_format)], hint="vout")
            audio = a
        return v, audio, frames


def graph_args(graph: FilterGraph, scratch: Path, name: str = "graph.txt",
               extra_inputs: Iterable[str] = ()) -> list[str]:
    """The inputs (the graph's, then ``extra_inputs``) and the graph as ffmpeg arguments; a long graph
    goes to a script file ``name`` in ``scratch``."""
    graph_text = graph.serialise()
    args = [*graph.input_args(), *extra_inputs]
    if len(graph_text) > MAX_INLINE_GRAPH:
        script = Path(scratch) / name
        script.write_text(graph_text, encoding="utf-8")
        args += ["-/filter_complex", str(script)]
    else:
        args += ["-filter_complex", graph_text]
    return args


def compile_timeline(timeline: Timeline, settings: OutputSettings | None = None, *,
                     resolve: Callable[[str], Path] | None = None, scratch: Path, output: str | Path = "out.mp4",
                     loudness: "Loudness | None" = None, window: tuple[int, int] | None = None,
                     fast: bool = False, infos: dict[Path, MediaInfo] | None = None) -> Compiled:
    """Build the single ffmpeg command that renders ``timeline`` to ``output``.

    With a loudness target, ``loudness`` is the mix's measurement (:func:`measure_loudness`)
    and the mix is brought to the target by one linear gain; without it the command
    falls back on ffmpeg's one-pass (dynamic) ``loudnorm``, which misses on real mixes.

    With ``window=(a, b)`` it renders only the picture of output frames a..b-1, the
    frames the whole render makes there (a segment of :mod:`shotsmith.tools.incremental`).
    ``fast`` is for previews: the fastest scaler, and decoders that skip deblocking
    (the preview's downscale hides it; decoding is most of a preview's time), one thread each.
    """
    settings = settings or timeline.output
    compiler = _Compiler(timeline, settings, resolve or (lambda s: Path(s)), Path(scratch), loudness=loudness,
                         window=window, fast=fast, infos=infos)
    video, audio, frames = compiler.compile()
    if fast:
        # one thread per decoder: since ffmpeg 7 every decoder has its own thread beside the filters and the
        # encoder anyway, and frame threads at 1080p cost a fifth more CPU than they save a small preview
        for source in compiler.g.inputs:
            source.options[:0] = ["-threads", "1", "-skip_loop_filter:v", "all"]
    track_in, track_out = ([], []) if window is not None else subtitle_track_args(
        timeline, settings, Path(scratch), len(compiler.g.inputs), frames / settings.fps)
    args = graph_args(compiler.g, Path(scratch), extra_inputs=track_in)
    args += ["-map", f"[{video}]"]
    if audio is not None:
        args += ["-map", f"[{audio}]"]
    args += track_out
    args += ["-r", _fps_text(settings.fps), "-frames:v", str(frames), *encoder_args(settings)]
    if window is not None:
        args.append("-an")
    args.append(str(output))
    return Compiled(args=args, graph=compiler.g, duration_s=frames / settings.fps, frames=frames, settings=settings,
                    video=video, audio=audio)


def compile_sound(timeline: Timeline, settings: OutputSettings | None = None, *,
                  resolve: Callable[[str], Path] | None = None, scratch: Path,
                  loudness: "Loudness | None" = None, infos: dict[Path, MediaInfo] | None = None) -> Compiled:
    """The timeline's whole sound, mixed exactly as the render mixes it: a graph with one audio pad.

    ``args`` holds the graph's inputs and the graph only; the caller adds its own
    inputs (numbered after ``len(compiled.graph.inputs)``) and output options.
    """
    settings = settings or timeline.output
    compiler = _Compiler(timeline, settings, resolve or (lambda s: Path(s)), Path(scratch), loudness=loudness,
                         sound_only=True, infos=infos)
    _, audio, frames = compiler.compile()
    return Compiled(args=graph_args(compiler.g, Path(scratch), "sound-graph.txt"), graph=compiler.g,
                    duration_s=frames / settings.fps, frames=frames, settings=settings, audio=audio)


#: The subtitle codec of an embedded caption track, per container (GIF and WebP have none).
SUBTITLE_CODECS = {"mp4": "mov_text", "mov": "mov_text", "mkv": "srt", "webm": "webvtt"}


def subtitle_track_args(timeline: Timeline, settings: OutputSettings, scratch: Path, input_index: int,
                        duration_s: float) -> tuple[list[str], list[str]]:
    """(input arguments, output arguments) that embed the captions as a subtitle track (style ``track``).

    The cues are written as SRT into the scratch folder and read as one more
    input after the graph's (its index is ``input_index``; the input must come
    before any output option such as ``-map``). Nothing when the style is
    another or the container has no subtitle codec.
    """
    from shotsmith.tools.subtitles import captions_to_srt, clip_captions

    cs = timeline.caption_settings
    codec = SUBTITLE_CODECS.get(settings.container)
    cues = clip_captions(timeline.captions, duration_s) if cs.mode == "track" else []
    if not cues or codec is None:
        return [], []
    track = scratch / "track.srt"
    track.write_text(captions_to_srt(cues), encoding="utf-8")
    return (["-f", "srt", "-i", str(track)],
            ["-map", f"{input_index}:s", "-c:s", codec, "-metadata:s:s:0", f"language={cs.language}"])


# ---------------------------------------------------------------------------------------------
# loudness: measure the mix, then bring it to the target with one linear gain

#: The true-peak ceiling (dBTP) a normalised mix is kept under (EBU R128 / streaming practice).
TRUE_PEAK_DB = -1.5
#: The limiter's ceiling sits this far under it: it sees sample peaks, the AAC encoder adds overshoot.
LIMITER_MARGIN_DB = 1.0
#: How close to the target a limited mix is brought, and in at most how many sound-only passes.
LOUDNESS_TOLERANCE_LU = 0.2
LOUDNESS_PASSES = 4


@dataclass(frozen=True)
class Loudness:
    """An EBU R128 measurement of the rendered mix (ffmpeg's ``ebur128``, the meter tests use)."""

    integrated_lufs: float
    true_peak_db: float
    lra: float = 0.0
    #: For a gain computed through the limiter: the loudness the limited mix measured at that gain.
    reached_lufs: float | None = None


def loudness_gain(measured: Loudness, target_lufs: float) -> list[Filter]:
    """Filters that bring a mix measured at ``measured`` to ``target_lufs``: a linear gain, plus a
    true-peak limiter only when the gain would push peaks over :data:`TRUE_PEAK_DB`."""
    if measured.integrated_lufs < -69:  # silence (or next to it): nothing to normalise
        return []
    gain = target_lufs - measured.integrated_lufs
    filters = [F("volume", f"{gain:.3f}dB")]
    if measured.true_peak_db + gain > TRUE_PEAK_DB:
        ceiling = 10 ** ((TRUE_PEAK_DB - LIMITER_MARGIN_DB) / 20)
        filters.append(F("alimiter", limit=round(ceiling, 5), attack=5, release=50, level=0, latency=1))
    return filters


def _read_measurement(path: Path) -> Loudness:
    """The last integrated loudness and the highest true peak that ``ebur128``/``ametadata`` printed."""
    import math

    integrated, lra, peak = None, 0.0, 0.0
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise MediaError(f"the loudness measurement wrote nothing ({exc.strerror or exc})") from exc
    for line in text.splitlines():
        key, _, value = line.partition("=")
        try:
            number = float(value)
        except ValueError:
            continue
        if key == "lavfi.r128.I":
            integrated = number
        elif key == "lavfi.r128.LRA":
            lra = number
        elif key == "lavfi.r128.true_peak":
            peak = max(peak, number)
    if integrated is None:
        raise MediaError("the loudness measurement found no sound to measure")
    return Loudness(integrated_lufs=integrated if math.isfinite(integrated) else -70.0,
                    true_peak_db=20 * math.log10(peak) if peak > 0 else -120.0, lra=lra)


def measure_loudness(timeline: Timeline, settings: OutputSettings, *, resolve: Callable[[str], Path] | None = None,
                     scratch: Path, cancel: threading.Event | None = None,
                     gain: Loudness | None = None, on_command: Callable[[list[str]], None] | None = None) -> Loudness:
    """Measure the mix exactly as the render makes it (same inputs, same graph, sound only, no encode).

    With ``gain``, the mix is measured after the gain and limiter that measurement calls for.
    ``on_command`` is shown the ffmpeg arguments before they run (``render --print-command``)."""
    measured = Path(scratch) / "loudness.txt"
    measured.unlink(missing_ok=True)
    compiler = _Compiler(timeline, settings, resolve or (lambda s: Path(s)), Path(scratch), loudness=gain,
                         measure_to=measured)
    _, audio, frames = compiler.compile()
    args = graph_args(compiler.g, Path(scratch), "measure-graph.txt")
    args += ["-map", f"[{audio}]", "-f", "null", "-"]
    if on_command is not None:
        on_command(args)
    run_ffmpeg(args, duration_s=frames / settings.fps, cancel=cancel, what="measuring the loudness")
    return _read_measurement(measured)


def normalising_measurement(timeline: Timeline, settings: OutputSettings, *,
                            resolve: Callable[[str], Path] | None = None, scratch: Path,
                            cancel: threading.Event | None = None,
                            on_command: Callable[[list[str]], None] | None = None) -> Loudness | None:
    """The measurement the render's gain is computed from, or None when there is no loudness target.

    One sound-only pass measures the mix. When its peaks need the limiter, a second one
    measures what the limiter leaves, and the gain is corrected by the difference, so
    the result lands on the target rather than under it.
    """
    target = settings.loudness_lufs
    if target is None or settings.container in ("gif", "webp"):
        return None
    first = measure_loudness(timeline, settings, resolve=resolve, scratch=scratch, cancel=cancel, on_command=on_command)
    if first.integrated_lufs < -69 or first.true_peak_db + target - first.integrated_lufs <= TRUE_PEAK_DB:
        return first
    # The limiter takes more the more gain it is given, so one correction by the shortfall still lands
    # under the target (a voice + music bed measured -15.2 for -14). Each pass measures the limited
    # mix and steps the gain along the measured slope (secant), until within LOUDNESS_TOLERANCE_LU,
    # or until more gain no longer buys loudness: then the true-peak ceiling bounds it (reported).
    gain = target - first.integrated_lufs
    tried: list[tuple[float, float]] = []  # (gain dB, limited loudness)
    for _ in range(LOUDNESS_PASSES):
        applied = Loudness(integrated_lufs=target - gain, true_peak_db=first.true_peak_db, lra=first.lra)
        limited = measure_loudness(timeline, settings, resolve=resolve, scratch=scratch, cancel=cancel, gain=applied,
                                   on_command=on_command)
        tried.append((gain, limited.integrated_lufs))
        shortfall = target - limited.integrated_lufs
        if abs(shortfall) <= LOUDNESS_TOLERANCE_LU:
            break
        slope = 1.0
        if len(tried) > 1:
            (g0, m0), (g1, m1) = tried[-2], tried[-1]
            slope = (m1 - m0) / (g1 - g0) if g1 != g0 else 0.0
            if slope < 0.05:
                break  # ceiling-bound: more gain is all limited away
        gain += max(-12.0, min(12.0, shortfall / slope))
    gain, reached = min(tried, key=lambda t: abs(target - t[1]))
    if abs(target - reached) > LOUDNESS_TOLERANCE_LU:
        log.warning("loudness: the mix reaches %.1f LUFS, not the %g target: its peaks are held at the %g dBTP "
                    "ceiling (more gain is limited away)", reached, target, TRUE_PEAK_DB)
    return Loudness(integrated_lufs=target - gain, true_peak_db=first.true_peak_db, lra=first.lra,
                    reached_lufs=reached)


def reached_loudness(loudness: Loudness | None, settings: OutputSettings) -> LoudnessReached | None:
    """What a render normalised with ``loudness`` (:func:`normalising_measurement`) reached, or None
    without a target (or for silence, which is left silent). A linear gain lands on the target; a
    limited one reached what its last measured pass measured."""
    target = settings.loudness_lufs
    if target is None or loudness is None or loudness.integrated_lufs < -69:
        return None
    reached = target if loudness.reached_lufs is None else loudness.reached_lufs
    return LoudnessReached(target_lufs=target, reached_lufs=round(reached, 1),
                           limited=abs(target - reached) > LOUDNESS_TOLERANCE_LU)


# ---------------------------------------------------------------------------------------------
# the render entry point

def _check_output(output: Path, sources: Iterable[Path], protected: Iterable[Path]) -> Path:
    target = output.expanduser().resolve()
    guarded = {Path(p).resolve() for p in (*protected, *sources)}
    if target in guarded:
        raise PathSafetyError(f"refusing to write the render over a source file: {target}",
                              hint="pick another output name")
    if target.exists() and target.is_dir():
        raise InvalidInputError(f"output {target} is a folder", hint="give a file name such as out.mp4")
    folder = target.parent
    probe_dir = folder
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir() or not os.access(probe_dir, os.W_OK | os.X_OK):
        raise ShotsmithError(f"cannot write to the output folder {folder}", hint="check that it exists and is writable")
    return target


def timeline_sources(timeline: Timeline, resolve: Callable[[str], Path]) -> list[Path]:
    paths = []
    for ref in timeline.source_refs():
        try:
            paths.append(Path(resolve(ref)))
        except ShotsmithError:
            raise
        except (OSError, ValueError):
            continue
    return paths


def render_timeline(timeline: Timeline, output: Path, *, resolve: Callable[[str], Path] | None = None,
                    protected: Iterable[Path] = (), on_progress: Callable[[float], None] | None = None,
                    cancel: threading.Event | None = None, settings: OutputSettings | None = None,
                    preview: bool = False, fast: bool = False) -> RenderResult:
    """Render ``timeline`` to ``output`` with one ffmpeg process; the file appears only when complete.

    A ``preview`` is small and fast (:func:`~shotsmith.tools.encoding.preview_settings`, the
    fastest scaler, no deblocking); ``fast`` compiles that way at the ``settings`` given.
    """
    output = Path(output)
    resolve = resolve or (lambda s: Path(s))
    settings = settings_for_output(settings or timeline.output, output)
    if preview:
        settings = preview_settings(settings)
    target = _check_output(output, timeline_sources(timeline, resolve), protected)
    with tempfile.TemporaryDirectory(prefix="shotsmith-render-") as scratch:
        # a loudness target: measure the mix first (sound only, no encode), then render once with the gain
        loudness = normalising_measurement(timeline, settings, resolve=resolve, scratch=Path(scratch), cancel=cancel)
        try:
            with atomic_output(target) as tmp:
                compiled = compile_timeline(timeline, settings, resolve=resolve, scratch=Path(scratch), output=tmp,
                                            loudness=loudness, fast=preview or fast)
                run_ffmpeg(compiled.args, duration_s=compiled.duration_s, on_progress=on_progress, cancel=cancel,
                           what=f"rendering {target.name}")
        except PermissionError as exc:
            raise ShotsmithError(f"cannot write {target}: {exc.strerror or exc}",
                                 hint="check that the output folder is writable") from exc
        except OSError as exc:
            if isinstance(exc, ShotsmithError):
                raise
            raise ShotsmithError(f"cannot write {target}: {exc.strerror or exc}") from exc
    result = _result(target, compiled)
    result.loudness = reached_loudness(loudness, settings)
    if timeline.caption_settings.mode == "srt" and timeline.captions:
        from shotsmith.tools.subtitles import write_sidecars

        result.sidecars = [str(p) for p in write_sidecars(timeline.captions, target, compiled.duration_s)]
    return result


def _result(target: Path, compiled: Compiled) -> RenderResult:
    size = target.stat().st_size
    try:
        info = probe(target)
        width = info.video.width if info.video else compiled.settings.width
        height = info.video.height if info.video else compiled.settings.height
        duration = info.duration_s
    except MediaError:  # e.g. animated WebP, which this ffmpeg cannot read back
        width, height, duration = compiled.settings.width, compiled.settings.height, compiled.duration_s
    return RenderResult(path=str(target), duration_s=round(duration, 6), size_bytes=size, width=width, height=height)
