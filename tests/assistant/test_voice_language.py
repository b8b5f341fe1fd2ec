"""The voice-over's language and the voice's (user review of #12/#13): the offline planner writes English
lines; a voice of another language is said once, a user's own text takes the voice's language, and the
agent is told which language to write its lines in."""

from __future__ import annotations

from shotsmith.assistant.agent.build import build_tools
from shotsmith.assistant.production import ProductionService, ServiceOptions

EXPLAINER = "A 9 second explainer with a voice-over: how to brew pour-over coffee, 3 shots"


def open_service(tmp_path, **options) -> ProductionService:
    return ProductionService.open(tmp_path / "p", ServiceOptions(backend="animatic", resolution="360p", fps=12,
                                                                 **options))


def language_notes(notices: list[str]) -> list[str]:
    return [n for n in notices if "--voiceover FILE" in n and "voice-over lines are" in n]


def test_a_french_voice_over_english_lines_is_said_once(tmp_path):
    service = open_service(tmp_path, voice="espeak:fr")
    _, notices = service.plan_brief(EXPLAINER)
    said = language_notes(notices)
    assert len(said) == 1, notices
    assert ("the voice-over lines are English; espeak:fr will read them with a French voice" in said[0]
            and "--llm" in said[0] and "French" in said[0])
    assert service.store.project.narration.language == "en"  # the lines are English; the voice is told apart


def test_an_english_voice_says_nothing(tmp_path):
    _, notices = open_service(tmp_path, voice="espeak:en-gb").plan_brief(EXPLAINER)
    assert language_notes(notices) == []
    _, notices = open_service(tmp_path / "b").plan_brief(EXPLAINER)  # the default voice, en-us
    assert language_notes(notices) == []
    # a voice espeak does not have: it speaks its default (en-us) and warns when it speaks; no 'zz voice' here
    _, notices = open_service(tmp_path / "c", voice="espeak:zz").plan_brief(EXPLAINER)
    assert language_notes(notices) == []


def test_the_users_own_lines_take_the_voices_language(tmp_path):
    lines = tmp_path / "vo.txt"
    lines.write_text("Voici comment faire un café filtre.\nMoudre le café.\nBon appétit.\n", encoding="utf-8")
    service = open_service(tmp_path, voice="espeak:fr+f3", voiceover=str(lines))
    _, notices = service.plan_brief(EXPLAINER)
    assert language_notes(notices) == []
    script = service.store.project.narration
    assert script.language == "fr" and script.line(1).text == "Voici comment faire un café filtre."


def test_the_agent_is_told_to_write_the_lines_in_the_voices_language(tmp_path):
    french = {t.name: t.description for t in build_tools(open_service(tmp_path, voice="espeak:fr"),
                                                         planner_label="test")}
    assert "French" in french["edit_shot"] and "voice-over line" in french["edit_shot"]
    english = {t.name: t.description for t in build_tools(open_service(tmp_path / "b"), planner_label="test")}
    assert "French" not in english["edit_shot"] and "in English" not in english["edit_shot"]
