"""Music beds: chosen from a file or a (tagged) folder by the brief's moods, looped, faded, ducked, loud enough."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shotsmith.backends.espeak import EspeakBackend
from shotsmith.backends.voice import write_wav
from shotsmith.errors import InvalidInputError
from shotsmith.media.probe import probe
from shotsmith.timeline import AudioTrack, ClipRef, OutputSettings, Timeline
from shotsmith.tools.audio import choose_music, music_bed, read_library
from shotsmith.tools.render import render_timeline
from tests.tools.test_audio import band_rms, loudness, tone

#: Below the voice's lowest pitch, so the band measures the bed, not the speech.
BED_HZ = 55
SMALL = OutputSettings(width=160, height=120, fps=30, preset="ultrafast", crf=35)


@pytest.fixture
def library(tmp_path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    for name in ("night-drive.mp3", "sunny-morning.mp3", "big-finish.mp3"):
        (folder / name).write_bytes(b"")  # choosing reads names and tags only
    (folder / "music.yaml").write_text(
        "tracks:\n"
        "  - file: night-drive.mp3\n    moods: [moody, night, calm]\n"
        "  - file: sunny-morning.mp3\n    moods: [warm, upbeat, morning]\n    bpm: 104\n"
        "  - file: big-finish.mp3\n    moods: cinematic, uplifting\n")
    return folder


def test_a_tagged_library_is_chosen_from_by_the_briefs_moods(library):
    path, why = choose_music(library, "A cozy morning ad for a coffee shop, warm grade")
    assert path.name == "sunny-morning.mp3" and "morning" in why and "warm" in why
    assert choose_music(library, "an epic launch film")[0].name == "big-finish.mp3"  # epic -> cinematic
    assert choose_music(library, "a dark mysterious teaser at night")[0].name == "night-drive.mp3"
    path, why = choose_music(library, "a product shot")
    assert path.name == "night-drive.mp3" and "first" in why
    tracks = read_library(library)
    assert tracks[1].bpm == 104 and tracks[2].moods == ["cinematic", "uplifting"]


def test_json_tags_untagged_folders_and_single_files(tmp_path, library):
    (library / "music.yaml").unlink()
    (library / "tags.json").write_text(json.dumps({"night-drive.mp3": ["calm"], "big-finish.mp3": ["upbeat"]}))
    assert choose_music(library, "an energetic reel")[0].name == "big-finish.mp3"
    (library / "tags.json").unlink()
    assert choose_music(library, "a sunny beach day")[0].name == "sunny-morning.mp3"  # by its name
    assert choose_music(library, "nothing in common")[0].name == "big-finish.mp3"  # first by name
    assert choose_music(library / "night-drive.mp3", "anything") == (library / "night-drive.mp3", "the file given")


def test_library_errors_say_what_is_wrong(tmp_path, library):
    (library / "music.yaml").write_text("tracks:\n  - file: missing.mp3\n")
    with pytest.raises(InvalidInputError, match="missing.mp3"):
        choose_music(library)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InvalidInputError, match="no audio files"):
        choose_music(empty)
    with pytest.raises(InvalidInputError, match="neither a file nor a folder"):
        choose_music(tmp_path / "nope")


def test_bed_under_a_voice_is_looped_faded_ducked_and_mixed_to_the_target(make_clip, tmp_path, audio_of):
    clip = make_clip("v.mp4", duration=6.0, audio=False)
    music = tone(tmp_path, "bed.m4a", BED_HZ, 2.0, volume=1.0)
    samples, rate, words = EspeakBackend().synthesize("Grind the beans. Pour slowly in circles.")
    write_wav(tmp_path / "vo.wav", samples, rate)
    bed = music_bed(str(music), duration_s=6.0, length_s=probe(music).duration_s)
    assert bed.loop and bed.duck and bed.fade_out_s == 2.0 and bed.role == "music"
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=6.0)],
                        audio=[bed, AudioTrack(source=str(tmp_path / "vo.wav"), role="voiceover", start_s=1.5)],
                        output=SMALL.model_copy(update={"loudness_lufs": -16.0}))
    out = Path(render_timeline(timeline, tmp_path / "mix.mp4").path)
    assert abs(loudness(out, tmp_path) - (-16.0)) < 1.0, "the mix measures the preset's target"
    # ducking, measured without the loudness pass (its gain differs between the two mixes), against the
    # same mix without ducking: the voice adds the same to both
    raw = timeline.model_copy(deep=True)
    raw.output.loudness_lufs = None
    mono, srate = audio_of(Path(render_timeline(raw, tmp_path / "ducked.mp4").path))
    mono = mono.mean(axis=0)
    raw.audio[0].duck = False
    flat, _ = audio_of(Path(render_timeline(raw, tmp_path / "flat.mp4").path))
    flat = flat.mean(axis=0)
    before = band_rms(mono, srate, 0.5, 1.4, BED_HZ)  # the bed alone (after its fade-in)
    speech = words[2]  # "beans."
    window = (1.5 + speech.start_s, 1.5 + speech.end_s)
    assert before > 0.005, "the bed plays from the start (lavfi sine is 1/8 scale: 0.125 x 0.25)"
    assert band_rms(mono, srate, *window, BED_HZ) < band_rms(flat, srate, *window, BED_HZ) * 0.6, \
        "the bed is ducked while words are spoken"
    assert band_rms(mono, srate, 4.6, 5.0, BED_HZ) > before * 0.3, "looped past its 2 s (before the fade-out ends)"
    assert band_rms(mono, srate, 5.9, 6.0, BED_HZ) < before * 0.3, "faded out at the end"
