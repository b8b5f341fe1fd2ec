"""``shotsmith run``: a brief in, a finished video out, from a script or a terminal.

A short driver over the one production path: it opens the session
(:func:`~shotsmith.assistant.session_factory.open_session`), hands it the
brief (:func:`~shotsmith.assistant.run.drive_brief`) and prints the outcome.
Exit codes: 0 written, 2 usage, 3 spending refused, 130 cancelled.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.text import Text

from shotsmith.assistant.commands.console import EventPrinter, console
from shotsmith.assistant.commands.options import EXECUTOR_OPTION
from shotsmith.assistant.events import ApprovalRequested
from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.production.music import require_librosa, wants_beat_sync
from shotsmith.assistant.production.outputs import check_output_path, default_project_dir
from shotsmith.assistant.production.report import RunReport, write_report
from shotsmith.assistant.production.spending import money
from shotsmith.assistant.run import drive_brief
from shotsmith.assistant.session_factory import open_session
from shotsmith.narration import wants_narration
from shotsmith.errors import InvalidInputError

BRIEF_SUFFIXES = (".txt", ".md")
#: Suffixes that make an argument look like a file rather than a sentence.
_FILE_LIKE = (".yaml", ".yml", ".json", ".toml", ".csv", ".mp4", ".mov", ".mkv", ".wav", ".mp3", ".png", ".jpg",
              ".otio", ".edl", ".xml", ".srt", ".pdf", ".docx")


def read_brief(brief: str) -> str:
    """A brief is text, or the path of a .txt/.md file holding it; any other file is refused, not read as text."""
    candidate = Path(brief).expanduser()
    looks_like_file = len(brief) < 4096 and "\n" not in brief and (
        candidate.suffix.lower() in BRIEF_SUFFIXES + _FILE_LIKE or (" " not in brief and candidate.is_file()))
    if looks_like_file:
        if candidate.suffix.lower() not in BRIEF_SUFFIXES:
            raise InvalidInputError(f"{brief} looks like a file, but run reads briefs only from .txt or .md files",
                                    hint="put the brief in a .txt or .md file, or pass it in quotes")
        if not candidate.is_file():
            raise InvalidInputError(f"brief file {candidate} does not exist")
        try:
            text = candidate.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read brief file {candidate}: {exc}") from exc
        if not text:
            raise InvalidInputError(f"brief file {candidate} is empty")
        return text
    return brief.strip()


def _confirm(event: ApprovalRequested) -> bool:
    return typer.confirm(f"{event.description}. Go ahead?", default=False)


def run_command(
    brief: str = typer.Argument(..., help="The brief, in quotes, or a .txt/.md file holding it."),
    output: Path = typer.Option(Path("out/shotsmith.mp4"), "--output", "-o", help="The video to write (.mp4, .mov, .mkv, .webm)."),
    project: Path | None = typer.Option(None, "--project", "-p", help="Project folder (default: <output>.shotsmith beside the output)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="Generation backend (see `shotsmith backends list`)."),
    resolution: str | None = typer.Option(None, "--resolution", "-r", help="Short side of the frame: 360p, 480p, 540p, 720p, 1080p."),
    fps: int | None = typer.Option(None, "--fps", help="Frames per second."),
    seed: int | None = typer.Option(None, "--seed", help="Base seed for backends that take one."),
    json_report: Path | None = typer.Option(None, "--json", help="Write a machine-readable run report here."),
    plan_only: bool = typer.Option(False, "--plan-only", help="Print the plan and stop before generating."),
    llm: str | None = typer.Option(None, "--llm", help="Plan with a model: provider:model, e.g. openai:gpt-4.1-mini "
                                                       "(default: $SHOTSMITH_LLM, the config file, else the offline planner)."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible server URL (Ollama, vLLM, LM Studio…)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve generation that costs money or long GPU time without asking."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Never let this project's spending pass this many USD "
                                                                   "(counted across runs; Runway credits at 0.01 USD)."),
    resubmit: bool = typer.Option(False, "--resubmit", help="Create again a remote task whose first create may have "
                                                            "gone through (pays again)."),
    inputs: list[Path] = typer.Option([], "--input", "-i", help="A file of yours the assistant may use, e.g. footage (repeatable)."),
    keyframes: str | None = typer.Option(None, "--keyframes", help="auto: draw a storyboard still per shot first and "
                                                                   "animate it where the backend can (default); off."),
    image_backend: str | None = typer.Option(None, "--image-backend", help="Backend for the storyboard stills "
                                                                           "(default: the provider's own, else sketch)."),
    executor: str | None = EXECUTOR_OPTION,
    voiceover: str | None = typer.Option(None, "--voiceover", help="auto: narrate when the brief asks for a voice "
                                                                   "(default); off; or a .txt/.md file with your lines."),
    voice: str | None = typer.Option(None, "--voice", help="backend:voice, e.g. espeak:en-us+f3, openai-speech:coral, "
                                                           "elevenlabs:VOICE_ID (default: espeak, a scratch voice)."),
    captions: str | None = typer.Option(None, "--captions", help="burn (default when narrated), srt (sidecar .srt and "
                                                                 ".vtt), track (a subtitle track), or off."),
    music: str | None = typer.Option(None, "--music", help="A music bed: an audio file, a folder to choose a track "
                                                           "from (by mood tags or the brief), or off. Faded, ducked "
                                                           "under the voice, loudness-normalised; never modified."),
    music_mood: str | None = typer.Option(None, "--music-mood", help="Mood tags that choose the track from the "
                                                                     "--music folder, e.g. 'warm,upbeat'."),
    beat_sync: bool | None = typer.Option(None, "--beat-sync/--no-beat-sync", help="Move the cuts onto the music's "
                                          "beats (also: 'cut to the beat' in the brief). Needs shotsmith[beats]."),
) -> None:
    """Plan, generate and assemble a video from a brief, non-interactively."""
    text = read_brief(brief)
    if not text:
        raise InvalidInputError("the brief is empty", hint='describe the video, e.g. "a 15 second ad for a bakery"')
    if max_cost is not None and max_cost < 0:
        raise InvalidInputError(f"--max-cost {max_cost:g} is negative")
    target = check_output_path(output)
    if music and music.strip().lower() not in ("off", "none", "no") and (beat_sync or (
            beat_sync is None and wants_beat_sync(text))):
        require_librosa()  # asked for, and cannot be done: say how to install it before anything is created
    options = ServiceOptions(backend=backend, resolution=resolution, fps=fps, seed=seed, max_cost_usd=max_cost,
                             auto_approve=yes, resubmit=resubmit, outputs=(target,), keyframes=keyframes,
                             image_backend=image_backend, executor=executor,
                             voiceover=voiceover, voice=voice, captions=captions, music=music,
                             music_mood=music_mood, beat_sync=beat_sync)
    project_dir = project or default_project_dir(target)
    if not plan_only and not (Path(project_dir) / "project.json").exists():
        # A new project has nothing cached: a missing key or model fails now, before planning or any folder.
        # (An existing project checks only when something must really be sent: a cached rerun needs no key.)
        from shotsmith.backends.registry import get_backend
        from shotsmith.config import load_settings

        get_backend(backend or load_settings().backend).check_ready()
        if voice and voiceover != "off" and (voiceover not in (None, "auto") or wants_narration(text)):
            from shotsmith.backends.voice import resolve_voice

            resolve_voice(voice)[0].check_ready()  # the voice too: not after the shots were made (and paid)
    session = open_session(project_dir, options=options, llm=llm,
                           llm_base_url=llm_base_url, inputs=tuple(inputs))
    printer = EventPrinter(progress_bars=not plan_only, announce_outputs=False)
    console.print(Text.assemble(("•", "cyan"), " ", session.announce_who(), f" · project {session.store.root}"),
                  soft_wrap=True)
    try:
        report, error = drive_brief(session, text, None if plan_only else target, produce=not plan_only,
                                    on_event=printer, confirm=_confirm if sys.stdin.isatty() else None)
    finally:
        printer.stop()
        session.close()
    if json_report:
        write_report(report, json_report)
    if error is not None:
        if json_report:
            console.print(f"report: {json_report}", markup=False)
        raise error
    print_summary(report, json_report, plan_only=plan_only)


def print_summary(report: RunReport, json_report: Path | None, *, plan_only: bool) -> None:
    if plan_only or report.output is None:
        console.print(Text(f"plan saved in {report.project} (no video rendered: --plan-only)", style="cyan"),
                      soft_wrap=True)
    else:
        out = report.output
        cached = sum(1 for s in report.shots if s.cached)
        spent = report.cost.spent_this_run_usd
        console.print(Text.assemble(("✓", "bold green"), " wrote ", (out.path, "bold"),
                                    f" · {out.duration_s:.2f} s · {out.width}x{out.height} · {out.size_bytes / 1e6:.1f} MB"
                                    f" · {report.timings_s.get('total', 0):.1f} s"
                                    + (f" · {out.loudness.describe()}" if out.loudness else "")
                                    + (f" · spent {money(spent)}" if spent else "")
                                    + (f" · {cached} shot(s) from cache" if cached else "")), soft_wrap=True)
    if json_report:
        console.print(f"report: {json_report}", markup=False)
