"""The cut of a planned project, derived from its shot plan.

A project made from a brief has one edit model: the :class:`~shotsmith.brief.ShotPlan`.
Each shot carries what to generate and how it sits in the cut (duration,
speed, trim, fit, volume, transition). The timeline's clips are computed from
it here, by a pure function, whenever the project is saved; nothing edits
them beside the plan. That is what makes an edit survive: "set shot 2 to half
speed" changes shot 2, and every later render, re-generation or re-plan
derives the same clip from it.

Titles, audio, overlays, captions and output settings stay on the timeline:
they are not per shot and are never rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from shotsmith.brief import Shot, ShotPlan
from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove, Transition
from shotsmith.timeline import ClipRef

#: A transition shortened below this is dropped to a cut (a 3-frame dissolve reads as a glitch).
MIN_TRANSITION_S = 0.1
#: Slack for clip lengths measured from files (container rounding).
LENGTH_SLACK_S = 0.02


@dataclass
class Cut:
    """The clips derived from a plan, the shots that have no media yet, and what was adjusted."""

    clips: list[ClipRef] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Edits that cannot be rendered (a trim past the end of the clip): refused when the edit is made.
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.errors

    def check(self) -> None:
        """Raise for an edit the cut cannot show (called before an edited plan is accepted)."""
        if self.errors:
            raise InvalidInputError("; ".join(self.errors))

    def require_complete(self) -> list[ClipRef]:
        self.check()
        if self.missing:
            raise InvalidInputError(f"shot(s) {', '.join(map(str, self.missing))} have no clip yet",
                                    hint="generate them first")
        return self.clips


def shot_media(shot: Shot) -> tuple[str, float | None] | None:
    """The media a shot shows (footage, else its bound generated clip) and that media's length."""
    if shot.source:
        return shot.source, shot.source_length_s
    clip = shot.bound_clip
    if clip:
        return clip, shot.clip_length_s
    return None


def derive_cut(plan: ShotPlan) -> Cut:
    """The timeline clips for ``plan``: one per shot with media, in plan order.

    A clip shorter than the shot plus its transition handle keeps the shot's
    time on screen and shortens the transition (to a cut below
    :data:`MIN_TRANSITION_S`); one shorter than the shot itself is used whole
    and reported. Both are warnings, never silent.
    """
    cut = Cut()
    last_index = plan.shots[-1].index
    for shot in plan.shots:
        media = shot_media(shot)
        if media is None:
            cut.missing.append(shot.index)
            continue
        source, length = media
        last = shot.index == last_index
        wanted = shot.media_span_s(last=last)
        transition = Transition.cut() if last else shot.transition_to_next
        out = shot.in_s + wanted
        if length is not None and out > length + LENGTH_SLACK_S:
            available = max(0.0, length - shot.in_s)
            on_screen = shot.duration_s * shot.speed
            if available + LENGTH_SLACK_S >= on_screen:
                spare = round((available - on_screen) / shot.speed, 3)
                transition = (transition.model_copy(update={"duration_s": spare}) if spare >= MIN_TRANSITION_S
                              else Transition.cut())
                cut.warnings.append(f"shot {shot.index}: its clip is {length:.2f} s, so the transition into the "
                                    f"next shot is {'shortened to ' + format(spare, '.2f') + ' s' if spare >= MIN_TRANSITION_S else 'a cut'}")
                out = shot.in_s + (shot.duration_s + transition.overlap_s) * shot.speed
            else:
                if available <= LENGTH_SLACK_S:
                    cut.errors.append(f"shot {shot.index} starts at {shot.in_s:g} s, past the end of its "
                                      f"{length:.2f} s clip")
                    continue
                transition = Transition.cut()
                cut.warnings.append(f"shot {shot.index}: its clip is {length:.2f} s, shorter than the "
                                    f"{on_screen + shot.in_s:.2f} s the shot needs; the shot is "
                                    f"{available / shot.speed:.2f} s instead of {shot.duration_s:g} s")
                out = length
        cut.clips.append(ClipRef(source=source, in_s=shot.in_s, out_s=round(min(out, length or out), 6),
                                 transition_to_next=transition, shot_index=shot.index, mute=shot.mute,
                                 volume=shot.volume, speed=shot.speed, fit=shot.fit, motion=still_motion(shot, source)))
    return cut


#: Suffixes of still images (what an image result is kept as, see backends/download.py).
STILL_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def still_motion(shot: Shot, source: str) -> CameraMove | None:
    """The Ken Burns move of a shot's media: its own ``motion``; for a generated still (an animatic card),
    the shot's camera, which the render then flies over the still."""
    if shot.motion is not None or shot.source:
        return shot.motion
    return shot.camera if PurePosixPath(source).suffix.lower() in STILL_SUFFIXES else None
