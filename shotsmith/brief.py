"""What the user asked for, and the shot plan made from it.

The plan is the one edit model of a generated project: a :class:`Shot` says
both what to generate (prompt, camera, style) and how it sits in the cut
(duration on screen, speed, trim, fit, volume, transition). The timeline's
clips are derived from the plan by :mod:`shotsmith.cut`, never edited beside
it, so an edit made anywhere survives every later render and re-plan.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shotsmith.formats import AspectRatio, CameraMove, Transition

#: Speed limits, shared with the timeline (atempo keeps pitch within these).
MIN_SPEED = 0.25
MAX_SPEED = 4.0
#: How far each take moves a shot's seed: more than a plan's shots (60), so no shot and take share one.
TAKE_SEED_STRIDE = 1000
#: Fit modes, shared with the timeline (see shotsmith.timeline.FitMode).
ShotFit = Literal["contain", "cover", "blur", "stretch"]


class Brief(BaseModel):
    """The user's request, as typed, plus what was read out of it."""

    text: str = Field(min_length=1)
    duration_s: float = Field(gt=0)
    aspect_ratio: AspectRatio = "16:9"
    shot_count: int | None = Field(default=None, ge=1, le=60)
    notices: list[str] = Field(default_factory=list, description="What was assumed or capped while reading the brief.")


class Shot(BaseModel):
    """One shot of the plan.

    ``duration_s`` is the time the shot is on screen in the cut. A generated clip
    is longer by the outgoing transition (its *handle*), so that transitions
    overlap handles instead of eating into the planned duration.
    """

    index: int = Field(ge=1)
    prompt: str = Field(min_length=1)
    duration_s: float = Field(gt=0, le=120)
    camera: CameraMove = CameraMove.STATIC
    style: str = ""
    aspect_ratio: AspectRatio = "16:9"
    transition_to_next: Transition = Field(default_factory=Transition.cut)
    subject: str = ""
    action: str = ""
    setting: str = ""
    lighting: str = ""
    source: str | None = Field(default=None, description="Project-relative footage or image to use instead of generating.")
    source_length_s: float | None = Field(default=None, gt=0, description="Length of the footage in ``source``.")
    # -- how the shot sits in the cut -------------------------------------------------------
    speed: float = Field(default=1.0, ge=MIN_SPEED, le=MAX_SPEED,
                         description="Playback speed: 0.5 shows the same footage at half speed, twice as long.")
    in_s: float = Field(default=0.0, ge=0, description="Where in its clip (generated or footage) the shot starts.")
    volume: float = Field(default=1.0, ge=0, le=4, description="Gain on the shot's own sound.")
    mute: bool = False
    fit: ShotFit | None = Field(default=None, description="How the clip fills the frame; None: the output's default.")
    motion: CameraMove | None = Field(default=None, description="Ken Burns move when the source is a still image.")
    cast: list[str] = Field(default_factory=list, description="Cast members (by name) in the shot: their "
                                                               "descriptions and reference images go with it.")
    # -- the storyboard keyframe(s) made for the shot (set by the production service) ------
    keyframe: str | None = Field(default=None, description="Project-relative path of the shot's first-frame still.")
    end_keyframe: str | None = Field(default=None, description="The last-frame still, where the video backend uses one.")
    keyframe_signature: str | None = Field(default=None, description="generation_signature() the keyframes were made for.")
    keyframe_approved: str | None = Field(default=None, description="The keyframe still (its path) the user approved "
                                          "for animation; a new still (an edit, a redo) is pending until approved.")
    redo_of: str | None = Field(default=None, description="Set by a storyboard redo that changes the same shot "
                                "(ProductionService.redo_keyframe): generation_signature() right after it. While it "
                                "matches, the previous still (keyframe) is the new still's reference image.")
    continues_from: str | None = Field(
        default=None, description="Set by the production service while the previous shot's transition is "
                                  "``continue``: a digest of that shot's clip (``pending`` until it exists). Part of "
                                  "generation_signature(), so a new clip for the previous shot invalidates this "
                                  "shot's first-frame keyframe and clip.")
    take: int = Field(default=0, ge=0, description="How many times the shot was made again as it is (\"another "
                      "take of shot 3\"): part of generation_signature() and of the shot's request, so a new take is "
                      "a new generation, and undo brings the previous take back from the cache.")
    # -- the generated clip bound to the shot (set by the production service) --------------
    clip: str | None = Field(default=None, description="Project-relative path of the generated clip for this shot.")
    clip_signature: str | None = Field(default=None, description="generation_signature() the clip was made for.")
    clip_length_s: float | None = Field(default=None, gt=0, description="Length of ``clip`` in seconds.")

    @property
    def handle_s(self) -> float:
        return self.transition_to_next.overlap_s

    def media_span_s(self, *, last: bool) -> float:
        """Seconds of media the shot reads from its clip: its time on screen plus the outgoing
        transition's handle (none after the last shot), at its speed."""
        return round((self.duration_s + (0.0 if last else self.handle_s)) * self.speed, 6)

    def generation_signature(self) -> str:
        """A hash of what the generated picture depends on (not its length or place in the cut).

        A bound clip stays valid while this is unchanged: re-timing, reordering,
        speed, trim and transitions reuse it; a new prompt, camera, style or
        aspect ratio does not.
        """
        payload = {"prompt": self.prompt, "camera": self.camera.value, "style": self.style,
                   "aspect_ratio": self.aspect_ratio, "cast": sorted(self.cast)}
        if self.continues_from:  # absent otherwise: shots made before continuity keep their signatures
            payload["continues_from"] = self.continues_from
        if self.take:  # likewise: a shot never made again keeps its signature
            payload["take"] = self.take
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]

    def seed_from(self, base: int | None) -> int | None:
        """The shot's seed from the project's ``base``: one per shot and take (a new take with the same seed
        would make the same picture on a backend that honours seeds). None leaves it to the backend."""
        return None if base is None else base + self.index + TAKE_SEED_STRIDE * self.take

    @property
    def bound_keyframe(self) -> str | None:
        """The first-frame still, when it was made for the shot as it is now."""
        if self.keyframe and self.keyframe_signature == self.generation_signature():
            return self.keyframe
        return None

    @property
    def keyframe_state(self) -> Literal["approved", "pending", "none"]:
        """The storyboard panel's approval: ``approved`` while the approved still is the shot's current one."""
        still = self.bound_keyframe
        if not still:
            return "none"
        return "approved" if self.keyframe_approved == still else "pending"

    @property
    def bound_clip(self) -> str | None:
        """The generated clip, when it was made for this shot as it is now."""
        if self.clip and self.clip_signature == self.generation_signature():
            return self.clip
        return None


class ShotPlan(BaseModel):
    """An ordered list of shots with the facts the brief fixed."""

    shots: list[Shot] = Field(min_length=1)
    aspect_ratio: AspectRatio = "16:9"
    fps: int = Field(default=30, ge=1, le=120)
    planner: str = Field(default="offline", description="Which planner answered (offline, or the LLM's name).")
    title: str | None = None

    @model_validator(mode="after")
    def _last_shot_has_no_transition(self) -> "ShotPlan":
        # Nothing follows the last shot: a transition there would need a clip that does not exist.
        last = self.shots[-1]
        if last.transition_to_next.overlap_s or last.transition_to_next.continues:
            self.shots[-1] = last.model_copy(update={"transition_to_next": Transition.cut()})
        return self

    def continued_from(self, index: int) -> int | None:
        """The shot that shot ``index`` continues (its transition into ``index`` is ``continue``), or None."""
        for before, shot in zip(self.shots, self.shots[1:]):
            if shot.index == index and before.transition_to_next.continues:
                return before.index
        return None

    @property
    def total_duration_s(self) -> float:
        return round(sum(s.duration_s for s in self.shots), 3)
