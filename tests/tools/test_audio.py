"""Audio: music beds, voice-over, ducking, fades, mute, loudness normalisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shotsmith.errors import InvalidInputError, MediaError
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.store import ProjectStore
from shotsmith.timeline import AudioTrack, ClipRef, OutputSettings, Timeline
from shotsmith.tools import catalogue
from shotsmith.tools.render import render_timeline
from shotsmith.tools.spec import TOOLS, ToolContext

catalogue.load_all()

SMALL = OutputSettings(width=160, height=120, fps=30, preset="ultrafast", crf=35)


def tone(folder: Path, name: str, hz: int, seconds: float, volume: float = 0.5) -> Path:
    out = folder / name
    run_ffmpeg(["-f", "lavfi", "-i", f"sine=f={hz}:sample_rate=48000:d={seconds}", "-af", f"volume={volume}",
                "-c:a", "aac", "-b:a", "128k", str(out)])
    return out


def band_rms(mono: np.ndarray, rate: int, t0: float, t1: float, hz: float) -> float:
    """Amplitude of the ``hz`` component between t0 and t1 (FFT, Hann window)."""
    part = mono[int(t0 * rate):int(t1 * rate)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
    freqs = np.fft.rfftfreq(len(part), 1 / rate)
    band = (freqs > hz * 0.9) & (freqs < hz * 1.1)
    return float(4 * spectrum[band].max() / len(part))  # ~ the sine amplitude


def loudness(path: Path, folder: Path) -> float:
    """Integrated loudness (LUFS) measured by ffmpeg's ebur128 filter."""
    meta = folder / "r128.txt"
    run_ffmpeg(["-i", str(path), "-map", "0:a", "-af", f"ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={meta}",
                "-f", "null", "-"])
    values = [float(line.split("=", 1)[1]) for line in meta.read_text().splitlines() if line.startswith("lavfi.r128.I=")]
    return values[-1]


def test_music_bed_with_fades_fills_the_silent_picture(make_clip, tmp_path, audio_of, durations):
    clip = make_clip("v.mp4", duration=2.0, audio=False)
    music = tone(tmp_path, "m.m4a", 300, 5.0)
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=2.0)], output=SMALL,
                        audio=[AudioTrack(source=str(music), in_s=1.0, fade_in_s=0.5, fade_out_s=0.5)])
    out = Path(render_timeline(timeline, tmp_path / "o.mp4").path)
    got = durations(out)
    assert abs(got["audio"] - got["video"]) <= 1 / 30 and abs(got["video"] - 2.0) <= 1 / 30
    samples, rate = audio_of(out)
    mono = samples.mean(axis=0)
    start, middle, end = band_rms(mono, rate, 0.0, 0.2, 300), band_rms(mono, rate, 0.8, 1.2, 300), band_rms(mono, rate, 1.8, 2.0, 300)
    assert middle > 0.03 and start < middle * 0.6 and end < middle * 0.6


def test_music_is_ducked_under_the_voice_over(make_clip, tmp_path, audio_of):
    clip = make_clip("v.mp4", duration=3.0, audio=False)
    music = tone(tmp_path, "m.m4a", 300, 4.0, volume=0.3)
    voice = tone(tmp_path, "vo.m4a", 1200, 1.0, volume=0.6)
    def render(duck: bool, name: str):
        timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=3.0)], output=SMALL,
                            audio=[AudioTrack(source=str(music), duck=duck),
                                   AudioTrack(source=str(voice), role="voiceover", start_s=1.0)])
        samples, rate = audio_of(Path(render_timeline(timeline, tmp_path / name).path))
        return samples.mean(axis=0), rate
    mono, rate = render(True, "ducked.mp4")
    flat, _ = render(False, "flat.mp4")
    before = band_rms(mono, rate, 0.2, 0.8, 300)
    under_voice = band_rms(mono, rate, 1.4, 1.9, 300)
    assert band_rms(mono, rate, 1.4, 1.9, 1200) > 0.03  # the voice is there
    assert under_voice < before * 0.5  # music ducked by more than 6 dB
    assert band_rms(flat, rate, 1.4, 1.9, 300) > before * 0.8  # and not when ducking is off


def test_muted_clip_is_silent_and_volume_scales(make_clip, tmp_path, audio_of):
    a = make_clip("a.mp4", duration=1.0, tone_hz=500)
    timeline = Timeline(clips=[ClipRef(source=str(a), out_s=1.0, mute=True), ClipRef(source=str(a), out_s=1.0),
                               ClipRef(source=str(a), out_s=1.0, volume=0.25)], output=SMALL)
    samples, rate = audio_of(Path(render_timeline(timeline, tmp_path / "m.mp4").path))
    mono = samples.mean(axis=0)
    muted, full, quiet = (band_rms(mono, rate, s + 0.2, s + 0.8, 500) for s in (0.0, 1.0, 2.0))
    assert muted < 0.002 and full > 0.05 and quiet == pytest.approx(full * 0.25, rel=0.2)


def test_loudness_is_normalised_to_the_target(make_clip, tmp_path):
    clip = make_clip("v.mp4", duration=3.0, audio=False)
    music = tone(tmp_path, "m.m4a", 440, 3.0, volume=0.05)
    timeline = Timeline(clips=[ClipRef(source=str(clip), out_s=3.0)], audio=[AudioTrack(source=str(music))],
                        output=SMALL.model_copy(update={"loudness_lufs": -14.0}))
    quiet = loudness(Path(render_timeline(timeline.model_copy(update={"output": SMALL}), tmp_path / "q.mp4").path), tmp_path)
    loud = loudness(Path(render_timeline(timeline, tmp_path / "n.mp4").path), tmp_path)
    assert quiet < -25
    assert loud == pytest.approx(-14.0, abs=0.5)


def test_audio_tools_validate_and_save(make_clip, tmp_path):
    store = ProjectStore.create(tmp_path / "p")
    clip = make_clip("a.mp4", duration=1.0, folder=store.clips_dir)
    store.project.timeline = Timeline(clips=[ClipRef(source=store.relative(clip), out_s=1.0)], output=SMALL)
    store.save()
    music = tone(store.assets_dir, "m.m4a", 300, 2.0)
    make_clip("silent.mp4", duration=1.0, audio=False, folder=store.assets_dir)
    ctx = ToolContext(store=store)
    TOOLS["add_audio"](ctx, {"source": "assets/m.m4a", "volume": 0.5, "fade_out_s": 0.5})
    assert store.project.timeline.audio[0].source == "assets/m.m4a"
    with pytest.raises(MediaError, match="no audio"):
        TOOLS["add_audio"](ctx, {"source": "assets/silent.mp4"})
    with pytest.raises(InvalidInputError, match="past the end"):
        TOOLS["add_audio"](ctx, {"source": "assets/m.m4a", "in_s": 3})
    with pytest.raises(InvalidInputError):
        TOOLS["add_audio"](ctx, {"source": str(music.parent.parent.parent / "outside.m4a")})
    TOOLS["mute_clip_audio"](ctx, {"clip": 1})
    assert store.project.timeline.clips[0].mute
    with pytest.raises(InvalidInputError, match="no clip 2"):
        TOOLS["mute_clip_audio"](ctx, {"clip": 2})
    TOOLS["normalize_loudness"](ctx, {})
    assert ProjectStore.open(store.root).project.timeline.output.loudness_lufs == -14.0
    result = TOOLS["render"](ctx, {"output": "renders/a.mp4"})
    assert result.duration_s == pytest.approx(1.0, abs=0.05)


def r128(path: Path, folder: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of ``path``, by ffmpeg's ebur128 filter."""
    meta = folder / "r128-peak.txt"
    run_ffmpeg(["-i", str(path), "-map", "0:a", "-af", f"ebur128=metadata=1:peak=true,ametadata=mode=print:file={meta}",
                "-f", "null", "-"])
    lines = meta.read_text().splitlines()
    integrated = [float(x.split("=", 1)[1]) for x in lines if x.startswith("lavfi.r128.I=")][-1]
    peak = max(float(x.split("=", 1)[1]) for x in lines if x.startswith("lavfi.r128.true_peak="))
    return integrated, 20 * np.log10(peak)


def _real_mix(folder: Path) -> Path:
    """A plan with what the one-pass loudnorm missed on: a quiet clip, a loud clip, music ducked under a voice-over."""
    from shotsmith.tools.editplan import dump_plan

    def av(name: str, video: str, audio: str, seconds: float) -> Path:
        out = folder / name
        run_ffmpeg(["-f", "lavfi", "-i", f"{video}=s=160x120:r=30", "-f", "lavfi", "-i", audio, "-t", str(seconds),
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out)])
        return out

    av("quiet.mp4", "testsrc2", "sine=f=300:sample_rate=48000,volume=-30dB", 2.5)
    av("loud.mp4", "testsrc", "anoisesrc=color=pink:amplitude=0.7:sample_rate=48000:seed=3", 2.5)
    run_ffmpeg(["-f", "lavfi", "-i", "anoisesrc=color=brown:amplitude=0.3:sample_rate=48000:seed=5", "-t", "5",
                "-c:a", "aac", str(folder / "music.m4a")])
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=220:sample_rate=48000", "-t", "2.5", "-af",
                "volume='if(lt(mod(t,0.5),0.3),0.5,0)':eval=frame", "-c:a", "aac", str(folder / "vo.m4a")])
    plan = folder / "mix.yaml"
    plan.write_text(dump_plan({"version": 1, "output": {"width": 160, "height": 120, "preset": "ultrafast"},
                               "clips": [{"source": "quiet.mp4", "out_s": 2.5}, {"source": "loud.mp4", "out_s": 2.5}],
                               "audio": [{"source": "music.m4a", "volume": 0.8, "duck": True},
                                         {"source": "vo.m4a", "role": "voiceover", "start_s": 1.5}]}))
    return plan


def test_a_real_mix_rendered_for_the_web_measures_its_target(tmp_path):
    """-p web (-14 LUFS): ffmpeg's one-pass dynamic loudnorm left this mix at -13.3 LUFS with peaks at -0.3 dBTP
    (over its own -1.5 ceiling). Measuring first and applying one linear gain (limited only where peaks
    need it, the limiter's loss measured and made up) lands on the target: within 1 LU is the promise,
    within 0.5 what it does here, true peaks under -1.5 dBTP."""
    from shotsmith.cli import main

    plan = _real_mix(tmp_path)
    assert main(["render", str(plan), "-o", str(tmp_path / "plain.mp4")]) == 0
    assert main(["render", str(plan), "-o", str(tmp_path / "web.mp4"), "-p", "web"]) == 0
    plain, _ = r128(tmp_path / "plain.mp4", tmp_path)
    web, peak = r128(tmp_path / "web.mp4", tmp_path)
    assert plain < -18  # the mix as made is well under the target
    assert web == pytest.approx(-14.0, abs=0.5), (plain, web, peak)
    assert peak <= -1.5


def test_loudness_target_below_the_mix_is_met_without_a_limiter(make_clip, tmp_path):
    from shotsmith.tools.render import Loudness, loudness_gain

    plan = _real_mix(tmp_path)
    from shotsmith.tools.editplan import load_plan

    timeline, resolve = load_plan(plan)
    broadcast = timeline.output.model_copy(update={"loudness_lufs": -23.0})
    out = Path(render_timeline(timeline, tmp_path / "ebu.mp4", resolve=resolve, settings=broadcast).path)
    assert r128(out, tmp_path)[0] == pytest.approx(-23.0, abs=1.0)
    assert [f.name for f in loudness_gain(Loudness(-20.0, -8.0), -23.0)] == ["volume"]
    assert [f.name for f in loudness_gain(Loudness(-20.0, -3.0), -14.0)] == ["volume", "alimiter"]
    assert loudness_gain(Loudness(-70.0, -120.0), -14.0) == []  # silence stays silence


def test_a_voice_over_on_a_peaky_music_bed_reaches_the_target(tmp_path):
    """Review of #13: a voice + music bed with drum-like peaks measured -15.2 LUFS for -14: the limiter took
    more than the one correction made up (-15.0 here). The gain is now stepped along the measured slope until the
    limited mix is on target (within 0.5 LU), true peaks still under the ceiling."""
    from shotsmith.cli import main
    from shotsmith.tools.editplan import dump_plan

    run_ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=160x120:r=30", "-t", "6", "-c:v", "libx264", "-preset",
                "ultrafast", "-pix_fmt", "yuv420p", str(tmp_path / "picture.mp4")])
    run_ffmpeg(["-f", "lavfi", "-i", "aevalsrc='0.9*sin(2*PI*80*t)*exp(-30*mod(t,0.5))+0.05*sin(2*PI*440*t)'"
                ":d=6:s=48000", "-c:a", "aac", str(tmp_path / "bed.m4a")])
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=220:sample_rate=48000", "-t", "5", "-af",
                "volume='if(lt(mod(t,0.4),0.25),0.05,0)':eval=frame", "-c:a", "aac", str(tmp_path / "vo.m4a")])
    plan = tmp_path / "mix.yaml"
    plan.write_text(dump_plan({"version": 1, "output": {"width": 160, "height": 120, "preset": "ultrafast"},
                               "clips": [{"source": "picture.mp4", "out_s": 6}],
                               "audio": [{"source": "bed.m4a", "volume": 0.8, "duck": True},
                                         {"source": "vo.m4a", "role": "voiceover", "start_s": 0.5}]}))
    assert main(["render", str(plan), "-o", str(tmp_path / "web.mp4"), "-p", "web"]) == 0
    integrated, peak = r128(tmp_path / "web.mp4", tmp_path)
    assert integrated == pytest.approx(-14.0, abs=0.5), (integrated, peak)
    assert peak <= -1.5
