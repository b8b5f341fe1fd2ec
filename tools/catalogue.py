"""Import every editing-tool module so all tools are registered in :data:`shotsmith.tools.spec.TOOLS`."""

from __future__ import annotations

import importlib

EDIT_MODULES = ("incremental", "arrange", "titles", "audio", "composite", "reframe", "presets", "subtitles", "editplan")


def load_all() -> None:
    for name in EDIT_MODULES:
        importlib.import_module(f"shotsmith.tools.{name}")
