"""The plugin manager: built-in backends and entry-point plugins, loaded lazily once.

Plugins are discovered from the entry-point group ``shotsmith.backends`` the first
time anything asks for a backend, never as a side effect of ``import shotsmith``.
``SHOTSMITH_LOAD_PLUGINS`` limits which entry-point plugins load: a comma list of
distribution names, or empty to load none (tests use it); unset loads all.
Built-in backends are registered as plugins too, through the same hook.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading

import pluggy

from shotsmith.backends import hookspecs
from shotsmith.backends.base import Backend
from shotsmith.errors import InvalidInputError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "shotsmith.backends"
BUILTIN_PLUGINS = (
    "shotsmith.backends.animatic",
    "shotsmith.backends.runway",
    "shotsmith.backends.kling",
    "shotsmith.backends.fal",
    "shotsmith.backends.luma",
    "shotsmith.backends.veo",
    "shotsmith.backends.local_diffusion",
    "shotsmith.backends.runway_image",
    "shotsmith.backends.luma_image",
    "shotsmith.backends.flux_image",
    "shotsmith.backends.gemini_image",
    "shotsmith.backends.uploaders",
    "shotsmith.backends.espeak",
    "shotsmith.backends.openai_speech",
    "shotsmith.backends.elevenlabs",
)

_lock = threading.Lock()
_pm: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    global _pm
    with _lock:
        if _pm is None:
            _pm = _build_plugin_manager()
        return _pm


def _build_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("shotsmith")
    pm.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # an optional extra (e.g. diffusers) not installed
            log.debug("built-in plugin %s unavailable: %s", name, exc)
            continue
        pm.register(module, name=name)
    allowed = os.environ.get("SHOTSMITH_LOAD_PLUGINS")
    if allowed is None:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    else:
        wanted = {n.strip() for n in allowed.split(",") if n.strip()}
        for dist in importlib.metadata.distributions():
            if dist.metadata["Name"] not in wanted:
                continue
            for ep in dist.entry_points:
                if ep.group == ENTRY_POINT_GROUP and pm.get_plugin(ep.name) is None:
                    pm.register(ep.load(), name=ep.name)
    return pm


def reset() -> None:
    """Forget loaded plugins (tests, and after installing a plugin in-process)."""
    global _pm
    with _lock:
        _pm = None


def register_plugin(plugin: object, name: str | None = None) -> None:
    """Register a plugin object in code (a module or class with hook implementations)."""
    plugin_manager().register(plugin, name=name)


def _collect() -> tuple[dict[str, type[Backend]], dict[str, str]]:
    found: dict[str, type[Backend]] = {}
    owners: dict[str, str] = {}

    pm = plugin_manager()
    for impl in pm.hook.shotsmith_register_backends.get_hookimpls():
        def register(cls: type, _plugin: str = impl.plugin_name) -> None:
            if not (isinstance(cls, type) and issubclass(cls, Backend)):
                raise TypeError(f"plugin {_plugin} registered {cls!r}, which is not a Backend subclass")
            if cls.name in found and found[cls.name] is not cls:
                raise InvalidInputError(f"backend name {cls.name!r} is registered by both {owners[cls.name]} and {_plugin}")
            found[cls.name] = cls
            owners[cls.name] = _plugin
        hook_args = {"register": register}
        impl.function(**{arg: hook_args[arg] for arg in impl.argnames})
    return found, owners


def backend_classes() -> dict[str, type[Backend]]:
    return _collect()[0]


def backend_sources() -> dict[str, str]:
    """Backend name -> the plugin that registered it ("built-in" for shotsmith's own)."""
    owners = _collect()[1]
    return {name: "built-in" if plugin in BUILTIN_PLUGINS else plugin for name, plugin in owners.items()}


def backend_names() -> list[str]:
    return sorted(backend_classes())


def get_backend(name: str, **options) -> Backend:
    classes = backend_classes()
    if name not in classes:
        raise InvalidInputError(f"unknown backend {name!r}", hint=f"installed: {', '.join(sorted(classes)) or 'none'}")
    return classes[name](**options)
