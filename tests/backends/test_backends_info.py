"""``shotsmith backends info NAME`` shows each kind's own fields: a voice backend its voices, languages, format,
word timings and price per text; an image backend its sizes, reference images and modes; a video backend its
durations and frames. Fields of another kind (fps for a voice) are not shown."""

from __future__ import annotations

import re

import typer
from typer.testing import CliRunner

from shotsmith.backends.cli import register_commands


def info(name: str, env: dict | None = None) -> dict[str, str]:
    """The info table as {field: value} (wrapped values joined)."""
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """test root"""

    register_commands(app)
    result = CliRunner().invoke(app, ["backends", "info", name], env={"COLUMNS": "240", **(env or {})})
    assert result.exit_code == 0, result.output
    rows: dict[str, str] = {}
    last = None
    for line in result.output.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")] if line.startswith("│") else None
        if not cells or len(cells) != 2:
            continue
        field, value = cells
        if field:
            rows[field], last = value, field
        elif last:
            rows[last] += " " + value
    return rows


def test_a_voice_backend_shows_voices_languages_format_timings_and_price_per_text():
    rows = info("espeak")
    assert rows["makes"] == "voice"
    assert rows["voices"].startswith("en-us,") and "(first = default)" in rows["voices"]
    assert rows["languages"] == "any it is given"
    assert rows["formats"] == "wav (16-bit PCM)"
    assert rows["word timings"].startswith("yes")
    assert rows["price unit"] == "0 USD per 1000 characters of text (an estimate)"
    for video_only in ("fps", "durations", "resolutions", "aspect ratios", "camera control", "example cost"):
        assert video_only not in rows, video_only


def test_cloud_voices_show_their_format_timings_and_a_price_per_1000_characters():
    openai = info("openai-speech")
    assert "coral" in openai["voices"] and openai["word timings"].startswith("estimated (")
    assert openai["instructions"].startswith("yes")
    assert re.fullmatch(r"[\d.]+ USD per 1000 characters of text \(an estimate\)", openai["price unit"])
    assert float(openai["price unit"].split()[0]) > 0
    eleven = info("elevenlabs", env={"ELEVENLABS_API_KEY": "xi-secret-never-shown"})
    assert eleven["voices"] == "any voice id of your account"
    assert eleven["formats"] == "mp3_44100_128" and eleven["word timings"].startswith("yes")
    assert eleven["key"] == "set" and "xi-secret-never-shown" not in str(eleven)


def test_a_local_voice_without_models_says_none_were_found():
    rows = info("piper", env={"SHOTSMITH_PIPER_MODELS": ""})
    assert rows["voices"].startswith("none found")
    assert rows["formats"] == "wav (16-bit PCM)"


def test_an_image_backend_shows_sizes_references_and_modes():
    rows = info("sketch")
    assert rows["makes"] == "image"
    assert rows["image modes"] == "from a prompt, with reference images"
    assert "720p: 1280x720, 720x1280, 720x720, 720x900" in rows["sizes"]
    assert rows["references"].startswith("up to 4 reference images per still")
    assert rows["price unit"] == "0 USD per image at 360p (an estimate)"
    for video_only in ("fps", "durations", "camera control", "audio", "voices"):
        assert video_only not in rows, video_only
    flux = info("flux")
    assert "1080p: 1920x1080" in flux["sizes"] and float(flux["price unit"].split()[0]) > 0


def test_a_video_backend_keeps_its_video_fields():
    rows = info("animatic")
    assert rows["makes"] == "video"
    for field in ("durations", "aspect ratios", "resolutions", "fps", "camera control", "last frame", "audio",
                  "example cost"):
        assert field in rows, field
    assert rows["fps"] == "24, 25, 30, 60"
    assert "voices" not in rows and "sizes" not in rows
