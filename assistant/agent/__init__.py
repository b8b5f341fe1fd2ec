"""The LLM agent: a LangChain ``create_agent`` over the production service.

``resolve_llm`` (which model answers, if any) and ``LLMConfig`` load without
LangChain; ``AgentSession`` imports it on first use.

Modules, one job each: :mod:`.llm` (model config), :mod:`.schemas` (strict
tool schemas, capped results), :mod:`.tools` (production tools),
:mod:`.finishing` (titles, audio, captions, overlays, export),
:mod:`.middleware` (spending gate, phases, context, retries, corrections),
:mod:`.build` (``create_agent``), :mod:`.session` (``AgentSession``),
:mod:`.path_guard`.
"""

from __future__ import annotations

from typing import Any

from shotsmith.assistant.agent.llm import LLMConfig, resolve_llm

__all__ = ["AgentSession", "LLMConfig", "resolve_llm"]


def __getattr__(name: str) -> Any:
    if name == "AgentSession":
        from shotsmith.assistant.agent.session import AgentSession

        return AgentSession
    raise AttributeError(f"module 'shotsmith.assistant.agent' has no attribute {name!r}")
