"""Which chat model answers, and how to reach it.

Any OpenAI-compatible server works through ``ChatOpenAI``: OpenAI itself, or by
base URL a local Ollama, vLLM, LM Studio or llama.cpp server, or a gateway.
The choice comes from ``--llm provider:model`` / ``--llm-base-url``, then the
``SHOTSMITH_LLM`` / ``SHOTSMITH_LLM_BASE_URL`` environment variables, then the
config file. The key comes from ``OPENAI_API_KEY`` (or the config's
``[secrets]``), is held as a ``SecretStr`` and registered with
:mod:`shotsmith.scrub`, so a gateway that quotes it back in an error cannot
put it on screen, in a report or in the checkpoint. With no model configured,
:func:`resolve_llm` returns None and the offline planner answers instead.

Timeouts and retries are bounded together (:data:`GIVE_UP_AFTER_S`): a dead
model server is reported within 90 s whatever the per-call timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import SecretStr

from shotsmith.config import Settings, load_settings, secret
from shotsmith.errors import InvalidInputError
from shotsmith.scrub import register_secret

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

#: Providers that speak the OpenAI chat-completions protocol.
OPENAI_COMPATIBLE = ("openai", "ollama", "vllm", "lmstudio", "llamacpp", "openai-compatible", "local")
KEY_NAMES = ("OPENAI_API_KEY", "SHOTSMITH_LLM_API_KEY")
#: Local servers ignore the key but the client insists on one.
PLACEHOLDER_KEY = "not-needed"
#: The longest a turn waits on an unreachable or silent model server, all attempts and pauses together.
GIVE_UP_AFTER_S = 85.0


@dataclass(frozen=True)
class LLMConfig:
    """Who answers and how patiently; safe to print (the key never shows)."""

    provider: str
    model: str
    base_url: str | None
    api_key: SecretStr | None
    timeout_s: float = 60.0
    max_retries: int = 4
    retry_initial_delay_s: float = 1.0
    #: Every attempt, pause and timeout of one model call fits in this (see GIVE_UP_AFTER_S).
    give_up_after_s: float = GIVE_UP_AFTER_S

    @property
    def label(self) -> str:
        """What the user is told answers, e.g. ``openai:gpt-4.1-mini``; never includes the key."""
        return f"{self.provider}:{self.model}"

    @property
    def shown_url(self) -> str | None:
        """The base URL without any user:password@ or query string, for messages and reports."""
        if not self.base_url:
            return None
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def __repr__(self) -> str:  # the key stays out of reprs and tracebacks
        return f"LLMConfig({self.label!r}, base_url={self.shown_url!r})"

    __str__ = __repr__


def parse_llm(spec: str) -> tuple[str, str]:
    """``"openai:gpt-4.1-mini"`` -> ("openai", "gpt-4.1-mini"); a bare name means openai."""
    spec = spec.strip()
    if not spec:
        raise InvalidInputError("the --llm value is empty", hint="use provider:model, e.g. openai:gpt-4.1-mini")
    provider, sep, model = spec.partition(":")
    if not sep:
        provider, model = "openai", spec
    provider, model = provider.strip().lower(), model.strip()
    if not model:
        raise InvalidInputError(f"--llm {spec!r} names no model", hint="use provider:model, e.g. ollama:llama3.1")
    if provider not in OPENAI_COMPATIBLE:
        raise InvalidInputError(f"LLM provider {provider!r} is not supported",
                                hint=f"shotsmith speaks the OpenAI protocol: {', '.join(OPENAI_COMPATIBLE)}; "
                                     "point --llm-base-url at any compatible server")
    return provider, model


def resolve_llm(llm: str | None = None, base_url: str | None = None, *, settings: Settings | None = None,
                timeout_s: float = 60.0, max_retries: int = 4, retry_initial_delay_s: float = 1.0) -> LLMConfig | None:
    """The model to use, from the arguments, then the environment and config file; None for offline."""
    settings = settings or load_settings()
    spec = llm or settings.llm
    if not spec:
        return None
    provider, model = parse_llm(spec)
    if timeout_s <= 0 or max_retries < 0 or retry_initial_delay_s < 0:
        raise InvalidInputError("the model timeout must be positive and retries not negative")
    url = base_url or settings.llm_base_url
    key = secret(*KEY_NAMES, settings=settings)
    if key is None and url is None and provider == "openai":
        raise InvalidInputError(f"--llm {spec} needs an API key",
                                hint="set OPENAI_API_KEY in the environment (or [secrets] in the config file), "
                                     "or give --llm-base-url for a local server")
    if key is not None:
        register_secret(key.get_secret_value())
    if url:
        _register_url_secrets(url)
    return LLMConfig(provider=provider, model=model, base_url=url, api_key=key,
                     timeout_s=min(float(timeout_s), GIVE_UP_AFTER_S), max_retries=int(max_retries),
                     retry_initial_delay_s=float(retry_initial_delay_s))


def _register_url_secrets(url: str) -> None:
    """A password or token inside the base URL is a secret too."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    register_secret(parts.password)
    for _, value in parse_qsl(parts.query):
        register_secret(value)


def build_chat_model(config: LLMConfig) -> "ChatOpenAI":
    """A streaming ``ChatOpenAI`` for ``config``; retries are left to the agent's retry middleware."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=config.model, base_url=config.base_url,
                      api_key=config.api_key or SecretStr(PLACEHOLDER_KEY), timeout=config.timeout_s,
                      max_retries=0, streaming=True, temperature=0.2)
