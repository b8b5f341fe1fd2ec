"""Voice-over in the production path: the narration script, its speech, and where it and its captions go.

The script (one line per shot, fitted to the shots at the language's speaking
rate) is written by the planner when the brief asks for a voice, read from the
user's file, or edited in chat; each line is spoken by the voice backend
(``espeak`` offline, a cloud voice when chosen) through the job engine like any
other generation (estimate, approval, cache, resume); its word timings place
the clips on the timeline without cutting a word at a shot boundary, and make
the captions. The timeline's voice-over tracks and cues are rebuilt from these
on every render, so an edit to the shots moves the narration with them.
"""

from __future__ import annotations

import re
from pathlib import Path

from shotsmith.backends.base import Backend, GenerationMode, GenerationRequest
from shotsmith.brief import ShotPlan
from shotsmith.errors import InvalidInputError
from shotsmith.narration import (NarrationScript, fit, script_from_text, shorter, voiceover_tracks, wants_narration,
                                 write_script)
from shotsmith.timeline import Timeline
from shotsmith.tools.subtitles import captions_for_voiceover

#: Files a --voiceover FILE may be.
SCRIPT_SUFFIXES = (".txt", ".md")


def script_for(plan: ShotPlan, brief: str, mode: str, *, language: str = "en",
               voice_language: str | None = None) -> NarrationScript | None:
    """The narration for a new plan: ``off``, ``auto`` (when the brief asks for a voice) or a file's text.

    The offline planner writes in ``language`` (it cannot translate); the user's own text is taken to
    be in the voice's language (``voice_language``) when the voice has one, so it is paced and spoken as such.
    """
    if mode == "off":
        return None
    if mode == "auto":
        return write_script(plan, brief, language=language) if wants_narration(brief) else None
    return script_from_text(read_script_file(mode), plan, language=voice_language or language)


#: Names for the languages a notice or the agent's tool description says (the code itself for any other).
LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian",
                  "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "da": "Danish",
                  "fi": "Finnish", "nb": "Norwegian", "no": "Norwegian", "cs": "Czech", "ru": "Russian",
                  "uk": "Ukrainian", "el": "Greek", "tr": "Turkish", "ja": "Japanese", "zh": "Chinese",
                  "cmn": "Chinese", "ko": "Korean", "hi": "Hindi", "ar": "Arabic", "ca": "Catalan"}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code.lower().split("-")[0], code)


_PIPER_VOICE = re.compile(r"^([a-z]{2,3})_[A-Z]{2}\b")


def voice_language(backend: Backend, voice: str | None) -> str | None:
    """The one language a voice speaks, read from its name; None for a voice that reads any language.

    espeak's voices are languages (``fr``, ``en-us+f3``), piper's models carry theirs
    (``fr_FR-siwis-medium``); a cloud voice (``coral``, an ElevenLabs id) reads the text's language,
    so there is nothing to compare.
    """
    name = voice or getattr(backend, "voice", None) or ""
    if backend.name == "espeak" and name:
        from shotsmith.backends.espeak import DEFAULT_VOICE, installed_voices

        base = name.split("+")[0].lower()
        installed = installed_voices()[0]
        if installed and base not in installed:  # espeak speaks its default instead (and says so when it speaks)
            base = DEFAULT_VOICE
        return base.split("-")[0] or None
    if backend.name == "piper":
        match = _PIPER_VOICE.match(name)
        return match.group(1) if match else None
    return None


def language_notice(script: NarrationScript | None, mode: str, voice_label: str,
                    spoken: str | None, *, by_model: bool = False) -> str | None:
    """One line when the planner's lines are in another language than the voice that will read them.

    The offline planner cannot translate, so English lines read by a French espeak voice come out as
    English words with French sounds; the user is told once, with the two ways to fix it. When a model
    planned (``by_model``), the lines are still the offline drafts: the model is told to rewrite them.
    """
    if script is None or mode != "auto" or spoken is None:
        return None
    written = script.language.lower().split("-")[0]
    if written == spoken:
        return None
    if by_model:
        return (f"the voice-over lines are {language_name(written)} drafts; {voice_label} speaks "
                f"{language_name(spoken)}: rewrite each line in {language_name(spoken)} (edit_shot narration)")
    return (f"the voice-over lines are {language_name(written)}; {voice_label} will read them with a "
            f"{language_name(spoken)} voice — give your own lines with --voiceover FILE, or plan with --llm "
            f"to write them in {language_name(spoken)}")


def read_script_file(name: str | Path) -> str:
    """The lines of a ``--voiceover`` file as they are to be spoken, one per line; refused in one line when
    it is not a .txt/.md file, not UTF-8 text, or has nothing to say.

    A Markdown file is read as Markdown: headings are titles, not narration, and bullets, emphasis and
    links lose their markup (``**Grind** the _beans_`` is spoken and captioned as "Grind the beans").
    """
    path = Path(name).expanduser()
    if path.suffix.lower() not in SCRIPT_SUFFIXES or not path.is_file():
        raise InvalidInputError(f"--voiceover {str(name)!r} is not auto, off or a .txt/.md file that exists")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"the voice-over file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                                hint="save it as UTF-8 plain text") from exc
    except OSError as exc:
        raise InvalidInputError(f"cannot read the voice-over file {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".md":
        text = _markdown_lines(text)
    if not text.strip():
        raise InvalidInputError(f"the voice-over file {path} is empty" + (" (of anything but headings)"
                                                                          if path.suffix.lower() == ".md" else ""))
    return text.strip()


def _markdown_lines(text: str) -> str:
    from markdown_it import MarkdownIt  # rich's Markdown parser, so always installed

    rows: list[str] = []
    in_heading = False
    for token in MarkdownIt().parse(text):
        if token.type in ("heading_open", "heading_close"):
            in_heading = token.type == "heading_open"
        elif token.type == "inline" and not in_heading:
            parts = [child.content if child.type in ("text", "code_inline") else
                     "\n" if child.type in ("softbreak", "hardbreak") else "" for child in token.children or []]
            rows += "".join(parts).split("\n")
    return "\n".join(row.strip() for row in rows if row.strip())


def speech_requests(script: NarrationScript, voice: Backend, voice_name: str | None) -> list[GenerationRequest]:
    return [GenerationRequest(prompt=line.text, mode=GenerationMode.TEXT_TO_SPEECH, duration_s=max(1.0, line.words / 2),
                              shot_index=line.shot_index, voice=voice_name, language=script.language)
            for line in script.lines if line.text.strip()]


def lay_voiceover(timeline: Timeline, plan: ShotPlan, script: NarrationScript, clips: dict[int, str],
                  timings: dict[int, list], *, caption_style: str | None) -> tuple[Timeline, str | None]:
    """The timeline with the narration's tracks and cues in place; and what to tell the user when a line runs long.

    Tracks the narration made before (voice-overs from ``clips/``) are replaced; the user's own
    voice-over files (in ``assets/`` or inputs) and music stay.
    """
    report = fit(plan, script, timings)
    tracks = voiceover_tracks(report.placements, clips)
    kept = [a for a in timeline.audio if not (a.role == "voiceover" and a.source.startswith("clips/"))]
    update: dict = {"audio": kept + tracks}
    style = caption_style or timeline.caption_settings.style
    if style and style != "off":
        duration = plan.total_duration_s
        update["captions"] = captions_for_voiceover(report.placements, timings, duration_s=duration)
    update["caption_settings"] = timeline.caption_settings.model_copy(update={"style": style}) if style else \
        timeline.caption_settings
    return timeline.model_copy(update=update), (None if report.ok else report.message())


def without_voiceover(timeline: Timeline) -> Timeline:
    """The timeline with the narration's tracks (voice clips from ``clips/``) and the cues made from its
    speech (cues with word times) taken out: "no voice-over". The user's own files and cues stay."""
    return timeline.model_copy(update={
        "audio": [a for a in timeline.audio if not (a.role == "voiceover" and a.source.startswith("clips/"))],
        "captions": [c for c in timeline.captions if not c.words]})


def edited_script(script: NarrationScript | None, plan: ShotPlan, brief: str, *, change: str,
                  shot: int | None = None, text: str | None = None) -> NarrationScript | None:
    """The narration after one chat edit: ``shorter`` (every line, or ``shot``'s), ``line`` (``shot``'s line says
    ``text``), ``off`` (none), ``on`` (a new script written for the plan when there is none)."""
    if change == "off":
        return None
    if change == "on":
        return script if script is not None and any(line.text for line in script.lines) else \
            write_script(plan, brief, language=script.language if script else "en")
    if script is None:
        if change == "line":  # "say 'open daily from 7'" on a video without a voice: that line alone
            script = NarrationScript(lines=[])
        else:
            raise InvalidInputError("there is no voice-over to change", hint="say 'add a voice-over' first")
    if change == "shorter":
        if shot is not None and script.line(shot) is None:
            raise InvalidInputError(f"shot {shot} has no voice-over line")
        return shorter(script, plan, shots=None if shot is None else [shot])
    if change == "line":
        if shot is None or shot not in {s.index for s in plan.shots}:
            raise InvalidInputError(f"no shot {shot}; the plan has shots 1-{len(plan.shots)}")
        return script.with_line(shot, text or "")  # an empty line: that shot is silent
    raise InvalidInputError(f"unknown narration change {change!r}")  # pragma: no cover - callers pass the four


def fit_note(plan: ShotPlan, script: NarrationScript | None, timings: dict[int, list] | None = None) -> str | None:
    """What to tell the user when the narration runs longer than the picture (with the two offers), else None."""
    if script is None:
        return None
    report = fit(plan, script, timings)
    return None if report.ok else report.message()
