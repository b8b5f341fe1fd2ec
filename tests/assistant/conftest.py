"""Fixtures for the assistant tests: a scripted OpenAI-compatible server and priced test backends."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.assistant._assistant_helpers import FAKE_KEY  # noqa: E402
from tests.assistant._fake_openai import FakeOpenAI  # noqa: E402
from tests.assistant._test_backends import register  # noqa: E402


@pytest.fixture
def fake_llm(monkeypatch):
    server = FakeOpenAI().start()
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    yield server
    server.stop()


@pytest.fixture
def test_backends():
    register()
    yield

