"""Every command that writes turns an OS error into one line, names the file the user asked for, and leaves nothing.

Two unwritable places: a path whose parent is a file (a usage error, exit 2), and a
read-only folder (exit 1, "Permission denied"). root may write anywhere, so the
read-only case runs the commands as ``nobody`` (``setpriv``) when the tests run as root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from shotsmith.cli import main

ROOT = Path(__file__).resolve().parents[2]

# name -> argv for an output at OUT (a file path) inside a place that cannot be written
WRITERS: dict[str, Callable[[Path, Path], list[str]]] = {
    "trim": lambda w, out: ["trim", str(w / "a.mp4"), "-o", str(out / "t.mp4"), "--end", "0.5"],
    "split": lambda w, out: ["split", str(w / "a.mp4"), "-o", str(out / "clips")],
    "contact-sheet": lambda w, out: ["contact-sheet", str(w / "a.mp4"), "-o", str(out / "sheet.png")],
    "scenes --json": lambda w, out: ["scenes", str(w / "a.mp4"), "--json", str(out / "s.json")],
    "scenes --csv": lambda w, out: ["scenes", str(w / "a.mp4"), "--csv", str(out / "s.csv")],
    "render": lambda w, out: ["render", str(w / "plan.yaml"), "-o", str(out / "r.mp4")],
    "export-plan": lambda w, out: ["export-plan", str(w / "proj"), "-o", str(out / "p.yaml")],
    "export-srt": lambda w, out: ["export-srt", str(w / "plan.yaml"), "-o", str(out / "c.srt")],
    "export-otio": lambda w, out: ["export-otio", str(w / "proj"), "-o", str(out / "t.otio")],
    "import-otio": lambda w, out: ["import-otio", str(w / "t.otio"), "--project", str(out / "pj")],
}


def _make_workspace(folder: Path, make_clip) -> Path:
    from shotsmith.store import ProjectStore
    from shotsmith.timeline import ClipRef

    make_clip("a.mp4", duration=1.0, size="160x120", fps=25, folder=folder)
    (folder / "plan.yaml").write_text("clips:\n  - source: a.mp4\n    out_s: 1\n"
                                      "captions:\n  - {text: hello, start_s: 0, end_s: 0.5}\n", encoding="utf-8")
    store = ProjectStore.create(folder / "proj")
    shutil.copy(folder / "a.mp4", store.assets_dir / "a.mp4")
    store.project.timeline.clips = [ClipRef(source="assets/a.mp4", in_s=0, out_s=1)]
    store.save()
    assert main(["export-otio", str(store.root), "-o", str(folder / "t.otio")]) == 0
    return folder


def _check(name: str, code, err: str, *, expect_code: set[int], reason: str) -> None:
    lines = err.strip().splitlines()
    where = f"{name}: exit {code}, stderr {err!r}"
    assert code in expect_code, where
    assert "Traceback" not in err and 1 <= len(lines) <= 2, where
    assert lines[0].startswith("error: cannot ") and reason in lines[0], where
    assert len(lines) == 1 or lines[1].startswith("hint: "), where
    assert ".part" not in err and ".tmp" not in err, where  # the user's file is named, not a temporary one


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_an_output_under_a_file_is_one_line(name, tmp_path, make_clip, capsys):
    work = _make_workspace(tmp_path / "w", make_clip)
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    capsys.readouterr()
    code = main(WRITERS[name](work, blocker))
    err = capsys.readouterr().err
    # The project store and the renderer name the folder they could not create; the rest the file.
    _check(name, code, err, expect_code={1, 2}, reason=str(blocker) if name in ("import-otio", "render") else
           "is a file, not a folder")
    assert blocker.read_text() == "not a folder"


def _as_nobody() -> list[str] | None:
    """The command prefix that drops root to nobody, or None when that cannot be done here."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return None
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import shotsmith, tests"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    return prefix if probe.returncode == 0 else None


def test_a_read_only_folder_is_one_line_for_every_writer(make_clip):
    prefix = _as_nobody()
    if prefix is None:
        pytest.skip("running as root without a way to drop to an unprivileged user (setpriv)")
    base = Path(tempfile.mkdtemp(prefix="shotsmith-ro-"))
    try:
        work = _make_workspace(base / "w", make_clip)
        readonly = base / "ro"
        readonly.mkdir()
        for path in [base, *base.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        readonly.chmod(0o555)
        env = {**os.environ, "SHOTSMITH_CONFIG": str(base / "config.toml"), "HOME": str(base)}
        argvs = [WRITERS[name](work, readonly) for name in sorted(WRITERS)]
        done = subprocess.run([*prefix, sys.executable, "-m", "tests.core.cli_driver", json.dumps(argvs)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        results = json.loads(done.stdout.strip().splitlines()[-1])["results"]
        for name, result in zip(sorted(WRITERS), results):
            # The renderer checks its folder first and names it ("cannot write to the output folder …").
            _check(name, result["code"], result["err"], expect_code={1},
                   reason=str(readonly) if name == "render" else "Permission denied")
        assert list(readonly.iterdir()) == []
    finally:
        for path in [base, *base.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_an_unwritable_output_is_refused_before_the_long_job(tmp_path, make_clip, capsys, monkeypatch):
    """Scene detection on a long video is not run for nothing: the output path is checked first."""
    import shotsmith.tools.scenes as scenes_tool

    def detection_must_not_run(*_a, **_k):
        raise AssertionError("scene detection ran although its output cannot be written")

    monkeypatch.setattr(scenes_tool, "detect_scenes", detection_must_not_run)
    clip = make_clip("a.mp4", duration=1.0, size="160x120", fps=25)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    for argv in (["scenes", str(clip), "--json", str(blocker / "s.json")],
                 ["split", str(clip), "-o", str(blocker / "clips")],
                 ["contact-sheet", str(clip), "-o", str(blocker / "deeper" / "s.png")]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: cannot write ") and "is a file, not a folder" in err and "Traceback" not in err
