"""The ``shotsmith`` command line.

The core owns only the application object and error handling. Commands come
from the feature packages through the entry-point group ``shotsmith.commands``
(each entry is a ``register_commands(app)`` function), which keeps the core
free of imports from ``tools``, ``backends``, ``assistant`` and ``tui``, and
lets plugins add commands the same way.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys

import typer
from rich.console import Console
from rich.markup import escape

from shotsmith import __version__
from shotsmith.errors import ShotsmithError

COMMAND_GROUP = "shotsmith.commands"

err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shotsmith {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(name="shotsmith", help="Brief in, finished video out: plan shots, generate, edit, export.",
                      no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                      context_settings={"help_option_names": ["-h", "--help"]})

    @app.callback()
    def main_options(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail to stderr."),
    ) -> None:
        """shotsmith: an agent-driven video editing assistant."""
        logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    for entry in sorted(importlib.metadata.entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        entry.load()(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a ShotsmithError becomes one clean line and its exit code."""
    try:
        app = build_app()
        app(args=argv, prog_name="shotsmith", standalone_mode=False)
    except ShotsmithError as exc:
        # Messages quote user text and file names: escape them so "[secrets]" is not read as markup.
        err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
        if exc.hint:
            err_console.print(f"[dim]hint: {escape(exc.hint)}[/]", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("[bold red]cancelled[/]")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("[bold red]aborted[/]")
        return 1
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
