"""The backend contract: capabilities, requests, results, progress events.

A backend turns a :class:`GenerationRequest` into a clip on disk. It declares
what it can do in :class:`Capabilities`; :meth:`Backend.prepare` validates a
request against them before anything is sent, snapping an unsupported duration
to the nearest allowed one *with a warning*, and refusing what cannot be
snapped (an aspect ratio it lacks, a mode it does not support).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from shotsmith.errors import InvalidInputError
from shotsmith.formats import ASPECT_RATIOS, AspectRatio, CameraMove


class MediaKind(StrEnum):
    """What a backend makes: video clips, still images (keyframes, storyboard panels) or speech."""

    VIDEO = "video"
    IMAGE = "image"
    VOICE = "voice"


class GenerationMode(StrEnum):
    TEXT_TO_VIDEO = "text-to-video"
    IMAGE_TO_VIDEO = "image-to-video"
    VIDEO_EXTEND = "video-extend"
    VIDEO_TO_VIDEO = "video-to-video"
    #: A still from a prompt (a storyboard panel, a keyframe).
    TEXT_TO_IMAGE = "text-to-image"
    #: A still from a prompt plus reference images (a cast member's face, a product, a style).
    REFERENCE_TO_IMAGE = "reference-to-image"
    #: Speech from text (``prompt`` holds the words; ``voice`` picks the speaker).
    TEXT_TO_SPEECH = "text-to-speech"

    @property
    def kind(self) -> MediaKind:
        if self in (GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE):
            return MediaKind.IMAGE
        if self is GenerationMode.TEXT_TO_SPEECH:
            return MediaKind.VOICE
        return MediaKind.VIDEO


class Reference(BaseModel):
    """A reference image that keeps a cast member, product, place or look the same across shots.

    ``tag`` is how the prompt names it where the provider supports that
    (Runway: ``@Mara`` for tag ``Mara``); ``role`` tells providers with typed
    references (Luma ``character_ref``/``style_ref``) where it goes.
    """

    path: str = Field(min_length=1, description="Absolute path of the image.")
    tag: str | None = Field(default=None, description="Name the prompt uses for it (letters, digits, _; 3-16 chars).")
    role: Literal["character", "product", "location", "style"] = "character"
    weight: float | None = Field(default=None, ge=0, le=1)


class WordTiming(BaseModel):
    """When one spoken word starts and ends in a voice clip (for captions)."""

    word: str
    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)


#: What one unit of each provider currency is worth in US dollars (Runway: 1 credit = 0.01 USD,
#: its published rate). Spending limits and approvals are kept in USD; the provider's unit is shown beside.
USD_PER_UNIT: dict[str, float] = {"USD": 1.0, "credits": 0.01}


class CostEstimate(BaseModel):
    amount: float = Field(ge=0)
    unit: Literal["USD", "credits"] = "USD"
    source: str = Field(description="Where the price comes from (a pricing page and its date, or 'local compute').")
    detail: str = ""

    @property
    def usd(self) -> float:
        """The amount in US dollars (the unit every limit and approval is kept in)."""
        return round(self.amount * USD_PER_UNIT[self.unit], 6)


class Capabilities(BaseModel):
    modes: list[GenerationMode] = Field(default_factory=lambda: [GenerationMode.TEXT_TO_VIDEO])
    durations_s: list[float] | None = Field(default=None, description="Discrete allowed durations; None means the range below.")
    min_duration_s: float = 0.5
    max_duration_s: float = 60.0
    aspect_ratios: list[AspectRatio] = Field(default_factory=lambda: list(ASPECT_RATIOS))
    resolutions: list[str] = Field(default_factory=lambda: ["720p"])
    fps: list[int] = Field(default_factory=lambda: [24])
    max_prompt_chars: int = 2000
    #: How the provider counts ``max_prompt_chars``: Unicode characters, or UTF-16 code units (an emoji = 2).
    prompt_length_unit: Literal["characters", "utf16"] = "characters"
    supports_seed: bool = False
    supports_negative_prompt: bool = False
    supports_camera_control: bool = False
    max_concurrency: int = Field(default=1, ge=1)
    costs_money: bool = False
    local: bool = True
    long_running: bool = Field(default=False, description="A shot takes minutes of local GPU time (diffusion models).")
    generates_audio: bool = Field(default=False, description="The clips come with a generated audio track.")
    max_references: int = Field(default=0, ge=0, description="Reference images a request may carry.")
    supports_end_image: bool = Field(default=False, description="Image-to-video can also take the last frame.")
    extension_s: list[float] | None = Field(default=None,
                                            description="Video backends with ``video-extend``: the seconds one "
                                                        "extension may add; None: the create durations.")
    voices: list[str] = Field(default_factory=list, description="Voice backends: the voices it offers (first = default).")
    word_timings: bool = Field(default=False, description="Voice backends: results carry per-word timings.")
    still_clips: bool = Field(default=False,
                              description="Video backends: a shot's result may be a still image (a card the render "
                                          "moves with the shot's camera) instead of a clip; it is checked as an image.")
    languages: list[str] = Field(default_factory=list,
                                 description="Voice backends: languages it speaks (ISO 639-1, first = default); "
                                             "empty: any it is given.")
    supports_instructions: bool = Field(default=False,
                                        description="Voice backends: honours ``instructions`` (tone, pace).")

    @property
    def kinds(self) -> set[MediaKind]:
        """The media this backend makes (a backend may make more than one kind)."""
        return {mode.kind for mode in self.modes}

    @model_validator(mode="after")
    def _consistent(self) -> "Capabilities":
        if self.min_duration_s > self.max_duration_s:
            raise ValueError("min_duration_s exceeds max_duration_s")
        if self.durations_s is not None and not self.durations_s:
            raise ValueError("durations_s, when given, lists at least one duration")
        if not self.modes or not self.aspect_ratios or not self.resolutions or not self.fps:
            raise ValueError("a backend supports at least one mode, aspect ratio, resolution and fps")
        if GenerationMode.REFERENCE_TO_IMAGE in self.modes and self.max_references < 1:
            raise ValueError("a backend that does reference-to-image takes at least one reference (max_references)")
        return self

    @property
    def needs_approval(self) -> bool:
        """Generating costs money, runs on someone else's servers, or ties up a GPU for long: ask first."""
        return self.costs_money or not self.local or self.long_running

    def prompt_length(self, text: str) -> int:
        """``text``'s length as the provider counts it (see ``prompt_length_unit``)."""
        if self.prompt_length_unit == "utf16":
            return len(text.encode("utf-16-le")) // 2
        return len(text)

    def snap_duration(self, seconds: float) -> float:
        if self.durations_s:
            return min(self.durations_s, key=lambda d: (abs(d - seconds), -d))
        return min(max(seconds, self.min_duration_s), self.max_duration_s)


class GenerationRequest(BaseModel):
    """What to generate for one shot: a clip, a still or speech, by ``mode``.

    For video ``duration_s`` includes the transition handle. For a still it is
    ignored (images have no length); for speech it is the time the words
    should fit in, as a hint. ``prompt`` is the picture's description, or for
    speech the words to say.
    """

    prompt: str = Field(min_length=1)
    negative_prompt: str | None = None
    mode: GenerationMode = GenerationMode.TEXT_TO_VIDEO
    duration_s: float = Field(gt=0)
    aspect_ratio: AspectRatio = "16:9"
    resolution: str = "720p"
    fps: int = 24
    seed: int | None = None
    camera: CameraMove = CameraMove.STATIC
    image: str | None = Field(default=None, description="Absolute path of the start image (image-to-video).")
    end_image: str | None = Field(default=None, description="Absolute path of the last frame, where supported.")
    references: list[Reference] = Field(default_factory=list, description="Cast, product, location or style images.")
    voice: str | None = Field(default=None, description="Voice backends: the voice to speak with.")
    language: str | None = Field(default=None, description="BCP 47 / ISO 639-1 language of the text, e.g. en.")
    instructions: str | None = Field(default=None, description="Voice backends: how to speak (tone, pace), where supported.")
    audio: bool | None = Field(default=None, description="Video: ask for a generated soundtrack (True); None leaves "
                                                         "it to the backend.")
    style: str = ""
    shot_index: int | None = None
    model: str | None = None
    extend_from: str | None = Field(default=None, description="video-extend: the provider's handle of the finished "
                                                              "generation to continue (Backend.extension_source); "
                                                              "``duration_s`` is then the seconds to add.")
    take: int | None = Field(default=None, ge=1, description="A new take of the same shot (same prompt, a new "
                                                            "generation): keeps it apart in the cache; never sent.")


ProgressState = Literal["queued", "submitted", "running", "downloading", "done", "cached", "failed", "cancelled"]


class ProgressEvent(BaseModel):
    shot_index: int | None = None
    state: ProgressState
    percent: float | None = Field(default=None, ge=0, le=100)
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


class GenerationResult(BaseModel):
    path: str
    duration_s: float
    width: int
    height: int
    remote_task_id: str | None = None
    cost: CostEstimate | None = None
    warnings: list[str] = Field(default_factory=list)
    kind: MediaKind = MediaKind.VIDEO
    word_timings: list[WordTiming] | None = Field(default=None, description="Voice: when each word is spoken.")
    has_audio: bool | None = Field(default=None, description="The clip carries an audio track (None: not checked).")


class Backend(ABC):
    """Subclass this, set ``name`` and ``description``, and register it through the hook."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: The default model identifier (used in cache keys).
    model: str | None = None

    @abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abstractmethod
    def estimate_cost(self, request: GenerationRequest) -> CostEstimate: ...

    @abstractmethod
    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        """Write the clip to ``dest`` (a temporary path the engine renames) and describe it."""

    def check_ready(self) -> None:
        """Raise a ShotsmithError when the backend cannot run now (no key, no model configured).

        Called before planning a scripted run and before asking anyone to approve
        spending, so a missing key is reported first, not after the plan and the
        approval. Listing backends and estimating costs never call it.
        """
        return None

    def extension_source(self, task_id: str, data: dict) -> str | None:
        """The handle a ``video-extend`` request names (``extend_from``) for a finished generation of this
        backend, from its job record: the provider's task id ("" for a local backend) and the data the
        adapter kept with it, plus ``clip`` (the clip's absolute path); None when that generation cannot
        be extended (the default: no extension)."""
        return None

    def cache_identity(self) -> dict:
        """Settings outside the request that change the pixels (steps, guidance, a weights revision).

        The engine hashes them into each shot's cache key, so changing one
        regenerates the shots instead of serving stale clips. Secrets never belong here.
        """
        return {}

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        """Validate against capabilities; return the request to send and the warnings to show.

        What the backend cannot do at all (a mode, an aspect ratio, a prompt too
        long) is refused with an :class:`InvalidInputError`. Everything else it
        cannot honour is changed to the nearest thing it can do, or dropped, and
        each change is one warning (``shot N: …``): nothing is ignored silently.
        Which checks apply depends on the kind: durations and frame rates only
        for video, sizes for video and images, voices and languages for speech.
        """
        caps = self.capabilities()
        label = f"shot {request.shot_index}: " if request.shot_index is not None else ""
        warnings: list[str] = []
        updates: dict = {}
        mode = _effective_mode(request, caps)
        kind = mode.kind
        if mode not in caps.modes:
            raise InvalidInputError(f"{label}backend {self.name} does not do {mode.value}",
                                    hint=f"it supports {', '.join(m.value for m in caps.modes)}")
        if mode is not request.mode:
            updates["mode"] = mode
            if request.mode is GenerationMode.REFERENCE_TO_IMAGE:
                warnings.append(f"{label}{self.name} does not do reference-to-image; making the image from the "
                                f"prompt alone")
        if mode is GenerationMode.IMAGE_TO_VIDEO and not request.image:
            raise InvalidInputError(f"{label}image-to-video needs a start image")
        if mode is GenerationMode.VIDEO_EXTEND and not request.extend_from:
            raise InvalidInputError(f"{label}video-extend needs the generation to extend (extend_from)")
        if request.extend_from and mode is not GenerationMode.VIDEO_EXTEND:
            raise InvalidInputError(f"{label}extend_from is only for video-extend requests")
        if mode is GenerationMode.REFERENCE_TO_IMAGE and not request.references:
            raise InvalidInputError(f"{label}reference-to-image needs at least one reference image",
                                    hint="add references, or ask for text-to-image")
        if kind is not MediaKind.VOICE and request.aspect_ratio not in caps.aspect_ratios:
            noun = "images" if kind is MediaKind.IMAGE else "video"
            raise InvalidInputError(f"{label}backend {self.name} cannot make {request.aspect_ratio} {noun}",
                                    hint=f"it supports {', '.join(caps.aspect_ratios)}")
        length = caps.prompt_length(request.prompt)
        if length > caps.max_prompt_chars:
            unit = "UTF-16 units (an emoji counts 2)" if caps.prompt_length_unit == "utf16" else "characters"
            what = "text" if kind is MediaKind.VOICE else "prompt"
            raise InvalidInputError(f"{label}{what} is {length} {unit}; {self.name} accepts {caps.max_prompt_chars}",
                                    hint=f"shorten the {what}")
        if kind is MediaKind.VIDEO:
            _prepare_video(self.name, request, caps, label, updates, warnings)
        if kind in (MediaKind.VIDEO, MediaKind.IMAGE) and request.resolution not in caps.resolutions:
            updates["resolution"] = caps.resolutions[0]
            warnings.append(f"{label}resolution {request.resolution} is not available on {self.name}; "
                            f"using {caps.resolutions[0]}")
        if request.seed is not None and not caps.supports_seed:
            updates["seed"] = None
            warnings.append(f"{label}{self.name} does not take a seed; it is ignored")
        if request.negative_prompt and not caps.supports_negative_prompt:
            updates["negative_prompt"] = None
            warnings.append(f"{label}{self.name} does not take a negative prompt; it is ignored")
        _prepare_images(self.name, request, mode, caps, label, updates, warnings)
        _prepare_voice(self.name, request, kind, caps, label, updates, warnings)
        if self.model and not request.model:
            updates["model"] = self.model
        return (request.model_copy(update=updates) if updates else request), warnings


def _effective_mode(request: GenerationRequest, caps: Capabilities) -> GenerationMode:
    """The mode a request is sent in: a still with references goes reference-to-image where the backend
    has it; a text-to-video shot with a start image goes image-to-video where it can; a reference-to-image
    request falls back to text-to-image on a backend without it (the references are then dropped, with a warning)."""
    mode = request.mode
    if mode is GenerationMode.TEXT_TO_IMAGE and request.references and GenerationMode.REFERENCE_TO_IMAGE in caps.modes:
        return GenerationMode.REFERENCE_TO_IMAGE
    if mode is GenerationMode.REFERENCE_TO_IMAGE and mode not in caps.modes and GenerationMode.TEXT_TO_IMAGE in caps.modes:
        return GenerationMode.TEXT_TO_IMAGE
    if mode is GenerationMode.TEXT_TO_VIDEO and request.image and GenerationMode.IMAGE_TO_VIDEO in caps.modes:
        return GenerationMode.IMAGE_TO_VIDEO
    return mode


#: Words that show a prompt already describes a camera move.
_CAMERA_WORDS = ("push", "pull", "zoom", "dolly", "pan", "tilt", "track", "crane", "truck", "orbit")


def _prepare_video(name: str, request: GenerationRequest, caps: Capabilities, label: str, updates: dict,
                   warnings: list[str]) -> None:
    """Duration, frame rate, camera move and soundtrack: what only a clip has."""
    if request.mode is GenerationMode.VIDEO_EXTEND and caps.extension_s:  # seconds added, not a clip length
        snapped = min(caps.extension_s, key=lambda d: (abs(d - request.duration_s), -d))
    else:
        snapped = caps.snap_duration(request.duration_s)
    if abs(snapped - request.duration_s) > 1e-6:
        warnings.append(f"{label}duration {request.duration_s:g}s is not available on {name}; using {snapped:g}s")
        updates["duration_s"] = snapped
    if request.fps not in caps.fps:
        nearest = min(caps.fps, key=lambda f: abs(f - request.fps))
        updates["fps"] = nearest
        warnings.append(f"{label}{request.fps} fps is not available on {name}; using {nearest}")
    if request.camera is not CameraMove.STATIC and not caps.supports_camera_control:
        # The field is kept (it is part of the shot's cache key); the backend simply does not read it.
        prompt = request.prompt.lower()
        if any(word in prompt for word in _CAMERA_WORDS):
            warnings.append(f"{label}{name} has no camera control; the {request.camera.phrase} is only described "
                            f"in the prompt text")
        else:
            warnings.append(f"{label}{name} has no camera control and the prompt does not describe the "
                            f"{request.camera.phrase}; the shot may not move that way")
    if request.audio and not caps.generates_audio:
        updates["audio"] = None
        warnings.append(f"{label}{name} makes silent clips; the soundtrack that was asked for is not generated")


def _prepare_images(name: str, request: GenerationRequest, mode: GenerationMode, caps: Capabilities, label: str,
                    updates: dict, warnings: list[str]) -> None:
    """Start image, end image and reference images: dropped, with a warning each, where they cannot be used."""
    keeps_image = mode in (GenerationMode.IMAGE_TO_VIDEO, GenerationMode.VIDEO_EXTEND, GenerationMode.VIDEO_TO_VIDEO)
    if request.image and not keeps_image:
        updates["image"] = None
        why = "does not do image-to-video" if mode.kind is MediaKind.VIDEO else f"takes no start image for {mode.value}"
        warnings.append(f"{label}{name} {why}; the start image is not used")
    if request.end_image and not (mode is GenerationMode.IMAGE_TO_VIDEO and caps.supports_end_image):
        updates["end_image"] = None
        if mode.kind is not MediaKind.VIDEO:
            why = f"takes no end image for {mode.value}"
        elif caps.supports_end_image:
            why = "uses an end frame only in image-to-video"
        else:
            why = "does not take an end frame"
        warnings.append(f"{label}{name} {why}; the end image is not used")
    limit = 0 if mode.kind is MediaKind.VOICE else caps.max_references
    if len(request.references) > limit:
        dropped = len(request.references) - limit
        updates["references"] = list(request.references[:limit])
        names = ", ".join(r.tag or Path(r.path).name for r in request.references[limit:])
        if limit == 0:
            warnings.append(f"{label}{name} takes no reference images; {dropped} dropped ({names})")
        else:
            warnings.append(f"{label}{name} takes at most {limit} reference image{'s' if limit != 1 else ''}; "
                            f"{dropped} more dropped ({names})")


def _prepare_voice(name: str, request: GenerationRequest, kind: MediaKind, caps: Capabilities, label: str,
                   updates: dict, warnings: list[str]) -> None:
    """Voice, language and speaking instructions: honoured by voice backends that declare them."""
    if kind is not MediaKind.VOICE:
        for field, value in (("voice", request.voice), ("instructions", request.instructions)):
            if value:
                updates[field] = None
                warnings.append(f"{label}{name} makes {kind.value}, not speech; the {field} is not used")
        return
    if caps.voices:
        if request.voice is None:
            updates["voice"] = caps.voices[0]
        elif request.voice not in caps.voices:
            updates["voice"] = caps.voices[0]
            warnings.append(f"{label}{name} has no voice {request.voice!r}; using {caps.voices[0]!r}")
    if request.language and caps.languages:
        primary = request.language.split("-")[0].lower()
        offered = {code.split("-")[0].lower() for code in caps.languages}
        if request.language not in caps.languages and primary not in offered:
            updates["language"] = caps.languages[0]
            warnings.append(f"{label}{name} does not speak {request.language}; using {caps.languages[0]}")
    if request.instructions and not caps.supports_instructions:
        updates["instructions"] = None
        warnings.append(f"{label}{name} does not take speaking instructions; they are ignored")
