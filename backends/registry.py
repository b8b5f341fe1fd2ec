"""The plugin manager: built-in backends and entry-point plugins, loaded lazily once.

Plugins are discovered from the entry-point group ``shotsmith.backends`` the first
time anything asks for a backend, never as a side effect of ``import shotsmith``.
``SHOTSMITH_LOAD_PLUGINS`` limits which entry-point plugins load: a comma list of
names, or empty to load none (tests use it); unset loads all. A name may be the
entry-point name users see in ``backends list`` (``lavfi``) or the distribution
they installed (``shotsmith-lavfi``): both work, so the wrong guess never
silently loads nothing. Plugins that were not loaded, and why (filtered out, or
failed to import), are remembered so an unknown backend's error can say so.
Built-in backends are registered as plugins too, through the same hook.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import re
import threading
from dataclasses import dataclass

import pluggy

from shotsmith.backends import hookspecs
from shotsmith.backends.base import Backend
from shotsmith.errors import InvalidInputError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "shotsmith.backends"
BUILTIN_PLUGINS = (
    "shotsmith.backends.animatic",
    "shotsmith.backends.sketch",
    "shotsmith.backends.runway",
    "shotsmith.backends.kling",
    "shotsmith.backends.fal",
    "shotsmith.backends.luma",
    "shotsmith.backends.veo",
    "shotsmith.backends.local_diffusion",
    "shotsmith.backends.diffusers_image",
    "shotsmith.backends.runway_image",
    "shotsmith.backends.luma_image",
    "shotsmith.backends.flux_image",
    "shotsmith.backends.gemini_image",
    "shotsmith.backends.uploaders",
    "shotsmith.backends.espeak",
    "shotsmith.backends.openai_speech",
    "shotsmith.backends.elevenlabs",
    "shotsmith.backends.piper",
    "shotsmith.backends.kokoro",
)

_lock = threading.Lock()
_pm: pluggy.PluginManager | None = None
_not_loaded: dict[str, "NotLoaded"] = {}


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
    _load_entry_points(pm, os.environ.get("SHOTSMITH_LOAD_PLUGINS"))
    return pm


def canonical(name: str) -> str:
    """Compare names as packaging does: case, ``-``, ``_`` and ``.`` do not matter (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def _load_entry_points(pm: pluggy.PluginManager, allowed: str | None) -> None:
    """Register every ``shotsmith.backends`` entry point that ``allowed`` lets through.

    A plugin that fails to import is skipped (and remembered with its error)
    rather than taking every other backend down with it.
    """
    wanted = None if allowed is None else {canonical(n) for n in allowed.split(",") if n.strip()}
    seen: set[str] = set()
    for dist in importlib.metadata.distributions():
        dist_name = dist.metadata["Name"] or "?"
        if canonical(dist_name) in seen:  # the same distribution on sys.path twice
            continue
        seen.add(canonical(dist_name))
        for ep in dist.entry_points:
            if ep.group != ENTRY_POINT_GROUP or pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
                continue
            if wanted is not None and not ({canonical(ep.name), canonical(dist_name)} & wanted):
                _not_loaded[ep.name] = NotLoaded(ep.name, dist_name, f"not in SHOTSMITH_LOAD_PLUGINS={allowed!r}")
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not hide the others
                log.warning("plugin %s (%s) failed to import: %s", ep.name, dist_name, exc)
                _not_loaded[ep.name] = NotLoaded(ep.name, dist_name,
                                                 f"failed to import: {type(exc).__name__}: {exc}")
                continue
            pm.register(plugin, name=ep.name)


@dataclass(frozen=True)
class NotLoaded:
    """An installed plugin that is not in use, and why."""

    name: str
    distribution: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name} ({self.distribution}): {self.reason}"


def not_loaded() -> list[NotLoaded]:
    """Installed entry-point plugins that were filtered out or failed to import, by name."""
    plugin_manager()
    with _lock:
        return sorted(_not_loaded.values(), key=lambda n: n.name)


def reset() -> None:
    """Forget loaded plugins (tests, and after installing a plugin in-process)."""
    global _pm
    with _lock:
        _pm = None
        _not_loaded.clear()


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
        raise UnknownBackendError(name, sorted(classes), not_loaded())
    return classes[name](**options)


class UnknownBackendError(InvalidInputError):
    """No backend has that name: the message lists what is installed and which plugins were not loaded."""

    def __init__(self, name: str, installed: list[str], skipped: list[NotLoaded]) -> None:
        self.name = name
        self.installed = installed
        self.skipped = skipped
        hint = f"installed: {', '.join(installed) or 'none'}"
        if skipped:
            hint += "; not loaded: " + "; ".join(map(str, skipped))
        matching = [s for s in skipped if canonical(name) in (canonical(s.name), canonical(s.distribution))]
        if matching and "SHOTSMITH_LOAD_PLUGINS" in matching[0].reason:
            hint += f" (add {matching[0].name} to SHOTSMITH_LOAD_PLUGINS, or unset it)"
        super().__init__(f"unknown backend {name!r}", hint=hint)
