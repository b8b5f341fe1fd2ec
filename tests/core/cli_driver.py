"""Run several ``shotsmith`` command lines in one fresh interpreter and print what each did, as JSON.

``python -m tests.core.cli_driver '[["probe"], ["frobnicate"]]'`` prints
``[{"argv": [...], "code": 2, "out": "...", "err": "..."}, ...]`` on the real
stdout. One process for many command lines keeps the tests that need a separate
interpreter (another typer on ``PYTHONPATH``, another user) quick.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys


def run_all(argvs: list[list[str]]) -> list[dict]:
    from shotsmith.cli import main

    results = []
    for argv in argvs:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # main() must never raise; record it if it does
                code = f"SystemExit({exc.code!r})"
            except BaseException as exc:  # noqa: BLE001 - the test reports it
                code = f"raised {type(exc).__name__}: {exc}"
        results.append({"argv": argv, "code": code, "out": out.getvalue(), "err": err.getvalue()})
    return results


def _versions() -> dict:
    import importlib.metadata
    import importlib.util

    import typer

    info: dict = {"typer": importlib.metadata.version("typer"), "typer_file": typer.__file__}
    spec = importlib.util.find_spec("click")
    info["click"] = importlib.metadata.version("click") if spec else None
    info["click_file"] = spec.origin if spec else None
    return info


if __name__ == "__main__":
    argvs = json.loads(sys.argv[1])
    report = {"versions": _versions(), "results": run_all(argvs)}
    sys.__stdout__.write(json.dumps(report) + "\n")
