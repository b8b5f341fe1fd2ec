"""Narration editing in chat (issue #12 item 1): "shorter", "say '…'", "on shot 2 say '…'", "no voice-over",
"add a voice-over" — offline and through the agent's tool — each an undoable snapshot that re-speaks only the
changed lines, picked up by the next render (its SRT cues and speech)."""

from __future__ import annotations

import json
import re

import pytest

from shotsmith.assistant import ServiceOptions, open_session
from shotsmith.assistant.events import AssistantText
from shotsmith.narration import NarrationLine, NarrationScript, condense, shorter
from shotsmith.tools.subtitles import parse_srt
from tests.assistant._assistant_helpers import collect, open_agent
from tests.assistant._fake_openai import call, last_tool_result, say

EXPLAINER = "A 9 second explainer with a voice-over: how to brew pour-over coffee, 3 shots"


def words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text.lower())


def texts(events) -> str:
    return "\n".join(e.text for e in events if isinstance(e, AssistantText))


def voice_records(session) -> set[str]:
    return {k for k, r in session.store.project.generations.items() if r.kind == "voice" and r.status == "succeeded"}


def speech_s(session) -> float:
    """Seconds of speech in the current narration, from the voice's own word timings."""
    project = session.store.project
    spoken = {r.request.get("prompt"): r for r in project.generations.values() if r.kind == "voice" and r.word_timings}
    return sum(max(w["end_s"] for w in spoken[line.text].word_timings)
               for line in project.narration.lines if line.text)


def latest_srt(session) -> list:
    srts = sorted(session.store.renders_dir.glob("v*.srt"))
    assert srts, list(session.store.renders_dir.iterdir())
    return parse_srt(srts[-1].read_text(encoding="utf-8"))


def narrated_session(tmp_path):
    session = open_session(tmp_path / "n", options=ServiceOptions(resolution="360p", fps=24, captions="srt"),
                           offline=True)
    collect(session.send(EXPLAINER))
    collect(session.send("generate"))
    assert session.last_error is None, session.last_error
    return session


def test_offline_chat_edits_the_narration_and_the_render_speaks_it(tmp_path):
    session = narrated_session(tmp_path)
    first_lines = [line.text for line in session.store.project.narration.lines]
    spoken_before = voice_records(session)

    # "say '…'" goes on the last shot; only that line is spoken again, and the captions say it.
    reply = texts(collect(session.send("say 'open daily from 7'")))
    assert "shot 3 now says" in reply and session.last_error is None
    assert session.store.history.index.entries[-1].label == "narration changed"  # an undoable snapshot
    collect(session.send("generate"))
    assert session.last_error is None, session.last_error
    assert len(voice_records(session) - spoken_before) == 1
    cues = " ".join(c.text for c in latest_srt(session))
    assert "open daily from 7" in " ".join(words(cues)) and words(first_lines[0])[0] in words(cues)

    # "on shot 1 say '…'" changes the first line alone.
    long_line = "every single morning we grind the fresh beans and pour really slowly"
    collect(session.send(f"on shot 1 say '{long_line}'"))
    lines = [line.text for line in session.store.project.narration.lines]
    assert lines[0] == long_line and lines[2] == "open daily from 7" and lines[1] == first_lines[1]
    collect(session.send("generate"))
    assert session.last_error is None, session.last_error
    length_long = speech_s(session)

    # "shorter" rewrites the long lines in fewer words; the speech gets shorter and the SRT follows.
    spoken = voice_records(session)
    reply = texts(collect(session.send("make the voice-over shorter")))
    assert "shorter" in reply and session.last_error is None
    shortened = [line.text for line in session.store.project.narration.lines]
    assert len(shortened[0].split()) < len(long_line.split()) and "grind" in shortened[0]
    assert "open daily from 7" in shortened  # a line of four words is short already: kept as the user said it
    collect(session.send("undo"))  # each edit is a snapshot: undo brings the longer lines back, redo the short
    assert [line.text for line in session.store.project.narration.lines] == lines
    collect(session.send("redo"))
    assert [line.text for line in session.store.project.narration.lines] == shortened
    collect(session.send("generate"))
    assert session.last_error is None, session.last_error
    assert speech_s(session) < length_long
    said = [w for line in shortened for w in words(line)]
    assert words(" ".join(c.text for c in latest_srt(session))) == said
    changed = sum(1 for old, new in zip(lines, shortened) if old != new)
    assert 1 <= changed < len(lines)  # "open daily from 7" was short enough already
    assert len(voice_records(session) - spoken) == changed  # only the changed lines were spoken again


def test_no_voice_over_then_add_a_voice_over(tmp_path):
    session = narrated_session(tmp_path)
    assert [a for a in session.store.project.timeline.audio if a.role == "voiceover"]
    reply = texts(collect(session.send("no voice-over")))
    assert "no voice-over now" in reply and session.store.project.narration is None
    collect(session.send("generate"))
    assert session.last_error is None, session.last_error
    timeline = session.store.project.timeline
    assert not [a for a in timeline.audio if a.role == "voiceover"] and not timeline.captions
    assert session.store.project.production.voiceover == "off"

    reply = texts(collect(session.send("add a voice-over")))
    assert "a voice-over:" in reply and session.store.project.narration is not None
    collect(session.send("generate"))
    assert session.last_error is None, session.last_error
    assert [a for a in session.store.project.timeline.audio if a.role == "voiceover"]


def test_a_line_too_long_for_its_shot_is_told_with_the_two_offers(tmp_path):
    session = narrated_session(tmp_path)
    long_line = "every single morning we grind fresh beans and pour the water slowly in small circles"
    reply = texts(collect(session.send(f"on shot 2 say '{long_line}'")))
    assert "does not fit yet" in reply and "make shot 2" in reply and "shorten shot 2's line" in reply
    reply = texts(collect(session.send("shorter")))
    assert "does not fit" not in reply  # shortened to what shot 2 can hold


def test_narration_edits_without_a_voice_say_so(tmp_path):
    session = open_session(tmp_path / "q", options=ServiceOptions(resolution="360p"), offline=True)
    collect(session.send("a 4 second ad for a bakery, 2 shots"))
    collect(session.send("shorter"))
    assert "there is no voice-over to change" in session.last_error.message
    collect(session.send("on shot 9 say 'hello'"))
    assert "no shot 9" in session.last_error.message


def test_condense_keeps_the_meaning_words():
    assert condense("Start with everything you need, laid out and ready.", 6) == "Start with everything you need."
    assert condense("Open daily from 7 with fresh warm bread.", 5) == "Open daily from 7."
    assert condense("We really just love a good, slow morning.", 4).split()[0] == "We"
    assert len(condense("a b c d e f g h", 3).split()) <= 3
    script = NarrationScript(lines=[NarrationLine(shot_index=1, text="Take it one step at a time, slowly."),
                                    NarrationLine(shot_index=2, text="Enjoy.")])
    from shotsmith.brief import Shot, ShotPlan

    plan = ShotPlan(shots=[Shot(index=1, prompt="pour", duration_s=3), Shot(index=2, prompt="cup", duration_s=2)])
    short = shorter(script, plan)
    assert short.line(1).words < 7 and short.line(2).text == "Enjoy."


@pytest.mark.parametrize("change", ["line", "shorter"])
def test_agent_changes_a_line_through_its_tool(tmp_path, fake_llm, change):
    project = tmp_path / "a"
    session = open_agent(project, fake_llm, captions="srt")
    session.service.plan_brief(EXPLAINER)
    before = [line.text for line in session.store.project.narration.lines]
    new = "Open daily from 7." if change == "line" else "Pour slowly."
    fake_llm.add(call("edit_shot", {"shot": 3 if change == "line" else 2, "narration": new, "prompt": None,
                                    "subject": None, "action": None, "setting": None, "style": None,
                                    "lighting": None, "camera": None, "duration_s": None, "speed": None,
                                    "in_s": None, "transition": None, "volume": None, "mute": None, "fit": None,
                                    "move_to": None}),
                 call("generate_shots", {"shots": None}), call("render", {"preview": False, "output": None}),
                 say("Changed the line."))
    collect(session.send("make the last line say open daily from 7" if change == "line" else
                         "make shot 2's narration shorter"))
    assert session.last_error is None, session.last_error
    result = json.loads(last_tool_result(fake_llm.requests[1]))
    assert result["ok"] and result["shot"]["says"] == new
    lines = [line.text for line in session.store.project.narration.lines]
    index = 2 if change == "line" else 1
    assert lines[index] == new and [t for i, t in enumerate(lines) if i != index] == \
        [t for i, t in enumerate(before) if i != index]
    cues = words(" ".join(c.text for c in latest_srt(session)))
    assert " ".join(words(new)) in " ".join(cues)
    session.close()
