"""``shotsmith storyboard``: a keyframe still per shot and a contact sheet, before any video is generated.

Plans first when given a brief (through the same session as ``run``), then
makes the stills on the image backend — free with the offline ``sketch``,
asked about first when it costs — and writes the sheet (panel, shot number,
duration, camera, prompt). The stills are kept in the project: ``run`` then
animates them image-to-video instead of starting each shot from text.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.text import Text

from shotsmith.assistant.commands.console import EventPrinter, console
from shotsmith.assistant.commands.run import read_brief
from shotsmith.assistant.production import ServiceOptions
from shotsmith.assistant.production.outputs import default_project_dir
from shotsmith.assistant.production.spending import ApprovalRequiredError, money
from shotsmith.assistant.production.storyboard import contact_sheet
from shotsmith.assistant.run import drive_brief
from shotsmith.assistant.session_factory import open_session
from shotsmith.atomic import check_writable
from shotsmith.backends.registry import get_backend
from shotsmith.errors import InvalidInputError
from shotsmith.store import PROJECT_FILE


def storyboard_command(
    brief: str | None = typer.Argument(None, help="A brief (or .txt/.md file) to plan first; omit to use the "
                                                 "project's plan."),
    project: Path | None = typer.Option(None, "--project", "-p", help="Project folder (created when planning a brief; "
                                                                     "default with a brief: <output>.shotsmith beside "
                                                                     "the sheet, like run)."),
    output: Path = typer.Option(Path("storyboard.png"), "--output", "-o", help="The contact sheet to write (.png)."),
    image_backend: str | None = typer.Option(None, "--image-backend", help="Backend for the stills (default: the video "
                                                                          "provider's image model, else sketch)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="The video backend the stills are made for."),
    resolution: str | None = typer.Option(None, "--resolution", "-r", help="Short side of the frame, e.g. 720p."),
    llm: str | None = typer.Option(None, "--llm", help="Plan with a model (provider:model)."),
    llm_base_url: str | None = typer.Option(None, "--llm-base-url", help="OpenAI-compatible server URL."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Approve paid stills without asking."),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Never let this project's spending pass this many USD."),
) -> None:
    """Make a storyboard: one keyframe per shot, and a contact sheet to approve before any video money is spent."""
    if output.suffix.lower() != ".png":
        raise InvalidInputError(f"the contact sheet {output} must be a .png file")
    check_writable(output)
    text = read_brief(brief) if brief else None
    if project is None:
        if text is None:
            raise InvalidInputError("give a brief to plan, or the project folder with -p",
                                    hint="shotsmith storyboard BRIEF -o board.png, or shotsmith storyboard -p DIR")
        project = default_project_dir(output)
    if text is None and not (project / PROJECT_FILE).is_file():  # nothing to plan: a typo'd folder is not made
        raise InvalidInputError(f"{project} holds no project, so no shot plan yet",
                                hint="give a brief to plan first, or the folder of an existing project")
    options = ServiceOptions(backend=backend, resolution=resolution, image_backend=image_backend,
                             auto_approve=yes, max_cost_usd=max_cost,
                             outputs=(output,))  # never onto a picture the project reads (a cast image, a still)
    session = open_session(project, options=options, llm=llm, llm_base_url=llm_base_url)
    service = session.service
    printer = EventPrinter()
    try:
        if text:
            report, error = drive_brief(session, text, None, produce=False, on_event=printer)
            if error is not None:
                raise error
        elif service.store.project.plan is None:
            raise InvalidInputError("the project has no shot plan yet", hint="give a brief to plan first")
        estimate = service.estimate_keyframes(image_backend=image_backend)
        if estimate.to_generate:  # a missing key is one line before any yes is asked, not after it
            get_backend(estimate.backend).check_ready()
        if service.spending.decide(estimate) == "ask" and not yes:
            if not (sys.stdin.isatty() and typer.confirm(f"Storyboard: {estimate.text}. Go ahead?", default=False)):
                raise ApprovalRequiredError(f"the storyboard needs approval ({estimate.text}); nothing was spent",
                                            hint="run again with --yes (and --max-cost to cap it)")
            service.spending.record(estimate, approved=True, by="user")
        service.emit = printer
        result = service.generate_keyframes(image_backend=image_backend)
        sheet = contact_sheet(service.plan, service.store.root, output)
    finally:
        printer.stop()
        session.close()
    # A shot may get two stills (its first and last frame): say both counts, not the shots as "keyframes".
    stills = sum(bool(still) for s in service.plan.shots if s.index in result.keyframes
                 for still in (s.keyframe, s.end_keyframe))
    made = (f"{_count(len(result.keyframes), 'shot')} with {_count(stills, 'new still')}" if result.keyframes
            else "stills from the cache")
    console.print(Text.assemble(("✓", "bold green"), " wrote ", (str(sheet), "bold"),
                                f" · {len(service.plan.shots)} shots · {made}"
                                + (f" · spent {money(result.usd)}" if result.usd else "")), soft_wrap=True)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
