"""``open_session``: the one way to start a conversation about a project.

It opens (or creates) the project through the production service and picks
who answers: the LLM agent when a model is configured (``--llm``,
``SHOTSMITH_LLM``, the config file), else the offline planner. Every front end
(``run``, ``chat``, the TUI, the Python API) calls this.
"""

from __future__ import annotations

from pathlib import Path

from shotsmith.assistant.production import ProductionService, ServiceOptions
from shotsmith.assistant.sessions.base import SessionBase
from shotsmith.config import Settings, load_settings
from shotsmith.errors import InvalidInputError


def open_session(project_dir: Path | str, *, options: ServiceOptions | None = None, llm: str | None = None,
                 llm_base_url: str | None = None, inputs: tuple[Path, ...] = (), settings: Settings | None = None,
                 offline: bool = False, timeout_s: float = 60.0, max_retries: int = 4,
                 retry_initial_delay_s: float = 1.0, step_limit: int | None = None) -> SessionBase:
    """Open the project at ``project_dir`` and the session that answers in it.

    Everything that can be wrong with the arguments (an unknown backend or
    resolution, a negative --max-cost, a missing input, an unusable model
    spec) fails before any folder is created.
    """
    settings = settings or load_settings()
    options = options or ServiceOptions()
    if options.max_cost_usd is not None and options.max_cost_usd < 0:
        raise InvalidInputError(f"--max-cost {options.max_cost_usd:g} is negative")
    config = None
    if not offline:
        from shotsmith.assistant.agent.llm import resolve_llm

        config = resolve_llm(llm, llm_base_url, settings=settings, timeout_s=timeout_s,
                                              max_retries=max_retries, retry_initial_delay_s=retry_initial_delay_s)
    if not Path(project_dir, "project.json").exists():
        options.backend = options.backend or settings.backend
        options.resolution = options.resolution or settings.resolution
        options.fps = options.fps or settings.fps
    service = ProductionService.open(project_dir, options, inputs=inputs)
    if config is None:
        from shotsmith.assistant.sessions.offline import OfflineSession

        return OfflineSession(service)
    from shotsmith.assistant.agent.session import AgentSession

    return AgentSession(service, config, step_limit=step_limit)
