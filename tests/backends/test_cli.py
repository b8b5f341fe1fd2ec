"""``shotsmith backends list`` / ``info``: what is installed, what it can do, never a key."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from shotsmith.backends.cli import register_commands


def invoke(*args, env=None):
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test root"""

    register_commands(app)
    return CliRunner().invoke(app, ["backends", *args], env={"COLUMNS": "220", **(env or {})})


def test_list_shows_every_builtin_with_key_status():
    result = invoke("list", env={"FAL_KEY": "fal-very-secret-value"})
    assert result.exit_code == 0, result.output
    for name in ("animatic", "runway", "kling", "pika", "luma", "veo"):
        assert name in result.output
    assert "missing: RUNWAYML_API_SECRET" in result.output
    assert "fal-very-secret-value" not in result.output
    assert "│ sora" not in result.output.lower()  # no sora backend (veo's description may mention the retired API)


def test_info_shows_capabilities_and_pricing_source():
    result = invoke("info", "runway", env={"RUNWAYML_API_SECRET": "sk-secret-never-print"})
    assert result.exit_code == 0, result.output
    for text in ("gen4.5", "text-to-video", "1000 UTF-16 units", "https://api.dev.runwayml.com", "credits",
                 "an estimate", "[backends.runway.prices]"):
        assert text in result.output, text
    assert "sk-secret-never-print" not in result.output
    assert "│ key             │ set" in result.output


def test_info_unknown_backend_is_a_clean_error():
    result = invoke("info", "sora")
    assert result.exit_code != 0
    assert "unknown backend 'sora'" in str(result.exception)


def test_info_documents_every_wait_bound():
    result = invoke("info", "kling")
    assert result.exit_code == 0, result.output
    for text in ("request timeout", "60 s per HTTP exchange", "task timeout", "1800 s", "status outage", "300 s",
                 "download", "600 s in total", "32 kB/s", "500 MB", "4 attempts", "never repeated"):
        assert text in result.output, text
    veo = invoke("info", "veo")
    assert "veo-3.1-generate-preview" in veo.output and "generated with the video" in veo.output
