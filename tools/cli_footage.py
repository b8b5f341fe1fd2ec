"""CLI commands for footage: probe, scenes, split, trim, contact-sheet, export-otio, import-otio.

Each command fills the tool's own argument model and calls the tool, so the
CLI accepts exactly what the agent may pass and fails with the same messages.
Files named on the command line are the user's explicit inputs: commands
without a project work on them directly, and the OTIO commands register them
with the project they touch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pydantic import BaseModel, ValidationError

from shotsmith.atomic import check_writable
from shotsmith.errors import InvalidInputError, PathSafetyError
from shotsmith.tools.spec import ToolContext

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

_DETECTOR_HELP = "content (hard cuts) or adaptive (steadier under camera motion)."


@contextlib.contextmanager
def _progress(label: str, total: float | None) -> Iterator[ToolContext]:
    """A ToolContext whose progress drives a transient bar on stderr."""
    if not total or not err.is_terminal:
        yield ToolContext()
        return
    with Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield ToolContext(on_progress=lambda seconds: bar.update(task, completed=seconds))


def _duration(path: Path) -> float | None:
    from shotsmith.media.probe import probe

    try:
        return probe(path).duration_s
    except Exception:  # the tool itself reports a bad file properly
        return None


def _args(model: type[BaseModel], data: dict) -> BaseModel:
    """Validate options with the tool's schema; a bad value becomes one clear line, not a traceback."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "argument"
        option = "--" + where.split(".")[0].replace("_", "-")
        raise InvalidInputError(f"{option}: {first['msg']} (got {first.get('input')!r})") from exc


def _time(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def register(app: typer.Typer) -> None:
    @app.command("probe")
    def probe_cmd(
        file: Path = typer.Argument(..., help="Media file to describe."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """Describe a media file: duration, frame rate (and whether it varies), size, rotation, pixel format, audio."""
        from shotsmith.media.probe import probe

        info = probe(file)
        if as_json:
            typer.echo(info.model_dump_json(indent=2))
            return
        table = Table(title=str(file), show_header=False, title_justify="left")
        table.add_row("format", info.format)
        table.add_row("duration", f"{info.duration_s:.3f} s")
        table.add_row("size", f"{info.size_bytes:,} bytes")
        if info.video:
            v = info.video
            rate = f"{v.fps:g} fps ({v.fps_exact})" + (" variable" if v.variable_frame_rate else "")
            table.add_row("video", f"{v.codec} {v.width}x{v.height} {v.pixel_format or '?'}, {rate}"
                          + (f", {v.frames} frames" if v.frames else ""))
            if v.rotation:
                w, h = v.display_size
                table.add_row("rotation", f"{v.rotation}° clockwise (shown as {w}x{h})")
        else:
            table.add_row("video", "none")
        for i, a in enumerate(info.audio, start=1):
            table.add_row(f"audio {i}", f"{a.codec} {a.sample_rate} Hz, {a.channels} ch")
        if not info.audio:
            table.add_row("audio", "none")
        console.print(table)

    @app.command("scenes")
    def scenes_cmd(
        file: Path = typer.Argument(..., help="Video to analyse."),
        detector: str = typer.Option("content", "--detector", "-d", help=_DETECTOR_HELP),
        threshold: float | None = typer.Option(None, "--threshold", "-t", help="Lower finds more cuts (default 27 content, 3 adaptive)."),
        min_scene_len: str = typer.Option("0.5", "--min-scene-len", "-m", help="Shortest scene: seconds (0.5) or frames (15f)."),
        downscale: int | None = typer.Option(None, "--downscale", help="Keep every n-th pixel (default: auto, ~256 px wide)."),
        csv_out: Path | None = typer.Option(None, "--csv", help="Write the scene list as CSV."),
        json_out: Path | None = typer.Option(None, "--json", help="Write the scene list as JSON."),
    ) -> None:
        """Detect scene cuts; print one row per scene with frame-exact timecodes."""
        from shotsmith.tools.scenes import ScenesArgs, scenes

        args = _args(ScenesArgs, {"source": str(file), "detector": detector, "threshold": threshold,
                                          "min_scene_len": min_scene_len, "downscale": downscale,
                                          "csv_output": str(csv_out) if csv_out else None,
                                  "json_output": str(json_out) if json_out else None})
        for path in (csv_out, json_out):
            if path:
                check_writable(path)  # before the detection, not after it
        with _progress("scenes", _duration(file)) as ctx:
            found = scenes(ctx, args)
        table = Table(title=f"{len(found.scenes)} scene(s) in {file.name} · {found.detector} {found.threshold:g}", title_justify="left")
        for column in ("#", "start", "end", "frames", "start frame", "length"):
            table.add_column(column, justify="right")
        for s in found.scenes:
            table.add_row(str(s.index), s.start_timecode, s.end_timecode, f"{s.start_frame}-{s.end_frame - 1}",
                          str(s.start_frame), f"{s.length_s:.2f}s")
        console.print(table)
        for label, path in (("CSV", csv_out), ("JSON", json_out)):
            if path:
                console.print(f"{label} written to {path}")

    @app.command("split")
    def split_cmd(
        file: Path = typer.Argument(..., help="Video to split (never modified)."),
        output_dir: Path = typer.Option(..., "--output-dir", "-o", help="Folder for one clip per scene."),
        detector: str = typer.Option("content", "--detector", "-d", help=_DETECTOR_HELP),
        threshold: float | None = typer.Option(None, "--threshold", "-t"),
        min_scene_len: str = typer.Option("0.5", "--min-scene-len", "-m"),
        scenes_json: Path | None = typer.Option(None, "--scenes-json", help="Cut at the scenes of this JSON (from `scenes --json`)."),
        mode: str = typer.Option("auto", "--mode", help="auto (copy when exact), copy or reencode."),
        crf: int = typer.Option(18, "--crf", help="Quality of re-encoded scenes."),
    ) -> None:
        """Write one clip per scene: stream copy when a scene's cuts are keyframes, else an exact re-encode."""
        from shotsmith.tools.split import SplitArgs, split

        args = _args(SplitArgs, {"source": str(file), "output_dir": str(output_dir), "detector": detector,
                                         "threshold": threshold, "min_scene_len": min_scene_len, "mode": mode, "crf": crf,
                                         "scenes_json": str(scenes_json) if scenes_json else None})
        if not output_dir.is_file():  # the tool itself explains a file given as the folder
            check_writable(output_dir, folder=True)
        result = split(ToolContext(), args)
        for item in result.clips:
            console.print(f"{Path(item.clip.output).name}  {item.scene.start_timecode}-{item.scene.end_timecode}  "
                          f"{item.clip.frames} frames  {item.clip.method}")
        console.print(f"{len(result.clips)} clip(s) in {result.output_dir} ({result.copied} stream-copied)")

    @app.command("trim")
    def trim_cmd(
        file: Path = typer.Argument(..., help="Media file to cut from (never modified)."),
        output: Path = typer.Option(..., "--output", "-o", help="File to write."),
        start: str = typer.Option("0", "--start", "-s", help="In-point: 12.5, MM:SS, HH:MM:SS.mmm, HH:MM:SS:FF or f123."),
        end: str | None = typer.Option(None, "--end", "-e", help="Out-point (exclusive), same forms; default: the end."),
        frames: bool = typer.Option(False, "--frames", help="Read bare numbers as frame numbers."),
        mode: str = typer.Option("auto", "--mode", help="auto (copy only when exact), copy or reencode."),
        crf: int = typer.Option(18, "--crf"),
    ) -> None:
        """Cut a frame-exact range: the first frame of the output is the source frame at --start."""
        from shotsmith.tools.trim import TrimArgs, trim

        args = _args(TrimArgs, {"source": str(file), "output": str(output), "start": _time(start), "end": _time(end),
                                        "unit": "frames" if frames else "seconds", "mode": mode, "crf": crf})
        if not output.is_dir():  # the tool itself explains a folder given as the output
            check_writable(output)
        with _progress("trim", _duration(file)) as ctx:
            result = trim(ctx, args)
        console.print(f"{result.output}: frames {result.start_frame}-{result.end_frame - 1} ({result.frames}), "
                      f"{result.start_s:.3f}s-{result.end_s:.3f}s, {result.method} ({result.reason})")

    @app.command("contact-sheet")
    def contact_sheet_cmd(
        file: Path = typer.Argument(..., help="Video to summarise."),
        output: Path = typer.Option(..., "--output", "-o", help="PNG to write."),
        columns: int = typer.Option(4, "--columns", "-c"),
        thumb_width: int = typer.Option(320, "--thumb-width"),
        detector: str = typer.Option("content", "--detector", "-d", help=_DETECTOR_HELP),
        threshold: float | None = typer.Option(None, "--threshold", "-t"),
        min_scene_len: str = typer.Option("0.5", "--min-scene-len", "-m"),
        scenes_json: Path | None = typer.Option(None, "--scenes-json"),
    ) -> None:
        """Draw a PNG with one thumbnail per scene, labelled with its timecode."""
        from shotsmith.tools.contact_sheet import ContactSheetArgs, contact_sheet

        args = _args(ContactSheetArgs, {"source": str(file), "output": str(output), "columns": columns,
                                                "thumb_width": thumb_width, "detector": detector, "threshold": threshold,
                                                "min_scene_len": min_scene_len,
                                                "scenes_json": str(scenes_json) if scenes_json else None})
        check_writable(output)
        result = contact_sheet(ToolContext(), args)
        console.print(f"{result.output}: {result.scenes} scene(s), {result.width}x{result.height}")

    @app.command("export-otio")
    def export_otio_cmd(
        project_dir: Path = typer.Argument(..., help="Project folder whose timeline to export."),
        output: Path = typer.Option(..., "--output", "-o", help=".otio, .edl or .xml file to write (anywhere you choose)."),
        fmt: str | None = typer.Option(None, "--format", "-f", help="otio, edl or fcpxml (default: from the suffix)."),
    ) -> None:
        """Export the project timeline to OpenTimelineIO, or EDL / FCP XML where OTIO's adapters are installed."""
        from shotsmith.store import ProjectStore
        from shotsmith.tools.interchange import ExportOtioArgs, export_timeline

        store = ProjectStore.open(project_dir)
        target = output.expanduser().resolve()  # the user named it: inside the project or not
        args = _args(ExportOtioArgs, {"output": str(target), "format": fmt})
        if target in store.source_paths():
            raise PathSafetyError(f"output {output} would overwrite a source file of the project")
        check_writable(target)
        result = export_timeline(store, target, args.format)
        console.print(f"{result.output}: {result.format}, {result.clips} clip(s), {result.transitions} transition(s)")
        for note in result.notes:
            console.print(f"[yellow]note:[/] {note}")
        missing = [f for f, ok in result.available_formats.items() if not ok]
        if missing:
            console.print(f"[dim]not available here: {', '.join(missing)} (install the OTIO adapter plug-ins)[/]")

    @app.command("import-otio")
    def import_otio_cmd(
        file: Path = typer.Argument(..., help=".otio (or .edl/.xml with an adapter) whose media files are local."),
        project_dir: Path = typer.Option(..., "--project", "-p", help="Project folder (created if missing)."),
        rate: float | None = typer.Option(None, "--rate", help="EDL only: its frame rate (default: the project's)."),
    ) -> None:
        """Replace the project's clips and audio with an OTIO timeline's; every media file must exist."""
        from shotsmith.tools.interchange import ImportOtioArgs, import_otio, project_for_import

        if not file.is_file():
            raise InvalidInputError(f"{file}: no such file")
        args = _args(ImportOtioArgs, {"path": str(file.resolve()), "rate": rate})
        with project_for_import(project_dir) as store:  # a failed import leaves no new project behind
            path = file.resolve()
            if not store.is_inside(path):
                store.add_input(path)
            result = import_otio(ToolContext(store=store), args)
        console.print(f"imported {result.clips} clip(s) and {result.audio_tracks} audio track(s), "
                      f"{result.duration_s:.2f}s, into {store.root}")
        for note in result.notes:
            console.print(f"[yellow]note:[/] {note}")
