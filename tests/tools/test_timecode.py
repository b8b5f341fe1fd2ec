"""Timecode parsing: every dialect, exact to the frame, and clean errors for garbage."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotsmith.errors import InvalidInputError
from shotsmith.tools.timecode import (
    check_range, format_hms, format_smpte, frame_to_seconds, parse_frame, parse_time, seconds_to_frame,
)

RATES = [Fraction(24), Fraction(25), Fraction(30), Fraction(50), Fraction(60),
         Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001)]
rates = st.sampled_from(RATES)
frames = st.integers(min_value=0, max_value=20 * 3600 * 24)  # under the 24 h cap at every rate


@pytest.mark.parametrize("text,fps,expected", [
    ("12.5", None, Fraction(25, 2)),
    ("12", None, Fraction(12)),
    ("0.040s", None, Fraction(1, 25)),
    ("01:30", None, Fraction(90)),
    ("01:02:03.250", None, Fraction(3723250, 1000)),
    ("00:00:01:15", 30, Fraction(3, 2)),
    ("00:00:01:00", Fraction(30000, 1001), Fraction(30 * 1001, 30000)),
    ("f123", 30, Fraction(123, 30)),
    ("123f", 25, Fraction(123, 25)),
    ("00:01:00;02", Fraction(30000, 1001), Fraction(1800 * 1001, 30000)),
])
def test_dialects(text, fps, expected):
    assert parse_time(text, fps=fps) == expected


def test_numbers_and_frame_unit():
    assert parse_time(2.5) == Fraction(5, 2)
    assert parse_time(7) == 7
    assert parse_time(45, fps=30, unit="frames") == Fraction(3, 2)
    assert parse_time("45", fps=30, unit="frames") == Fraction(3, 2)
    assert parse_frame("00:00:02:10", 25) == 60


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1:2:3:4:5", "12.5.3", "00:61:00", "01:00:75", "1e3",
                                 "00:00:01:30", "f", "nan", "00:01:00;00", "00:00:01.5.5"])
def test_garbage_is_invalid_input(bad):
    with pytest.raises(InvalidInputError):
        parse_time(bad, fps=Fraction(30000, 1001))


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), True, None, 1.5])
def test_bad_numbers(bad):
    with pytest.raises(InvalidInputError):
        parse_time(bad, fps=30, unit="frames")


def test_frames_need_a_rate():
    with pytest.raises(InvalidInputError, match="frame rate"):
        parse_time("f10")
    with pytest.raises(InvalidInputError, match="frame rate"):
        parse_time("00:00:01:02")


def test_drop_frame_only_at_ntsc():
    with pytest.raises(InvalidInputError, match="drop-frame"):
        parse_time("00:00:01;02", fps=25)


def test_range_check():
    check_range(Fraction(2), 2.0)
    with pytest.raises(InvalidInputError, match="past the end of a.mp4"):
        check_range(Fraction(3), 2.0, path="a.mp4")


@settings(max_examples=300, deadline=None)
@given(frame=frames, fps=rates)
def test_smpte_round_trip(frame, fps):
    assert parse_frame(format_smpte(frame, fps), fps) == frame


@settings(max_examples=300, deadline=None)
@given(frame=frames, fps=st.sampled_from([Fraction(30000, 1001), Fraction(60000, 1001)]))
def test_drop_frame_round_trip(frame, fps):
    text = format_smpte(frame, fps, drop_frame=True)
    assert ";" in text
    assert parse_frame(text, fps) == frame


@settings(max_examples=300, deadline=None)
@given(frame=frames, fps=rates)
def test_millisecond_clock_names_the_same_frame(frame, fps):
    text = format_hms(frame_to_seconds(frame, fps))
    assert parse_frame(text, fps) == frame


@settings(max_examples=200, deadline=None)
@given(frame=frames, fps=rates)
def test_frame_numbers_are_exact(frame, fps):
    seconds = parse_time(f"f{frame}", fps=fps)
    assert seconds == Fraction(frame) / fps
    assert seconds_to_frame(seconds, fps) == frame


@settings(max_examples=200, deadline=None)
@given(millis=st.integers(min_value=0, max_value=24 * 3600 * 1000))
def test_decimal_seconds_are_exact(millis):
    text = f"{millis // 1000}.{millis % 1000:03d}"
    assert parse_time(text) == Fraction(millis, 1000)
    assert parse_time(format_hms(Fraction(millis, 1000))) == Fraction(millis, 1000)


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=20))
def test_any_text_parses_or_says_why(text):
    try:
        value = parse_time(text, fps=30)
    except InvalidInputError as exc:
        assert exc.message
    else:
        assert value >= 0
