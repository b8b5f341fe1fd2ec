"""The offline voice-over path end to end, small: script -> espeak -> fit -> place -> tracks + cues -> render.

This is the sequence the production service runs for ``--voiceover auto --captions srt`` (issue 12's
proof), on two tiny shots so it stays quick.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import av
import numpy as np

from shotsmith.backends.base import GenerationMode, GenerationRequest
from shotsmith.backends.espeak import EspeakBackend
from shotsmith.brief import Brief, Shot, ShotPlan
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.narration import fit, voiceover_tracks, write_script
from shotsmith.timeline import CaptionSettings, ClipRef, OutputSettings, Timeline
from shotsmith.tools.render import render_timeline
from shotsmith.tools.subtitles import captions_for_voiceover, parse_srt


def test_an_explainer_gets_speech_and_captions_that_follow_it(tmp_path):
    plan = ShotPlan(shots=[Shot(index=1, prompt="kettle", duration_s=3.0), Shot(index=2, prompt="pour", duration_s=3.5)])
    script = write_script(plan, Brief(text="A 6 second explainer: how to brew pour-over coffee", duration_s=6.5))
    voice = EspeakBackend()
    clips, timings = {}, {}
    for line in script.lines:
        request, _ = voice.prepare(GenerationRequest(prompt=line.text, mode=GenerationMode.TEXT_TO_SPEECH,
                                                     duration_s=3, shot_index=line.shot_index))
        dest = tmp_path / f"vo{line.shot_index}.wav"
        result = asyncio.run(voice.generate(request, dest, on_progress=lambda e: None, cancel=threading.Event()))
        clips[line.shot_index], timings[line.shot_index] = str(dest), result.word_timings
    report = fit(plan, script, timings)
    assert report.ok, report.message()
    for shot in plan.shots:
        run_ffmpeg(["-f", "lavfi", "-i", f"color=c=0x304050:s=160x90:r=24:d={shot.duration_s}", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(tmp_path / f"s{shot.index}.mp4")])
    timeline = Timeline(
        clips=[ClipRef(source=str(tmp_path / f"s{s.index}.mp4"), out_s=s.duration_s, shot_index=s.index)
               for s in plan.shots],
        audio=voiceover_tracks(report.placements, clips),
        captions=captions_for_voiceover(report.placements, timings, duration_s=6.5),
        caption_settings=CaptionSettings(style="srt"),
        output=OutputSettings(width=160, height=90, fps=24, preset="ultrafast"))
    out = tmp_path / "x.mp4"
    result = render_timeline(timeline, out)
    # speech on the audio track: loud enough, and not a tone (its spectrum spreads, unlike a sine)
    with av.open(str(out)) as container:
        audio = np.concatenate([f.to_ndarray().mean(axis=0) for f in container.decode(container.streams.audio[0])])
    assert 20 * np.log10(np.sqrt(np.mean(audio ** 2))) > -35
    power = np.abs(np.fft.rfft(audio[: 48000 * 2])) ** 2
    assert power.max() / power.sum() < 0.05, "energy spread over many frequencies (speech), not one tone"
    # the sidecar: cues inside the video, in order, each starting at its first word's onset
    cues = parse_srt(Path(out.with_suffix(".srt")).read_text())
    assert cues and all(0 <= c.start_s < c.end_s <= result.duration_s + 1e-3 for c in cues)
    spoken = [w.word for line in script.lines for w in timings[line.shot_index]]
    assert " ".join(c.text for c in cues).split() == spoken
    first = report.placements[0].start_s + timings[1][0].start_s
    assert abs(cues[0].start_s - first) < 0.002
    second_line = next(c for c in cues if c.start_s >= report.placements[1].start_s - 1e-6)
    assert abs(second_line.start_s - (report.placements[1].start_s + timings[2][0].start_s)) < 0.002
