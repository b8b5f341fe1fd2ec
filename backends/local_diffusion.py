"""The built-in ``diffusers`` backend: text-to-video and image-to-video from a model on this machine.

It loads a video pipeline with diffusers' own
``DiffusionPipeline.from_pretrained(model)`` (a folder holding ``model_index.json``,
or a hub id already in the local cache), runs it on the best device here and
encodes the frames to an H.264 MP4 with ffmpeg (with the pipeline's own audio as
AAC where it makes some: LTX-2). Nothing is sent anywhere and nothing costs money,
so shots made with it are limited only by the GPU.

Why it is built this way:

* torch and diffusers are the optional extra ``shotsmith[diffusers]``. Importing
  them costs seconds and gigabytes of RAM, and the core and the offline demo must
  never need them, so this module only *checks* that they are installed
  (``importlib.util.find_spec``) and raises ImportError if not, which makes the
  registry skip it; the real imports happen when a shot is generated.
* The model comes from the constructor (``model=``) or the config
  (``[backends.diffusers] model = "..."``). A backend without one still lists
  its capabilities (``backends list`` builds every backend); using it raises a
  :class:`~shotsmith.errors.BackendError` that says what to set.
* Device and precision follow what the hardware can do (CUDA, then Apple MPS,
  then CPU; bf16/fp16 on a GPU, fp32 on CPU), and the memory switches are
  diffusers' own (model or sequential CPU offload, VAE tiling and slicing), used
  only where the loaded pipeline offers them, because every model family
  differs.
* Request values are checked and snapped up front (frame size to the multiple
  the VAE and denoiser need, frame count to what the VAE's temporal compression
  allows) so a bad value fails with a message that names it, instead of a
  tensor shape error deep inside the model.
* What the model can be asked for (text-to-video, image-to-video from the shot's
  keyframe, a last frame too, audio) is read from its pipeline class
  (:mod:`.video_conditioning`), from ``model_index.json`` before it is loaded, so
  the capabilities the planner sees are the loaded model's own. An image the
  model cannot take is refused, never dropped.
* A pipeline that takes a video condition (LTX / LTX-2 condition) extends a clip it
  made (``video-extend``): the new run is conditioned at frame 0 on the clip's last
  frames (a count the VAE encodes whole), and the result is the whole, longer clip:
  the original frames untouched, then the new frames after that overlap, encoded once
  (the clip's sound kept). Only a local file is needed, so the handle is the clip's path.
* The pipeline blocks for minutes, so it runs in a worker thread
  (``asyncio.to_thread``); the step callback reports progress and stops the
  run when the cancel event is set, by raising out of the denoising loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import math
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import shotsmith
from shotsmith.backends.base import (
    Backend,
    Capabilities,
    CostEstimate,
    GenerationMode,
    GenerationRequest,
    GenerationResult,
    ProgressCallback,
    ProgressEvent,
)
from shotsmith.backends.executors import current_executor
from shotsmith.backends.video_conditioning import (
    PipelineModes,
    audio_sample_rate,
    conditioning_arguments,
    extension_arguments,
    fit_image,
    modes_of_model,
    modes_of_pipeline,
    output_audio,
    overlap_frames,
)
from shotsmith.config import Settings, load_settings
from shotsmith.errors import BackendError, CancelledError, InvalidInputError
from shotsmith.formats import ASPECT_RATIOS, RESOLUTIONS, frame_size
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import probe, require_video

# The registry skips a built-in whose import raises ImportError: that is how the
# optional extra stays optional. find_spec is cheap; importing torch is not.
_MISSING = [name for name in ("torch", "diffusers", "transformers") if importlib.util.find_spec(name) is None]
if _MISSING:
    raise ImportError(f"the diffusers backend needs {', '.join(_MISSING)}: pip install 'shotsmith[diffusers]'")

log = logging.getLogger(__name__)

#: Seeds torch.Generator.manual_seed accepts.
MAX_SEED = 2**64 - 1
#: Beyond this many pixels per frame no local model is meant to run; a value this
#: large is a typo (or a config mistake), not a wish.
MAX_PIXELS = 4096 * 4096
#: On a CUDA card with less memory than this, ``offload = "auto"`` offloads whole models to the CPU.
AUTO_OFFLOAD_BELOW_GIB = 16.0
#: Share of the progress bar the denoising loop fills; decoding and encoding fill the rest.
DENOISE_SHARE = 90.0

#: Shots the engine hands over at once with the Ray executor (the pool queues them for its actors).
RAY_CONCURRENCY = 64

OffloadMode = Literal["auto", "none", "model", "sequential"]


class DiffusersSettings(BaseModel):
    """``[backends.diffusers]`` in the config, overlaid by constructor keywords."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="A diffusers pipeline folder (with model_index.json) or a hub id.")
    variant: str | None = Field(default=None, description="Weights variant to load, e.g. 'fp16'.")
    device: str = Field(default="auto", description="auto, cuda, cuda:N, mps or cpu.")
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    offload: OffloadMode = "auto"
    vae_tiling: bool = True
    vae_slicing: bool = True
    steps: int | None = Field(default=None, ge=1, le=1000, description="Denoising steps; None keeps the model's default.")
    guidance_scale: float | None = Field(default=None, ge=0.0, le=100.0)
    fps: list[int] = Field(default_factory=lambda: [8, 12, 16, 24])
    resolutions: list[str] = Field(default_factory=lambda: ["360p", "480p", "720p"])
    short_side: int | None = Field(default=None, ge=8, le=4096,
                                   description="Generate at this short side in pixels (the model's native size) "
                                               "instead of the request's resolution.")
    min_duration_s: float = Field(default=0.25, gt=0)
    max_duration_s: float = Field(default=6.0, gt=0)
    max_frames: int | None = Field(default=None, ge=1, description="Most frames the model can make in one run.")
    frame_step: int | None = Field(default=None, ge=1, description="Frame counts must be k*frame_step+1 (auto-detected).")
    size_multiple: int | None = Field(default=None, ge=1, description="Width/height multiple (auto-detected).")
    end_image: bool | None = Field(default=None,
                                   description="Give image-to-video the shot's last frame too (None: where the "
                                               "pipeline is known to use one, e.g. LTX conditions, Wan FLF2V).")

    @field_validator("fps")
    @classmethod
    def _fps(cls, value: list[int]) -> list[int]:
        if not value or any(f < 1 or f > 120 for f in value):
            raise ValueError("fps lists frame rates between 1 and 120")
        return sorted(set(value))

    @field_validator("resolutions")
    @classmethod
    def _resolutions(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in RESOLUTIONS]
        if not value or unknown:
            raise ValueError(f"resolutions are some of {', '.join(RESOLUTIONS)}")
        return value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        base, _, index = value.partition(":")
        if base not in ("auto", "cuda", "mps", "cpu") or (index and (base != "cuda" or not index.isdigit())):
            raise ValueError("device is auto, cuda, cuda:N, mps or cpu")
        return value


@dataclass
class ClipMedia:
    """A decoded clip: its frames (uint8, F x H x W x 3) and its sound (float32 samples x channels, or None)."""

    frames: Any
    audio: Any = None
    sample_rate: int | None = None


@dataclass
class PipelineFacts:
    """What the loaded pipeline allows, read from its components (or the config's overrides)."""

    size_multiple: int = 8
    frame_step: int = 1
    max_frames: int | None = None
    default_steps: int = 50


@dataclass
class GenerationPlan:
    """The pipeline call one request turns into, and the warnings that snapping it raised."""

    width: int
    height: int
    num_frames: int
    fps: int
    steps: int
    guidance_scale: float | None
    seed: int | None
    prompt: str
    negative_prompt: str | None
    warnings: list[str] = field(default_factory=list)
    #: The start image (the shot's keyframe) and last frame, for image-to-video.
    image: str | None = None
    end_image: str | None = None
    #: Keep the audio a pipeline returns (False when the request asked for a silent clip).
    keep_audio: bool = True
    #: video-extend: the clip to continue, and how many of its last frames the run starts from
    #: (``num_frames`` counts them too; the clip grows by ``num_frames - overlap``).
    extend_from: str | None = None
    overlap: int = 0

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps


class _Interrupted(Exception):
    """Raised from the step callback to leave the denoising loop at once (no VAE decode)."""


# One pipeline stays loaded between shots (and between backend instances: the engine
# and the assistant each build their own), keyed by what it was loaded with. Only one:
# two video models rarely fit in one GPU. _run_lock serialises runs on it.
_cache_lock = threading.Lock()
_run_lock = threading.Lock()
_cached: tuple[tuple, Any] | None = None
# What each model folder's pipeline takes, read from model_index.json (a few milliseconds, but per capabilities()).
_modes_cache: dict[tuple, PipelineModes | None] = {}


def clear_pipeline_cache() -> None:
    """Drop the loaded pipeline (frees its memory; the next shot loads it again)."""
    global _cached
    with _cache_lock:
        _cached = None
        _modes_cache.clear()
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def snap_to_multiple(value: float, multiple: int) -> int:
    """Nearest multiple of ``multiple`` (never below one multiple)."""
    return max(multiple, int(round(value / multiple)) * multiple)


def snap_frames(frames: int, step: int, max_frames: int | None = None) -> int:
    """Nearest frame count of the form ``k*step + 1`` (any count when step is 1), capped at ``max_frames``."""
    frames = max(1, frames)
    if step > 1:
        frames = max(1, round((frames - 1) / step)) * step + 1
    if max_frames is not None and frames > max_frames:
        frames = max_frames if step == 1 else ((max_frames - 1) // step) * step + 1
    return max(1, frames)


def _config_value(component: Any, key: str) -> Any:
    config = getattr(component, "config", None)
    if config is None:
        return None
    return config.get(key) if hasattr(config, "get") else getattr(config, key, None)


def pipeline_facts(pipe: Any, settings: DiffusersSettings) -> PipelineFacts:
    """Read size and frame constraints off a loaded pipeline; config values override them.

    UNet pipelines (ModelScope, AnimateDiff) need width/height divisible by the
    VAE's scale factor; transformer pipelines (CogVideoX, Wan, LTX, Hunyuan)
    also by the patch size. Video VAEs that compress time want ``k*t+1`` frames.
    diffusers' own ``check_inputs`` asks for multiples of 8 at least.
    """
    spatial = (getattr(pipe, "vae_scale_factor_spatial", None) or getattr(pipe, "vae_spatial_compression_ratio", None)
               or getattr(pipe, "vae_scale_factor", None) or 8)
    denoiser = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
    patch = _config_value(denoiser, "patch_size") or 1
    if isinstance(patch, list | tuple):
        patch = patch[-1]
    temporal = getattr(pipe, "vae_scale_factor_temporal", None) or getattr(pipe, "vae_temporal_compression_ratio", None) or 1
    max_frames = _config_value(denoiser, "motion_max_seq_length")  # AnimateDiff's motion modules
    steps_default = inspect.signature(pipe.__call__).parameters.get("num_inference_steps")
    default_steps = steps_default.default if steps_default is not None and isinstance(steps_default.default, int) else 50
    return PipelineFacts(size_multiple=settings.size_multiple or math.lcm(8, int(spatial) * int(patch)),
                         frame_step=settings.frame_step or int(temporal),
                         max_frames=settings.max_frames or (int(max_frames) if max_frames else None),
                         default_steps=default_steps)


class DiffusersBackend(Backend):
    name = "diffusers"
    description = ("Local text-to-video and image-to-video with a diffusers pipeline from your own model folder or "
                   "hub id (ModelScope, AnimateDiff, CogVideoX, Wan, LTX, LTX-2 with audio, Stable Video "
                   "Diffusion...). Free; wants a GPU.")
    #: The settings table's model (``diffusers-image`` reads its own, with image-only keys).
    settings_model: ClassVar[type[DiffusersSettings]] = DiffusersSettings

    def __init__(self, model: str | None = None, *, settings: Settings | None = None, **options: Any) -> None:
        settings = settings or load_settings()
        # Where shots run (docs/ray.md): the run's --executor wins over these, read once here.
        self.default_executor, self.ray_table = settings.executor, dict(settings.ray)
        merged = dict(settings.backends.get(self.name, {}))
        merged.update({k: v for k, v in options.items() if v is not None})
        if model:
            merged["model"] = model
        try:
            self.settings = self.settings_model.model_validate(merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "settings"
            raise InvalidInputError(f"[backends.{self.name}] {where}: {first['msg']}",
                                    hint=f"known settings: {', '.join(self.settings_model.model_fields)}") from exc
        if self.settings.min_duration_s > self.settings.max_duration_s:
            raise InvalidInputError("[backends.diffusers] min_duration_s exceeds max_duration_s")
        self.model = self.settings.model

    # -- contract ---------------------------------------------------------------------
    def cache_identity(self) -> dict:
        """Everything in the settings that changes the frames, plus the weights' modification time."""
        s = self.settings
        identity = s.model_dump(mode="json", include={"variant", "dtype", "steps", "guidance_scale", "short_side", "max_frames"})
        if s.model and Path(s.model).expanduser().exists():
            folder = Path(s.model).expanduser()
            identity["weights_mtime"] = max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=0.0)
        return identity

    def capabilities(self) -> Capabilities:
        """The configured model's own modes (read from its folder before loading); text-to-video when unknown."""
        s = self.settings
        modes = self.modes()
        offered = [GenerationMode.TEXT_TO_VIDEO] if modes is None or modes.text_to_video else []
        if modes is not None and modes.image_to_video:
            offered.append(GenerationMode.IMAGE_TO_VIDEO)
        if modes is not None and modes.extends:  # any length the model makes; the added seconds are snapped
            offered.append(GenerationMode.VIDEO_EXTEND)
        return Capabilities(modes=offered, durations_s=None,
                            min_duration_s=s.min_duration_s, max_duration_s=s.max_duration_s,
                            aspect_ratios=list(ASPECT_RATIOS), resolutions=list(s.resolutions), fps=list(s.fps),
                            max_prompt_chars=2000, supports_seed=True,
                            supports_negative_prompt=modes is None or modes.takes_prompt,
                            supports_camera_control=False, max_concurrency=self._concurrency(), costs_money=False,
                            local=True, long_running=True, generates_audio=modes is not None and modes.audio,
                            supports_end_image=modes is not None and modes.end_image)

    def extension_source(self, task_id: str, data: dict) -> str | None:
        """The clip's own file (``data["clip"]``): a local model continues from its frames, so the path is
        the handle (a provider task id means nothing here). None when this model cannot extend."""
        modes = self.modes()
        clip = data.get("clip")
        if modes is None or not modes.extends or not clip or not Path(clip).is_file():
            return None
        return str(clip)

    def modes(self, model: str | None = None) -> PipelineModes | None:
        """What the model's pipeline takes: from the loaded pipeline when it is this model, else read from
        its ``model_index.json`` (no weights loaded); None with no model or one that cannot be read yet."""
        model = model or self.model
        if not model:
            return None
        with _cache_lock:
            loaded = _cached
        if loaded is not None and loaded[0][0] == model:
            return modes_of_pipeline(loaded[1][0], self.settings.end_image)
        index = Path(model).expanduser() / "model_index.json"
        key = (model, self.settings.end_image, index.stat().st_mtime if index.is_file() else None)
        if key not in _modes_cache:
            try:
                _modes_cache[key] = modes_of_model(model, self.settings.end_image)
            except BackendError:  # not a video pipeline: check_ready and the load say so; listing must not fail
                _modes_cache[key] = None
        return _modes_cache[key]

    def executor(self) -> str:
        """``local`` or ``ray``: the run's choice (:func:`~shotsmith.backends.executors.executor_scope`), else the config's."""
        return current_executor(self.default_executor)

    def _concurrency(self) -> int:
        """One at a time in this process (one GPU); on Ray the pool's free actors set the pace, so the engine
        hands over every shot at once and each waits there for a worker."""
        return RAY_CONCURRENCY if self.executor() == "ray" else 1

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        plan = self.plan(request, PipelineFacts(size_multiple=self.settings.size_multiple or 8,
                                                frame_step=self.settings.frame_step or 1,
                                                max_frames=self.settings.max_frames))
        steps = f"{plan.steps} steps" if self.settings.steps else "the model's default steps"
        return CostEstimate(amount=0.0, unit="USD", source="local compute",
                            detail=f"about {plan.num_frames} frames at {plan.width}x{plan.height}, {steps}, "
                                   "on this machine's GPU (or CPU); no money is charged")

    def check_ready(self) -> None:
        """A model is set and, where its folder names its pipeline, that pipeline makes shots (before any approval)."""
        model = self.model_id()
        try:
            modes_of_model(model, self.settings.end_image)
        except BackendError as exc:
            raise BackendError(f"{model}: {exc.message}", hint=exc.hint) from None

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        """The base checks, after making sure there is a model to run (the first place a missing one shows).

        A start image for a model that cannot take one is refused here (the base contract would drop it
        with a warning): a keyframe the user made or chose is part of what they asked for."""
        model = self.model_id(request)
        modes = self.modes(model)
        if modes is not None and request.image:
            self._check_modes(request, modes, model)
        dropped: list[str] = []
        if modes is not None and request.image and request.end_image and not modes.end_image:
            request = request.model_copy(update={"end_image": None})  # said here, with the model's name
            dropped.append(f"{self._label(request)}{modes.pipeline} takes no last frame; the end image is not used "
                           f"(LTX condition and Wan first-last-frame models do)")
        if request.mode is GenerationMode.VIDEO_EXTEND and modes is not None and not modes.extends:
            raise InvalidInputError(f"{self._label(request)}{model} ({modes.pipeline}) cannot extend a clip",
                                    hint="LTX condition models (LTXConditionPipeline, LTX2ConditionPipeline) can")
        if modes is not None and not request.image and not modes.text_to_video and \
                request.mode is not GenerationMode.VIDEO_EXTEND:
            ready, warnings = self._prepare_pending_keyframe(request, modes, model)
        else:
            ready, warnings = super().prepare(request)
        warnings = [*dropped, *warnings]
        if modes is not None and not modes.takes_prompt:
            warnings.append(f"{self._label(request)}{modes.pipeline} animates the start image alone; "
                            f"the prompt is not used")
        return ready, warnings

    def _prepare_pending_keyframe(self, request: GenerationRequest, modes: PipelineModes,
                                  model: str) -> tuple[GenerationRequest, list[str]]:
        """An image-to-video-only model given a shot whose keyframe is not made yet.

        The production service plans, prices and keys a shot before its storyboard still exists (and
        a ``continue`` shot before the previous clip's last frame does), as the request without the
        image: that is a stand-in for the image-to-video request it becomes, not a text-to-video
        shot. So the request is checked as image-to-video, handed back without an image, and says
        that it needs one; generating it without one is refused in :meth:`run_blocking`."""
        stand_in = request.model_copy(update={"mode": GenerationMode.IMAGE_TO_VIDEO, "image": "keyframe"})
        ready, warnings = super().prepare(stand_in)
        ready = ready.model_copy(update={"mode": request.mode, "image": None})
        warnings.append(f"{self._label(request)}{modes.pipeline} makes a shot only from a start image: this shot "
                        f"is generated from its storyboard keyframe (with --keyframes off it cannot be made)")
        return ready, warnings

    def _check_modes(self, request: GenerationRequest, modes: PipelineModes, model: str) -> None:
        """One clear line for a request this model cannot make (an image it cannot use, no image it needs)."""
        label = self._label(request)
        if request.image and not modes.image_to_video:
            raise InvalidInputError(f"{label}{model} ({modes.pipeline}) is a text-to-video model; it cannot start "
                                    f"from the image {Path(request.image).name}",
                                    hint="use an image-to-video model (LTX, Wan I2V, CogVideoX I2V, Stable Video "
                                         "Diffusion) or make the shot without a keyframe (--keyframes off)")
        if not request.image and not modes.text_to_video:
            raise InvalidInputError(f"{label}{model} ({modes.pipeline}) animates a start image and has none for "
                                    f"this shot",
                                    hint="keep keyframes on (--keyframes auto) so each shot starts from its "
                                         "storyboard still")

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        model = self.model_id(request)
        if self.executor() == "ray":  # the same shot, run by a worker that keeps the pipeline loaded
            from shotsmith.backends.executors.ray_pool import generate_on_ray

            return await generate_on_ray(self, request, Path(dest), model, on_progress=on_progress, cancel=cancel,
                                         ray_table=self.ray_table)
        return await self._in_thread(request, Path(dest), model, on_progress, cancel)

    async def _in_thread(self, request: GenerationRequest, dest: Path, model: str, on_progress: ProgressCallback,
                         cancel: threading.Event) -> GenerationResult:
        """:meth:`run_blocking` in a worker thread (the pipeline blocks for minutes); when the awaiting task
        is cancelled, the thread is told to stop at its next step."""
        stop = threading.Event()  # set when the awaiting task itself is cancelled
        try:
            return await asyncio.to_thread(self.run_blocking, request, dest, model, on_progress, cancel, stop)
        except asyncio.CancelledError:
            stop.set()  # the worker thread notices at its next step and leaves
            raise

    # -- pieces -----------------------------------------------------------------------
    def model_id(self, request: GenerationRequest | None = None) -> str:
        """The pipeline to load: the request's model, else the configured one; a clear error when none."""
        model = (request.model if request is not None else None) or self.model
        if not model:
            raise BackendError(f"the {self.name} backend has no model to run",
                               hint=f'set [backends.{self.name}] model = "/path/to/pipeline-folder" (or a hub id) '
                                    "in the config file, or pass model= to the backend")
        return model

    def plan(self, request: GenerationRequest, facts: PipelineFacts, *, clip_frames: int | None = None) -> GenerationPlan:
        """Turn a request into pipeline arguments, checking each value as diffusers' check_inputs would.

        A ``video-extend`` request's ``duration_s`` is the seconds to add; ``clip_frames`` (the clip's
        frame count, once it is decoded) caps the overlap the run starts from."""
        label = f"shot {request.shot_index}: " if request.shot_index is not None else ""
        if request.mode not in (GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO,
                                GenerationMode.VIDEO_EXTEND):
            raise InvalidInputError(f"{label}the diffusers backend does text-to-video, image-to-video and "
                                    f"video-extend, not {request.mode.value}")
        if request.mode is GenerationMode.VIDEO_EXTEND and not request.extend_from:
            raise InvalidInputError(f"{label}video-extend needs the clip to extend (extend_from)")
        if not request.prompt.strip():
            raise InvalidInputError(f"{label}the prompt is empty")
        if request.seed is not None and not 0 <= request.seed <= MAX_SEED:
            raise InvalidInputError(f"{label}seed {request.seed} is out of range", hint=f"use 0 to {MAX_SEED}")
        if request.fps < 1 or request.fps > 120:
            raise InvalidInputError(f"{label}{request.fps} fps is out of range (1 to 120)")
        snapped_w, snapped_h, warnings = self._size(request, facts.size_multiple)
        wanted = max(1, round(request.duration_s * request.fps))
        overlap = 0
        if request.mode is GenerationMode.VIDEO_EXTEND:
            overlap, frames = self._extension_frames(wanted, facts, clip_frames, label)
            if frames - overlap != wanted:
                added = frames - overlap
                warnings.append(f"{label}the model adds frames {facts.frame_step} at a time; adding {added} frames "
                                f"({added / request.fps:.2f}s) instead of {wanted} ({request.duration_s:g}s at "
                                f"{request.fps} fps)")
        else:
            frames = snap_frames(wanted, facts.frame_step, facts.max_frames)
        if frames != wanted and not overlap:
            why = (f"the model makes at most {facts.max_frames} frames" if facts.max_frames and wanted > facts.max_frames
                   else f"the model needs k*{facts.frame_step}+1 frames")
            warnings.append(f"{label}{why}; generating {frames} frames ({frames / request.fps:.2f}s) "
                            f"instead of {wanted} ({request.duration_s:g}s at {request.fps} fps)")
        negative = request.negative_prompt.strip() if request.negative_prompt else None
        return GenerationPlan(width=snapped_w, height=snapped_h, num_frames=frames, fps=request.fps,
                              steps=self.settings.steps or facts.default_steps,
                              guidance_scale=self.settings.guidance_scale, seed=request.seed,
                              prompt=request.prompt, negative_prompt=negative or None, warnings=warnings,
                              image=request.image, end_image=request.end_image if request.image else None,
                              keep_audio=request.audio is not False, extend_from=request.extend_from,
                              overlap=overlap)

    #: What one output is called in the size messages ("frame" here, "image" for stills).
    _size_noun: ClassVar[str] = "frame"

    def _size(self, request: GenerationRequest, multiple: int) -> tuple[int, int, list[str]]:
        """The request's frame (or ``short_side`` at its aspect ratio) snapped to ``multiple``, with the warning
        that snapping it raised; an unknown aspect ratio or resolution, or an absurd size, is refused."""
        label, noun = self._label(request), self._size_noun
        if request.aspect_ratio not in ASPECT_RATIOS:
            raise InvalidInputError(f"{label}unknown aspect ratio {request.aspect_ratio}")
        if self.settings.short_side:
            w_ratio, h_ratio = (int(p) for p in request.aspect_ratio.split(":"))
            short = self.settings.short_side
            width, height = (short * w_ratio / h_ratio, short) if w_ratio >= h_ratio else (short, short * h_ratio / w_ratio)
        else:
            if request.resolution not in RESOLUTIONS:
                raise InvalidInputError(f"{label}unknown resolution {request.resolution}",
                                        hint=f"choose one of {', '.join(self.settings.resolutions)}")
            width, height = frame_size(request.aspect_ratio, request.resolution)
        snapped_w, snapped_h = snap_to_multiple(width, multiple), snap_to_multiple(height, multiple)
        if snapped_w * snapped_h > MAX_PIXELS:
            article = "an" if noun[0] in "aeiou" else "a"
            raise InvalidInputError(f"{label}{snapped_w}x{snapped_h} is too large {article} {noun} for a local model")
        warnings = []
        if (snapped_w, snapped_h) != (round(width), round(height)):
            warnings.append(f"{label}{noun} size {round(width)}x{round(height)} is not a multiple of {multiple}; "
                            f"generating {snapped_w}x{snapped_h}")
        return snapped_w, snapped_h, warnings

    @staticmethod
    def _extension_frames(wanted: int, facts: PipelineFacts, clip_frames: int | None, label: str) -> tuple[int, int]:
        """(overlap, frames to generate) for adding ``wanted`` frames: the run starts from the clip's last
        ``overlap`` frames (``k*step+1``, see :func:`overlap_frames`) and adds a multiple of ``step``, so the
        whole run is ``k*step+1`` frames too, as the VAE needs."""
        step = facts.frame_step
        overlap = overlap_frames(step, clip_frames)
        if overlap < 1:
            raise InvalidInputError(f"{label}the clip to extend has no frames")
        added = max(step, round(wanted / step) * step)
        if facts.max_frames is not None and overlap + added > facts.max_frames:
            added = ((facts.max_frames - overlap) // step) * step
            if added < 1:
                raise InvalidInputError(f"{label}the model makes at most {facts.max_frames} frames, no more than the "
                                        f"{overlap} an extension starts from")
        return overlap, overlap + added

    def run_blocking(self, request: GenerationRequest, dest: Path, model: str, on_progress: ProgressCallback,
                     cancel: threading.Event, stop: threading.Event | None = None) -> GenerationResult:
        """Load (or reuse) the pipeline, denoise, decode, encode. Runs in a worker thread."""
        stop = stop or threading.Event()
        progress = Progress(on_progress, request.shot_index)
        cancelled, check_cancel = self._cancel_checks(request, cancel, stop)
        check_cancel()
        known = self.modes(model)
        if known is not None:  # refused before gigabytes are loaded for a shot that cannot be made
            self._check_modes(request, known, model)
        progress.emit(0.0, message=f"loading {model}")
        pipe, load_warnings = self.pipeline(model)
        check_cancel()
        modes = modes_of_pipeline(pipe, self.settings.end_image)
        self._check_modes(request, modes, model)  # the folder may have changed since prepare()
        source: ClipMedia | None = None
        if request.mode is GenerationMode.VIDEO_EXTEND:
            if not modes.extends:
                raise InvalidInputError(f"{self._label(request)}{model} ({modes.pipeline}) cannot extend a clip")
            source = read_clip(Path(request.extend_from or ""), request.fps, label=self._label(request),
                               cancel=_AnyEvent(cancel, stop))
        plan = self.plan(request, pipeline_facts(pipe, self.settings),
                         clip_frames=len(source.frames) if source is not None else None)
        kwargs = self.pipeline_arguments(pipe, plan, progress, cancelled, modes,
                                         tail=source.frames[-plan.overlap:] if source is not None else None)
        output = self._call_pipeline(pipe, kwargs, request, model, check_cancel,
                                     size=f"{plan.width}x{plan.height}, {plan.num_frames} frames",
                                     lower="short_side / the resolution / the duration")
        check_cancel()
        frames = frames_to_uint8(output.frames if hasattr(output, "frames") else output[0])
        audio = output_audio(output) if modes.audio and plan.keep_audio else None
        rate = audio_sample_rate(pipe) if audio is not None else None
        duration = plan.duration_s
        if source is not None:  # the whole, longer clip: the original, then what follows the overlap
            frames, audio, rate = extended_media(source, frames, plan.overlap, plan.fps, audio, rate)
            duration = len(frames) / plan.fps
        progress.emit(DENOISE_SHARE + 5.0, message="encoding")
        encode_mp4(frames, dest, plan.fps, cancel=_AnyEvent(cancel, stop), on_progress=progress.encoding(duration),
                   what=f"encoding {self._label(request) or 'the clip '}".strip(), audio=audio, sample_rate=rate)
        info = probe(dest)
        video = require_video(info)
        progress.emit(100.0, message="done")
        return GenerationResult(path=str(dest), duration_s=info.duration_s or duration, width=video.width,
                                height=video.height, cost=CostEstimate(amount=0.0, source="local compute"),
                                warnings=[*load_warnings, *plan.warnings], has_audio=bool(info.audio))

    def _cancel_checks(self, request: GenerationRequest, cancel: threading.Event,
                       stop: threading.Event) -> tuple[Any, Any]:
        """``(cancelled, check_cancel)`` for one run: the user's cancel or the awaiting task's ``stop``;
        ``check_cancel`` raises the shot's CancelledError."""
        def cancelled() -> bool:
            return cancel.is_set() or stop.is_set()

        def check_cancel() -> None:
            if cancelled():
                raise CancelledError(f"{self._label(request)}generation was cancelled")

        return cancelled, check_cancel

    def _call_pipeline(self, pipe: Any, kwargs: dict[str, Any], request: GenerationRequest, model: str,
                       check_cancel: Any, *, size: str, lower: str) -> Any:
        """``pipe(**kwargs)`` under the run lock (one run on the GPU at a time), its failures turned into one
        clear line each: cancelled from the step callback, values the model refuses (diffusers' own
        ``check_inputs``), out of memory at ``size`` (the hint names the offload switch and what to
        ``lower``), a package the pipeline needs and does not import, anything else with the model's name."""
        label = self._label(request)
        with _run_lock:
            check_cancel()
            try:
                return pipe(**kwargs)
            except _Interrupted:
                raise CancelledError(f"{label}generation was cancelled") from None
            except ValueError as exc:  # diffusers' own check_inputs: this model refuses the values
                raise InvalidInputError(f"{label}{model} refused the request: {exc}") from exc
            except Exception as exc:
                if _is_out_of_memory(exc):
                    raise BackendError(f"{label}{model} ran out of memory at {size}",
                                       hint=f'set [backends.{self.name}] offload = "model" (or "sequential"), '
                                            f"or lower {lower}") from exc
                missing = getattr(exc, "name", None) if isinstance(exc, NameError) else None
                if missing and importlib.util.find_spec(missing) is None:  # Wan I2V calls ftfy without importing it
                    raise BackendError(f"{label}{type(pipe).__name__} needs the {missing} package, "
                                       f"which is not installed", hint=f"pip install {missing}") from exc
                raise BackendError(f"{label}{model} failed: {type(exc).__name__}: {exc}") from exc

    def pipeline_arguments(self, pipe: Any, plan: GenerationPlan, progress: "Progress",
                           cancelled: Any, modes: PipelineModes | None = None,
                           tail: Any = None) -> dict[str, Any]:
        """The keyword arguments for ``pipe(...)``, with the progress/cancel callback the pipeline supports.

        The start image (and last frame) is cropped to the generation size and handed over the way this
        pipeline takes it (``image=``/``last_image=`` or LTX ``conditions``); an extension's ``tail`` (the
        clip's last frames, uint8) goes in as a video condition at frame 0, fitted to the generation size;
        a pipeline that reads the frame rate (LTX ``frame_rate``, Stable Video Diffusion's ``fps``
        conditioning) gets the shot's."""
        modes = modes or modes_of_pipeline(pipe, self.settings.end_image)
        params = inspect.signature(pipe.__call__).parameters
        kwargs: dict[str, Any] = {"num_frames": plan.num_frames, "height": plan.height, "width": plan.width,
                                  "num_inference_steps": plan.steps}
        if modes.takes_prompt:
            kwargs["prompt"] = plan.prompt
        if plan.image:
            image = fit_image(plan.image, plan.width, plan.height)
            end = (fit_image(plan.end_image, plan.width, plan.height, what="end image")
                   if plan.end_image and modes.end_image else None)
            kwargs.update(conditioning_arguments(pipe, modes, image, end, plan.num_frames))
        if tail is not None:
            kwargs.update(extension_arguments(pipe, modes, fit_frames(tail, plan.width, plan.height)))
        for rate in ("frame_rate", "fps"):
            if rate in params:
                kwargs[rate] = plan.fps
        if plan.negative_prompt and "negative_prompt" in params:
            kwargs["negative_prompt"] = plan.negative_prompt
        kwargs.update(sampling_arguments(pipe, guidance_scale=plan.guidance_scale, seed=plan.seed, output_type="np",
                                         steps=plan.steps, progress=progress, cancelled=cancelled))
        return kwargs

    def pipeline(self, model: str) -> tuple[Any, list[str]]:
        """The loaded pipeline for ``model`` on this machine's device, and the warnings its setup raised."""
        global _cached
        import torch

        key, device, dtype, offload = self._placement(torch, model)
        with _cache_lock:
            if _cached is not None and _cached[0] == key:
                return _cached[1]
            if _cached is not None:  # a different model: free the old one first
                _cached = None
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            loaded = self._load(torch, model, device, dtype, offload)
            _cached = (key, loaded)
            return loaded

    def _placement(self, torch: Any, model: str) -> tuple[tuple, str, Any, str]:
        """The pipeline cache key, and the device, dtype and offload mode these settings give here."""
        device = pick_device(torch, self.settings.device)
        dtype = pick_dtype(torch, device, self.settings.dtype)
        offload = self._offload_mode(torch, device)
        key = (model, self.settings.variant, device, str(dtype), offload, self.settings.vae_tiling,
               self.settings.vae_slicing)
        return key, device, dtype, offload

    def adopt_pipeline(self, model: str, pipe: Any) -> list[str]:
        """Use ``pipe`` (built in memory, on the CPU) as the loaded pipeline for ``model``, set up exactly as a
        loaded one (device, offload, VAE switches). For benchmarks of real-size architectures with random
        weights, which would otherwise be written to disk only to be read back."""
        global _cached
        import torch

        key, device, _dtype, offload = self._placement(torch, model)
        self._check_video_pipeline(pipe, model)
        warnings = self._setup(pipe, device, offload)
        with _cache_lock:
            _cached = (key, (pipe, warnings))
        return warnings

    def _load(self, torch: Any, model: str, device: str, dtype: Any, offload: str) -> tuple[Any, list[str]]:
        from diffusers import DiffusionPipeline

        source = self._source(model)
        options = self._pretrained_options(dtype)
        log.info("loading diffusers pipeline %s on %s (%s, offload=%s)", source, device, dtype, offload)
        try:
            pipe = DiffusionPipeline.from_pretrained(source, **options)
        except Exception as exc:  # a wrong id, missing weights, a custom pipeline, no network...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendError(f"could not load diffusers model {model}: {first}",
                               hint="use a local pipeline folder, or download the hub id first "
                                    "(`hf download <id>`); check the variant setting") from exc
        self._check_video_pipeline(pipe, model)
        return pipe, self._setup(pipe, device, offload)

    def _source(self, model: str) -> str:
        """What ``from_pretrained`` gets: a checked local folder, or the hub id as given."""
        local = Path(model).expanduser()
        # A hub id is "org/name"; anything else that names no existing folder is a wrong path.
        if local.exists() or model.startswith((".", "/", "~")) or "\\" in model or model.count("/") > 1:
            if not local.is_dir():
                raise InvalidInputError(f"{self.name} model folder {local} does not exist",
                                        hint=f"point [backends.{self.name}] model at a folder holding "
                                             "model_index.json")
            if not (local / "model_index.json").is_file():
                raise InvalidInputError(f"{local} is not a diffusers pipeline folder (no model_index.json)",
                                        hint="download the whole pipeline, e.g. `hf download <id> --local-dir <folder>`")
            return str(local)
        return model

    def _pretrained_options(self, dtype: Any) -> dict[str, Any]:
        """``from_pretrained``'s dtype (under the keyword this diffusers takes) and the configured variant."""
        options: dict[str, Any] = {_dtype_keyword(): dtype}
        if self.settings.variant:
            options["variant"] = self.settings.variant
        return options

    def _setup(self, pipe: Any, device: str, offload: str) -> list[str]:
        """Place a pipeline on ``device`` with the memory switches of these settings; returns the warnings."""
        warnings: list[str] = []
        if hasattr(pipe, "set_progress_bar_config"):
            pipe.set_progress_bar_config(disable=True)
        offloaded = False
        try:
            if offload == "model" and hasattr(pipe, "enable_model_cpu_offload"):
                pipe.enable_model_cpu_offload(device=device)
                offloaded = True
            elif offload == "sequential" and hasattr(pipe, "enable_sequential_cpu_offload"):
                pipe.enable_sequential_cpu_offload(device=device)
                offloaded = True
        except ImportError as exc:  # accelerate missing or too old
            raise BackendError(f"offload = {offload!r} needs accelerate: {exc}",
                               hint="pip install 'shotsmith[diffusers]', or set offload = \"none\"") from exc
        if not offloaded:
            if offload != "none":
                warnings.append(f"{type(pipe).__name__} cannot offload ({offload}); loading it whole onto {device}")
            pipe.to(device)
        vae = getattr(pipe, "vae", None)
        for wanted, switch in ((self.settings.vae_tiling, "tiling"), (self.settings.vae_slicing, "slicing")):
            if not wanted:
                continue
            enable = getattr(vae, f"enable_{switch}", None) or getattr(pipe, f"enable_vae_{switch}", None)
            try:
                if enable is not None:
                    enable()
            except NotImplementedError:  # the base class offers it, this VAE does not (SVD's temporal decoder)
                log.info("%s's VAE has no %s; decoding without it", type(pipe).__name__, switch)
        return warnings

    def _check_video_pipeline(self, pipe: Any, model: str) -> PipelineModes:
        """A text-to-video or image-to-video pipeline; anything else (video-to-video, an image model) is refused."""
        try:
            return modes_of_pipeline(pipe, self.settings.end_image)
        except BackendError as exc:
            raise BackendError(f"{model} loads as {type(pipe).__name__}, which is not a text-to-video or "
                               f"image-to-video pipeline", hint=exc.hint) from None

    def _offload_mode(self, torch: Any, device: str) -> str:
        """``auto`` offloads whole models on a small CUDA card; offload means nothing without an accelerator."""
        mode = self.settings.offload
        if device == "cpu":
            if mode in ("model", "sequential"):
                log.warning("offload = %r needs a GPU; running on the CPU without it", mode)
            return "none"
        if mode == "auto":
            if device.startswith("cuda"):
                index = int(device.partition(":")[2] or 0)
                total_gib = torch.cuda.get_device_properties(index).total_memory / 2**30
                return "model" if total_gib < AUTO_OFFLOAD_BELOW_GIB else "none"
            return "none"
        return mode

    @staticmethod
    def _label(request: GenerationRequest) -> str:
        return f"shot {request.shot_index}: " if request.shot_index is not None else ""


def pick_device(torch: Any, requested: str = "auto") -> str:
    """CUDA if there is one, else Apple's MPS, else the CPU; an explicit choice must exist."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested.startswith("cuda") and not cuda:
        raise InvalidInputError(f"[backends.diffusers] device = {requested!r}, but torch sees no CUDA GPU",
                                hint="install a CUDA build of torch, or set device = \"auto\"")
    if requested == "mps" and not mps:
        raise InvalidInputError("[backends.diffusers] device = 'mps', but MPS is not available here")
    return requested


def pick_dtype(torch: Any, device: str, requested: str = "auto") -> Any:
    """bf16 on a CUDA card that has it (fewer overflows than fp16), else fp16 on a GPU, fp32 on the CPU."""
    if requested != "auto":
        return getattr(torch, requested)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def _dtype_keyword() -> str:
    """``dtype`` on diffusers that renamed it (``torch_dtype`` now warns), ``torch_dtype`` on older ones."""
    try:
        from diffusers.utils import deprecation_utils
    except ImportError:
        return "torch_dtype"
    return "dtype" if hasattr(deprecation_utils, "_TORCH_DTYPE_DEPRECATION_MESSAGE") else "torch_dtype"


def frames_to_uint8(frames: Any) -> Any:
    """Pipeline output (np floats in [0, 1], a tensor, or PIL images; batched or not) -> uint8 (F, H, W, 3)."""
    import numpy as np

    if hasattr(frames, "detach"):  # a torch tensor (output_type="pt"): (B, F, C, H, W) or (F, C, H, W)
        frames = frames.detach().float().cpu().numpy()
        frames = np.moveaxis(frames, -3, -1)
    if isinstance(frames, list | tuple):
        if frames and isinstance(frames[0], list | tuple):
            frames = frames[0]
        frames = np.stack([np.asarray(f) for f in frames])
    array = np.asarray(frames)
    if array.ndim == 5:
        array = array[0]
    if array.ndim != 4:
        raise BackendError(f"the pipeline returned frames of shape {array.shape}; expected (frames, height, width, channels)")
    if array.dtype != np.uint8:
        array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0).round().astype(np.uint8)
    channels = array.shape[-1]
    if channels == 1:
        array = np.repeat(array, 3, axis=-1)
    elif channels == 4:
        array = array[..., :3]
    elif channels != 3:
        raise BackendError(f"the pipeline returned {channels}-channel frames")
    return np.ascontiguousarray(array)


def encode_mp4(frames: Any, dest: Path, fps: int, *, cancel: threading.Event | None = None,
               on_progress: Any = None, what: str = "encoding the clip", audio: Any = None,
               sample_rate: int | None = None) -> None:
    """Write uint8 RGB frames (F, H, W, 3) to an H.264 MP4 at ``fps`` through ffmpeg.

    ``audio`` (float32 samples x channels in [-1, 1], at ``sample_rate``) is muxed in as
    AAC, padded or cut to the frames' length so picture and sound end together. The
    frames and samples go through raw files rather than pipes because the shared ffmpeg
    runner owns stdin/stdout (progress, cancel, error tails).
    """
    count, height, width, _ = frames.shape
    if width % 2 or height % 2:  # yuv420p needs even sides
        frames = frames[:, : height - height % 2, : width - width % 2]
        count, height, width, _ = frames.shape
    duration = count / fps
    with tempfile.TemporaryDirectory(prefix="shotsmith-diffusers-") as tmp:
        raw = Path(tmp) / "frames.rgb"
        raw.write_bytes(frames.tobytes())
        inputs = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", str(raw)]
        sound = ["-an"]
        if audio is not None:
            if not sample_rate:
                raise BackendError("audio came without a sample rate")
            pcm = Path(tmp) / "audio.f32"
            pcm.write_bytes(audio.astype("<f4").tobytes())
            inputs += ["-f", "f32le", "-ar", str(int(sample_rate)), "-ac", str(audio.shape[1]), "-i", str(pcm)]
            sound = ["-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "128k",
                     "-af", f"apad=whole_dur={duration:.6f}", "-t", f"{duration:.6f}"]
        run_ffmpeg([*inputs, "-frames:v", str(count), "-c:v", "libx264", "-preset", "medium", "-crf", "16",
                    "-pix_fmt", "yuv420p", "-r", str(fps), *sound, "-movflags", "+faststart", "-f", "mp4", str(dest)],
                   duration_s=duration, cancel=cancel, on_progress=on_progress, what=what)


def read_clip(path: Path, fps: int, *, label: str = "", cancel: Any = None) -> ClipMedia:
    """Decode a clip to extend: every frame as uint8 RGB (at ``fps``, resampled only where the clip has
    another rate) and its first sound track as float32 samples.

    Decoded through ffmpeg into raw files (the runner owns the pipes), with the frames passed through
    as they are, so frame N here is frame N of the file and the extended clip starts with exactly them."""
    import numpy as np

    if not path.is_file():
        raise InvalidInputError(f"{label}the clip to extend {path} does not exist",
                                hint="generate the shot again; its clip was removed from the project")
    info = probe(path)
    video = require_video(info)
    width, height = video.width, video.height
    resample = ["-vf", f"fps={fps}"] if video.fps and abs(video.fps - fps) > 0.01 else ["-fps_mode", "passthrough"]
    with tempfile.TemporaryDirectory(prefix="shotsmith-extend-") as tmp:
        raw = Path(tmp) / "frames.rgb"
        run_ffmpeg(["-i", str(path), "-map", "0:v:0", *resample, "-f", "rawvideo", "-pix_fmt", "rgb24", str(raw)],
                   what=f"{label}reading the clip to extend", cancel=cancel)
        frames = np.fromfile(raw, dtype=np.uint8)
        frames = frames[: frames.size // (width * height * 3) * width * height * 3].reshape(-1, height, width, 3)
        audio = rate = None
        if info.audio:
            stream = info.audio[0]
            pcm = Path(tmp) / "audio.f32"
            run_ffmpeg(["-i", str(path), "-map", "0:a:0", "-f", "f32le", "-ac", str(stream.channels), "-ar",
                        str(stream.sample_rate), str(pcm)], what=f"{label}reading the clip's sound", cancel=cancel)
            audio = np.fromfile(pcm, dtype="<f4").reshape(-1, stream.channels)
            rate = stream.sample_rate
    if not len(frames):
        raise InvalidInputError(f"{label}the clip to extend {path} has no frames")
    return ClipMedia(frames=frames, audio=audio, sample_rate=rate)


def fit_frames(frames: Any, width: int, height: int) -> list[Any]:
    """uint8 frames as PIL images of ``width`` x ``height`` (scaled to cover and centre-cropped where
    their size differs, like a keyframe)."""
    from PIL import Image, ImageOps

    images = [Image.fromarray(frame) for frame in frames]
    if images and images[0].size != (width, height):
        images = [ImageOps.fit(i, (width, height), method=Image.Resampling.LANCZOS) for i in images]
    return images


def extended_media(source: ClipMedia, generated: Any, overlap: int, fps: int, audio: Any = None,
                   rate: int | None = None) -> tuple[Any, Any, int | None]:
    """The whole, longer clip: ``source``'s frames, then the generated frames after the ``overlap`` that
    repeats the clip's tail (fitted to the clip's size where the model made another). The clip's sound
    is kept as it is; sound the model made for the new frames (LTX-2) follows it, resampled to the
    clip's rate, and a silent clip gets silence under its old part."""
    import numpy as np

    height, width = source.frames.shape[1:3]
    new = generated[overlap:]
    if new.shape[1:3] != (height, width):
        new = np.stack([np.asarray(i) for i in fit_frames(new, width, height)])
    frames = np.concatenate([source.frames, new])
    if source.audio is None and audio is None:
        return frames, None, None
    if source.audio is None:  # silence under the original part, then the model's sound after the overlap
        assert rate is not None
        start = round(overlap / fps * rate)
        lead = np.zeros((round(len(source.frames) / fps * rate), audio.shape[1]), dtype=np.float32)
        return frames, np.concatenate([lead, audio[start:]]), rate
    if audio is None:
        return frames, source.audio, source.sample_rate  # the encoder pads it with silence to the new length
    target = int(source.sample_rate or rate or 0)
    tail = audio[round(overlap / fps * (rate or target)):]
    if rate and rate != target and len(tail):
        positions = np.linspace(0, len(tail) - 1, max(1, round(len(tail) * target / rate)))
        tail = np.stack([np.interp(positions, np.arange(len(tail)), tail[:, c]) for c in range(tail.shape[1])],
                        axis=1).astype(np.float32)
    channels = source.audio.shape[1]
    if tail.shape[1] != channels:
        tail = np.repeat(tail.mean(axis=1, keepdims=True), channels, axis=1)
    lead = source.audio[: round(len(source.frames) / fps * target)]
    if len(lead) < round(len(source.frames) / fps * target):
        lead = np.concatenate([lead, np.zeros((round(len(source.frames) / fps * target) - len(lead), channels),
                                              dtype=np.float32)])
    return frames, np.concatenate([lead, tail]).astype(np.float32), target


def sampling_arguments(pipe: Any, *, guidance_scale: float | None, seed: int | None, output_type: str, steps: int,
                       progress: "Progress", cancelled: Any) -> dict[str, Any]:
    """The keywords both diffusers backends hand ``pipe`` alike: the guidance scale (where it takes one), a
    seeded generator, the ``output_type`` (where it takes one) and the :func:`step_callback`."""
    import torch

    params = inspect.signature(pipe.__call__).parameters
    kwargs: dict[str, Any] = {}
    if guidance_scale is not None and "guidance_scale" in params:
        kwargs["guidance_scale"] = guidance_scale
    if seed is not None:
        # A CPU generator gives the same noise on every device; diffusers moves it over.
        kwargs["generator"] = torch.Generator(device="cpu").manual_seed(seed)
    if "output_type" in params:
        kwargs["output_type"] = output_type
    kwargs.update(step_callback(pipe, steps, progress, cancelled))
    return kwargs


def step_callback(pipe: Any, steps: int, progress: "Progress", cancelled: Any) -> dict[str, Any]:
    """The step-callback keyword ``pipe`` takes (``callback_on_step_end``, or an older pipeline's
    ``callback``/``callback_steps``): each step fills the denoising share of ``progress`` and leaves the
    loop at once (:class:`_Interrupted`) when ``cancelled()``; none, with a log line, when it takes neither."""
    params = inspect.signature(pipe.__call__).parameters

    def step_done(step: int, total: int) -> None:
        if cancelled():
            raise _Interrupted()
        progress.emit(DENOISE_SHARE * min(1.0, (step + 1) / max(total, 1)), message=f"step {step + 1}/{total}")

    if "callback_on_step_end" in params:
        def on_step_end(pipeline, step, timestep, callback_kwargs):
            step_done(step, getattr(pipeline, "_num_timesteps", None) or steps)
            return callback_kwargs

        return {"callback_on_step_end": on_step_end}
    if "callback" in params:  # older pipelines (ModelScope's TextToVideoSDPipeline)
        return {"callback": lambda step, timestep, latents: step_done(step, steps),
                **({"callback_steps": 1} if "callback_steps" in params else {})}
    log.warning("%s has no step callback: no progress until it finishes, and cancel waits for the end",
                type(pipe).__name__)
    return {}


class Progress:
    """Ordered running events for one shot: percent never goes back, and 100 comes last (shared by the
    diffusers backends, which report loading, denoising and writing through it)."""

    def __init__(self, callback: ProgressCallback, shot_index: int | None) -> None:
        self.callback = callback
        self.shot_index = shot_index
        self.last = -1.0

    def emit(self, percent: float | None, state: str = "running", message: str = "") -> None:
        if percent is not None:
            percent = min(100.0, max(percent, self.last, 0.0))
            if percent == self.last and percent not in (0.0, 100.0):
                return
            self.last = percent
        self.callback(ProgressEvent(shot_index=self.shot_index, state=state, percent=percent, message=message))

    def encoding(self, duration_s: float):
        start = DENOISE_SHARE + 5.0

        def report(seconds: float) -> None:
            self.emit(min(99.0, start + (99.0 - start) * seconds / max(duration_s, 1e-6)), message="encoding")

        return report


class _AnyEvent:
    """Looks like a threading.Event to the ffmpeg runner; set when either event is."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def _is_out_of_memory(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name == "OutOfMemoryError" or "out of memory" in str(exc).lower()


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(DiffusersBackend)
