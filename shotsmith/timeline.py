"""The edit: ordered clips with in/out points, titles, audio and output settings.

The renderer in :mod:`shotsmith.tools.render` compiles a Timeline into one
ffmpeg filter graph. Clip sources are stored relative to the project folder
when they live inside it, so a project folder can be moved as a whole.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shotsmith.formats import Transition

TitlePosition = Literal["center", "top", "bottom", "top_left", "top_right", "bottom_left", "bottom_right", "lower_third"]


class ClipRef(BaseModel):
    """A span [in_s, out_s) of a media file placed on the timeline."""

    source: str = Field(min_length=1, description="Project-relative path, or an absolute path to a user's input file.")
    in_s: float = Field(default=0.0, ge=0)
    out_s: float = Field(gt=0)
    transition_to_next: Transition = Field(default_factory=Transition.cut)
    shot_index: int | None = None
    mute: bool = False

    @model_validator(mode="after")
    def _in_before_out(self) -> "ClipRef":
        if self.out_s <= self.in_s:
            raise ValueError(f"clip out point {self.out_s}s must be after its in point {self.in_s}s")
        return self

    @property
    def length_s(self) -> float:
        return self.out_s - self.in_s


class Title(BaseModel):
    """Text burned over the picture between ``start_s`` and ``end_s`` (timeline time)."""

    text: str = Field(min_length=1, max_length=500)
    start_s: float = Field(default=0.0, ge=0)
    end_s: float | None = Field(default=None, description="None: until the end of the timeline.")
    position: TitlePosition = "center"
    x: str | None = Field(default=None, description="Custom x (pixels, or an ffmpeg expression such as (w-text_w)/2).")
    y: str | None = None
    size: int = Field(default=0, ge=0, le=400, description="Font size in pixels; 0 picks one from the frame height.")
    color: str = "white"
    box: bool = True
    box_color: str = "black@0.45"
    fade_in_s: float = Field(default=0.3, ge=0)
    fade_out_s: float = Field(default=0.3, ge=0)
    bold: bool = True


class AudioTrack(BaseModel):
    """A music bed or voice-over laid under the picture."""

    source: str
    role: Literal["music", "voiceover"] = "music"
    start_s: float = Field(default=0.0, ge=0, description="Where on the timeline the track starts.")
    in_s: float = Field(default=0.0, ge=0)
    out_s: float | None = None
    volume: float = Field(default=1.0, ge=0, le=4)
    fade_in_s: float = Field(default=0.0, ge=0)
    fade_out_s: float = Field(default=0.0, ge=0)


class OutputSettings(BaseModel):
    """How the cut is encoded."""

    width: int = Field(default=1280, ge=16, le=7680)
    height: int = Field(default=720, ge=16, le=4320)
    fps: float = Field(default=30, gt=0, le=120)
    video_codec: str = "libx264"
    crf: int = Field(default=20, ge=0, le=63)
    preset: str = "veryfast"
    pixel_format: str = "yuv420p"
    audio_codec: str = "aac"
    audio_bitrate: str = "160k"
    sample_rate: int = 48000

    @model_validator(mode="after")
    def _even_size(self) -> "OutputSettings":
        if self.width % 2 or self.height % 2:
            raise ValueError(f"output size {self.width}x{self.height} must be even for yuv420p")
        return self


class Timeline(BaseModel):
    clips: list[ClipRef] = Field(default_factory=list)
    titles: list[Title] = Field(default_factory=list)
    audio: list[AudioTrack] = Field(default_factory=list)
    output: OutputSettings = Field(default_factory=OutputSettings)

    @property
    def duration_s(self) -> float:
        total = sum(c.length_s for c in self.clips)
        total -= sum(c.transition_to_next.overlap_s for c in self.clips[:-1])
        return round(total, 6)
