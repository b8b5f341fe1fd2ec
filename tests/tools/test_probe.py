"""Probe on real files made here: good ones described right, bad ones named and explained."""

from __future__ import annotations

import os

import pytest

from shotsmith.errors import MediaError
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import probe


def test_describes_a_normal_clip(make_clip):
    clip = make_clip("a.mp4", duration=2, size="320x240", fps=25)
    info = probe(clip)
    assert info.video is not None
    assert (info.video.width, info.video.height) == (320, 240)
    assert info.video.fps == 25 and info.video.fps_exact == "25/1"
    assert not info.video.variable_frame_rate
    assert info.video.pixel_format == "yuv420p"
    assert info.video.rotation == 0
    assert info.video.frames == 50
    assert abs(info.duration_s - 2.0) < 0.05
    assert len(info.audio) == 1 and info.audio[0].sample_rate == 48000


def test_ntsc_rate_is_exact(tmp_path):
    clip = tmp_path / "ntsc.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x120:r=30000/1001:d=1", "-c:v", "libx264", "-preset", "ultrafast", str(clip)])
    assert probe(clip).video.fps_exact == "30000/1001"


@pytest.mark.parametrize("ccw,clockwise", [(-90, 90), (90, 270), (180, 180)])
def test_rotation_from_display_matrix(make_clip, tmp_path, ccw, clockwise):
    clip = make_clip("flat.mp4", duration=0.5, size="320x240", audio=False)
    phone = tmp_path / f"phone{ccw}.mp4"
    run_ffmpeg(["-display_rotation", str(ccw), "-i", str(clip), "-c", "copy", str(phone)])
    video = probe(phone).video
    assert video.rotation == clockwise
    expected = (240, 320) if clockwise % 180 == 90 else (320, 240)
    assert video.display_size == expected


def test_variable_frame_rate(tmp_path):
    vfr = tmp_path / "vfr.mp4"
    # 15 frames 1/30 s apart, then 15 frames 1/15 s apart: a phone slowing down in low light.
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x120:r=30:d=1,setpts='if(lt(N,15),N,15+(N-15)*2)/30/TB'",
                "-c:v", "libx264", "-preset", "ultrafast", "-fps_mode", "passthrough", str(vfr)])
    video = probe(vfr).video
    assert video.variable_frame_rate
    assert 15 < video.fps < 30


def test_constant_rate_with_b_frames_is_not_vfr(make_clip):
    clip = make_clip("bframes.mp4", duration=1, audio=False, extra=["-preset", "medium", "-bf", "3"])
    assert not probe(clip).video.variable_frame_rate


def test_missing_and_empty(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        probe(tmp_path / "nope.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match=r"empty.mp4: the file is empty"):
        probe(empty)
    with pytest.raises(MediaError, match="not a regular file"):
        probe(tmp_path)


def test_random_bytes(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(MediaError, match=r"junk.mp4: not a media file"):
        probe(junk)


def test_truncated_mp4_without_index(make_clip, tmp_path):
    clip = make_clip("whole.mp4", duration=2)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])  # moov sits at the end: lost
    with pytest.raises(MediaError, match=r"cut.mp4: .*truncated"):
        probe(cut)


def test_truncated_faststart_mp4(make_clip, tmp_path):
    clip = make_clip("whole.mp4", duration=2, extra=["-movflags", "+faststart"])
    cut = tmp_path / "cut_fs.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size * 2 // 3])  # index intact, media cut
    with pytest.raises(MediaError, match=r"cut_fs.mp4: truncated: the index lists \d+ video frames but only \d+"):
        probe(cut)


def test_audio_only(tmp_path):
    wav = tmp_path / "voice.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=300:d=1", str(wav)])
    info = probe(wav)
    assert info.video is None and info.has_audio and abs(info.duration_s - 1) < 0.01
    with pytest.raises(MediaError, match=r"voice.wav: has no video stream \(audio-only"):
        probe(wav, need_video=True)


def test_unsupported_subtitles_only(tmp_path):
    srt = tmp_path / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nhello\n", encoding="utf-8")
    with pytest.raises(MediaError, match=r"subs.srt: unsupported: no video or audio stream \(streams found: subtitle\)"):
        probe(srt)


def test_cover_art_is_not_video(tmp_path):
    png = tmp_path / "cover.png"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=red:s=64x64:d=0.1", "-frames:v", "1", str(png)])
    m4a = tmp_path / "song.m4a"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=d=1", "-i", str(png), "-map", "0:a", "-map", "1:v", "-c:a", "aac",
                "-c:v", "png", "-disposition:v:0", "attached_pic", str(m4a)])
    info = probe(m4a)
    assert info.video is None and info.has_audio


@pytest.mark.parametrize("suffix,args,fps,duration", [
    # A raw stream has no rate, no duration and cannot seek: ffmpeg assumes 25 fps, so 60 frames last 2.4 s.
    (".h264", ["-an", "-c:v", "copy", "-bsf:v", "h264_mp4toannexb"], 25, 2.4),
    (".ts", ["-c", "copy"], 30, 2.0),
    (".mkv", ["-c", "copy"], 30, 2.0),
])
def test_other_containers(make_clip, tmp_path, suffix, args, fps, duration):
    clip = make_clip("src.mp4", duration=2, fps=30)
    other = tmp_path / f"other{suffix}"
    run_ffmpeg(["-i", str(clip), *args, str(other)])
    info = probe(other)
    assert info.video.fps == fps and (info.video.width, info.video.height) == (320, 240)
    assert abs(info.duration_s - duration) < 0.1
