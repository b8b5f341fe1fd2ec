"""What the user asked for, and the shot plan made from it."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from shotsmith.formats import AspectRatio, CameraMove, Transition


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

    @property
    def handle_s(self) -> float:
        return self.transition_to_next.overlap_s


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
        if last.transition_to_next.overlap_s:
            self.shots[-1] = last.model_copy(update={"transition_to_next": Transition.cut()})
        return self

    @property
    def total_duration_s(self) -> float:
        return round(sum(s.duration_s for s in self.shots), 3)
