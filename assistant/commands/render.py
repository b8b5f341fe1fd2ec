"""``shotsmith render``: an edit plan, or a project's cut through the production service.

Here, not in ``tools/``: a project renders the way ``run``, chat and the TUI render it
(the one service: the narration and music laid in, the cut checked complete, every final
render kept as ``renders/vNNN`` with the change it came from, previews from proxies), and
the tools package cannot reach the service. The options and the edit-plan path are the
tools' (:func:`shotsmith.tools.cli_edit.render_command`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from shotsmith.tools.cli_edit import render_command as render_cut_command


def _through_service(folder: Path, output: Path, *, preview: bool, full: bool, settings):
    from shotsmith.assistant.events import Notice, RenderProgress
    from shotsmith.assistant.production import ProductionService, ServiceOptions
    from shotsmith.tools.cli_edit import _progress_printer
    from shotsmith.tools.render import RenderResult

    progress = {}

    def emit(event) -> None:
        """The render's warnings (a narration that runs long, a transition cut short) and, on a terminal,
        its progress; the summary line is the command's."""
        if isinstance(event, Notice) and event.level != "info":
            typer.echo(f"{event.level}: {event.text}", err=True)
        elif isinstance(event, RenderProgress):
            if "show" not in progress:
                progress["show"] = _progress_printer(event.seconds_total)
            if progress["show"] is not None:
                progress["show"](event.seconds_done)

    output = output.expanduser().resolve()  # -o is the shell's path (from here), not one inside the project
    service = ProductionService.open(folder, ServiceOptions(outputs=(output,)), emit=emit)
    rendered = service.render(output, preview=preview, full=full, settings=settings)
    return RenderResult(path=rendered.path, duration_s=rendered.duration_s, width=rendered.width,
                        height=rendered.height, size_bytes=rendered.size_bytes, loudness=rendered.loudness)


def _cut(folder: Path):
    from shotsmith.assistant.production import ProductionService, ServiceOptions

    return ProductionService.open(folder, ServiceOptions()).cut_to_render(save=False)


def render_command(
    source: Path = typer.Argument(..., help="An edit plan (.yaml/.yml/.json) or a project folder."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file; its suffix picks the format "
                                                            "(.mp4 .mov .webm .mkv .gif .webp)."),
    preset: Optional[str] = typer.Option(None, "--preset", "-p", help="Export preset (see `shotsmith presets`)."),
    preview: bool = typer.Option(False, "--preview", help="Fast low-resolution render (for a project, only the "
                                                       "segments changed since its last preview are made, from "
                                                       "the clips' proxies where they are ready)."),
    full: bool = typer.Option(False, "--full", help="Render from scratch instead of re-encoding only the segments "
                                                   "that changed since the project's last render (or, with "
                                                   "--preview, its last preview)."),
    resolution: Optional[str] = typer.Option(None, "--resolution", "-r",
                                             help="Short side, keeping the aspect: 360p 480p 540p 720p 1080p 1440p 2160p."),
    crf: Optional[int] = typer.Option(None, "--crf", min=0, max=63, help="Constant quality (lower: better, bigger)."),
    print_command: bool = typer.Option(False, "--print-command", help="Print the ffmpeg commands the render runs "
                                                                     "(with a loudness target, measuring it first) and exit."),
) -> None:
    """Render an edit plan, or a project's cut (a final render of a project is kept as renders/vNNN and
    re-encodes only what changed since the last one; -o receives a copy)."""
    render_cut_command(source, output, preset=preset, preview=preview, full=full, resolution=resolution, crf=crf,
                       print_command=print_command, project_render=_through_service, project_cut=_cut)
