"""What a diffusers video pipeline takes (a prompt, a start image, a last frame) and what it gives back (audio).

The ``diffusers`` backend runs whatever pipeline the user's model folder holds, and the
families differ in how a shot's storyboard keyframe reaches them:

* ``image=`` — LTX-Video's ``LTXImageToVideoPipeline``, LTX-2's ``LTX2ImageToVideoPipeline``,
  Wan's ``WanImageToVideoPipeline`` (plus ``last_image=`` on first-last-frame checkpoints),
  CogVideoX's ``CogVideoXImageToVideoPipeline``, HunyuanVideo I2V, I2VGen-XL, and Stable Video
  Diffusion (which takes no prompt at all);
* ``conditions=`` — ``LTXConditionPipeline`` (``LTXVideoCondition(image, frame_index)``) and
  ``LTX2ConditionPipeline`` (``LTX2VideoCondition(frames, index)``): a first *and* a last frame,
  and plain text-to-video when given none. These two also take a *video* condition (the last frames
  of an existing clip at frame 0), which is how the backend extends a clip it made
  (:func:`extension_arguments`, ``video-extend``).

Why it is read off the class and its ``__call__`` signature rather than a list of names:
diffusers adds pipelines every release, and a signature (``image`` required or optional,
``last_image``, ``conditions``, ``prompt``) says what a new one takes; the class name only
settles what a signature cannot (an I2V pipeline whose ``image`` defaults to None still needs
one). The model folder's ``model_index.json`` names the class, so the backend can declare its
capabilities (image-to-video, last frame, audio) before loading gigabytes of weights.

Nothing here imports torch or diffusers at module level: the backend's module must stay cheap
to import (the registry builds every backend for ``backends list``).
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shotsmith.errors import BackendError, InvalidInputError

#: Pipelines that take a video to change, not a prompt to make one from: not for shots.
_OTHER_MODE = re.compile(r"VideoToVideo|Video2Video|V2V|Inpaint|ControlNet|Upsample|Upscale|Refine|Decode")
#: Pipelines whose ``image`` is the point even where the signature lets it default to None.
_NEEDS_IMAGE = re.compile(r"ImageToVideo|Image2Video|Img2Vid|I2V|StableVideoDiffusion")


@dataclass(frozen=True)
class PipelineModes:
    """What one pipeline class can be asked for."""

    pipeline: str
    text_to_video: bool
    image_to_video: bool
    end_image: bool
    #: How the start (and end) image is passed: ``image`` (``image=``/``last_image=``), ``conditions``, or none.
    image_argument: str | None
    takes_prompt: bool
    #: The output carries an ``audio`` waveform beside the frames (LTX-2).
    audio: bool
    #: Takes a video condition at frame 0 (the tail of a clip), so it can extend a clip (LTX / LTX-2 condition).
    extends: bool = False


def pipeline_modes(pipeline_class: type, components: set[str] | None = None,
                   transformer_config: dict | None = None, end_image: bool | None = None) -> PipelineModes:
    """Read what ``pipeline_class`` takes; a :class:`BackendError` for a pipeline that does not make shots.

    ``components`` (the pipeline's module names) tell whether it has a vocoder (audio);
    ``transformer_config`` tells a Wan first-last-frame checkpoint (its image embedder has a
    position embedding for two images, ``pos_embed_seq_len``) from a first-frame-only one;
    ``end_image`` (the ``[backends.diffusers] end_image`` setting) overrides that reading.
    """
    name = pipeline_class.__name__
    params = inspect.signature(pipeline_class.__call__).parameters
    required = {n for n, p in params.items() if p.default is inspect.Parameter.empty and n != "self"
                and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}
    if "num_frames" not in params or _OTHER_MODE.search(name) or "video" in required:
        raise BackendError(f"{name} is not a text-to-video or image-to-video pipeline",
                           hint="the diffusers backend needs a pipeline that takes num_frames and a prompt "
                                "or a start image (text-to-video, image-to-video)")
    if "conditions" in params:
        argument: str | None = "conditions"
        image, text, end = True, "image" not in required, True
    elif "image" in params:
        argument = "image"
        image = True
        text = "image" not in required and not _NEEDS_IMAGE.search(name)
        flf = bool((transformer_config or {}).get("pos_embed_seq_len"))
        end = "last_image" in params and flf
    else:
        argument, image, text, end = None, False, True, False
    if "prompt" not in params and not image:
        raise BackendError(f"{name} takes neither a prompt nor an image")
    if end_image is not None:
        end = bool(end_image) and image and (argument == "conditions" or "last_image" in params)
    audio = "vocoder" in (components or set()) or name.startswith("LTX2")
    # LTXConditionPipeline names ``video`` in its signature; LTX-2's conditions take a list of frames.
    extends = argument == "conditions" and ("video" in params or name.startswith("LTX2"))
    return PipelineModes(pipeline=name, text_to_video=text, image_to_video=image, end_image=end,
                         image_argument=argument, takes_prompt="prompt" in params, audio=audio, extends=extends)


def modes_of_pipeline(pipe: Any, end_image: bool | None = None) -> PipelineModes:
    """:func:`pipeline_modes` of a loaded pipeline (its class, components and transformer config)."""
    components = set(getattr(pipe, "components", {}) or {})
    transformer = getattr(pipe, "transformer", None)
    config = getattr(transformer, "config", None)
    return pipeline_modes(type(pipe), components, dict(config) if config is not None else None, end_image)


def model_index(model: str) -> tuple[dict, Path | None] | None:
    """The ``model_index.json`` of a local pipeline folder or a hub id already in the cache (never downloads)."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        index = folder / "model_index.json"
        return (json.loads(index.read_text(encoding="utf-8")), folder) if index.is_file() else None
    if model.count("/") != 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    cached = try_to_load_from_cache(model, "model_index.json")
    if not isinstance(cached, str):
        return None
    index_path = Path(cached)
    return json.loads(index_path.read_text(encoding="utf-8")), index_path.parent


def modes_of_model(model: str, end_image: bool | None = None) -> PipelineModes | None:
    """What the pipeline in ``model`` will take, read from its folder without loading weights; None if unknown."""
    try:
        found = model_index(model)
    except (OSError, ValueError):
        return None
    if found is None:
        return None
    index, folder = found
    import diffusers

    try:
        pipeline_class = getattr(diffusers, str(index.get("_class_name", "")), None)
    except Exception:  # a class whose optional dependency is missing: the load will say which
        return None
    if not isinstance(pipeline_class, type):
        return None
    components = {k for k, v in index.items() if not k.startswith("_") and isinstance(v, list) and v[0] is not None}
    transformer_config = None
    if folder is not None and (folder / "transformer" / "config.json").is_file():
        try:
            transformer_config = json.loads((folder / "transformer" / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            transformer_config = None
    return pipeline_modes(pipeline_class, components, transformer_config, end_image)


def fit_image(path: str, width: int, height: int, *, what: str = "start image") -> Any:
    """The image at ``path`` as RGB, scaled to cover ``width`` x ``height`` and centre-cropped to it.

    Every image-to-video pipeline wants the conditioning frame at the size it generates; a
    keyframe drawn at another size or aspect is cropped rather than squashed, so nothing in
    it is distorted.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            rgb = ImageOps.exif_transpose(image).convert("RGB")
    except FileNotFoundError:
        raise InvalidInputError(f"the {what} {path} does not exist") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInputError(f"the {what} {path} is not an image that can be read: {exc}") from None
    return ImageOps.fit(rgb, (width, height), method=Image.Resampling.LANCZOS)


def conditioning_arguments(pipe: Any, modes: PipelineModes, image: Any, end_image: Any,
                           num_frames: int) -> dict[str, Any]:
    """The ``pipe(...)`` keywords that carry the start image (and last frame) in this pipeline's own terms."""
    if image is None:
        return {}
    if modes.image_argument == "conditions":
        if modes.pipeline.startswith("LTX2"):
            condition = _condition_class(pipe, "LTX2VideoCondition")
            items = [condition(frames=image, index=0, strength=1.0)]
            if end_image is not None:
                items.append(condition(frames=end_image, index=-1, strength=1.0))  # a latent index: the last
        else:
            condition = _condition_class(pipe, "LTXVideoCondition")
            items = [condition(image=image, frame_index=0, strength=1.0)]
            if end_image is not None:
                items.append(condition(image=end_image, frame_index=num_frames - 1, strength=1.0))
        return {"conditions": items}
    arguments = {"image": image}
    if end_image is not None:
        arguments["last_image"] = end_image
    return arguments


def overlap_frames(step: int, available: int | None = None, wanted: int = 9) -> int:
    """How many of a clip's last frames an extension conditions on: ``k*step + 1`` (what a VAE that
    compresses time by ``step`` encodes whole), the smallest such count of at least ``wanted`` (9: one
    latent frame of real LTX plus its causal first frame), but never more than the clip has."""
    step = max(1, step)
    count = ((max(wanted, 1) - 1 + step - 1) // step) * step + 1
    if available is not None and count > available:
        count = ((available - 1) // step) * step + 1 if available >= 1 else 0
    return count


def extension_arguments(pipe: Any, modes: PipelineModes, tail: list[Any]) -> dict[str, Any]:
    """The ``pipe(...)`` keywords that condition a generation on ``tail`` (a clip's last frames, as PIL
    images at the generation size) at its first frame, so the new frames continue that clip."""
    if not modes.extends:
        raise BackendError(f"{modes.pipeline} cannot continue a clip",
                           hint="LTX-Video's LTXConditionPipeline and LTX-2's LTX2ConditionPipeline can")
    if modes.pipeline.startswith("LTX2"):
        return {"conditions": [_condition_class(pipe, "LTX2VideoCondition")(frames=list(tail), index=0,
                                                                          strength=1.0)]}
    return {"conditions": [_condition_class(pipe, "LTXVideoCondition")(video=list(tail), frame_index=0,
                                                                      strength=1.0)]}


def _condition_class(pipe: Any, name: str) -> type:
    """The condition dataclass defined beside the pipeline (or a pipeline it subclasses)."""
    for cls in type(pipe).__mro__:
        found = getattr(inspect.getmodule(cls), name, None)
        if isinstance(found, type):
            return found
    raise BackendError(f"{type(pipe).__name__} takes conditions, but no {name} was found beside it")


def output_audio(output: Any) -> Any | None:
    """The waveform a pipeline returned beside its frames, as float32 (samples, channels); None if silent."""
    import numpy as np

    audio = getattr(output, "audio", None)
    if audio is None and isinstance(output, tuple) and len(output) > 1:
        audio = output[1]
    if audio is None:
        return None
    if hasattr(audio, "detach"):
        audio = audio.detach().float().cpu().numpy()
    array = np.asarray(audio, dtype=np.float32)
    if array.ndim == 3:  # (batch, channels, samples): the first of the batch
        array = array[0]
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.size == 0:
        raise BackendError(f"the pipeline returned audio of shape {np.asarray(audio).shape}; "
                           "expected (channels, samples)")
    if array.shape[0] > array.shape[1]:  # already (samples, channels)
        array = array.T
    return np.ascontiguousarray(np.clip(array, -1.0, 1.0).T)


def audio_sample_rate(pipe: Any) -> int:
    """The rate of the waveform the pipeline returns: its vocoder's output rate (LTX-2: 24 kHz), else its own."""
    vocoder = getattr(pipe, "vocoder", None)
    config = getattr(vocoder, "config", None)
    for key in ("output_sampling_rate", "sampling_rate", "sample_rate"):
        value = config.get(key) if hasattr(config, "get") else getattr(config, key, None)
        if value:
            return int(value)
    for attr in ("audio_sampling_rate", "sample_rate"):
        value = getattr(pipe, attr, None)
        if value:
            return int(value)
    raise BackendError(f"{type(pipe).__name__} returned audio but says nothing of its sample rate",
                       hint="ask for a silent clip (audio off) with this model")
