"""Scene detection, scene-list export, split and contact sheet on a synthetic video with known cuts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from shotsmith.errors import InvalidInputError, MediaError
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import probe
from shotsmith.tools.contact_sheet import ContactSheetArgs, contact_sheet
from shotsmith.tools.scenes import DetectionOptions, ScenesArgs, detect_scenes, load_scene_list, scenes
from shotsmith.tools.spec import TOOLS, ToolContext
from shotsmith.tools.split import SplitArgs, split

LENGTHS = [30, 45, 25, 40, 35]
CUTS = [30, 75, 100, 140]
SOURCES = ("testsrc2", "mandelbrot", "smptebars")


def make_cuts(out: Path, lengths=LENGTHS, *, size="320x240", fps=30, keyframes_at_cuts=False, audio=True) -> Path:
    """Concatenate lavfi sources so scene k starts at frame sum(lengths[:k])."""
    args: list[str] = []
    for i, n in enumerate(lengths):
        args += ["-f", "lavfi", "-i", f"{SOURCES[i % 3]}=s={size}:r={fps},trim=end_frame={n},setpts=PTS-STARTPTS,format=yuv420p"]
    graph = "".join(f"[{i}:v]" for i in range(len(lengths))) + f"concat=n={len(lengths)}:v=1:a=0[v]"
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f=330:sample_rate=48000:d={sum(lengths) / fps}"]
    args += ["-filter_complex", graph, "-map", "[v]"]
    if audio:
        args += ["-map", f"{len(lengths)}:a", "-c:a", "aac"]
    cuts = np.cumsum(lengths)[:-1]
    if keyframes_at_cuts:
        args += ["-force_key_frames", "expr:" + "+".join(f"eq(n,{c})" for c in cuts), "-g", "1000"]
    else:
        args += ["-g", "1000"]  # a single keyframe: every cut needs a re-encode
    args += ["-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-sc_threshold", "0", "-pix_fmt", "yuv420p", str(out)]
    run_ffmpeg(args)
    return out


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory) -> Path:
    return make_cuts(tmp_path_factory.mktemp("scenes") / "cuts.mp4")


@pytest.fixture(scope="module")
def keyed_video(tmp_path_factory) -> Path:
    return make_cuts(tmp_path_factory.mktemp("keyed") / "keyed.mp4", keyframes_at_cuts=True)


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_finds_every_cut_exactly(cut_video, detector):
    found = detect_scenes(cut_video, DetectionOptions(detector=detector))
    assert found.cuts == CUTS
    assert found.frames == sum(LENGTHS)
    assert [s.frames for s in found.scenes] == LENGTHS
    second = found.scenes[1]
    assert second.start_s == pytest.approx(30 / 30) and second.end_s == pytest.approx(75 / 30)
    assert second.start_timecode == "00:00:01.000" and second.start_smpte == "00:00:01:00"
    assert found.scenes[-1].end_s == pytest.approx(sum(LENGTHS) / 30)


def test_threshold_and_min_length(cut_video):
    assert detect_scenes(cut_video, DetectionOptions(threshold=250)).cuts == []
    # After the start or a cut, no new cut for 50 frames: 30 and 100 are skipped.
    found = detect_scenes(cut_video, DetectionOptions(min_scene_len="50f"))
    assert found.cuts == [75, 140]
    assert detect_scenes(cut_video, DetectionOptions(detector="adaptive", min_scene_len=1.6)).cuts == [75, 140]
    # A coarser downscale still finds the same hard cuts.
    assert detect_scenes(cut_video, DetectionOptions(downscale=8)).cuts == CUTS


def test_csv_and_json_export(cut_video, tmp_path):
    result = TOOLS["scenes"](ToolContext(), {"source": str(cut_video), "csv_output": str(tmp_path / "s.csv"), "json_output": str(tmp_path / "s.json")})
    rows = list(csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text())))
    assert [int(r["start_frame"]) for r in rows] == [0, *CUTS]
    assert rows[1]["start_timecode"] == "00:00:01.000"
    data = json.loads((tmp_path / "s.json").read_text())
    assert [s["start_frame"] for s in data["scenes"]] == [0, *CUTS]
    assert load_scene_list(tmp_path / "s.json") == result


def test_bad_detection_args(cut_video, tmp_path):
    with pytest.raises(InvalidInputError, match="min scene length"):
        scenes(ToolContext(), ScenesArgs(source=str(cut_video), min_scene_len="nope"))
    wav = tmp_path / "a.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=d=1", str(wav)])
    with pytest.raises(MediaError, match="no video stream"):
        scenes(ToolContext(), ScenesArgs(source=str(wav)))
    with pytest.raises(Exception, match="threshold"):
        ScenesArgs(source="x.mp4", threshold=-1)


def _check_split(result, source: Path, method: str):
    src = frames_of(source)
    assert [c.scene.start_frame for c in result.clips] == [0, *CUTS]
    for item in result.clips:
        out = Path(item.clip.output)
        assert item.clip.method == method
        got = frames_of(out)
        assert len(got) == item.scene.frames
        first = float(np.abs(got[0] - src[item.scene.start_frame]).mean())
        assert first < 3.0
        if item.scene.start_frame > 0:  # and it is not the last frame of the previous scene
            assert float(np.abs(got[0] - src[item.scene.start_frame - 1]).mean()) > first + 5
        assert probe(out).has_audio


def test_split_copies_when_cuts_are_keyframes(keyed_video, tmp_path):
    before = keyed_video.read_bytes()
    result = split(ToolContext(), SplitArgs(source=str(keyed_video), output_dir=str(tmp_path / "clips")))
    _check_split(result, keyed_video, "copy")
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == [f"keyed-scene-{i:03d}.mp4" for i in range(1, 6)]
    assert keyed_video.read_bytes() == before


def test_split_reencodes_when_cuts_are_not_keyframes(cut_video, tmp_path):
    result = split(ToolContext(), SplitArgs(source=str(cut_video), output_dir=str(tmp_path / "out")))
    # Even scene 1, which starts on the only keyframe, ends mid-GOP in a stream with B-frames.
    _check_split(result, cut_video, "reencode")


def test_split_from_scene_json_for_another_file(cut_video, tmp_path, make_clip):
    scenes(ToolContext(), ScenesArgs(source=str(cut_video), json_output=str(tmp_path / "s.json")))
    other = make_clip("other.mp4", duration=1)
    with pytest.raises(InvalidInputError, match="another file"):
        split(ToolContext(), SplitArgs(source=str(other), output_dir=str(tmp_path / "o"), scenes_json=str(tmp_path / "s.json")))


def test_contact_sheet(cut_video, tmp_path):
    out = tmp_path / "sheet.png"
    result = contact_sheet(ToolContext(), ContactSheetArgs(source=str(cut_video), output=str(out), columns=3, thumb_width=160))
    assert result.scenes == 5
    sheet = np.asarray(Image.open(out).convert("RGB")).astype(np.int16)
    assert sheet.shape[:2] == (result.height, result.width)
    src = frames_of(cut_video)
    assert len({y for _, y, _, _ in result.boxes}) == 2  # 5 scenes in 3 columns: 2 rows
    for frame_index, (x, y, w, h) in zip(result.thumb_frames, result.boxes, strict=True):
        assert (w, h) == (160, 120)
        thumb = sheet[y:y + 120, x:x + 160]
        expected = np.asarray(Image.fromarray(src[frame_index].astype(np.uint8)).resize((160, 120), Image.Resampling.BILINEAR)).astype(np.int16)
        assert float(np.abs(thumb - expected).mean()) < 6
        label = sheet[y + 120:y + 120 + 30, x:x + 160]
        assert (label > 150).any()  # the timecode text is drawn
    assert result.thumb_frames == [(a + b - 1) // 2 for a, b in zip([0, *CUTS], [*CUTS, sum(LENGTHS)])]


def test_contact_sheet_needs_png(cut_video, tmp_path):
    with pytest.raises(InvalidInputError, match="png"):
        contact_sheet(ToolContext(), ContactSheetArgs(source=str(cut_video), output=str(tmp_path / "s.jpg")))


def test_contact_sheet_of_a_phone_video_is_upright(make_clip, tmp_path):
    flat = make_clip("flat.mp4", duration=1, size="160x120", audio=False)
    phone = tmp_path / "phone.mp4"
    run_ffmpeg(["-display_rotation", "-90", "-i", str(flat), "-c", "copy", str(phone)])
    result = contact_sheet(ToolContext(), ContactSheetArgs(source=str(phone), output=str(tmp_path / "p.png"), thumb_width=90))
    (_, _, w, h), = result.boxes
    assert (w, h) == (90, 120)  # portrait, as the phone showed it


def test_scenes_inside_a_project(cut_video, tmp_path):
    from shotsmith.errors import PathSafetyError
    from shotsmith.store import ProjectStore

    store = ProjectStore.create(tmp_path / "proj")
    ctx = ToolContext(store=store)
    with pytest.raises(PathSafetyError):
        TOOLS["scenes"](ctx, {"source": str(cut_video)})
    store.add_input(cut_video)
    with pytest.raises(PathSafetyError):
        TOOLS["scenes"](ctx, {"source": str(cut_video), "csv_output": str(tmp_path / "outside.csv")})
    result = TOOLS["split"](ctx, {"source": str(cut_video), "output_dir": "clips/scenes", "min_scene_len": "40f"})
    assert [c.scene.start_frame for c in result.clips] == [0, 75, 140]
    assert all(Path(c.clip.output).parent == store.root / "clips" / "scenes" for c in result.clips)


def test_prefetching_decoder_stops_early_and_reports_errors(cut_video, tmp_path):
    from shotsmith.tools.scenes import iter_frames

    plain = [(i, t) for i, t, _ in iter_frames(cut_video)]
    ahead = iter_frames(cut_video, prefetch=4)
    assert [(i, t) for i, t, _ in ahead] == plain  # same frames, same order, same times
    for index, _, _ in iter_frames(cut_video, prefetch=2):
        if index == 10:
            break  # the feeder thread must wind down, not hang
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 2048)
    with pytest.raises(MediaError, match="junk.mp4"):
        list(iter_frames(junk, prefetch=4))


def test_variable_frame_rate_scene_times_are_the_frames_own(tmp_path):
    # 20 frames 1/30 s apart, then a cut to 20 frames 1/15 s apart: n / fps would be wrong after the cut.
    vfr = tmp_path / "vfr.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x120:r=30,trim=end_frame=20,setpts=PTS-STARTPTS",
                "-f", "lavfi", "-i", "smptebars=s=160x120:r=30,trim=end_frame=20,setpts=PTS-STARTPTS",
                "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,setpts='if(lt(N,20),N,20+(N-20)*2)/30/TB'[v]",
                "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-fps_mode", "passthrough", str(vfr)])
    assert probe(vfr).video.variable_frame_rate
    found = detect_scenes(vfr, DetectionOptions(min_scene_len="5f"))
    assert found.cuts == [20]
    assert found.scenes[1].start_s == pytest.approx(20 / 30)
    assert found.scenes[1].end_s == pytest.approx((20 + 19 * 2 + 2) / 30)
