"""``shotsmith backends list`` and ``shotsmith backends info NAME``: what is installed and what it can do.

Registered through the entry-point group ``shotsmith.commands``. Listing never
needs a key: it only says whether the key a backend reads is set, never what
it is.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from shotsmith.backends.base import Backend, GenerationRequest, MediaKind
from shotsmith.backends.errors import AuthError
from shotsmith.backends.registry import backend_names, backend_sources, get_backend
from shotsmith.backends.remote import RemoteBackend


def _durations(backend: Backend) -> str:
    caps = backend.capabilities()
    if caps.durations_s:
        return ", ".join(f"{d:g}" for d in caps.durations_s) + " s"
    return f"{caps.min_duration_s:g}–{caps.max_duration_s:g} s"


def key_status(backend: Backend) -> str:
    """"set", "missing: VAR" or "not needed"; never the key itself."""
    if not isinstance(backend, RemoteBackend):
        return "not needed"
    try:
        backend.check_keys()
    except AuthError:
        return "missing: " + ", ".join(backend.key_names())
    return "set"


def _example_request(backend: Backend) -> GenerationRequest:
    caps = backend.capabilities()
    duration = caps.durations_s[0] if caps.durations_s else max(caps.min_duration_s, min(5.0, caps.max_duration_s))
    return GenerationRequest(prompt="example", duration_s=duration, aspect_ratio=caps.aspect_ratios[0],
                             resolution=caps.resolutions[0], fps=caps.fps[0], mode=caps.modes[0])


def _summary(backend: Backend) -> Text:
    """Description, then what it makes, in words that wrap (the table's only wrapping column)."""
    caps = backend.capabilities()
    parts = [", ".join(m.value for m in caps.modes)]
    if MediaKind.VIDEO in caps.kinds:
        parts.append(_durations(backend))
    if caps.kinds & {MediaKind.VIDEO, MediaKind.IMAGE}:
        parts.append(", ".join(caps.resolutions))
    parts += [f"{caps.max_concurrency} at a time", f"key {key_status(backend)}"]
    lines = [backend.description] if backend.description else []
    return Text("\n").join([*map(Text, lines), Text(" · ".join(parts), style="dim")])


def list_backends(console: Console) -> None:
    """One row per backend. Only the summary column wraps, at spaces: names and headers never break
    mid-word, so the table reads at 80 columns (``backends info NAME`` has the rest)."""
    sources = backend_sources()
    table = Table(title="Installed backends", title_justify="left")
    table.add_column("name", no_wrap=True, style="bold")
    table.add_column("makes", no_wrap=True)
    table.add_column("what it does", ratio=1, overflow="fold")
    table.add_column("from", no_wrap=True)
    for name in backend_names():
        backend = get_backend(name)
        caps = backend.capabilities()
        makes = ", ".join(sorted(caps.kinds)) + (" · local" if caps.local else " · cloud")
        table.add_row(Text(name), Text(makes), _summary(backend), Text(sources.get(name, "?")))
    console.print(table)


def describe_backend(console: Console, name: str) -> None:
    backend = get_backend(name)
    caps = backend.capabilities()
    table = Table(title=escape(f"{name}: {backend.description}"), title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("plugin", backend_sources().get(name, "?")),
        ("model", backend.model or "-"),
        ("kind", "local" if caps.local else "cloud (costs money)" if caps.costs_money else "cloud"),
        ("modes", ", ".join(m.value for m in caps.modes)),
        ("durations", _durations(backend)),
        ("aspect ratios", ", ".join(caps.aspect_ratios)),
        ("resolutions", ", ".join(caps.resolutions)),
        ("fps", ", ".join(map(str, caps.fps))),
        ("max prompt", f"{caps.max_prompt_chars} "
                       f"{'UTF-16 units (an emoji counts 2)' if caps.prompt_length_unit == 'utf16' else 'characters'}"),
        ("seed", "yes" if caps.supports_seed else "no"),
        ("negative prompt", "yes" if caps.supports_negative_prompt else "no"),
        ("camera control", "yes" if caps.supports_camera_control else "no"),
        ("audio", "generated with the video" if caps.generates_audio else "none (silent clips)"),
        ("concurrency", str(caps.max_concurrency)),
    ]
    if isinstance(backend, RemoteBackend):
        rows += [("base URL", backend.base_url), ("key", key_status(backend)),
                 ("key variables", ", ".join(backend.key_names())), ("poll interval", f"{backend.poll_interval_s:g} s")]
        rows += list(backend.bounds().items())
    example = _example_request(backend)
    estimate = backend.estimate_cost(example)
    rows += [("example cost", f"{estimate.amount:g} {estimate.unit} for {example.duration_s:g} s at "
                              f"{example.resolution} (an estimate)"),
             ("pricing source", estimate.source)]
    if estimate.detail:
        rows.append(("pricing detail", estimate.detail))
    for field, value in rows:
        table.add_row(escape(field), escape(value))
    console.print(table)


def register_commands(app: typer.Typer) -> None:
    backends_app = typer.Typer(help="List installed backends (video, image, voice) and what each can do.",
                               no_args_is_help=True)

    @backends_app.command("list")
    def list_command() -> None:
        """List installed backends (built-in and plugins) with their main capabilities."""
        list_backends(Console())

    @backends_app.command("info")
    def info_command(name: str = typer.Argument(..., help="Backend name, as `backends list` shows it.")) -> None:
        """Show everything a backend declares: capabilities, key status, pricing source."""
        describe_backend(Console(), name)

    app.add_typer(backends_app, name="backends")

    plugin_app = typer.Typer(help="Start a backend plugin package (video, image or voice).", no_args_is_help=True)

    @plugin_app.command("new")
    def new_command(
        name: str = typer.Argument(..., help="The backend's name as users will type it, e.g. lavfi."),
        kind: str = typer.Option("video", "--kind", "-k", help="What it makes: video, image or voice."),
        remote: bool = typer.Option(False, "--remote", help="A cloud API adapter, tested against a local mock."),
        folder: Path = typer.Option(Path("."), "--dir", "-d", help="Where to create shotsmith-NAME/."),
    ) -> None:
        """Write a plugin package that installs and passes its own tests as generated."""
        from shotsmith.backends import scaffold

        spec = scaffold.PluginSpec(scaffold.check_name(name), scaffold.check_kind(kind), remote)
        scaffold.check_not_builtin(spec.name)
        target = scaffold.write_plugin(spec, folder)
        console = Console()
        console.print(Text.assemble(("✓", "bold green"), f" wrote {target} ({spec.kind} backend "
                                    f"{spec.name!r}{', remote' if remote else ''})"), soft_wrap=True)
        where = str(target) if target.is_absolute() else f"./{target.as_posix()}"  # pip needs a path-looking path
        for line in (f"pip install -e '{where}[test]'", f"pytest {where}", "shotsmith backends list"):
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)

    app.add_typer(plugin_app, name="plugin")
