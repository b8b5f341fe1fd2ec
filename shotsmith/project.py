"""The project document: brief, plan, timeline and generation records, versioned."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shotsmith.brief import Brief, ShotPlan
from shotsmith.cast import CastMember, Look
from shotsmith.narration import NarrationScript
from shotsmith.formats import RESOLUTIONS, AspectRatio, frame_size
from shotsmith.timeline import Timeline

SCHEMA_VERSION = 1

GenerationStatus = Literal["submitted", "running", "downloading", "succeeded", "failed", "cancelled"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class GenerationRecord(BaseModel):
    """One generation of one shot, persisted before polling so a killed run resumes it.

    ``cache_key`` is a hash over (backend, model, request, seed); a record that
    succeeded and whose clip still exists is a cache hit.
    """

    cache_key: str
    backend: str
    model: str | None = None
    shot_index: int | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    remote_task_id: str | None = None
    remote_data: dict[str, str] = Field(default_factory=dict,
                                        description="What the backend needs besides the id to poll the task again (never a key).")
    status: GenerationStatus = "submitted"
    clip: str | None = Field(default=None, description="Project-relative path of the finished clip.")
    error: str | None = None
    cost: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    kind: Literal["video", "image", "voice"] = Field(default="video", description="What the clip is: a video clip, "
                                                     "a still or speech (records from before media kinds are video).")
    word_timings: list[dict[str, Any]] | None = Field(default=None, description="Voice: when each word is spoken "
                                                      "(word, start_s, end_s), kept so a cached clip keeps them.")
    file_sha256: dict[str, str] = Field(default_factory=dict, description="SHA-256 of each local file the request "
                                        "carried, by the path it had then: a moved project compares by content.")


class ProductionSettings(BaseModel):
    """How the project's shots are generated and its cut is sized; a run's options update it."""

    model_config = ConfigDict(extra="forbid")  # a misspelled setting in project.json is an error, not ignored

    backend: str = "animatic"
    resolution: str = "720p"
    fps: int = Field(default=30, ge=1, le=120)
    seed: int | None = Field(default=None, description="Base seed; shot N uses seed + N on backends that take one.")
    output_aspect: AspectRatio | None = Field(default=None, description="The cut's aspect when reframed (crop, pad "
                                              "or blur) instead of generated anew; None: the plan's aspect ratio.")
    output_size: tuple[int, int] | None = Field(default=None, description="An explicit output size (an export "
                                                "preset's, or the user's); None: from aspect ratio and resolution.")
    keyframes: Literal["auto", "off"] = Field(default="auto", description="auto: make a storyboard still per shot "
                                              "first and animate it (image-to-video) when the video backend can.")
    image_backend: str | None = Field(default=None, description="Backend for keyframes; None: the video provider's "
                                      "own image model when it has one, else sketch.")
    voiceover: Literal["auto", "off"] = Field(default="auto", description="auto: narrate when the brief asks for a "
                                              "voice-over, a narrator or an explainer.")
    voice: str | None = Field(default=None, description="backend:voice for the narration, e.g. espeak:en-us+f3; None: "
                              "the offline scratch voice.")
    captions: Literal["burn", "srt", "track", "off"] | None = Field(default=None, description="How the narration's "
                                                                    "captions are shown; None: burned in when narrated.")
    music: str | None = Field(default=None, description="The user's music file, or a folder to choose a track from "
                              "(absolute path, read only); None: no music bed.")
    music_mood: list[str] = Field(default_factory=list, description="Mood tags that pick the track from a music "
                                  "folder; empty: the brief's words.")
    beat_sync: bool = Field(default=False, description="Move the cuts onto the music's beats (needs the beats extra).")
    music_bed: str | None = Field(default=None, description="The track chosen from ``music`` (kept so a rerun lays "
                                  "the same one, and a render replaces the bed it laid before).")

    @field_validator("resolution")
    @classmethod
    def _known_resolution(cls, value: str) -> str:
        if value not in RESOLUTIONS:
            raise ValueError(f"unknown resolution {value!r}; choose one of {', '.join(RESOLUTIONS)}")
        return value


class Approval(BaseModel):
    """A yes (or no) to spend, bound to exactly what was shown: backend, shots, requests and amount.

    The job engine's spend guard lets a create through only when its request's
    cache key is in ``cache_keys`` and the charges against this approval stay
    within ``usd``.
    """

    id: str
    backend: str
    shots: list[int]
    cache_keys: list[str]
    amount: float = Field(ge=0, description="In the provider's unit.")
    unit: str = "USD"
    usd: float = Field(ge=0)
    approved: bool
    by: Literal["user", "--yes"]
    at: datetime = Field(default_factory=utcnow)


class Charge(BaseModel):
    """Money committed by one create sent to a provider (recorded before it is sent)."""

    cache_key: str
    backend: str
    shot_index: int | None = None
    amount: float = Field(ge=0)
    unit: str = "USD"
    usd: float = Field(ge=0)
    approval_id: str | None = None
    status: Literal["committed", "released"] = "committed"
    at: datetime = Field(default_factory=utcnow)


class SpendingLedger(BaseModel):
    """Every approval and charge of the project, kept in project.json so limits hold across restarts."""

    approvals: list[Approval] = Field(default_factory=list)
    charges: list[Charge] = Field(default_factory=list)

    @property
    def spent_usd(self) -> float:
        return round(sum(c.usd for c in self.charges if c.status == "committed"), 6)

    def charged_against(self, approval_id: str) -> float:
        return round(sum(c.usd for c in self.charges if c.status == "committed" and c.approval_id == approval_id), 6)


class RenderRecord(BaseModel):
    """One finished render, kept as ``renders/vNNN.mp4`` with the history entry it shows."""

    version: int = Field(ge=1)
    path: str = Field(description="Project-relative path of the kept version.")
    output: str | None = Field(default=None, description="Where the run's -o copy went, if anywhere else.")
    history_entry: int | None = Field(default=None, description="The project history entry the cut came from.")
    duration_s: float
    width: int
    height: int
    at: datetime = Field(default_factory=utcnow)


class Project(BaseModel):
    schema_version: int = SCHEMA_VERSION
    name: str = "untitled"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    brief: Brief | None = None
    plan: ShotPlan | None = None
    timeline: Timeline = Field(default_factory=Timeline)
    generations: dict[str, GenerationRecord] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list, description="Absolute paths of files the user gave as inputs; readable, never written.")
    production: ProductionSettings = Field(default_factory=ProductionSettings)
    spending: SpendingLedger = Field(default_factory=SpendingLedger)
    renders: list[RenderRecord] = Field(default_factory=list, description="Every final render, oldest first.")
    cast: list[CastMember] = Field(default_factory=list, description="Characters, products and locations that must "
                                                                     "look the same in every shot.")
    look: Look = Field(default_factory=Look)
    narration: NarrationScript | None = Field(default=None, description="The voice-over script: one line per shot.")

    def sync_cut(self):
        """Derive the timeline's clips from the plan (a planned project's one edit model).

        Returns the :class:`~shotsmith.cut.Cut`; shots without media yet are
        left out of the clips (rendering refuses until they exist). The output
        frame follows the plan's aspect ratio (or the reframed one) at the
        production resolution and frame rate, so it cannot drift from the plan either.
        """
        from shotsmith.cut import derive_cut

        if self.plan is None:
            return None
        cut = derive_cut(self.plan)
        width, height = self.production.output_size or frame_size(self.production.output_aspect or self.plan.aspect_ratio,
                                                                  self.production.resolution)
        output = self.timeline.output.model_copy(update={"width": width, "height": height,
                                                         "fps": self.production.fps})
        self.timeline = self.timeline.model_copy(update={"clips": cut.clips, "output": output})
        return cut
