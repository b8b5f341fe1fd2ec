"""Command-line options that several commands share, defined once.

Why a module: ``run``, ``batch``, ``chat``, ``tui`` and ``web`` all open a
session on the one production path, and an option they have in common must
read, check and fail the same way in each. Each definition here validates in
its callback, so a bad value is the same one line (exit 2) before any session,
folder or Ray instance is started, whichever command it was given to.
"""

from __future__ import annotations

import typer

from shotsmith.backends.executors import check_executor


def _checked_executor(value: str | None) -> str | None:
    """``--executor``'s value, checked (unknown name or ray extra missing: one usage line, exit 2)."""
    return check_executor(value) if value else None


#: ``--executor local|ray``: where a local model's shots run (sets ``ServiceOptions.executor``).
EXECUTOR_OPTION = typer.Option(None, "--executor", callback=_checked_executor,
                               help="Where a local model's shots run: local, or ray (a Ray cluster at $RAY_ADDRESS, "
                                    "else one started here; docs/ray.md). Default: the config's.")
