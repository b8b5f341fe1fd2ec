"""Fixtures every test area shares: isolated settings, small media made with ffmpeg,
and a guard that fails any test which logs at ERROR (as PySceneDetect's suite does)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from shotsmith.media.ffmpeg import run_ffmpeg


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """No user config, no stray keys, no third-party plugins unless a test asks."""
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(tmp_path_factory.mktemp("cfg") / "config.toml"))
    monkeypatch.setenv("SHOTSMITH_LOAD_PLUGINS", "")
    for var in ("SHOTSMITH_BACKEND", "SHOTSMITH_LLM", "SHOTSMITH_LLM_BASE_URL", "OPENAI_API_KEY",
                "RUNWAYML_API_SECRET", "FAL_KEY", "LUMAAI_API_KEY", "KLING_ACCESS_KEY", "KLING_SECRET_KEY",
                "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    from shotsmith.backends import registry

    registry.reset()
    yield
    registry.reset()


@pytest.fixture(autouse=True)
def _fail_on_error_logs(caplog):
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR and not getattr(r, "expected", False)]
    if errors:
        pytest.fail("test logged at ERROR: " + "; ".join(r.getMessage() for r in errors))


MakeClip = Callable[..., Path]


@pytest.fixture
def make_clip(tmp_path) -> MakeClip:
    """Make a small test clip: ``make_clip("a.mp4", duration=2, size="320x240", fps=30, audio=True)``.

    ``source`` picks the lavfi pattern (testsrc2, mandelbrot, smptebars, or ``color=c=green``).
    """

    def make(name: str = "clip.mp4", *, duration: float = 2.0, size: str = "320x240", fps: float = 30,
             audio: bool = True, source: str = "testsrc2", tone_hz: int = 440, folder: Path | None = None,
             extra: list[str] | None = None) -> Path:
        out = (folder or tmp_path) / name
        out.parent.mkdir(parents=True, exist_ok=True)
        # Length via -t: not every lavfi source (mandelbrot) has a duration option.
        video = f"{source}=s={size}:r={fps}" if "=" not in source else f"{source}:s={size}:r={fps}"
        args = ["-f", "lavfi", "-t", str(duration), "-i", video]
        if audio:
            args += ["-f", "lavfi", "-i", f"sine=f={tone_hz}:sample_rate=48000:d={duration}"]
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", str(int(fps))]
        if audio:
            args += ["-c:a", "aac", "-shortest"]
        args += [*(extra or []), str(out)]
        run_ffmpeg(args)
        return out

    return make
