"""CLI commands of the renderer: render an edit plan or a project, list presets, export plans and captions."""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

import typer

from shotsmith.errors import InvalidInputError

if TYPE_CHECKING:
    from shotsmith.timeline import Timeline
    from shotsmith.tools.render import RenderResult


def _load(source: Path):
    """(timeline, resolve, protected, store) for an edit plan file or a project folder."""
    from shotsmith.store import PROJECT_FILE, ProjectStore
    from shotsmith.tools.editplan import load_plan

    if source.is_dir():
        if not (source / PROJECT_FILE).is_file():
            raise InvalidInputError(f"{source} is a folder without a {PROJECT_FILE}",
                                    hint="give an edit plan (.yaml/.json) or a project folder")
        store = ProjectStore.open(source)
        return store.project.timeline, store.resolve, store.source_paths(), store
    timeline, resolve = load_plan(source)
    return timeline, resolve, {source.resolve()}, None


def _progress_printer(total: float):
    if not sys.stderr.isatty():
        return None
    state = {"last": -1}

    def show(seconds: float) -> None:
        pct = int(100 * seconds / total) if total else 100
        if pct != state["last"]:
            state["last"] = pct
            sys.stderr.write(f"\rrendering {pct:3d}%")
            sys.stderr.flush()
            if pct >= 100:
                sys.stderr.write("\n")

    return show


ProjectRender = Callable[..., "RenderResult"]
"""Renders a project folder: ``(folder, output, *, preview, full, settings) -> RenderResult``. The
assistant's ``render`` command passes the production service's (versions kept, narration and music laid
in, as ``run`` and chat render); this module cannot import it (arrows point from the assistant to tools)."""


def render_command(source: Path, output: Path, *, preset: str | None = None, preview: bool = False,
                   full: bool = False, resolution: str | None = None, crf: int | None = None,
                   print_command: bool = False, project_render: ProjectRender | None = None,
                   project_cut: Callable[[Path], "Timeline"] | None = None) -> None:
    """``shotsmith render``: an edit plan rendered here, a project folder through ``project_render`` (and,
    for ``--print-command``, the timeline ``project_cut`` says that render would render)."""
    from shotsmith.tools.presets import PRESETS, apply_preset
    from shotsmith.tools.encoding import preview_settings, settings_for_output

    timeline, resolve, protected, _store = _load(source)
    if _store is not None and not timeline.clips and _store.project.plan is None:
        # a new project, or one undone back before its first plan
        raise InvalidInputError(f"{source} has no clips to render yet",
                                hint="plan and generate the shots first: shotsmith run, or chat")
    if _store is not None and print_command and project_cut is not None:
        timeline = project_cut(_store.root)
    settings = timeline.output
    if preset:
        settings = apply_preset(settings, preset)
        wanted = PRESETS[preset.lower()].suffix
        if output.suffix.lower() != wanted and not (wanted == ".mp4" and output.suffix.lower() in (".m4v", ".mkv")):
            raise InvalidInputError(f"preset {preset} writes {wanted} files, but the output is {output.name}",
                                    hint=f"use -o {output.with_suffix(wanted).name}")
    if resolution or crf is not None:
        settings = _resize(settings, resolution, crf)
    if print_command:
        final = settings_for_output(settings, output)
        final = preview_settings(final) if preview else final
        if _store is not None and preview:
            typer.echo("# a project's preview makes only the segments changed since its last preview; this is "
                       "the preview from scratch")
        elif _store is not None and not full:
            typer.echo("# a project's render re-encodes only the segments that changed; this is the render "
                       "from scratch (--full)")
        for comment, args in render_commands(timeline, final, resolve=resolve, output=output, fast=preview):
            typer.echo(f"# {comment}")
            typer.echo(" ".join(_quote(a) for a in ["ffmpeg", *args]))
        return
    if _store is not None and project_render is not None:
        result = project_render(_store.root, output, preview=preview, full=full,
                                settings=None if settings == timeline.output else settings)
    else:
        from shotsmith.tools.incremental import render as render_cut

        state = _store.root / ".shotsmith" if _store is not None else None
        result = render_cut(timeline, output, cache=state / "segments" if state else None, full=full,
                            preview_cache=state / "previews" if state else None,
                            proxies=state / "proxies" if state else None, resolve=resolve, protected=protected,
                            settings=settings, preview=preview, cancel=threading.Event(),
                            on_progress=_progress_printer(timeline.duration_s))
    typer.echo(f"{result.path}  {result.width}x{result.height}  {result.duration_s:.2f}s  "
               f"{result.size_bytes / 1e6:.1f} MB" + (f"  {result.loudness.describe()}" if result.loudness else ""))


def register(app: typer.Typer) -> None:
    @app.command("presets")
    def presets_cmd() -> None:
        """List the export presets."""
        from shotsmith.tools.presets import PRESETS

        for p in PRESETS.values():
            typer.echo(f"{p.name:<8} {p.suffix:<6} {p.description}")

    @app.command("export-plan")
    def export_plan_cmd(
        project: Path = typer.Argument(..., help="A project folder."),
        output: Path = typer.Option(..., "--output", "-o", help="Plan file to write (.yaml, .yml or .json)."),
    ) -> None:
        """Write a project's timeline as an edit plan (YAML/JSON) that `shotsmith render` can render."""
        from shotsmith.tools.editplan import save_plan

        timeline, resolve, protected, _ = _load(project)
        if output.resolve() in {Path(p).resolve() for p in protected}:
            raise InvalidInputError(f"refusing to overwrite the source file {output}")
        save_plan(timeline, output, resolve=resolve)
        typer.echo(f"{output}  {len(timeline.clips)} clips  {timeline.duration_s:.2f}s")

    @app.command("check-plan")
    def check_plan_cmd(plan: Path = typer.Argument(..., help="An edit plan (.yaml/.yml/.json).")) -> None:
        """Validate an edit plan and its media without rendering; print what it would make."""
        import tempfile as _tf

        from shotsmith.tools.render import compile_timeline

        timeline, resolve, _p, _s = _load(plan)
        with _tf.TemporaryDirectory() as scratch:
            compiled = compile_timeline(timeline, resolve=resolve, scratch=Path(scratch))
        o = compiled.settings
        typer.echo(f"ok: {len(timeline.clips)} clips, {len(timeline.titles)} titles, {len(timeline.audio)} audio tracks, "
                   f"{len(timeline.overlays)} overlays -> {o.width}x{o.height} {o.fps:g} fps, {compiled.duration_s:.2f}s")

    @app.command("export-srt")
    def export_srt_cmd(
        source: Path = typer.Argument(..., help="An edit plan or a project folder."),
        output: Path = typer.Option(..., "--output", "-o", help="The .srt file to write."),
    ) -> None:
        """Write the captions of an edit plan or project as a sidecar SRT file."""
        from shotsmith.tools.subtitles import write_srt

        timeline, _resolve, protected, _ = _load(source)
        if output.suffix.lower() != ".srt":
            raise InvalidInputError(f"{output.name} should end in .srt")
        if output.resolve() in {Path(p).resolve() for p in protected}:
            raise InvalidInputError(f"refusing to overwrite the source file {output}")
        count = write_srt(timeline.captions, output)
        typer.echo(f"{output}  {count} cues")


def _resize(settings, resolution: str | None, crf: int | None):
    from shotsmith.formats import RESOLUTIONS

    update: dict = {}
    if crf is not None:
        update["crf"] = crf
    if resolution:
        if resolution not in RESOLUTIONS:
            raise InvalidInputError(f"resolution {resolution!r} is not one of {', '.join(RESOLUTIONS)}")
        short = RESOLUTIONS[resolution]
        factor = short / min(settings.width, settings.height)
        update["width"] = max(16, round(settings.width * factor / 2) * 2)
        update["height"] = max(16, round(settings.height * factor / 2) * 2)
    return settings.model_copy(update=update)


def render_commands(timeline, settings, *, resolve, output: Path, fast: bool) -> list[tuple[str, list[str]]]:
    """(what it does, ffmpeg arguments) of every ffmpeg command a one-pass render runs, in order.

    Built by the render's own code (:func:`~shotsmith.tools.render.normalising_measurement`, then
    :func:`~shotsmith.tools.render.compile_timeline`), so what ``render --print-command`` prints is what
    ``render`` runs. With a loudness target the render's gain comes from measuring the mix, so the
    measurement passes run here (sound only, no encode) and the last command carries the gain they found.
    The files they name in the scratch folder (the measurement, a long graph's script) are removed after.
    """
    from shotsmith.tools.render import compile_timeline, normalising_measurement

    measures: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="shotsmith-render-") as scratch:
        loudness = normalising_measurement(timeline, settings, resolve=resolve, scratch=Path(scratch),
                                           on_command=measures.append)
        compiled = compile_timeline(timeline, settings, resolve=resolve, scratch=Path(scratch), output=output,
                                    loudness=loudness, fast=fast)
    steps = [("measure the mix's loudness (EBU R128, sound only)", measures[0])] if measures else []
    for again in measures[1:]:  # each pass through the limiter steps the gain closer to the target
        steps.append(("measure it again after the limiter the gain needs", again))
    if loudness is None:
        gain = ""
    elif loudness.integrated_lufs < -69:
        gain = " (the mix is silent: no gain)"
    else:
        gain = (f" with the measured gain: {settings.loudness_lufs - loudness.integrated_lufs:+.2f} dB to "
                f"{settings.loudness_lufs:g} LUFS")
    steps.append((f"render{gain}", compiled.args))
    return steps


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
