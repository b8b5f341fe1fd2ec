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

from shotsmith.backends.base import Backend, GenerationMode, GenerationRequest, MediaKind
from shotsmith.backends.errors import AuthError
from shotsmith.backends.registry import backend_names, backend_sources, get_backend
from shotsmith.backends.remote import RemoteBackend
from shotsmith.errors import InvalidInputError
from shotsmith.formats import frame_size


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


#: The text priced in a voice backend's example estimate: a thousand characters of narration.
_EXAMPLE_SPEECH = ("Fresh bread every morning, baked by hand since nineteen eighty. " * 16)[:1000]


def _example_request(backend: Backend) -> GenerationRequest:
    caps = backend.capabilities()
    if MediaKind.VOICE in caps.kinds and not caps.kinds & {MediaKind.VIDEO, MediaKind.IMAGE}:
        return GenerationRequest(prompt=_EXAMPLE_SPEECH, mode=GenerationMode.TEXT_TO_SPEECH,
                                 duration_s=round(len(_EXAMPLE_SPEECH.split()) / 2.5, 1),
                                 voice=caps.voices[0] if caps.voices else None)
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
    if MediaKind.VOICE in caps.kinds:
        parts.append(f"{len(caps.voices)} voices" if caps.voices else "voices: any id")
        parts.append("word timings" if caps.word_timings else "timings estimated")
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


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _prompt_limit(caps) -> str:
    return (f"{caps.max_prompt_chars} "
            f"{'UTF-16 units (an emoji counts 2)' if caps.prompt_length_unit == 'utf16' else 'characters'}")


def video_rows(backend: Backend) -> list[tuple[str, str]]:
    """What a video backend makes: lengths, frames, rates and the controls it honours."""
    caps = backend.capabilities()
    return [
        ("durations", _durations(backend)),
        ("aspect ratios", ", ".join(caps.aspect_ratios)),
        ("resolutions", ", ".join(caps.resolutions)),
        ("fps", ", ".join(map(str, caps.fps))),
        ("max prompt", _prompt_limit(caps)),
        ("seed", _yes(caps.supports_seed)),
        ("negative prompt", _yes(caps.supports_negative_prompt)),
        ("camera control", _yes(caps.supports_camera_control)),
        ("last frame", "yes (image-to-video to a given end frame)" if caps.supports_end_image else "no"),
        ("extends clips", _extends(caps)),
        ("references", f"up to {caps.max_references} images" if caps.max_references else "none"),
        ("audio", "generated with the video" if caps.generates_audio else "none (silent clips)"),
    ]


def _extends(caps) -> str:
    """Whether a shot made longer than its clip is extended (and by how much each time) or made again."""
    from shotsmith.backends.base import GenerationMode

    if GenerationMode.VIDEO_EXTEND not in caps.modes:
        return "no (a longer shot is generated again)"
    steps = caps.extension_s or caps.durations_s
    added = f", {' or '.join(f'{s:g}' for s in steps)} s at a time" if steps else ""
    return f"yes{added} (priced like a create of those seconds)"


def image_rows(backend: Backend) -> list[tuple[str, str]]:
    """What an image backend makes: the pixel sizes per resolution, references and modes."""
    caps = backend.capabilities()
    sizes = []
    for resolution in caps.resolutions:
        try:
            sizes.append(f"{resolution}: " + ", ".join("x".join(map(str, frame_size(a, resolution)))
                                                       for a in caps.aspect_ratios))
        except (InvalidInputError, ValueError):
            sizes.append(resolution)
    modes = {GenerationMode.TEXT_TO_IMAGE: "from a prompt", GenerationMode.REFERENCE_TO_IMAGE: "with reference images"}
    return [
        ("image modes", ", ".join(modes.get(m, m.value) for m in caps.modes if m.kind == MediaKind.IMAGE)),
        ("aspect ratios", ", ".join(caps.aspect_ratios)),
        ("sizes", "; ".join(sizes)),
        ("references", f"up to {caps.max_references} reference images per still (cast, product, style)" if caps.max_references
                             else "none"),
        ("max prompt", _prompt_limit(caps)),
        ("seed", _yes(caps.supports_seed)),
    ]


def _audio_format(backend: Backend) -> str:
    """The file a voice backend delivers: its own declaration (``output_format``/``audio_format``), else WAV for
    the built-ins (all write 16-bit PCM), else undeclared (any audio PyAV decodes is accepted)."""
    declared = getattr(backend, "output_format", None) or getattr(backend, "audio_format", None)
    if isinstance(declared, str) and declared:
        return declared
    if backend_sources().get(backend.name) == "built-in":
        return "wav (16-bit PCM)"
    return "not declared (any audio PyAV decodes is accepted)"


def voice_rows(backend: Backend) -> list[tuple[str, str]]:
    """What a voice backend speaks: voices, languages, file format, word timings, and what it honours."""
    caps = backend.capabilities()
    custom = getattr(backend, "allows_custom_voices", None)
    if caps.voices:
        shown = ", ".join(caps.voices[:24]) + (f" … ({len(caps.voices)} in all)" if len(caps.voices) > 24 else "")
        voices = f"{shown} (first = default)"
    elif callable(custom) and custom():
        voices = "any voice id of your account"
    else:
        voices = "none found (see the backend's docs for where its voices come from)"
    return [
        ("voices", voices),
        ("languages", ", ".join(caps.languages) if caps.languages else "any it is given"),
        ("formats", _audio_format(backend)),
        ("word timings", "yes, from the voice (captions follow them exactly)" if caps.word_timings else
                         "estimated (from the audio, for captions; docs/voice.md)"),
        ("instructions", "yes (tone, pace)" if caps.supports_instructions else "no"),
        ("seed", _yes(caps.supports_seed)),
        ("max text", _prompt_limit(caps)),
    ]


def _cost_rows(backend: Backend) -> list[tuple[str, str]]:
    caps = backend.capabilities()
    example = _example_request(backend)
    estimate = backend.estimate_cost(example)
    if example.mode == GenerationMode.TEXT_TO_SPEECH:
        rows = [("price unit", f"{estimate.amount:g} {estimate.unit} per 1000 characters of text (an estimate)")]
    elif caps.kinds == {MediaKind.IMAGE}:
        rows = [("price unit", f"{estimate.amount:g} {estimate.unit} per image at {example.resolution} "
                               "(an estimate)")]
    else:
        rows = [("example cost", f"{estimate.amount:g} {estimate.unit} for {example.duration_s:g} s at "
                                 f"{example.resolution} (an estimate)")]
    rows.append(("pricing source", estimate.source))
    if estimate.detail:
        rows.append(("pricing detail", estimate.detail))
    return rows


def describe_backend(console: Console, name: str) -> None:
    """Every field a backend declares, by what it makes: video, image and voice backends each get their own."""
    backend = get_backend(name)
    caps = backend.capabilities()
    table = Table(title=escape(f"{name}: {backend.description}"), title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("plugin", backend_sources().get(name, "?")),
        ("model", backend.model or "-"),
        ("kind", "local" if caps.local else "cloud (costs money)" if caps.costs_money else "cloud"),
        ("makes", ", ".join(k.value for k in MediaKind if k in caps.kinds)),
        ("modes", ", ".join(m.value for m in caps.modes)),
    ]
    if MediaKind.VIDEO in caps.kinds:
        rows += video_rows(backend)
    if MediaKind.IMAGE in caps.kinds:
        rows += [r for r in image_rows(backend) if r[0] not in {k for k, _ in rows}]
    if MediaKind.VOICE in caps.kinds:
        rows += voice_rows(backend)
    rows.append(("concurrency", str(caps.max_concurrency)))
    if isinstance(backend, RemoteBackend):
        rows += [("base URL", backend.base_url), ("key", key_status(backend)),
                 ("key variables", ", ".join(backend.key_names())), ("poll interval", f"{backend.poll_interval_s:g} s")]
        rows += list(backend.bounds().items())
    rows += _cost_rows(backend)
    for field, value in rows:
        table.add_row(escape(field), escape(str(value)))
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
