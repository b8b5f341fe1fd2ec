"""The built-in ``diffusers-image`` backend: keyframes and storyboard stills from a local text-to-image model.

It loads any diffusers text-to-image pipeline from the user's model folder (or a
cached hub id) with ``AutoPipelineForText2Image.from_pretrained``, which picks
the right class from ``model_index.json``: SD 1.5, SDXL and SDXL-Turbo, SD3,
FLUX and the rest all come in through that one door. A shot with a reference
image (a cast member's picture, or the previous keyframe to redo) runs
image-to-image on the *same* loaded components through
``AutoPipelineForImage2Image.from_pipe``, so the weights are in memory once.

Why it is built on :class:`~shotsmith.backends.local_diffusion.DiffusersBackend`:
loading a model on this machine has the same needs for a still as for a clip
(the config table and its checks, device and dtype picking, diffusers' offload
and VAE switches, one pipeline kept between shots under one lock, the step
callback for progress and cancel), so this class inherits all of that and
replaces only what differs: the pipeline it loads, how a request becomes
pipeline arguments (a size, a reference and a strength instead of frames) and
what it writes (one PNG, written atomically and decoded back before it is
returned). Shots run in this process, one at a time: a still is seconds on a
GPU, and the Ray pool's workers hand back clips.

The model comes from ``[backends.diffusers-image] model = "..."`` in the config
or ``model=`` in code; without one the backend still lists itself and says what
to set when it is used. It is free but ties up the GPU (minutes per still on a
CPU), so its capabilities say ``long_running`` and a run asks before using it,
as the video backend does.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import math
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

import shotsmith
from shotsmith.atomic import atomic_write_bytes
from shotsmith.backends.base import (
    Backend,
    Capabilities,
    CostEstimate,
    GenerationMode,
    GenerationRequest,
    GenerationResult,
    MediaKind,
    ProgressCallback,
)
from shotsmith.backends.download import verify_image
from shotsmith.backends.local_diffusion import (
    DENOISE_SHARE,
    MAX_SEED,
    DiffusersBackend,
    DiffusersSettings,
    Progress,
    pipeline_facts,
    sampling_arguments,
)
from shotsmith.config import Settings
from shotsmith.errors import BackendError, InvalidInputError, MediaError
from shotsmith.formats import ASPECT_RATIOS

log = logging.getLogger(__name__)

#: Settings of the video backend that mean nothing for a still; naming one is refused, not ignored.
VIDEO_ONLY_SETTINGS = ("fps", "min_duration_s", "max_duration_s", "max_frames", "frame_step", "end_image")
#: The least img2img strength (a reference with weight 1 still gets this much of the model's say).
MIN_STRENGTH = 0.05
#: Reference-guided frames start from one image: img2img has a single init image.
MAX_REFERENCES = 1
#: Tokenizer limits above this are "no limit" placeholders (transformers uses a huge int for them).
_NO_TOKEN_LIMIT = 100_000


class DiffusersImageSettings(DiffusersSettings):
    """``[backends.diffusers-image]``: the video backend's loading and memory keys, plus img2img's strength."""

    resolutions: list[str] = Field(default_factory=lambda: ["360p", "480p", "540p", "720p", "1080p"])
    strength: float = Field(default=0.6, gt=0.0, le=1.0,
                            description="Reference-guided frames: how far image-to-image may move away from the "
                                        "reference (0 keeps it, 1 ignores it); a reference's weight overrides it.")

    @model_validator(mode="before")
    @classmethod
    def _no_video_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            given = [key for key in VIDEO_ONLY_SETTINGS if key in data]
            if given:
                raise ValueError(f"{', '.join(given)} {'is a video setting' if len(given) == 1 else 'are video settings'}"
                                 "; diffusers-image makes stills (set it under [backends.diffusers])")
        return data


@dataclass
class ImagePlan:
    """The pipeline call one request turns into, and the warnings that snapping it raised."""

    width: int
    height: int
    steps: int
    guidance_scale: float | None
    seed: int | None
    prompt: str
    negative_prompt: str | None
    reference: Path | None = None
    strength: float | None = None
    warnings: list[str] = field(default_factory=list)


# The image-to-image pipeline made from each loaded text-to-image pipeline: it shares its components
# (no second copy of the weights) and goes when the loaded pipeline is dropped from the cache.
_img2img: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
_img2img_lock = threading.Lock()


def size_multiple(pipe: Any, settings: DiffusersSettings) -> int:
    """Width/height multiple for ``pipe``: the video backend's reading (VAE factor times patch size, at least 8),
    doubled where latents are packed 2x2 into tokens (FLUX and its kin), as their ``check_inputs`` ask."""
    multiple = pipeline_facts(pipe, settings).size_multiple
    if settings.size_multiple:
        return multiple
    if hasattr(pipe, "_pack_latents"):
        multiple = math.lcm(multiple, 2 * int(getattr(pipe, "vae_scale_factor", 8) or 8))
    return multiple


def image_to_image(pipe: Any) -> Any:
    """The image-to-image pipeline on ``pipe``'s components (``AutoPipelineForImage2Image.from_pipe``), made once."""
    with _img2img_lock:
        found = _img2img.get(pipe)
        if found is not None:
            return found
        from diffusers import AutoPipelineForImage2Image

        try:
            made = AutoPipelineForImage2Image.from_pipe(pipe)
        except (ValueError, KeyError) as exc:
            raise BackendError(f"{type(pipe).__name__} has no image-to-image counterpart in diffusers, so reference "
                               "images cannot guide it",
                               hint="use a model family with one (SD 1.5, SDXL, SD3, FLUX), or drop the shot's "
                                    "references") from exc
        if hasattr(made, "set_progress_bar_config"):
            made.set_progress_bar_config(disable=True)
        _img2img[pipe] = made
        return made


def prompt_limit_warning(pipe: Any, prompt: str, label: str) -> str | None:
    """A warning when the prompt is longer than every text encoder of ``pipe`` reads.

    CLIP encoders read 77 tokens; a T5 encoder (SD3, FLUX) reads the pipeline's
    ``max_sequence_length``. diffusers cuts longer prompts with only a log line;
    the shot's warnings say it instead. Nothing is said when one encoder reads it all.
    """
    params = inspect.signature(pipe.__call__).parameters
    sequence = params.get("max_sequence_length")
    sequence_limit = sequence.default if sequence is not None and isinstance(sequence.default, int) else None
    longest_read, counted = 0, 0
    for name in ("tokenizer", "tokenizer_2", "tokenizer_3"):
        tokenizer = getattr(pipe, name, None)
        if tokenizer is None:
            continue
        limit = getattr(tokenizer, "model_max_length", None)
        if not isinstance(limit, int) or limit >= _NO_TOKEN_LIMIT:
            limit = sequence_limit
        if limit is None:
            return None  # an encoder with no limit reads the whole prompt
        try:
            tokens = len(tokenizer(prompt, truncation=False, verbose=False)["input_ids"])
        except Exception:  # a tokenizer that cannot count is no reason to fail the shot
            return None
        if tokens <= limit:
            return None
        longest_read, counted = max(longest_read, limit), max(counted, tokens)
    if longest_read:
        return (f"{label}the prompt is {counted} tokens; {type(pipe).__name__} reads the first {longest_read}, "
                "the rest is not used")
    return None


class DiffusersImageBackend(DiffusersBackend):
    name = "diffusers-image"
    description = ("Local text-to-image with a diffusers pipeline from your model folder (SD 1.5, SDXL, SD3, FLUX); "
                   "reference frames by image-to-image. Free; wants a GPU.")
    settings_model = DiffusersImageSettings
    _size_noun = "image"

    def __init__(self, model: str | None = None, *, settings: Settings | None = None, **options: Any) -> None:
        try:
            super().__init__(model, settings=settings, **options)
        except InvalidInputError as exc:  # the hint lists the keys of this table, not the video-only ones
            known = [k for k in DiffusersImageSettings.model_fields if k not in VIDEO_ONLY_SETTINGS]
            message = exc.message.replace("settings: Value error, ", "").replace("Value error, ", "")
            raise InvalidInputError(message, hint=f"known settings: {', '.join(known)}") from exc

    # -- contract ---------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE],
                            aspect_ratios=list(ASPECT_RATIOS), resolutions=list(self.settings.resolutions),
                            max_prompt_chars=2000, supports_seed=True, supports_negative_prompt=True,
                            max_references=MAX_REFERENCES, max_concurrency=1, costs_money=False, local=True,
                            long_running=True)

    def cache_identity(self) -> dict:
        """The video backend's (steps, guidance, dtype, variant, the weights' time) plus img2img's strength."""
        return {**super().cache_identity(), "strength": self.settings.strength}

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        width, height, _ = self._size(request, self.settings.size_multiple or 8)
        steps = f"{self.settings.steps} steps" if self.settings.steps else "the model's default steps"
        guided = ", image-to-image from the reference" if request.references else ""
        return CostEstimate(amount=0.0, unit="USD", source="local compute",
                            detail=f"one {width}x{height} image{guided}, {steps}, on this machine's GPU (or CPU); "
                                   "no money is charged")

    def check_ready(self) -> None:
        """A model is set, and when it names a folder, that folder holds a pipeline (before anyone approves)."""
        self._source(self.model_id())

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        """The contract's checks (not the video backend's: they read a video model's modes), after making sure
        there is a model to run; then the reference image must be there and readable (it is read, never skipped)."""
        self.model_id(request)
        ready, warnings = Backend.prepare(self, request)
        if ready.mode is GenerationMode.REFERENCE_TO_IMAGE:
            self._reference_picture(ready)
        return ready, warnings

    def _concurrency(self) -> int:
        return 1  # stills run in this process, one at a time, even when the run's executor is Ray

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        model = self.model_id(request)
        result = await self._in_thread(request, Path(dest), model, on_progress, cancel)
        if self.executor() == "ray":
            label = self._label(request)
            result.warnings.append(f"{label}diffusers-image runs stills in this process; the Ray executor is for "
                                   "video shots")
        return result

    # -- pieces -----------------------------------------------------------------------
    def plan_image(self, request: GenerationRequest, multiple: int = 8, default_steps: int = 50) -> ImagePlan:
        """Turn a request into pipeline arguments, checking each value as diffusers' check_inputs would."""
        label = self._label(request)
        if request.mode not in (GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE):
            raise InvalidInputError(f"{label}the diffusers-image backend makes stills, not {request.mode.value}")
        if not request.prompt.strip():
            raise InvalidInputError(f"{label}the prompt is empty")
        if request.seed is not None and not 0 <= request.seed <= MAX_SEED:
            raise InvalidInputError(f"{label}seed {request.seed} is out of range", hint=f"use 0 to {MAX_SEED}")
        width, height, warnings = self._size(request, multiple)
        steps = self.settings.steps or default_steps
        reference = strength = None
        if request.mode is GenerationMode.REFERENCE_TO_IMAGE:
            if not request.references:
                raise InvalidInputError(f"{label}reference-to-image needs a reference image")
            first = request.references[0]
            reference = Path(first.path)
            strength = self.settings.strength if first.weight is None else max(MIN_STRENGTH, 1.0 - first.weight)
            # img2img denoises int(steps * strength) of the steps; fewer than one is diffusers' ValueError.
            if int(steps * strength) < 1:
                needed = math.ceil(1.0 / strength)
                warnings.append(f"{label}{steps} steps at strength {strength:g} leave no denoising step; "
                                f"running {needed} steps")
                steps = needed
        negative = request.negative_prompt.strip() if request.negative_prompt else None
        return ImagePlan(width=width, height=height, steps=steps, guidance_scale=self.settings.guidance_scale,
                         seed=request.seed, prompt=request.prompt, negative_prompt=negative or None,
                         reference=reference, strength=strength, warnings=warnings)

    def _reference_picture(self, request: GenerationRequest) -> Any:
        """The shot's first reference as an RGB picture; a missing or unreadable file is the user's to fix."""
        from shotsmith.backends.reference_images import open_reference

        ref = request.references[0]
        return open_reference(ref.path, label=self._label(request), name=ref.tag or Path(ref.path).name).convert("RGB")

    def run_blocking(self, request: GenerationRequest, dest: Path, model: str, on_progress: ProgressCallback,
                     cancel: threading.Event, stop: threading.Event | None = None) -> GenerationResult:
        """Load (or reuse) the pipeline, denoise, decode, write the PNG. Runs in a worker thread."""
        stop = stop or threading.Event()
        progress = Progress(on_progress, request.shot_index)
        label = self._label(request)
        cancelled, check_cancel = self._cancel_checks(request, cancel, stop)
        check_cancel()
        progress.emit(0.0, message=f"loading {model}")
        pipe, load_warnings = self.pipeline(model)
        check_cancel()
        plan = self.plan_image(request, size_multiple(pipe, self.settings),
                               pipeline_facts(pipe, self.settings).default_steps)
        runner = pipe
        if plan.reference is not None:
            runner = image_to_image(pipe)
        kwargs, call_warnings = self.image_arguments(runner, plan, request, progress, cancelled)
        too_long = prompt_limit_warning(runner, plan.prompt, label)
        output = self._call_pipeline(runner, kwargs, request, model, check_cancel,
                                     size=f"{plan.width}x{plan.height}", lower="short_side / the resolution")
        check_cancel()
        progress.emit(DENOISE_SHARE + 5.0, message="writing the image")
        atomic_write_bytes(dest, self._png(output, model, label))
        try:
            checked = verify_image(dest)
        except MediaError as exc:
            dest.unlink(missing_ok=True)
            raise BackendError(f"{label}the image {model} made does not decode: {exc.message}") from exc
        progress.emit(100.0, message="done")
        warnings = [*load_warnings, *plan.warnings, *call_warnings, *([too_long] if too_long else [])]
        return GenerationResult(path=str(dest), duration_s=0.0, width=checked.width, height=checked.height,
                                kind=MediaKind.IMAGE, cost=CostEstimate(amount=0.0, source="local compute"),
                                warnings=warnings)

    def image_arguments(self, pipe: Any, plan: ImagePlan, request: GenerationRequest, progress: Progress,
                        cancelled: Any) -> tuple[dict[str, Any], list[str]]:
        """The keyword arguments for ``pipe(...)`` (only those its ``__call__`` takes), and what had to be left out."""
        label = self._label(request)
        params = inspect.signature(pipe.__call__).parameters
        warnings: list[str] = []
        kwargs: dict[str, Any] = {"prompt": plan.prompt, "num_inference_steps": plan.steps}
        if "height" in params and "width" in params:
            kwargs.update(height=plan.height, width=plan.width)
        if plan.reference is not None:
            from PIL import Image, ImageOps

            # Cropped to the frame's shape and scaled to its size: img2img makes a picture the size of its input.
            kwargs["image"] = ImageOps.fit(self._reference_picture(request), (plan.width, plan.height),
                                           method=Image.Resampling.LANCZOS)
            kwargs["strength"] = plan.strength
        if plan.negative_prompt:
            if "negative_prompt" in params:
                kwargs["negative_prompt"] = plan.negative_prompt
            else:
                warnings.append(f"{label}{type(pipe).__name__} takes no negative prompt; it is ignored")
        kwargs.update(sampling_arguments(pipe, guidance_scale=plan.guidance_scale, seed=plan.seed, output_type="pil",
                                         steps=plan.steps, progress=progress, cancelled=cancelled))
        return kwargs, warnings

    @staticmethod
    def _png(output: Any, model: str, label: str) -> bytes:
        """The first image of a pipeline's output as PNG bytes; a safety-checker black frame is an error."""
        import numpy as np
        from PIL import Image

        flagged = getattr(output, "nsfw_content_detected", None)
        if flagged and flagged[0]:
            raise BackendError(f"{label}{model}'s safety checker flagged the image (it would be a black frame)",
                               hint="rephrase the prompt")
        images = output.images if hasattr(output, "images") else output[0]
        image = images[0]
        if not isinstance(image, Image.Image):
            array = np.asarray(image)
            if array.dtype != np.uint8:
                array = (np.clip(array.astype(np.float32), 0.0, 1.0) * 255.0).round().astype(np.uint8)
            image = Image.fromarray(array)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "PNG")
        return buffer.getvalue()

    def _placement(self, torch: Any, model: str) -> tuple[tuple, str, Any, str]:
        """The video backend's placement, keyed apart: the same folder loads as another class here."""
        key, device, dtype, offload = super()._placement(torch, model)
        return ("text-to-image", *key), device, dtype, offload

    def _load(self, torch: Any, model: str, device: str, dtype: Any, offload: str) -> tuple[Any, list[str]]:
        from diffusers import AutoPipelineForText2Image

        source = self._source(model)
        options = self._pretrained_options(dtype)
        log.info("loading text-to-image pipeline %s on %s (%s, offload=%s)", source, device, dtype, offload)
        try:
            with _quiet_loading():
                pipe = AutoPipelineForText2Image.from_pretrained(source, **options)
        except Exception as exc:  # not a text-to-image family, a wrong id, missing weights, no network...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendError(f"could not load {model} as a text-to-image pipeline: {first}",
                               hint="diffusers-image loads text-to-image models (SD 1.5, SDXL, SD3, FLUX...); "
                                    "a text-to-video folder belongs to the diffusers backend") from exc
        return pipe, self._setup(pipe, device, offload)


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """No tqdm bars from diffusers and transformers while loading: the shot's own progress is what the user sees."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    restore = [lib.enable_progress_bar for lib in (diffusers_logging, transformers_logging)
               if lib.is_progress_bar_enabled()]
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        for enable in restore:
            enable()


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(DiffusersImageBackend)
