"""User settings: a TOML file overlaid by ``SHOTSMITH_*`` environment variables.

The file is ``$SHOTSMITH_CONFIG`` or ``~/.config/shotsmith/config.toml``::

    backend = "animatic"
    resolution = "720p"
    llm = "openai:gpt-4.1-mini"
    llm_base_url = "http://localhost:11434/v1"
    executor = "local"        # or "ray": local models' shots run on a Ray cluster (docs/ray.md)

    [ray]                     # only with executor = "ray"
    address = "ray://head:10001"

    [secrets]                 # only if you prefer this to environment variables
    RUNWAYML_API_SECRET = "..."

    [backends.kling]
    base_url = "https://api-singapore.klingai.com"

Secrets are read through :func:`secret` and held as ``SecretStr`` so they never
print; nothing here is ever written into a project folder.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError

from shotsmith.errors import InvalidInputError


class Settings(BaseModel):
    backend: str = "animatic"
    resolution: str = "720p"
    fps: int = Field(default=30, ge=1, le=120)
    llm: str | None = None
    llm_base_url: str | None = None
    #: Where local models' shots run: ``local`` (this process) or ``ray`` (a Ray cluster; ``[ray]`` configures it).
    executor: Literal["local", "ray"] = "local"
    ray: dict[str, Any] = Field(default_factory=dict)
    backends: dict[str, dict[str, Any]] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict)


_ENV_FIELDS = {"SHOTSMITH_BACKEND": "backend", "SHOTSMITH_RESOLUTION": "resolution", "SHOTSMITH_FPS": "fps",
               "SHOTSMITH_LLM": "llm", "SHOTSMITH_LLM_BASE_URL": "llm_base_url",
               "SHOTSMITH_EXECUTOR": "executor"}


def config_path() -> Path:
    explicit = os.environ.get("SHOTSMITH_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "shotsmith" / "config.toml"


def load_settings(path: Path | None = None) -> Settings:
    path = path or config_path()
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInputError(f"config file {path} is unreadable: {exc}") from exc
    for env, field in _ENV_FIELDS.items():
        if os.environ.get(env):
            data[field] = os.environ[env]
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInputError(f"config {path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from exc


def secret(*names: str, settings: Settings | None = None) -> SecretStr | None:
    """The first of ``names`` set in the environment, else in the config's [secrets]."""
    from shotsmith.scrub import register_secret

    for name in names:
        if os.environ.get(name):
            register_secret(os.environ[name])
            return SecretStr(os.environ[name])
    settings = settings or load_settings()
    for name in names:
        if name in settings.secrets:
            register_secret(settings.secrets[name].get_secret_value())
            return settings.secrets[name]
    return None
