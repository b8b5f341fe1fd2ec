"""The edit: ordered clips with in/out points, titles, audio and output settings.

The renderer in :mod:`shotsmith.tools.render` compiles a Timeline into one
ffmpeg filter graph. Clip sources are stored relative to the project folder
when they live inside it, so a project folder can be moved as a whole.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shotsmith.formats import CameraMove, Transition

TitlePosition = Literal["center", "top", "bottom", "top_left", "top_right", "bottom_left", "bottom_right", "lower_third"]
OverlayPosition = Literal["center", "top_left", "top_right", "bottom_left", "bottom_right", "top", "bottom", "left", "right"]

#: How a clip whose shape differs from the output is fitted into the frame:
#: ``contain`` scales to fit and pads (letterbox), ``cover`` scales to fill and
#: crops around the centre, ``blur`` fits it over a blurred, filled copy of
#: itself, ``stretch`` ignores the aspect ratio.
FitMode = Literal["contain", "cover", "blur", "stretch"]

MIN_SPEED = 0.25
MAX_SPEED = 4.0


class _Strict(BaseModel):
    """A part of the edit that users write by hand (edit plans, project files, OTIO metadata):
    an unknown key is an error, so a misspelled ``speeed`` is never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ClipRef(_Strict):
    """A span [in_s, out_s) of a media file placed on the timeline."""

    source: str = Field(min_length=1, description="Project-relative path, or an absolute path to a user's input file.")
    in_s: float = Field(default=0.0, ge=0)
    out_s: float = Field(gt=0)
    transition_to_next: Transition = Field(default_factory=Transition.cut)
    shot_index: int | None = None
    mute: bool = False
    volume: float = Field(default=1.0, ge=0, le=4, description="Gain on the clip's own audio.")
    speed: float = Field(default=1.0, ge=MIN_SPEED, le=MAX_SPEED,
                         description="Playback speed; 2 plays the span in half the time (audio pitch kept).")
    fit: FitMode | None = Field(default=None, description="None: the output's default fit.")
    motion: CameraMove | None = Field(default=None, description="Ken Burns move, for still images.")

    @model_validator(mode="after")
    def _in_before_out(self) -> "ClipRef":
        if self.out_s <= self.in_s:
            raise ValueError(f"clip out point {self.out_s}s must be after its in point {self.in_s}s")
        return self

    @property
    def source_length_s(self) -> float:
        """Length of the span read from the source."""
        return self.out_s - self.in_s

    @property
    def length_s(self) -> float:
        """Length on the timeline (the source span divided by the speed)."""
        return (self.out_s - self.in_s) / self.speed


class Title(_Strict):
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


class AudioTrack(_Strict):
    """A music bed or voice-over laid under the picture."""

    source: str
    role: Literal["music", "voiceover"] = "music"
    start_s: float = Field(default=0.0, ge=0, description="Where on the timeline the track starts.")
    in_s: float = Field(default=0.0, ge=0)
    out_s: float | None = None
    volume: float = Field(default=1.0, ge=0, le=4)
    fade_in_s: float = Field(default=0.0, ge=0)
    fade_out_s: float = Field(default=0.0, ge=0)
    duck: bool = Field(default=True, description="Music only: lower it while a voice-over speaks.")
    loop: bool = Field(default=False, description="Repeat the span to fill the rest of the timeline.")

    @model_validator(mode="after")
    def _span(self) -> "AudioTrack":
        if self.out_s is not None and self.out_s <= self.in_s:
            raise ValueError(f"audio out point {self.out_s}s must be after its in point {self.in_s}s")
        return self


class ChromaKey(_Strict):
    """Make one colour of a layer transparent (green/blue screen)."""

    color: str = Field(default="0x00FF00", description="green, blue, a colour name or 0xRRGGBB.")
    similarity: float = Field(default=0.15, gt=0, le=1)
    blend: float = Field(default=0.05, ge=0, le=1)


class Overlay(_Strict):
    """A clip or image laid over the picture (picture-in-picture, logo, keyed layer)."""

    source: str = Field(min_length=1)
    start_s: float = Field(default=0.0, ge=0, description="Timeline time the layer appears.")
    end_s: float | None = Field(default=None, description="None: until the layer's media or the timeline ends.")
    in_s: float = Field(default=0.0, ge=0, description="Where in the source the layer starts.")
    position: OverlayPosition = "bottom_right"
    x: str | None = Field(default=None, description="Custom x in pixels or an ffmpeg expression (W, H, w, h).")
    y: str | None = None
    scale: float = Field(default=0.3, gt=0, le=1, description="Layer width as a fraction of the frame width.")
    opacity: float = Field(default=1.0, ge=0, le=1)
    margin: int = Field(default=24, ge=0, le=2000)
    chroma_key: ChromaKey | None = None

    @model_validator(mode="after")
    def _range(self) -> "Overlay":
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"overlay end {self.end_s}s must be after its start {self.start_s}s")
        return self


class CaptionWord(_Strict):
    """One spoken word of a cue, in timeline time (from the voice backend's word timings)."""

    word: str = Field(min_length=1, max_length=200)
    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)


class Caption(_Strict):
    """One subtitle cue, in timeline time; ``words`` (optional) time each spoken word for highlighting."""

    start_s: float = Field(ge=0)
    end_s: float = Field(gt=0)
    text: str = Field(min_length=1, max_length=1000)
    words: list[CaptionWord] = Field(default_factory=list,
                                     description="Word times inside the cue (burned captions highlight the current word).")

    @model_validator(mode="after")
    def _range(self) -> "Caption":
        if self.end_s <= self.start_s:
            raise ValueError(f"caption end {self.end_s}s must be after its start {self.start_s}s")
        return self


#: How captions reach the viewer: burned into the picture, sidecar ``.srt``/``.vtt`` files next to the
#: render, an embedded subtitle track (``mov_text`` in MP4/MOV), or not at all.
CaptionStyle = Literal["burn", "srt", "track", "off"]


class CaptionSettings(_Strict):
    """How captions are shown (they are always exportable as a sidecar SRT with ``export_srt``)."""

    burn: bool = True
    size: int = Field(default=0, ge=0, le=200, description="Font size; 0 picks one from the frame height.")
    srt: str | None = Field(default=None, description="An SRT file to burn in, in addition to the cues.")
    style: CaptionStyle | None = Field(default=None, description="burn, srt, track or off; None: burn when `burn` "
                                                                  "is true, else none (older project files).")
    highlight: str = Field(default="yellow", description="Colour of the word being spoken (burned cues with word times).")
    highlight_mode: Literal["word", "fill"] = Field(
        default="word", description="word: only the current word is highlighted; fill: karaoke, spoken words stay lit.")
    language: str = Field(default="eng", pattern=r"^[a-z]{3}$",
                          description="ISO 639-2 code of the embedded track's language.")

    @property
    def mode(self) -> CaptionStyle:
        """The style in effect (``style``, or what ``burn`` said before styles existed)."""
        if self.style is not None:
            return self.style
        return "burn" if self.burn else "off"


class OutputSettings(_Strict):
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
    container: Literal["mp4", "mov", "webm", "mkv", "gif", "webp"] = "mp4"
    video_bitrate: str | None = Field(default=None, description="e.g. 8M; None: constant quality (crf).")
    fit: FitMode = Field(default="contain", description="How clips of another shape fill the frame.")
    loudness_lufs: float | None = Field(default=None, ge=-70, le=-5,
                                        description="Integrated loudness target (EBU R128), e.g. -14; None: off.")
    background: str = Field(default="black", description="Colour of padding around fitted clips.")
    preset_name: str | None = Field(default=None, description="The export preset these settings came from.")

    @model_validator(mode="after")
    def _even_size(self) -> "OutputSettings":
        if self.width % 2 or self.height % 2:
            raise ValueError(f"output size {self.width}x{self.height} must be even for yuv420p")
        return self


class Timeline(_Strict):
    clips: list[ClipRef] = Field(default_factory=list)
    titles: list[Title] = Field(default_factory=list)
    audio: list[AudioTrack] = Field(default_factory=list)
    output: OutputSettings = Field(default_factory=OutputSettings)
    overlays: list[Overlay] = Field(default_factory=list)
    captions: list[Caption] = Field(default_factory=list)
    caption_settings: CaptionSettings = Field(default_factory=CaptionSettings)

    def source_refs(self) -> list[str]:
        """Every media reference the timeline reads: clips, audio, overlays and an SRT file.

        The one list that output-safety checks use, so a new kind of layer is
        guarded as soon as it is added here.
        """
        refs = [c.source for c in self.clips] + [a.source for a in self.audio] + [o.source for o in self.overlays]
        if self.caption_settings.srt:
            refs.append(self.caption_settings.srt)
        return refs

    @property
    def duration_s(self) -> float:
        total = sum(c.length_s for c in self.clips)
        total -= sum(c.transition_to_next.overlap_s for c in self.clips[:-1])
        return round(total, 6)
