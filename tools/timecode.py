"""Timecodes as people type them, turned into exact seconds and frame indices.

Editors speak several dialects at once: plain seconds (``12.5``), clock time
(``MM:SS``, ``HH:MM:SS.mmm``), SMPTE timecode (``HH:MM:SS:FF``, or
``HH:MM:SS;FF`` for drop-frame at 29.97/59.94) and bare frame numbers
(``f123``). Every tool that takes a time goes through :func:`parse_time`, so
the agent, the CLI and the edit file accept the same spellings and get the
same errors.

Arithmetic is done with :class:`~fractions.Fraction`: ``1001/30000`` s is not
representable as a float, and a trim that is off by one frame because of a
rounding error is exactly the bug this module exists to prevent.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Literal

from shotsmith.errors import InvalidInputError

TimeUnit = Literal["seconds", "frames"]
Rate = Fraction | float | int

_SECONDS = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*s?$")
_FRAMES = re.compile(r"^(?:f\s*(\d+)|(\d+)\s*f)$", re.IGNORECASE)
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
_SMPTE = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})([:;.])(\d{1,3})$")

#: Longest time anyone will cut into (a day); bigger numbers are typos.
MAX_SECONDS = 24 * 3600


def as_rate(fps: Rate | str) -> Fraction:
    """An exact frame rate; 29.97 and friends snap to their 1001 fractions."""
    if isinstance(fps, Fraction):
        rate = fps
    elif isinstance(fps, str):
        try:
            rate = Fraction(fps)
        except (ValueError, ZeroDivisionError) as exc:
            raise InvalidInputError(f"frame rate {fps!r} is not a number") from exc
    else:
        if isinstance(fps, float) and not math.isfinite(fps):
            raise InvalidInputError(f"frame rate {fps!r} is not a number")
        rate = Fraction(fps)
        for num, den in ((24000, 1001), (30000, 1001), (60000, 1001)):
            if abs(float(fps) - num / den) < 0.005:
                return Fraction(num, den)
        rate = rate.limit_denominator(1001)
    if rate <= 0 or rate > 1000:
        raise InvalidInputError(f"frame rate {float(rate):g} is out of range (0, 1000]")
    return rate


def nominal_rate(fps: Rate) -> int:
    """Frames counted per timecode second: 30 for 29.97, 24 for 23.976."""
    return max(1, round(as_rate(fps)))


def frame_to_seconds(frame: int, fps: Rate) -> Fraction:
    if frame < 0:
        raise InvalidInputError(f"frame {frame} is negative")
    return Fraction(frame) / as_rate(fps)


def seconds_to_frame(seconds: Fraction | float, fps: Rate) -> int:
    """Index of the frame shown at ``seconds``, rounding to the nearest frame start.

    Nearest, not floor: a millisecond timecode of frame 31 at 30 fps
    (``00:00:01.033``) lies a third of a millisecond *before* the frame and
    must still name it.
    """
    value = Fraction(seconds) * as_rate(fps)
    return math.floor(value + Fraction(1, 2))


def parse_time(value: str | float | int, *, fps: Rate | None = None, unit: TimeUnit = "seconds",
               what: str = "time") -> Fraction:
    """Exact seconds for ``value``; InvalidInputError naming ``what`` if it is not a time.

    Numbers are seconds (or frames with ``unit="frames"``). Strings may be any
    of the dialects in the module docstring; frame-based ones need ``fps``.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidInputError(f"{what}: {value!r} is not a time")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInputError(f"{what}: {value!r} is not a time")
        if value < 0:
            raise InvalidInputError(f"{what}: {value} is negative")
        if unit == "frames":
            if value != int(value):
                raise InvalidInputError(f"{what}: frame number {value} is not a whole number")
            return _check_max(_frames(int(value), fps, what), value, what)
        return _check_max(Fraction(repr(value)) if isinstance(value, float) else Fraction(value), value, what)
    if not isinstance(value, str):
        raise InvalidInputError(f"{what}: {value!r} is not a time")
    text = value.strip()
    if not text:
        raise InvalidInputError(f"{what}: empty time")
    if text.startswith("-"):
        raise InvalidInputError(f"{what}: {value!r} is negative")
    if unit == "frames" and text.isdigit():
        return _check_max(_frames(int(text), fps, what), value, what)
    if m := _SECONDS.match(text):
        return _check_max(Fraction(m.group(1)), value, what)
    if m := _FRAMES.match(text):
        return _check_max(_frames(int(m.group(1) or m.group(2)), fps, what), value, what)
    if m := _CLOCK.match(text):
        hours, minutes, seconds = int(m.group(1) or 0), int(m.group(2)), Fraction(m.group(3))
        if m.group(1) is not None and minutes >= 60:
            raise InvalidInputError(f"{what}: minutes {minutes} out of range in {value!r} (0-59)")
        if seconds >= 60:
            raise InvalidInputError(f"{what}: seconds {m.group(3)} out of range in {value!r} (below 60)")
        return _check_max(hours * 3600 + minutes * 60 + seconds, value, what)
    if m := _SMPTE.match(text):
        return _check_max(_smpte(m, value, fps, what), value, what)
    raise InvalidInputError(
        f"{what}: {value!r} is not a time",
        hint="use seconds (12.5), MM:SS, HH:MM:SS.mmm, HH:MM:SS:FF or a frame number (f123)",
    )


def parse_frame(value: str | float | int, fps: Rate, *, unit: TimeUnit = "seconds", what: str = "time") -> int:
    """The frame index ``value`` names at ``fps`` (nearest frame for clock times)."""
    return seconds_to_frame(parse_time(value, fps=fps, unit=unit, what=what), fps)


def frame_number(value: str | float | int, *, unit: TimeUnit = "seconds") -> int | None:
    """The frame index when ``value`` is written as a frame number, else None.

    Lets a caller with a frame table (a VFR file) map ``f123`` to the 124th
    frame itself instead of going through an average rate.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and unit == "frames" and value >= 0:
        return value
    if isinstance(value, str):
        text = value.strip()
        if unit == "frames" and text.isdigit():
            return int(text)
        if m := _FRAMES.match(text):
            return int(m.group(1) or m.group(2))
    return None


def _frames(frame: int, fps: Rate | None, what: str) -> Fraction:
    if fps is None:
        raise InvalidInputError(f"{what}: a frame number needs the frame rate, which is unknown here")
    return frame_to_seconds(frame, fps)


def _check_max(seconds: Fraction, raw, what: str) -> Fraction:
    if seconds > MAX_SECONDS:
        raise InvalidInputError(f"{what}: {raw!r} is more than 24 hours")
    return seconds


def _smpte(m: re.Match[str], raw: str, fps: Rate | None, what: str) -> Fraction:
    if fps is None:
        raise InvalidInputError(f"{what}: the timecode {raw!r} counts frames and needs the frame rate, which is unknown here")
    hours, minutes, seconds, sep, ff = int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4), int(m.group(5))
    if sep == ".":
        raise InvalidInputError(f"{what}: {raw!r} is ambiguous; write HH:MM:SS.mmm or HH:MM:SS:FF")
    nominal = nominal_rate(fps)
    if minutes >= 60 or seconds >= 60:
        raise InvalidInputError(f"{what}: minutes and seconds in {raw!r} must be below 60")
    if ff >= nominal:
        raise InvalidInputError(f"{what}: frame {ff} in {raw!r} is out of range at {float(as_rate(fps)):g} fps (0-{nominal - 1})")
    frame = (hours * 3600 + minutes * 60 + seconds) * nominal + ff
    if sep == ";":
        drop = _drop_frames(fps)
        if drop is None:
            raise InvalidInputError(f"{what}: drop-frame timecode {raw!r} only exists at 29.97 or 59.94 fps")
        if seconds == 0 and minutes % 10 and ff < drop:
            raise InvalidInputError(f"{what}: {raw!r} does not exist in drop-frame timecode (frames 0-{drop - 1} are skipped)")
        total_minutes = hours * 60 + minutes
        frame -= drop * (total_minutes - total_minutes // 10)
    return frame_to_seconds(frame, fps)


def _drop_frames(fps: Rate) -> int | None:
    rate = as_rate(fps)
    if rate == Fraction(30000, 1001):
        return 2
    if rate == Fraction(60000, 1001):
        return 4
    return None


def format_hms(seconds: Fraction | float) -> str:
    """``HH:MM:SS.mmm``, rounded to the nearest millisecond."""
    if seconds < 0:
        raise InvalidInputError(f"time {seconds} is negative")
    millis = math.floor(Fraction(seconds) * 1000 + Fraction(1, 2))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def format_smpte(frame: int, fps: Rate, *, drop_frame: bool = False) -> str:
    """SMPTE ``HH:MM:SS:FF`` for a frame index (``;`` before FF when drop-frame)."""
    if frame < 0:
        raise InvalidInputError(f"frame {frame} is negative")
    nominal = nominal_rate(fps)
    sep = ":"
    if drop_frame:
        drop = _drop_frames(fps)
        if drop is None:
            raise InvalidInputError(f"drop-frame timecode only exists at 29.97 or 59.94 fps, not {float(as_rate(fps)):g}")
        per_10min = nominal * 600 - 9 * drop
        per_min = nominal * 60 - drop
        tens, rest = divmod(frame, per_10min)
        frame += 9 * drop * tens + (drop * ((rest - drop) // per_min) if rest > drop else 0)
        sep = ";"
    ff = frame % nominal
    total_seconds = frame // nominal
    hours, rest = divmod(total_seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ff:02d}"


def check_range(seconds: Fraction | float, duration_s: float, *, what: str = "time", path: str | None = None) -> None:
    """Refuse a time outside ``[0, duration_s]`` with a message naming the media."""
    where = f" of {path}" if path else ""
    if seconds < 0:
        raise InvalidInputError(f"{what} {float(seconds):g}s is negative")
    if seconds > Fraction(duration_s) + Fraction(1, 1000):
        raise InvalidInputError(f"{what} {format_hms(seconds)} is past the end{where} ({format_hms(duration_s)})")
