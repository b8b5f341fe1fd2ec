"""The ``shotsmith`` command line.

The core owns only the application object and error handling. Commands come
from the feature packages through the entry-point group ``shotsmith.commands``
(each entry is a ``register_commands(app)`` function), which keeps the core
free of imports from ``tools``, ``backends``, ``assistant`` and ``tui``, and
lets plugins add commands the same way.

Exit statuses (:func:`main`):

* 0 done; 1 a failure (a bad file, a failing backend, an output that cannot be written);
* 2 a usage error: an unknown command or option, a missing argument, a bad value,
  an output path that cannot be one (its parent is a file). The line
  ``error: …`` is followed by ``usage: …  (see shotsmith CMD --help)``. ``shotsmith``
  with no command, or a group such as ``shotsmith backends`` without its
  subcommand, prints the help and exits 2 as well (as click >= 8.2 does);
* 3 spending refused (``--max-cost``, an approval that was not given);
* 130 cancelled with Ctrl-C, 143 with SIGTERM (129 with SIGHUP): one line, the error's ``report``
  (``cancelled``; ``stopped`` for ``web``), ffmpeg children stopped, partial files removed
  (:mod:`shotsmith.interrupts`).

Every line printed here goes through :func:`shotsmith.scrub.scrub`, and so does
every log record (``--verbose``). The exceptions of typer's click (a vendored
copy since typer 0.26, the ``click`` package before) are recognised by class
name, so the handling does not depend on which one is installed.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import os
import re
import sys
import traceback

import typer
from rich.console import Console
from rich.markup import escape

from shotsmith import __version__, interrupts
from shotsmith.errors import CancelledError, ShotsmithError
from shotsmith.scrub import install_log_filter, scrub

COMMAND_GROUP = "shotsmith.commands"

EXIT_USAGE = 2

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


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
        install_log_filter()

    for entry in sorted(importlib.metadata.entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        try:
            entry.load()(app)
        except Exception as exc:  # one broken command package (a plugin) must not take the whole CLI down
            _say("warning:", f"the {entry.name} commands ({entry.value}) could not be loaded: "
                             f"{type(exc).__name__}: {exc}", style="yellow")
    return app


# -- printing ---------------------------------------------------------------------------

def _say(label: str, text: str, style: str = "bold red") -> None:
    """One scrubbed line on stderr; user text is escaped so "[secrets]" is not read as markup."""
    err_console.print(f"[{style}]{label}[/] {escape(scrub(text))}")


def _hint(text: str | None) -> None:
    if text:
        err_console.print(f"[dim]hint: {escape(scrub(text))}[/]")


def _cancelled(exc: BaseException | None) -> int:
    """The one cancellation report: ``cancelled`` (and a hint the job left), exit 130 / 143."""
    interrupts.settle()
    err_console.print(f"[bold red]{escape(exc.report if isinstance(exc, CancelledError) else 'cancelled')}[/]")
    if isinstance(exc, ShotsmithError):
        _hint(exc.hint)
    return interrupts.exit_code_for(exc)


# -- typer's click exceptions, whichever click that is ------------------------------------

def _kind(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


_METAVAR = re.compile(r"\{([A-Za-z0-9_-]+)\}")


def _usage_line(ctx) -> str:
    """``shotsmith run [OPTIONS] BRIEF`` for a click context (typer >= 0.26 writes ``{brief}``)."""
    usage = ctx.get_usage().strip()
    usage = re.sub(r"^usage:\s*", "", usage, flags=re.IGNORECASE)
    return _METAVAR.sub(lambda m: m.group(1).upper().replace("-", "_"), " ".join(usage.split()))


def _usage_error(exc: Exception) -> int:
    if "NoArgsIsHelpError" in _kind(exc):
        # No command given: the help is the answer, but it is still a usage error (click >= 8.2).
        # typer's rich help has already been printed (on stdout) while the exception was made.
        if exc.format_message().strip():  # type: ignore[attr-defined]
            exc.show()  # type: ignore[attr-defined]
        return EXIT_USAGE
    _say("error:", exc.format_message())  # type: ignore[attr-defined]
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        names = getattr(ctx, "help_option_names", None) or ["--help"]
        help_option = "--help" if "--help" in names else names[0]
        err_console.print(f"[dim]usage: {escape(_usage_line(ctx))}  (see {escape(ctx.command_path)} {help_option})[/]")
    return int(getattr(exc, "exit_code", EXIT_USAGE))


def _click_error(exc: Exception) -> int | None:
    """Exit status for typer's/click's own exceptions (None: not one of them)."""
    kinds = _kind(exc)
    if "UsageError" in kinds:
        return _usage_error(exc)
    if "ClickException" in kinds:
        _say("error:", exc.format_message())  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", 1))
    if "Exit" in kinds and isinstance(getattr(exc, "exit_code", None), int):
        return exc.exit_code  # type: ignore[attr-defined]
    if "Abort" in kinds:
        # click turns Ctrl-C (and end of input) at a prompt into Abort.
        if isinstance(exc.__context__, KeyboardInterrupt) or interrupts.cancel_signal() is not None:
            return _cancelled(exc.__context__)
        _say("error:", "aborted")
        return 1
    return None


# -- the entry point ----------------------------------------------------------------------

def _run(argv: list[str] | None) -> int:
    from shotsmith.media import ffmpeg

    already_running = set(ffmpeg.live_children())  # main() called in a process that has its own jobs
    try:
        try:
            app = build_app()
            result = app(args=argv, prog_name="shotsmith", standalone_mode=False)
        finally:
            # Whatever happened, no ffmpeg this command started outlives it.
            ffmpeg.stop_children(only=lambda proc: proc not in already_running)
        code = result if isinstance(result, int) and not isinstance(result, bool) else 0
    except (KeyboardInterrupt, CancelledError) as exc:
        return _cancelled(exc)
    except ShotsmithError as exc:
        _say("error:", exc.message)
        _hint(exc.hint)
        return exc.exit_code
    except BrokenPipeError:
        # `shotsmith backends list | head -1`: the reader went away; nothing to report. Point stdout at
        # /dev/null so the interpreter's final flush does not fail again (the Python docs' recipe).
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1  # as typer itself does for a broken pipe inside a command
    except Exception as exc:
        code_or_none = _click_error(exc)
        if code_or_none is not None:
            code = code_or_none
        elif isinstance(exc, OSError):
            where = f"{exc.filename}: " if exc.filename else ""
            _say("error:", f"{where}{exc.strerror or exc}")
            return 1
        else:
            # A bug in shotsmith: keep the traceback for the report, without any secret in it.
            err_console.print(escape(scrub("".join(traceback.format_exception(exc)))), markup=True)
            _say("error:", f"internal error: {type(exc).__name__}: {exc}")
            return 1
    # typer turns KeyboardInterrupt into exit 130 (and old click into Abort) before it gets here.
    if code == interrupts.EXIT_INTERRUPTED or interrupts.cancel_signal() is not None:
        return _cancelled(None)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status: errors become one clean line (see the module doc)."""
    with interrupts.cancellation():
        try:
            return _run(argv)
        except (KeyboardInterrupt, CancelledError) as exc:  # a second signal while the first was reported
            interrupts.settle()
            return interrupts.exit_code_for(exc)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
