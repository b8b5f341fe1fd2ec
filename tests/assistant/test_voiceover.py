"""Voice-over through the one production path: a brief that asks for a voice gets speech, captions that follow it,
and a narration that moves with the shots."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from shotsmith.assistant import ServiceOptions, drive_brief, open_session
from shotsmith.plan_edits import reorder
from shotsmith.tools.subtitles import parse_srt

REPO = Path(__file__).resolve().parents[2]
EXPLAINER = "A 10 second explainer with a voice-over: how to brew pour-over coffee, 3 shots"


def speech_level(path: Path) -> tuple[float, float]:
    """(RMS in dBFS, share of the spectrum's energy in its strongest bin): speech is loud and spread out."""
    with av.open(str(path)) as container:
        audio = np.concatenate([f.to_ndarray().mean(axis=0) for f in container.decode(container.streams.audio[0])])
    power = np.abs(np.fft.rfft(audio[: 48000 * 4])) ** 2
    return 20 * np.log10(np.sqrt(np.mean(audio ** 2)) + 1e-12), float(power.max() / power.sum())


def words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text.lower())


@pytest.mark.slow
def test_the_proof_command_speaks_and_captions_in_a_sidecar(tmp_path):
    out = tmp_path / "x.mp4"
    proc = subprocess.run([sys.executable, "-m", "shotsmith", "run", EXPLAINER, "-o", str(out), "--captions", "srt",
                           "-r", "360p"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    level, peak_share = speech_level(out)
    assert level > -35 and peak_share < 0.05  # speech, not silence and not a tone
    cues = parse_srt(out.with_suffix(".srt").read_text())
    with av.open(str(out)) as container:
        length = float(container.duration) / 1e6
    assert cues and all(0 <= c.start_s < c.end_s <= length + 1e-3 for c in cues)
    project = __import__("json").loads((tmp_path / "x.shotsmith" / "project.json").read_text())
    said = [w for line in project["narration"]["lines"] for w in words(line["text"])]
    assert words(" ".join(c.text for c in cues)) == said  # the captions follow the spoken words, every one


def test_captions_as_a_track_and_the_narration_moves_with_the_shots(tmp_path):
    out = tmp_path / "t.mp4"
    session = open_session(tmp_path / "t.shotsmith", options=ServiceOptions(resolution="360p", fps=24, captions="track",
                                                                            outputs=(out,)), offline=True)
    report, error = drive_brief(session, EXPLAINER, out)
    assert error is None, error
    with av.open(str(out)) as container:
        assert [s.codec_context.name for s in container.streams.subtitles] == ["mov_text"]
    first = {a.source: a.start_s for a in session.store.project.timeline.audio if a.role == "voiceover"}
    session.service.edit(lambda plan: reorder(plan, [3, 1, 2]))
    session.service.render()
    moved = {a.source: a.start_s for a in session.store.project.timeline.audio if a.role == "voiceover"}
    assert set(moved) == set(first) and moved != first  # the same spoken lines, now where their shots play


def test_no_voice_unless_asked(tmp_path):
    out = tmp_path / "q.mp4"
    session = open_session(tmp_path / "q.shotsmith", options=ServiceOptions(resolution="360p", outputs=(out,)),
                           offline=True)
    report, error = drive_brief(session, "a 4 second ad for a bakery, 2 shots", out)
    assert error is None and session.store.project.narration is None
    assert not [a for a in session.store.project.timeline.audio if a.role == "voiceover"]
