"""A user's review of voice-over, captions, music and batch (issues 12 and 13): each test is a defect found by
using the feature, kept so it stays fixed."""

from __future__ import annotations

import pytest

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


def _tone(path, seconds=2):
    import subprocess

    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=f=330:d={seconds}", "-c:a", "aac", str(path)], check=True)
    return path


def test_output_onto_the_music_file_is_refused_before_anything_is_made(tmp_path):
    """`-o song.mp4 --music song.mp4` was refused only at the render, after every shot was generated (and, on a
    paid backend, paid for): it is a usage error, said before a project folder exists."""
    import pytest

    from shotsmith.errors import PathSafetyError

    song = _tone(tmp_path / "song.mp4")
    before = song.read_bytes()
    with pytest.raises(PathSafetyError) as caught:
        open_session(tmp_path / "song.shotsmith", options=ServiceOptions(music=str(song), outputs=(song,)),
                     offline=True)
    assert "song.mp4" in caught.value.message and caught.value.exit_code == 2
    assert not (tmp_path / "song.shotsmith").exists() and song.read_bytes() == before


def test_the_batch_table_shows_an_error_as_written(capsys):
    """A brief's error naming `[secrets]` lost those words in the closing table (read as console markup)."""
    from shotsmith.assistant.commands.batch import print_table

    error = "no API key for runway (set RUNWAYML_API_SECRET in the environment, or under [secrets] in the config file)"
    print_table({"briefs": [{"id": "[b]ad", "status": "failed", "shots": 1, "spent_usd": 0.0, "seconds": 0.1,
                             "error": error, "output": "out/bad.mp4"}],
                 "counts": {"failed": 1}, "spent_usd": 0.0, "max_cost_usd": None, "seconds": 0.1})
    shown = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "[secrets]" in shown and "[b]ad" in shown


def test_caption_sidecars_of_an_earlier_render_do_not_stay_beside_a_new_one(tmp_path):
    """`--captions srt` then `--captions burn` (or off) on the same -o left the first render's x.srt/x.vtt beside
    the new x.mp4: a player loads them, so it showed stale captions (twice, over burned ones). A sidecar the user
    wrote there themselves (not one of this project's renders) is left alone."""
    out = tmp_path / "x.mp4"
    session = open_session(tmp_path / "x.shotsmith", options=ServiceOptions(resolution="360p", captions="srt",
                                                                            outputs=(out,)), offline=True)
    report, error = drive_brief(session, EXPLAINER, out)
    assert error is None, error
    assert out.with_suffix(".srt").is_file() and out.with_suffix(".vtt").is_file()
    session.close()
    mine = tmp_path / "x.shotsmith" / "renders" / "final.vtt"  # a file of the user's at another output's side
    mine.write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nmy own\n")
    again = open_session(tmp_path / "x.shotsmith", options=ServiceOptions(captions="off", outputs=(out,)),
                         offline=True)
    again.service.render()
    assert not out.with_suffix(".srt").exists() and not out.with_suffix(".vtt").exists()
    again.service.render(tmp_path / "x.shotsmith" / "renders" / "final.mp4")
    assert mine.read_text().endswith("my own\n")


def test_a_line_for_shot_0_is_not_given_to_the_last_shot():
    """"on shot 0 say 'hi'" changed the last shot's line (0 read as 'no shot named'); it names shot 0, which the
    service refuses in one line like any shot the plan lacks."""
    from shotsmith.assistant.sessions.intents import parse_intent

    intent = parse_intent("on shot 0 say 'hi'", shot_count=3)
    assert intent.args == {"change": "line", "shot": 0, "text": "hi"}
    assert parse_intent("say 'hi'", shot_count=3).args["shot"] == 3


def test_a_voice_or_captions_asked_for_without_a_voice_over_is_said(tmp_path):
    """`--voice espeak:fr --captions srt` on a brief that asks for no voice-over made a silent video with no .srt
    and said nothing: the user's options were dropped silently."""
    out = tmp_path / "q.mp4"
    session = open_session(tmp_path / "q.shotsmith", options=ServiceOptions(
        resolution="360p", voice="espeak:fr", captions="srt", outputs=(out,)), offline=True)
    report, error = drive_brief(session, "a 4 second ad for a bakery, 2 shots", out, produce=False)
    assert error is None, error
    said = [n for n in report.notices if "--voice" in n and "--captions" in n]
    assert said and "no voice-over" in said[0], report.notices
    quiet = open_session(tmp_path / "r.shotsmith", options=ServiceOptions(resolution="360p"), offline=True)
    report, error = drive_brief(quiet, "a 4 second ad for a bakery, 2 shots", None, produce=False)
    assert error is None and not [n for n in report.notices if "voice-over" in n]


def test_a_voiceover_file_that_is_not_text_or_is_empty_is_refused_before_a_project_exists(tmp_path):
    """A non-UTF-8 file failed mid-run with a logged traceback and exit 1; an empty one after planning."""
    import pytest

    from shotsmith.errors import InvalidInputError

    for name, data, words in (("bin.txt", b"\xff\xfe\x00bad", "not UTF-8"), ("empty.md", b"  \n", "empty")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InvalidInputError) as caught:
            open_session(tmp_path / "p.shotsmith", options=ServiceOptions(voiceover=str(tmp_path / name)),
                         offline=True)
        assert words in caught.value.message and caught.value.exit_code == 2
        assert not (tmp_path / "p.shotsmith").exists()


def test_a_markdown_voiceover_is_spoken_without_its_markup(tmp_path):
    """A .md script's heading, bullets and emphasis were read aloud and captioned ('# Script **Grind**')."""
    script = tmp_path / "lines.md"
    script.write_text("# Script\n\n**Grind** the _beans_.\n\n- Pour [slowly](https://example.com).\n")
    out = tmp_path / "m.mp4"
    session = open_session(tmp_path / "m.shotsmith", options=ServiceOptions(resolution="360p", voiceover=str(script),
                                                                            captions="srt", outputs=(out,)),
                           offline=True)
    report, error = drive_brief(session, "a 6 second ad for a cafe, 2 shots", out)
    assert error is None, error
    assert [line.text for line in session.store.project.narration.lines] == ["Grind the beans.", "Pour slowly."]
    from shotsmith.tools.subtitles import parse_srt

    assert " ".join(c.text for c in parse_srt(out.with_suffix(".srt").read_text())) == "Grind the beans. Pour slowly."


def test_a_written_word_espeak_speaks_as_several_is_captioned_once():
    """'20%' is spoken 'twenty percent' (two WORD events on one written token): the captions read
    'Save 20% 20% now' and '#1 #1', '7am 7am'. Each written word is one caption word, timed from its first
    spoken word to its last."""
    import re

    from shotsmith.backends.espeak import EspeakBackend

    text = "Save 20% now, at #1 Café from 7am. Call 555-0134 today!"
    samples, rate, words = EspeakBackend().synthesize(text)
    assert [w.word for w in words] == re.findall(r"\S+", text)
    assert all(a.end_s <= b.start_s + 1e-3 for a, b in zip(words, words[1:]))
    assert words[-1].end_s <= len(samples) / rate + 1e-3


def test_a_voice_that_cannot_speak_is_said_before_planning_a_new_project(tmp_path):
    """`run --voice kokoro` (no model folder) or a cloud voice without its key failed only after the plan, the
    stills and every shot were made (paid, on a paid video backend); like the video backend, it is checked first."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("SHOTSMITH_KOKORO_MODELS", "OPENAI_API_KEY")}
    env.update(PYTHONPATH=str(repo), SHOTSMITH_CONFIG=str(tmp_path / "none.toml"))
    for voice, words in (("kokoro", "Kokoro model folder"), ("openai-speech:coral", "OPENAI_API_KEY")):
        proc = subprocess.run([sys.executable, "-m", "shotsmith", "run", EXPLAINER, "-o", str(tmp_path / "k.mp4"),
                               "--voice", voice], capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 1 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert not (tmp_path / "k.shotsmith").exists()


def test_a_brief_file_that_is_not_text_is_one_line(tmp_path):
    """`batch FOLDER` with a non-UTF-8 brief file ended in a traceback and 'internal error'."""
    import pytest

    from shotsmith.assistant.commands.batch import load_briefs
    from shotsmith.errors import InvalidInputError

    (tmp_path / "a.txt").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "b.txt").write_text("an ad for tea")
    with pytest.raises(InvalidInputError) as caught:
        load_briefs(tmp_path)
    assert "a.txt" in caught.value.message and "UTF-8" in caught.value.message


def test_batch_rows_choose_their_voice_captions_and_music(tmp_path):
    """Localized variants need their own voice: a batch row names its voice, captions and music like `run`'s
    --voice/--captions/--music (music relative to the CSV); a bad value names its row before anything runs."""
    import pytest

    from shotsmith.assistant.commands.batch import load_briefs, run_batch
    from shotsmith.errors import InvalidInputError
    from shotsmith.tools.subtitles import parse_srt

    _tone(tmp_path / "bed.m4a", seconds=3)
    csv = tmp_path / "briefs.csv"
    csv.write_text("id,brief,voice,captions,music\n"
                   f'fr,"{EXPLAINER}",espeak:fr,srt,bed.m4a\n'
                   "plain,a 4 second ad for tea,,,\n")
    briefs = load_briefs(csv)
    summary = run_batch(briefs, tmp_path / "out", resolution="360p")
    assert summary["counts"] == {"done": 2}, summary
    import json

    project = json.loads((tmp_path / "out" / "fr.shotsmith" / "project.json").read_text())
    assert project["production"]["voice"] == "espeak:fr" and project["production"]["music_bed"].endswith("bed.m4a")
    assert parse_srt((tmp_path / "out" / "fr.srt").read_text())
    assert not (tmp_path / "out" / "plain.srt").exists()
    for bad, words in (("espeak:fr,subtitles,", "captions 'subtitles'"), ("nosuchvoice,,", "nosuchvoice"),
                       (",,missing.mp3", "does not exist")):
        csv.write_text(f"id,brief,voice,captions,music\nx,an ad,{bad}\n")
        with pytest.raises(InvalidInputError) as caught:
            load_briefs(csv)
        assert caught.value.message.startswith("brief x:") and words in caught.value.message, caught.value.message


def test_a_voice_that_cannot_speak_stops_generation_before_any_shot(tmp_path, monkeypatch):
    """Every entry (batch, chat, the API) drives generate(): a narrated project whose voice cannot run (no key)
    is said before any still or shot is made, not after the video was generated (and paid for)."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(tmp_path / "none.toml"))
    out = tmp_path / "n.mp4"
    session = open_session(tmp_path / "n.shotsmith", options=ServiceOptions(
        resolution="360p", voice="openai-speech:coral", outputs=(out,)), offline=True)
    report, error = drive_brief(session, EXPLAINER, out)
    assert error is not None and "OPENAI_API_KEY" in (error.hint or "") + error.message
    assert not list((tmp_path / "n.shotsmith" / "clips").glob("*")), "nothing is generated before the voice is ready"


def test_burned_captions_of_a_voice_over_longer_than_the_video_do_not_fail_the_render(tmp_path):
    """A narration that runs past the end (told to the user, the voice cut there) made `--captions srt` fine but
    `--captions burn` fail ("caption 4 starts after the end of the timeline"): the cues stop where the video does,
    like the speech."""
    script = tmp_path / "lines.txt"
    script.write_text("Fresh bread.\nCall us today or visit our bakery on the corner of Main Street and Fifth.\n")
    out = tmp_path / "b.mp4"
    session = open_session(tmp_path / "b.shotsmith", options=ServiceOptions(
        resolution="360p", voiceover=str(script), captions="burn", outputs=(out,)), offline=True)
    report, error = drive_brief(session, "a 4 second ad for a bakery, 2 shots", out)
    assert error is None, error
    assert any("past the end of the video" in n for n in report.notices), report.notices
    cues = session.store.project.timeline.captions
    assert cues and all(c.end_s <= 4.0 + 1e-6 and all(w.start_s < 4.0 for w in c.words) for c in cues)


def test_the_shorter_line_offer_counts_the_words_it_offers():
    """The fit offer read 'shorten shot 1's line to 11 words: "Boil fresh cold water."' (4 words)."""
    from shotsmith.narration import Offer as FitOffer

    offer = FitOffer(kind="shorter_line", shot_index=1, max_words=11, text="Boil fresh cold water.")
    assert offer.describe() == "shorten shot 1's line to 4 words (up to 11 fit): \"Boil fresh cold water.\""
    exact = FitOffer(kind="shorter_line", shot_index=2, max_words=4, text="Grind the beans medium.")
    assert exact.describe() == "shorten shot 2's line to 4 words: \"Grind the beans medium.\""


def test_a_cost_under_a_cent_is_not_shown_as_nothing():
    """A paid voice-over of two lines was approved as 'about 0.00 USD' (it was 0.0011): a real cost never reads
    as zero; a free one still does."""
    from shotsmith.assistant.production.spending import money

    assert money(0.001108) == "0.0011 USD" and money(0.0) == "0.00 USD" and money(0.75, 75, "credits") == \
        "0.75 USD (75 credits)"


def test_music_that_is_not_audio_is_refused_before_anything_is_made(tmp_path):
    """`--music clip.mp4` (a video without sound) or a corrupt .mp3 failed at the render, exit 1, after every shot
    was generated (and paid for); it is a usage error before a project exists. So is such a track chosen from a
    folder, before any shot."""
    import subprocess

    import imageio_ffmpeg
    import pytest

    from shotsmith.errors import InvalidInputError

    silent = tmp_path / "silent.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=s=64x64:d=1", str(silent)], check=True)
    fake = tmp_path / "fake.mp3"
    fake.write_text("not audio")
    for bad, words in ((silent, "no audio"), (fake, "fake.mp3")):
        with pytest.raises(InvalidInputError) as caught:
            open_session(tmp_path / "m.shotsmith", options=ServiceOptions(music=str(bad)), offline=True)
        assert words in caught.value.message and caught.value.exit_code == 2
        assert not (tmp_path / "m.shotsmith").exists()
    library = tmp_path / "lib"
    library.mkdir()
    (library / "calm.mp3").write_text("not audio")
    out = tmp_path / "f.mp4"
    session = open_session(tmp_path / "f.shotsmith", options=ServiceOptions(resolution="360p", music=str(library),
                                                                            outputs=(out,)), offline=True)
    report, error = drive_brief(session, "a calm 4 second ad for tea, 2 shots", out)
    assert isinstance(error, InvalidInputError) and "calm.mp3" in error.message
    assert not list((tmp_path / "f.shotsmith" / "clips").glob("*"))


@pytest.mark.parametrize("text, shot, line", [
    ("change the voice-over on shot 2 to 'Welcome in.'", 2, "Welcome in."),
    ("set shot 3's line to 'Open daily.'", 3, "Open daily."),
    ("change the narration for the last shot to “See you soon.”", 3, "See you soon."),
    ("don't say anything on shot 1", 1, ""),
    ("no voice-over on shot 2", 2, ""),
    ("remove the narration from shot 2", 2, ""),
])
def test_narration_edits_in_other_words_are_edits_not_a_new_brief(text, shot, line):
    """'change the voice-over on shot 2 to …' and 'don't say anything on shot 1' were not understood, and a
    message of six words or more that is not understood is planned as a new brief: the project's plan was
    replaced by one for the sentence."""
    from shotsmith.assistant.sessions.intents import parse_intent

    intent = parse_intent(text, shot_count=3)
    assert intent is not None and intent.kind == "narration", intent
    assert intent.args == {"change": "line", "shot": shot, "text": line}


def test_a_silenced_shot_is_said_so(tmp_path):
    out = tmp_path / "s.mp4"
    session = open_session(tmp_path / "s.shotsmith", options=ServiceOptions(resolution="360p", outputs=(out,)),
                           offline=True)
    report, error = drive_brief(session, EXPLAINER, None, produce=False)
    assert error is None, error
    import asyncio

    async def said(text):
        return [e.text for e in [event async for event in session.send(text)] if hasattr(e, "text")]

    assert any("shot 1 has no voice-over line now" in t for t in asyncio.run(said("don't say anything on shot 1")))


@pytest.mark.parametrize("text", ["use a french voice for the narration please",
                                  "switch the captions to the top of the frame",
                                  "change the narrator to a deeper male voice"])
def test_an_edit_the_offline_planner_cannot_do_does_not_replace_the_plan(tmp_path, text):
    """'use a french voice for the narration please' (six words or more, not understood) was planned as a new brief:
    the project's shots were replaced by a plan for that sentence. An edit request about the voice, captions or
    music gets the list of what is understood instead; the plan stays."""
    import asyncio

    session = open_session(tmp_path / "e.shotsmith", options=ServiceOptions(resolution="360p"), offline=True)
    report, error = drive_brief(session, EXPLAINER, None, produce=False)
    assert error is None, error
    before = session.store.project.plan.model_dump()

    async def said(message):
        return [getattr(e, "text", "") async for e in session.send(message)]

    replies = asyncio.run(said(text))
    assert session.store.project.plan.model_dump() == before
    assert any("understand" in r for r in replies), replies
