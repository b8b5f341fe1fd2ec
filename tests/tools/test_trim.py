"""Trim: the first frame of every trim is the source frame at the in-point, frame counts exact."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from shotsmith.errors import InvalidInputError, MediaError, PathSafetyError
from shotsmith.media.probe import probe
from shotsmith.store import ProjectStore
from shotsmith.tools.spec import TOOLS, ToolContext
from shotsmith.tools.trim import TrimArgs, read_frame_table, trim


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24").astype(np.int16) for f in c.decode(video=0)]


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


@pytest.fixture
def gop_clip(make_clip):
    """4 s at 30 fps with a keyframe every 30 frames and B-frames, like camera footage."""
    return make_clip("src.mp4", duration=4, size="320x240", fps=30, extra=["-preset", "veryfast", "-bf", "2", "-g", "30", "-sc_threshold", "0"])


def check_first_frame(src_frames, out_path, start_frame, frames):
    out = frames_of(out_path)
    assert len(out) == frames
    # The output's first frame matches the in-point frame far better than its neighbours.
    here = diff(out[0], src_frames[start_frame])
    assert here < 3.0
    for other in (start_frame - 1, start_frame + 1):
        if 0 <= other < len(src_frames):
            assert diff(out[0], src_frames[other]) > here + 1.0
    assert diff(out[-1], src_frames[start_frame + frames - 1]) < 3.0


def test_reencode_when_in_point_is_not_a_keyframe(gop_clip, tmp_path):
    src = frames_of(gop_clip)
    out = tmp_path / "mid.mp4"
    result = trim(ToolContext(), TrimArgs(source=str(gop_clip), output=str(out), start="00:00:01.033", end="f75"))
    assert (result.start_frame, result.end_frame, result.method) == (31, 75, "reencode")
    assert "not a keyframe" in result.reason
    check_first_frame(src, out, 31, 44)
    info = probe(out)
    assert abs(info.duration_s - 44 / 30) < 0.05 and info.has_audio


def test_copy_when_exact(gop_clip, tmp_path):
    src = frames_of(gop_clip)
    out = tmp_path / "copy.mp4"
    result = trim(ToolContext(), TrimArgs(source=str(gop_clip), output=str(out), start=1, end="00:00:03:00"))
    assert (result.start_frame, result.end_frame, result.method) == (30, 90, "copy")
    check_first_frame(src, out, 30, 60)
    # Copied packets are bit-identical: the first frame matches exactly.
    assert diff(frames_of(out)[0], src[30]) == 0.0


def test_copy_refused_when_not_exact(gop_clip, tmp_path):
    with pytest.raises(InvalidInputError, match="not a keyframe"):
        trim(ToolContext(), TrimArgs(source=str(gop_clip), output=str(tmp_path / "x.mp4"), start="f31", mode="copy"))
    assert not (tmp_path / "x.mp4").exists()


def test_smpte_in_point_and_frame_unit(make_clip, tmp_path):
    clip = make_clip("p.mp4", duration=2, fps=25, audio=False)
    src = frames_of(clip)
    out = tmp_path / "p_cut.mp4"
    result = trim(ToolContext(), TrimArgs(source=str(clip), output=str(out), start="00:00:00:07", end=20, unit="frames"))
    assert (result.start_frame, result.frames) == (7, 13)
    check_first_frame(src, out, 7, 13)


def test_source_untouched(gop_clip, tmp_path):
    before = gop_clip.read_bytes()
    trim(ToolContext(), TrimArgs(source=str(gop_clip), output=str(tmp_path / "t.mp4"), start=0.5, end=1.5))
    assert gop_clip.read_bytes() == before


@pytest.mark.parametrize("start,end,match", [
    (3, 2, "must be after"),
    (0, 9, "past the end"),
    ("f500", None, "past the last frame"),
    ("abc", None, "not a time"),
    (-1, None, "negative"),
])
def test_bad_ranges(gop_clip, tmp_path, start, end, match):
    with pytest.raises(InvalidInputError, match=match):
        TOOLS["trim"](ToolContext(), {"source": str(gop_clip), "output": str(tmp_path / "o.mp4"), "start": start, "end": end})


def test_refuses_overwriting_the_source(gop_clip):
    with pytest.raises(PathSafetyError, match="overwrite"):
        trim(ToolContext(), TrimArgs(source=str(gop_clip), output=str(gop_clip), start=0, end=1))


def test_audio_only_refused(tmp_path):
    from shotsmith.media.ffmpeg import run_ffmpeg

    wav = tmp_path / "a.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=d=1", str(wav)])
    with pytest.raises(MediaError, match="no video stream"):
        trim(ToolContext(), TrimArgs(source=str(wav), output=str(tmp_path / "o.mp4"), end=0.5))


def test_project_paths(gop_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "proj")
    ctx = ToolContext(store=store)
    with pytest.raises(PathSafetyError, match="outside the project"):
        trim(ctx, TrimArgs(source=str(gop_clip), output="clips/a.mp4", end=1))
    store.add_input(gop_clip)
    result = trim(ctx, TrimArgs(source=str(gop_clip), output="clips/a.mp4", end=1))
    assert Path(result.output) == (tmp_path / "proj" / "clips" / "a.mp4").resolve()
    with pytest.raises(PathSafetyError):
        trim(ctx, TrimArgs(source=str(gop_clip), output=str(tmp_path / "elsewhere.mp4"), end=1))


def test_variable_frame_rate_frames_by_table(tmp_path):
    from shotsmith.media.ffmpeg import run_ffmpeg

    vfr = tmp_path / "vfr.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=1,setpts='if(lt(N,15),N,15+(N-15)*2)/30/TB'",
                "-c:v", "libx264", "-preset", "ultrafast", "-g", "5", "-fps_mode", "passthrough", str(vfr)])
    table = read_frame_table(vfr)
    assert len(table) == 30 and table.time_of(20) == pytest.approx(25 / 30)
    src = frames_of(vfr)
    out = tmp_path / "vfr_cut.mp4"
    result = trim(ToolContext(), TrimArgs(source=str(vfr), output=str(out), start="f17", end="f27"))
    assert result.start_s == pytest.approx(19 / 30)
    check_first_frame(src, out, 17, 10)


def test_probe_tool_through_the_catalogue(gop_clip, tmp_path):
    info = TOOLS["probe"](ToolContext(), {"source": str(gop_clip)})
    assert info.video.frames == 120 and info.has_audio
    store = ProjectStore.create(tmp_path / "p")
    with pytest.raises(PathSafetyError):
        TOOLS["probe"](ToolContext(store=store), {"source": str(gop_clip)})


@pytest.mark.parametrize("mode", ["copy", "reencode"])
def test_phone_rotation_survives_a_trim(make_clip, tmp_path, mode):
    from shotsmith.media.ffmpeg import run_ffmpeg

    flat = make_clip("flat.mp4", duration=2, size="160x120", audio=False)
    phone = tmp_path / "phone.mp4"
    run_ffmpeg(["-display_rotation", "-90", "-i", str(flat), "-c", "copy", str(phone)])
    result = trim(ToolContext(), TrimArgs(source=str(phone), output=str(tmp_path / f"cut_{mode}.mp4"), start=1, end=1.5, mode=mode))
    video = probe(result.output).video
    assert result.method == mode and video.rotation == 90 and video.display_size == (120, 160)
    assert frames_of(Path(result.output))[0].shape == (120, 160, 3)  # pixels untouched, the matrix still says portrait
