"""Fixtures for the assistant tests: a scripted OpenAI-compatible server and priced test backends."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _fake_openai import FakeOpenAI  # noqa: E402
from _test_backends import register  # noqa: E402

#: A recognisable fake key: tests grep logs and project folders for it.
FAKE_KEY = "sk-test-DO-NOT-LEAK-4f9a1c"


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


def collect(agen) -> list:
    """Drain one turn's events (send/respond) into a list."""

    async def run() -> list:
        return [event async for event in agen]

    return asyncio.run(run())
