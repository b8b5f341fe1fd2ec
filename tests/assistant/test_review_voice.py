"""A user's review of voice-over, captions, music and batch (issues 12 and 13): each test is a defect found by
using the feature, kept so it stays fixed."""

from __future__ import annotations

from shotsmith.assistant import ServiceOptions, drive_brief, open_session

EXPLAINER = "A 6 second explainer with a voice-over: how to brew tea, 2 shots"


def test_a_voice_backend_warning_reaches_the_user(tmp_path):
    """espeak falls back from a voice it lacks 'with a warning' (docs/voice.md): the warning must be said,
    not dropped between the engine and the run."""
    out = tmp_path / "v.mp4"
    session = open_session(tmp_path / "v.shotsmith", options=ServiceOptions(resolution="360p", voice="espeak:klingon",
                                                                            outputs=(out,)), offline=True)
    report, error = drive_brief(session, EXPLAINER, out)
    assert error is None, error
    assert any("klingon" in n and "espeak has no voice" in n for n in report.notices), report.notices
