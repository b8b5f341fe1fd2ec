"""Captions from the speech: a voice-over with word cues rendered as SRT/VTT, a mov_text track and burned karaoke."""

from __future__ import annotations

import av
import numpy as np
import pytest

from shotsmith.backends.espeak import EspeakBackend
from shotsmith.backends.voice import write_wav
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.timeline import AudioTrack, CaptionSettings, ClipRef, OutputSettings, Timeline
from shotsmith.tools.render import render_timeline
from shotsmith.tools.subtitles import captions_from_words, parse_srt

TEXT = "Grind the beans. Pour slowly in circles."
VOICE_AT = 0.5


@pytest.fixture(scope="module")
def voiced(tmp_path_factory):
    """(folder, word timings): a 4 s dark clip and an espeak voice-over of TEXT."""
    folder = tmp_path_factory.mktemp("voiced")
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=0x202020:s=320x180:r=24:d=4", "-c:v", "libx264", "-preset",
                "ultrafast", "-pix_fmt", "yuv420p", str(folder / "bg.mp4")])
    samples, rate, words = EspeakBackend().synthesize(TEXT)
    write_wav(folder / "voice.wav", samples, rate)
    return folder, words


def timeline(folder, words, style: str, **settings) -> Timeline:
    return Timeline(clips=[ClipRef(source=str(folder / "bg.mp4"), out_s=4)],
                    audio=[AudioTrack(source=str(folder / "voice.wav"), role="voiceover", start_s=VOICE_AT)],
                    captions=captions_from_words(words, offset_s=VOICE_AT, until_s=4.0),
                    caption_settings=CaptionSettings(style=style, size=18, **settings),
                    output=OutputSettings(width=320, height=180, fps=24))


def test_cues_follow_the_words_and_keep_their_times(voiced):
    _, words = voiced
    cues = captions_from_words(words, offset_s=VOICE_AT)
    assert [c.text for c in cues] == ["Grind the beans.", "Pour slowly in circles."]  # split at the sentence
    assert cues[0].start_s == pytest.approx(words[0].start_s + VOICE_AT, abs=1e-3)
    assert cues[1].start_s == pytest.approx(words[3].start_s + VOICE_AT, abs=1e-3)
    assert cues[0].end_s <= cues[1].start_s
    assert [w.word for w in cues[1].words] == ["Pour", "slowly", "in", "circles."]
    long = captions_from_words(words * 3, offset_s=0)  # max words / characters per cue
    assert all(len(c.text) <= 32 and len(c.words) <= 7 for c in long)
    # a phrase over the limit is split evenly (at a comma where one is near), never leaving a word alone
    _, _, spoken = EspeakBackend().synthesize("Here's how to brew pour-over coffee.")
    assert [c.text for c in captions_from_words(spoken)] == ["Here's how to brew", "pour-over coffee."]
    _, _, spoken = EspeakBackend().synthesize("Start with everything you need, laid out and ready.")
    assert [c.text for c in captions_from_words(spoken)] == ["Start with everything you need,", "laid out and ready."]


def test_srt_and_vtt_sidecars_fall_inside_the_video(voiced, tmp_path):
    folder, words = voiced
    out = tmp_path / "x.mp4"
    result = render_timeline(timeline(folder, words, "srt"), out)
    assert sorted(result.sidecars) == sorted([str(out.with_suffix(".srt")), str(out.with_suffix(".vtt"))])
    cues = parse_srt(out.with_suffix(".srt").read_text())
    assert len(cues) == 2 and all(0 <= c.start_s < c.end_s <= result.duration_s + 1e-3 for c in cues)
    assert cues[0].start_s == pytest.approx(VOICE_AT + words[0].start_s, abs=0.002)
    vtt = out.with_suffix(".vtt").read_text()
    assert vtt.startswith("WEBVTT") and "00:00:00.500 --> " in vtt
    with av.open(str(out)) as container:
        assert not container.streams.subtitles  # sidecars only
        audio = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(container.streams.audio[0])])
    assert 20 * np.log10(np.sqrt(np.mean(audio ** 2)) + 1e-12) > -40, "the voice is on the audio track"


def test_track_style_embeds_a_mov_text_stream(voiced, tmp_path):
    folder, words = voiced
    out = tmp_path / "t.mp4"
    render_timeline(timeline(folder, words, "track", language="eng"), out)
    with av.open(str(out)) as container:
        subs = container.streams.subtitles
        assert len(subs) == 1 and subs[0].codec_context.name == "mov_text"
        assert subs[0].metadata.get("language") == "eng"
        texts = [bytes(p).decode("utf-8", "replace") for p in container.demux(subs[0]) if p.size]
    assert any("Grind the beans." in t for t in texts) and any("circles." in t for t in texts)
    assert not out.with_suffix(".srt").exists()


def _yellow(frame: np.ndarray) -> int:
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(((r > 200) & (g > 190) & (b < 90)).sum())


def _white(frame: np.ndarray) -> int:
    return int((frame.min(axis=2) > 215).sum())


def test_burned_captions_highlight_the_word_being_spoken(voiced, tmp_path, frame_at):
    folder, words = voiced
    out = tmp_path / "b.mp4"
    tl = timeline(folder, words, "burn", highlight="yellow")
    tl.caption_settings.size = 28
    render_timeline(tl, out)
    beans = words[2]
    during = frame_at(out, VOICE_AT + (beans.start_s + beans.end_s) / 2)
    assert _yellow(during) > 40, "the spoken word is drawn in the highlight colour"
    assert _white(during) > 40, "the other words of the cue are drawn plain"
    before = frame_at(out, 0.2)
    assert _yellow(before) == 0 and _white(before) == 0, "nothing is shown before the first word"
    # the highlight moves with the speech: the yellow mass is further right on a later word of the same cue
    grind = frame_at(out, VOICE_AT + (words[0].start_s + words[0].end_s) / 2)

    def yellow_x(frame):
        r, g, b = (frame[..., i].astype(int) for i in range(3))
        return float(np.nonzero((r > 200) & (g > 190) & (b < 90))[1].mean())

    assert yellow_x(during) > yellow_x(grind) + 20


def test_off_and_old_projects(voiced, tmp_path, frame_at):
    folder, words = voiced
    out = tmp_path / "o.mp4"
    result = render_timeline(timeline(folder, words, "off"), out)
    beans = words[2]
    frame = frame_at(out, VOICE_AT + (beans.start_s + beans.end_s) / 2)
    assert _yellow(frame) == 0 and _white(frame) == 0 and result.sidecars == []
    old = Timeline.model_validate({"captions": [{"start_s": 0, "end_s": 1, "text": "hi"}],
                                   "caption_settings": {"burn": True, "size": 0}})
    assert old.caption_settings.mode == "burn" and old.captions[0].words == []


def test_add_captions_takes_a_style(tmp_path):
    from shotsmith.store import ProjectStore
    from shotsmith.tools import catalogue
    from shotsmith.tools.spec import TOOLS, ToolContext

    catalogue.load_all()
    store = ProjectStore.create(tmp_path / "p")
    ctx = ToolContext(store=store)
    TOOLS["add_captions"](ctx, {"cues": [{"start_s": 0, "end_s": 1, "text": "hi"}], "style": "track"})
    settings = ProjectStore.open(store.root).project.timeline.caption_settings
    assert settings.mode == "track" and settings.burn is False
    TOOLS["add_captions"](ctx, {"cues": [{"start_s": 1, "end_s": 2, "text": "there"}], "burn": False})
    assert ProjectStore.open(store.root).project.timeline.caption_settings.mode == "off"


def test_ass_script_word_and_fill_modes_and_inert_text():
    from shotsmith.timeline import Caption, CaptionWord
    from shotsmith.tools.karaoke import ass_color, ass_script

    cue = Caption(start_s=1.0, end_s=2.5, text="Pour {slowly}",
                  words=[CaptionWord(word="Pour", start_s=1.2, end_s=1.5),
                         CaptionWord(word="{slowly}", start_s=1.6, end_s=2.2)])
    word = ass_script([cue], width=1280, height=720, size=40).splitlines()
    assert "PlayResX: 1280" in word and "PlayResY: 720" in word
    events = [line for line in word if line.startswith("Dialogue:")]
    # a plain lead-in, then one event per word with that word recoloured; braces made inert
    assert events[0].startswith("Dialogue: 0,0:00:01.00,0:00:01.20,") and events[0].endswith("Pour (slowly)")
    assert events[1].endswith(f"{{\\1c{ass_color('yellow')}}}Pour{{\\r}} (slowly)")
    assert events[2].startswith("Dialogue: 0,0:00:01.60,0:00:02.50,")
    assert ass_color("yellow") == "&H0000FFFF" and ass_color("#102030") == "&H00302010"
    fill = [line for line in ass_script([cue], width=1280, height=720, size=40, mode="fill").splitlines()
            if line.startswith("Dialogue:")]
    assert len(fill) == 1 and "{\\k20}" in fill[0] and "{\\k40}Pour " in fill[0] and "{\\k60}(slowly)" in fill[0]
