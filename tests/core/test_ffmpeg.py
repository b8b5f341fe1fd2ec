"""ffmpeg discovery and failures become clean errors."""

from __future__ import annotations

import os
import stat

import pytest

from shotsmith.errors import FFmpegError
from shotsmith.media import ffmpeg


@pytest.fixture
def fresh_exe(monkeypatch):
    ffmpeg.ffmpeg_exe.cache_clear()
    yield monkeypatch
    ffmpeg.ffmpeg_exe.cache_clear()


def test_missing_ffmpeg_is_a_clear_error(fresh_exe, tmp_path):
    fresh_exe.setenv("SHOTSMITH_FFMPEG", str(tmp_path / "nope"))
    with pytest.raises(FFmpegError, match="does not exist"):
        ffmpeg.run_ffmpeg(["-version"])


def test_failing_ffmpeg_raises_with_its_message(fresh_exe, tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'Invalid data found when processing input' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    fresh_exe.setenv("SHOTSMITH_FFMPEG", str(fake))
    with pytest.raises(FFmpegError, match="Invalid data found") as info:
        ffmpeg.run_ffmpeg(["-i", "x", "y.mp4"], what="test encode")
    assert "test encode failed" in info.value.message


def test_progress_is_reported(make_clip, tmp_path):
    src = make_clip("a.mp4", duration=1.0)
    seen: list[float] = []
    ffmpeg.run_ffmpeg(["-i", str(src), "-c:v", "libx264", "-preset", "ultrafast", str(tmp_path / "b.mp4")],
                      duration_s=1.0, on_progress=seen.append)
    assert seen and seen[-1] == pytest.approx(1.0)
    assert seen == sorted(seen)


def test_children_start_at_the_niceness_an_interactive_front_end_asks_for():
    """The TUI lowers its render's ffmpeg below itself (keys stay on time while every core encodes);
    a scripted run keeps its children at its own priority."""
    import subprocess
    import sys

    from shotsmith.media import ffmpeg

    def child_niceness() -> int:
        proc = ffmpeg.spawn([sys.executable, "-c", "import os; print(os.nice(0))"], stdout=subprocess.PIPE, text=True)
        try:
            out, _ = proc.communicate(timeout=30)
        finally:
            ffmpeg.release(proc)
        return int(out)

    own = os.nice(0)
    try:
        ffmpeg.lower_children_priority(10)
        assert child_niceness() == min(19, own + 10)
    finally:
        ffmpeg.lower_children_priority(0)
    assert child_niceness() == own


def test_a_run_its_session_stops_says_cancelled_not_failed(tmp_path):
    """A command's end stops its ffmpeg children (a background proxy among them): that run is cancelled,
    not 'failed: exit code 255', so nothing reports a failure that did not happen."""
    import threading

    from shotsmith.errors import CancelledError

    caught: list[BaseException] = []

    def long_run() -> None:
        try:
            ffmpeg.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=30", "-t", "60", "-f", "null", "-"])
        except BaseException as exc:  # noqa: BLE001 - the test reads what it was
            caught.append(exc)

    thread = threading.Thread(target=long_run)
    thread.start()
    for _ in range(100):
        if ffmpeg.live_children():
            break
        threading.Event().wait(0.05)
    assert ffmpeg.stop_children() == 1
    thread.join(10)
    assert len(caught) == 1 and isinstance(caught[0], CancelledError)


def test_has_encoder_reads_this_ffmpeg_s_list():
    assert ffmpeg.has_encoder("libx264") and ffmpeg.has_encoder("aac")
    assert not ffmpeg.has_encoder("no-such-encoder")
