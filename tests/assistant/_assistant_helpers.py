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


def open_agent(project, fake_llm, *, backend: str = "animatic", timeout_s: float = 10.0, max_retries: int = 4,
               step_limit: int | None = None, **options):
    """An AgentSession on ``project`` answered by the scripted server (small, fast renders)."""
    from shotsmith.assistant.agent import AgentSession, resolve_llm
    from shotsmith.assistant.production import ProductionService, ServiceOptions

    options.setdefault("resolution", "360p")
    options.setdefault("fps", 24)
    service = ProductionService.open(project, ServiceOptions(backend=backend, **options))
    config = resolve_llm("openai:fake-model", fake_llm.base_url, timeout_s=timeout_s, max_retries=max_retries,
                         retry_initial_delay_s=0.01)
    return AgentSession(service, config, step_limit=step_limit)


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]
