"""Ctrl-C, SIGTERM and the death of shotsmith stop every ffmpeg child and leave no partial file.

The end-to-end tests start the real ``shotsmith`` on a long clip, wait until its
ffmpeg child is running (found in /proc), send the signal, and check the exit
status, the one ``cancelled`` line, that the child is gone and that no
``.part`` file (nor the output) is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shotsmith import interrupts
from shotsmith.errors import CancelledError
from shotsmith.media import ffmpeg

SHOTSMITH = Path(sys.executable).with_name("shotsmith")
LINUX = sys.platform.startswith("linux")
needs_proc = pytest.mark.skipif(not LINUX, reason="reads /proc to find the ffmpeg children")


# -- the mechanism, in this process ---------------------------------------------------------

def test_sigterm_becomes_terminated_with_exit_143_and_runs_the_hooks():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)  # a library (Ray) may have set its own
    called = []
    hook = lambda: called.append((interrupts.cancel_signal(), interrupts.cancel_requested()))  # noqa: E731
    interrupts.add_cancel_hook(hook)
    try:
        with pytest.raises(interrupts.Terminated) as info:
            with interrupts.cancellation():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises long before this ends
        assert isinstance(info.value, KeyboardInterrupt)  # `except Exception` cannot swallow it
        assert info.value.exit_code == 143 and called == [(signal.SIGTERM, True)]
        assert interrupts.exit_code_for(info.value) == 143
    finally:
        interrupts.remove_cancel_hook(hook)
    # Leaving the block restores the handlers that were there before and forgets the cancellation.
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert not interrupts.cancel_requested() and interrupts.exit_code_for(KeyboardInterrupt()) == 130


def test_sigint_stays_keyboardinterrupt():
    with pytest.raises(KeyboardInterrupt) as info:
        with interrupts.cancellation():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
    assert type(info.value) is KeyboardInterrupt


def test_deferred_holds_the_signal_until_the_cleanup_is_done():
    steps = []
    with pytest.raises(interrupts.Terminated):
        with interrupts.cancellation():
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                steps.append("cleanup finished")
            steps.append("not reached")
    assert steps == ["cleanup finished"]


def test_an_ignored_signal_stays_ignored():
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with interrupts.cancellation():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)
        assert not interrupts.cancel_requested()
    finally:
        signal.signal(signal.SIGHUP, old)


@needs_proc
def test_sigterm_stops_ffmpeg_running_in_a_worker_thread(tmp_path):
    """The main thread gets the signal; the cancel hook stops the worker's ffmpeg at once."""
    outcome: dict = {}

    def work() -> None:
        try:
            ffmpeg.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=30", "-t", "600", "-c:v", "libx264",
                               "-preset", "medium", str(tmp_path / "w.mp4")])
            outcome["result"] = "finished"
        except BaseException as exc:  # noqa: BLE001
            outcome["result"] = exc

    with pytest.raises(interrupts.Terminated):
        with interrupts.cancellation():
            worker = threading.Thread(target=work)
            worker.start()
            _wait_for(lambda: ffmpeg.live_children(), what="ffmpeg to start")
            children = [p.pid for p in ffmpeg.live_children()]
            started = time.monotonic()
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(30)
            finally:
                worker.join(timeout=10)
    assert time.monotonic() - started < 8
    assert isinstance(outcome["result"], CancelledError), outcome
    assert all(not _alive(pid) for pid in children) and ffmpeg.live_children() == []


def test_a_third_signal_ends_a_hung_cleanup_at_once(tmp_path):
    """The first signal starts the cleanup; if that hangs (a dead server), the third one leaves immediately."""
    code = ("import time, sys\n"
            "from shotsmith import interrupts\n"
            "with interrupts.cancellation():\n"
            "    try:\n"
            "        print('ready', flush=True)\n"
            "        time.sleep(60)\n"
            "    except KeyboardInterrupt:\n"
            "        interrupts.settle()\n"
            "        print('cleaning up', flush=True)\n"
            "        time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.stdout.readline().strip() == "cleaning up"
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        assert proc.poll() is None  # the second signal does not cut the cleanup short
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143 and time.monotonic() - started < 5  # the first signal decides the code
    assert err.strip() == "cancelled (forced)"


# -- the real CLI, in a subprocess -------------------------------------------------------------

@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """Two minutes of 320x240: made in about a second, seconds to re-encode or render."""
    folder = tmp_path_factory.mktemp("long")
    out = folder / "long.mp4"
    ffmpeg.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=30", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
                       "-t", "120", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac", str(out)])
    (folder / "plan.yaml").write_text("clips:\n  - source: long.mp4\n    out_s: 120\n", encoding="utf-8")
    return out


def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def _alive(pid: int) -> bool:
    state = _status(pid).get("State", "")
    return bool(state) and not state.startswith(("Z", "X"))  # a zombie has exited: only its parent's wait is left


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _status(int(entry)).get("PPid") == str(pid):
            kids.append(int(entry))
    return kids


def _ffmpeg_children(pid: int) -> list[int]:
    return [k for k in _children(pid) if "ffmpeg" in _status(k).get("Name", "")]


def _wait_for(predicate, *, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _has_open(pid: int, path: Path) -> bool:
    """Process ``pid`` has ``path`` open (read from /proc)."""
    target = str(Path(path).resolve())
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


def _parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name or p.name.endswith(".tmp"))


JOBS = {
    "render": lambda clip, out: ["render", str(clip.parent / "plan.yaml"), "-o", str(out)],
    "trim": lambda clip, out: ["trim", str(clip), "-o", str(out), "--start", "0.5", "--mode", "reencode"],
    "split": lambda clip, out: ["split", str(clip), "-o", str(out.parent / "clips"), "--mode", "reencode"],
}


@needs_proc
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("job", sorted(JOBS))
def test_a_signal_stops_the_job_cleanly(long_clip, tmp_path, job, sig, code):
    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([str(SHOTSMITH), *JOBS[job](long_clip, out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        children = _wait_for(lambda: _ffmpeg_children(proc.pid), what="shotsmith's ffmpeg child")
        _wait_for(lambda: [p for p in tmp_path.rglob("*") if ".part" in p.name], what="the partial output file")
        time.sleep(0.5)
        assert proc.poll() is None, "the job finished before the signal: make the clip longer"
        proc.send_signal(sig)
        out_text, err_text = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err_text
    assert err_text.strip().splitlines() == ["cancelled"], err_text
    assert not any(_alive(pid) for pid in children), "ffmpeg outlived shotsmith"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no .part, no output


@needs_proc
def test_scene_detection_is_cancelled_too(long_clip, tmp_path):
    """No ffmpeg here (PyAV decodes in process): SIGTERM still ends it with 143 and writes nothing."""
    out = tmp_path / "scenes.json"
    proc = subprocess.Popen([str(SHOTSMITH), "scenes", str(long_clip), "--json", str(out), "--downscale", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Signal as soon as detection has the clip open: a fixed pause raced a quick machine, where two
        # minutes of 320x240 are decoded in under two seconds.
        _wait_for(lambda: proc.poll() is not None or _has_open(proc.pid, long_clip), what="the clip to be opened")
        assert proc.poll() is None, "scene detection finished before the signal"
        proc.send_signal(signal.SIGTERM)
        _, err_text = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143 and err_text.strip().splitlines() == ["cancelled"], err_text
    assert list(tmp_path.iterdir()) == []


@needs_proc
def test_ffmpeg_dies_with_a_killed_shotsmith(long_clip, tmp_path):
    """SIGKILL leaves no chance to clean up: the child is tied to its parent's life (PR_SET_PDEATHSIG)."""
    proc = subprocess.Popen([str(SHOTSMITH), *JOBS["render"](long_clip, tmp_path / "out.mp4")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        children = _wait_for(lambda: _ffmpeg_children(proc.pid), what="shotsmith's ffmpeg child")
        time.sleep(0.3)
        assert proc.poll() is None
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    _wait_for(lambda: not any(_alive(pid) for pid in children), what="the orphaned ffmpeg to die", timeout=5)


@needs_proc
@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_generation_is_cancelled_the_same_way(tmp_path, sig, code):
    """`run` with the offline animatic backend: its ffmpeg children run in the job engine's worker threads."""
    out = tmp_path / "ad.mp4"
    proc = subprocess.Popen([str(SHOTSMITH), "run", "A 60 second ad for a coffee shop: morning light, latte art",
                             "-o", str(out), "--backend", "animatic"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        children = _wait_for(lambda: _ffmpeg_children(proc.pid), what="the first generated shot", timeout=60)
        time.sleep(0.3)
        assert proc.poll() is None
        proc.send_signal(sig)
        _, err_text = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err_text
    assert err_text.strip().splitlines()[-1] == "cancelled" and "Traceback" not in err_text, err_text
    assert not any(_alive(pid) for pid in children)
    assert [p for p in tmp_path.rglob("*") if ".part" in p.name] == [] and not out.exists()


@needs_proc
def test_the_part_file_of_a_killed_render_goes_with_the_next_write(long_clip, tmp_path):
    from shotsmith.atomic import atomic_output

    out = tmp_path / "out.mp4"
    proc = subprocess.Popen([str(SHOTSMITH), *JOBS["render"](long_clip, out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _parts(tmp_path), what="the partial output file")
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    (left,) = _parts(tmp_path)  # nothing can clean up after SIGKILL ...
    os.utime(tmp_path / left, (time.time() - 3600, time.time() - 3600))
    with atomic_output(out) as tmp:  # ... but the next write of the same output does
        tmp.write_bytes(b"x")
    assert _parts(tmp_path) == [] and out.read_bytes() == b"x"
