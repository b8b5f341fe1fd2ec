"""Every Python package folder ships in the wheel, and the CLI shows errors verbatim."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config["package-dir"]
    listed = set(config["packages"])
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]) if rel.parts else package)
    assert found - listed == set(), "add these to [tool.setuptools] packages or the wheel will lack them"


def test_error_text_with_brackets_is_not_eaten_as_markup(capsys):
    from shotsmith.cli import build_app, main
    from shotsmith.errors import InvalidInputError

    def boom() -> None:
        raise InvalidInputError("bad [secrets] table", hint="set KEY in [secrets]")

    app = build_app()
    app.command("boom-test")(boom)
    import shotsmith.cli as cli

    original = cli.build_app
    cli.build_app = lambda: app
    try:
        assert main(["boom-test"]) == 2
    finally:
        cli.build_app = original
    err = capsys.readouterr().err
    assert "bad [secrets] table" in err and "set KEY in [secrets]" in err
