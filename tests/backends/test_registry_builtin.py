"""Backends registered in code through the hook, built-ins included, and name clashes."""

from __future__ import annotations

import pytest

import shotsmith
from shotsmith.backends import registry
from shotsmith.backends.animatic import AnimaticBackend
from shotsmith.errors import InvalidInputError


class EchoBackend(AnimaticBackend):
    name = "echo-test"


class ClashBackend(AnimaticBackend):
    name = "animatic"


class EchoPlugin:
    @shotsmith.hookimpl
    def shotsmith_register_backends(self, register):
        register(EchoBackend)


class ClashPlugin:
    @shotsmith.hookimpl
    def shotsmith_register_backends(self, register):
        register(ClashBackend)


def test_builtins_are_plugins_too():
    assert "shotsmith.backends.animatic" in dict(registry.plugin_manager().list_name_plugin())
    assert "animatic" in registry.backend_names()


def test_register_in_code():
    registry.register_plugin(EchoPlugin(), name="echo")
    assert isinstance(registry.get_backend("echo-test"), EchoBackend)


def test_name_clash_is_an_error():
    registry.register_plugin(ClashPlugin(), name="clash")
    with pytest.raises(InvalidInputError, match="registered by both"):
        registry.backend_classes()


def test_unknown_backend_lists_installed():
    with pytest.raises(InvalidInputError, match="unknown backend") as info:
        registry.get_backend("nope")
    assert "animatic" in info.value.hint


def test_plugins_load_lazily_once():
    registry.reset()
    assert registry._pm is None
    first = registry.plugin_manager()
    assert registry.plugin_manager() is first
