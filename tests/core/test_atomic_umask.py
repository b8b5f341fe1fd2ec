"""Finished files get the mode a plain ``open()`` would give them (0o666 minus the umask), not mkstemp's 0o600."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shotsmith.atomic import WriteError, atomic_output, atomic_write_text, current_umask

ROOT = Path(__file__).resolve().parents[2]
UMASKS = [0o022, 0o077, 0o002]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)

    def set_umask(value: int) -> None:
        os.umask(value)

    yield set_umask
    os.umask(old)


@pytest.mark.parametrize("mask", UMASKS, ids=oct)
def test_atomic_writes_honour_the_umask(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    atomic_write_text(tmp_path / "a.txt", "hello\n")
    with atomic_output(tmp_path / "b.bin") as tmp:
        assert _mode(tmp) == 0o600  # the temporary file stays private while it is written
        tmp.write_bytes(b"data")
    assert _mode(tmp_path / "a.txt") == 0o666 & ~mask
    assert _mode(tmp_path / "b.bin") == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_a_replaced_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "a.txt"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o640


def test_a_write_error_names_the_final_file(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(WriteError) as info:
        atomic_write_text(blocker / "out.txt", "hello")
    error = info.value
    assert isinstance(error, OSError) and error.exit_code == 2
    assert error.message == f"cannot write {blocker / 'out.txt'}: {blocker} is a file, not a folder"
    with pytest.raises(WriteError, match="it is a folder"):
        with atomic_output(tmp_path) as tmp:
            tmp.write_bytes(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize("mask", [0o022, 0o077], ids=oct)
def test_cli_outputs_honour_the_umask(tmp_path, make_clip, mask):
    clip = make_clip("a.mp4", duration=1.0, size="160x120", fps=25)
    argvs = [["trim", str(clip), "-o", str(tmp_path / "t.mp4"), "--end", "0.5"],
             ["scenes", str(clip), "--json", str(tmp_path / "s.json")],
             ["contact-sheet", str(clip), "-o", str(tmp_path / "sheet.png")]]
    done = subprocess.run([sys.executable, "-m", "tests.core.cli_driver", json.dumps(argvs)], cwd=ROOT, umask=mask,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])["results"]
    assert [r["code"] for r in results] == [0, 0, 0], results
    for name in ("t.mp4", "s.json", "sheet.png"):
        assert _mode(tmp_path / name) == 0o666 & ~mask, name


# -- what a killed writer leaves behind ---------------------------------------------------------

def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


@pytest.mark.skipif(os.name != "posix", reason="temporary names carry a POSIX pid")
def test_the_next_write_removes_what_a_killed_writer_left(tmp_path):
    import shotsmith.atomic as atomic

    dead, alive = _dead_pid(), os.getppid()
    old = {f".out.{dead}-abc123xy.part.mp4": "stale", f".out.{alive}-abc123xy.part.mp4": "a live writer's",
           f".other.{dead}-abc123xy.part.mp4": "another target's", f".out.json.{dead}-abc12345.tmp": "stale"}
    for name in old:
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (1_000_000, 1_000_000))
    fresh = tmp_path / f".out.{dead}-fresh123.part.mp4"  # written to a moment ago: maybe another machine's pid
    fresh.write_text("x")
    with atomic_output(tmp_path / "out.mp4") as tmp:
        assert tmp.name.startswith(f".out.{os.getpid()}-") and tmp.name.endswith(".part.mp4")
        tmp.write_bytes(b"new")
    atomic_write_text(tmp_path / "out.json", "{}")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["out.mp4", "out.json", fresh.name, f".out.{alive}-abc123xy.part.mp4",
                           f".other.{dead}-abc123xy.part.mp4"])
    assert atomic.STALE_AFTER_S >= 60
