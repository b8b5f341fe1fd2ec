"""The footage CLI end to end: real files in, real files out, one-line errors, --help everywhere."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from shotsmith.cli import main
from shotsmith.store import ProjectStore
from shotsmith.timeline import ClipRef

COMMANDS = ["probe", "scenes", "split", "trim", "contact-sheet", "export-otio", "import-otio"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("command", COMMANDS)
def test_help(capsys, command):
    code, out, _ = run(capsys, command, "--help")
    assert code == 0 and "Usage" in out


def _cut_video(tmp_path: Path) -> Path:
    from shotsmith.media.ffmpeg import run_ffmpeg

    out = tmp_path / "cuts.mp4"
    parts = [("testsrc2", 20), ("smptebars", 25), ("mandelbrot", 20)]
    args: list[str] = []
    for src, n in parts:
        args += ["-f", "lavfi", "-i", f"{src}=s=160x120:r=25,trim=end_frame={n},setpts=PTS-STARTPTS,format=yuv420p"]
    args += ["-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]", "-c:v", "libx264",
             "-preset", "ultrafast", "-g", "500", str(out)]
    run_ffmpeg(args)
    return out


def test_probe_table_and_json(capsys, make_clip):
    clip = make_clip("p.mp4", duration=1, size="320x240", fps=25)
    code, out, _ = run(capsys, "probe", str(clip))
    assert code == 0 and "320x240" in out and "25 fps" in out
    code, out, _ = run(capsys, "probe", str(clip), "--json")
    data = json.loads(out)
    assert data["video"]["width"] == 320 and data["audio"][0]["sample_rate"] == 48000


def test_probe_bad_file_is_one_line(capsys, tmp_path):
    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"\x00" * 100)
    code, out, err = run(capsys, "probe", str(junk))
    assert code == 1 and "error:" in err and "junk.mov" in err and "Traceback" not in err


def test_scenes_split_contact_sheet(capsys, tmp_path):
    video = _cut_video(tmp_path)
    code, out, _ = run(capsys, "scenes", str(video), "--csv", str(tmp_path / "s.csv"), "--json", str(tmp_path / "s.json"),
                       "--min-scene-len", "5f")
    assert code == 0 and "3 scene(s)" in out
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [int(r["start_frame"]) for r in rows] == [0, 20, 45]
    code, out, _ = run(capsys, "split", str(video), "-o", str(tmp_path / "clips"), "--scenes-json", str(tmp_path / "s.json"))
    assert code == 0 and "3 clip(s)" in out
    counts = []
    for clip in sorted((tmp_path / "clips").iterdir()):
        with av.open(str(clip)) as c:
            counts.append(sum(1 for _ in c.decode(video=0)))
    assert counts == [20, 25, 20]
    code, out, _ = run(capsys, "contact-sheet", str(video), "-o", str(tmp_path / "sheet.png"), "--thumb-width", "80")
    assert code == 0 and (tmp_path / "sheet.png").stat().st_size > 0 and "3 scene(s)" in out


def test_bad_detector_is_one_line(capsys, tmp_path, make_clip):
    clip = make_clip("c.mp4", duration=1, audio=False)
    code, _, err = run(capsys, "scenes", str(clip), "--detector", "magic")
    assert code == 2 and "--detector" in err and "Traceback" not in err


def test_trim(capsys, tmp_path, make_clip):
    clip = make_clip("t.mp4", duration=2, fps=25)
    out_path = tmp_path / "t_cut.mp4"
    code, out, _ = run(capsys, "trim", str(clip), "--start", "00:00:00:10", "--end", "f30", "-o", str(out_path))
    assert code == 0 and "frames 10-29 (20)" in out
    with av.open(str(out_path)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 20
    code, _, err = run(capsys, "trim", str(clip), "--start", "5", "-o", str(tmp_path / "x.mp4"))
    assert code == 2 and "past the end" in err
    code, _, err = run(capsys, "trim", str(clip), "--end", "1", "-o", str(clip))
    assert code == 2 and "overwrite" in err


def test_export_and_import_otio(capsys, tmp_path, make_clip):
    store = ProjectStore.create(tmp_path / "proj")
    a = make_clip("a.mp4", duration=2, folder=store.assets_dir)
    store.project.timeline.clips = [ClipRef(source="assets/a.mp4", in_s=0.2, out_s=1.6)]
    store.save()
    target = tmp_path / "cut.otio"
    code, out, _ = run(capsys, "export-otio", str(store.root), "-o", str(target))
    assert code == 0 and "1 clip(s)" in out
    assert len(list(otio.adapters.read_from_file(str(target)).find_clips())) == 1
    code, out, _ = run(capsys, "import-otio", str(target), "--project", str(tmp_path / "new"))
    assert code == 0 and "imported 1 clip(s)" in out
    clip = ProjectStore.open(tmp_path / "new").project.timeline.clips[0]
    assert Path(clip.source) == a.resolve() and clip.in_s == pytest.approx(0.2)
    code, _, err = run(capsys, "export-otio", str(store.root), "-o", str(tmp_path / "cut.txt"))
    assert code == 2 and "cannot tell the format" in err
    code, _, err = run(capsys, "export-otio", str(store.root), "-o", str(a))
    assert code == 2 and "overwrite" in err


@pytest.mark.parametrize("command", ["split", "contact-sheet"])
def test_a_wrong_hand_written_scenes_json_is_one_line(capsys, tmp_path, make_clip, command):
    """It used to print a 97-line pydantic dump; now one line saying what is wrong and how to get a good one."""
    video = make_clip("v.mp4", duration=1.0, size="160x120", audio=False)
    minimal = tmp_path / "scenes.json"
    minimal.write_text(json.dumps({"scenes": [{"start_s": 0, "end_s": 0.5}, {"start_s": 0.5, "end_s": 1.0}]}))
    target = ["-o", str(tmp_path / "out")] if command == "split" else ["-o", str(tmp_path / "sheet.png")]
    code, _, err = run(capsys, command, str(video), *target, "--scenes-json", str(minimal))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "scenes.json: not a scene list" in lines[0] and "shotsmith scenes VIDEO --json" in lines[0]
    minimal.write_text(json.dumps([1, 2]))
    code, _, err = run(capsys, command, str(video), *target, "--scenes-json", str(minimal))
    assert code == 2 and len([x for x in err.splitlines() if x.strip()]) == 1, err
    minimal.write_text("{nope")
    code, _, err = run(capsys, command, str(video), *target, "--scenes-json", str(minimal))
    assert code == 2 and "not valid JSON" in err and len([x for x in err.splitlines() if x.strip()]) == 1, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not (tmp_path / "sheet.png").exists()


def test_a_failed_import_otio_leaves_no_new_project_behind(capsys, tmp_path, make_clip):
    bad = make_clip("bad.mp4", duration=0.5, size="160x120", audio=False)
    for target in (tmp_path / "pj", tmp_path / "deep" / "er" / "pj"):
        code, _, err = run(capsys, "import-otio", str(bad), "--project", str(target))
        assert code == 2 and "bad.mp4 is not a timeline OTIO can read" in err
        assert len([line for line in err.splitlines() if line.strip()]) == 1, err
        assert not target.exists() and not (tmp_path / "deep").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("mine")
    assert run(capsys, "import-otio", str(bad), "--project", str(empty))[0] == 2
    assert sorted(p.name for p in empty.iterdir()) == ["notes.txt"]  # the user's folder as it was
    store = ProjectStore.create(tmp_path / "existing")
    before = (store.root / "project.json").read_bytes()
    assert run(capsys, "import-otio", str(bad), "--project", str(store.root))[0] == 2
    assert (store.root / "project.json").read_bytes() == before


def test_import_otio_takes_an_edl_rate(capsys, tmp_path, make_clip):
    from shotsmith.timeline import OutputSettings

    store = ProjectStore.create(tmp_path / "src")
    make_clip("pal.mp4", duration=3, fps=25, size="160x120", folder=store.assets_dir)
    store.project.timeline.output = OutputSettings(width=160, height=120, fps=25)
    store.project.timeline.clips = [ClipRef(source="assets/pal.mp4", in_s=0.52, out_s=2.0)]
    store.save()
    edl = tmp_path / "cut.edl"
    assert run(capsys, "export-otio", str(store.root), "-o", str(edl))[0] == 0
    code, out, err = run(capsys, "import-otio", str(edl), "--project", str(tmp_path / "dst"), "--rate", "25")
    assert code == 0, err
    clip = ProjectStore.open(tmp_path / "dst").project.timeline.clips[0]
    assert (clip.in_s, clip.out_s) == (pytest.approx(0.52), pytest.approx(2.0))
    code, _, err = run(capsys, "import-otio", str(edl), "--project", str(tmp_path / "dst2"), "--rate", "0")
    assert code == 2 and "--rate" in err and not (tmp_path / "dst2").exists()
