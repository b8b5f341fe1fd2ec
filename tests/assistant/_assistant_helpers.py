"""Helpers shared by the assistant tests (a uniquely named module: conftest names collide across folders)."""

from __future__ import annotations

import asyncio

#: A recognisable fake key: tests grep logs and project folders for it.
FAKE_KEY = "sk-test-DO-NOT-LEAK-4f9a1c"


def collect(agen) -> list:
    """Drain one turn's events (send/respond) into a list."""

    async def run() -> list:
        return [event async for event in agen]

    return asyncio.run(run())
