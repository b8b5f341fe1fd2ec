"""The one secret scrubber: keys never reach a file, a log line, a report, a checkpoint or an error text.

Every secret shotsmith reads (an API key from the environment or the config's
``[secrets]``, a signed token an adapter builds) is registered here with
:func:`register_secret` as soon as it is read; :func:`scrub` then replaces any
registered value, and a few shapes that are secrets whatever their value
(``Bearer …`` headers, ``sk-…`` keys, ``key=…``/``token=…`` query parameters,
``user:password@`` in URLs), with ``***``.

Everything that leaves the process as text goes through :func:`scrub`: the
CLI's and TUI's error lines, the run report, the agent's checkpointed tool
results and model errors, and (through :class:`ScrubFilter`, installed on the
root logger by the CLI) every log record.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable

MASK = "***"
#: Shorter values are too likely to be ordinary words or numbers to replace safely.
MIN_SECRET_LENGTH = 6

#: Environment variables that hold secrets; their values are registered on first use of scrub().
SECRET_ENV_NAMES: tuple[str, ...] = (
    "OPENAI_API_KEY", "SHOTSMITH_LLM_API_KEY", "RUNWAYML_API_SECRET", "FAL_KEY", "LUMAAI_API_KEY",
    "KLING_ACCESS_KEY", "KLING_SECRET_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "ELEVENLABS_API_KEY",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "HF_TOKEN",
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), MASK),
    (re.compile(r"(?i)([?&](?:key|api_key|apikey|token|access_token|signature|sig|x-amz-signature|"
                r"x-amz-credential|x-amz-security-token)=)[^&\s\"'#]+"), r"\1" + MASK),
    (re.compile(r"(?i)((?:api[_-]?key|x-goog-api-key|authorization|x-api-key|xi-api-key)[\"']?\s*[:=]\s*[\"']?)"
                r"[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    (re.compile(r"(://)[^/\s:@]+:[^/\s@]+@"), r"\1" + MASK + "@"),
)

_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that :func:`scrub` hides it from now on (short values are ignored)."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        register_secret(value)


def _known() -> list[str]:
    for name in SECRET_ENV_NAMES:
        register_secret(os.environ.get(name))
    with _lock:
        # Longest first, so a key that contains another is hidden whole.
        return sorted(_secrets, key=len, reverse=True)


def scrub(text: object) -> str:
    """``text`` as a string with every known secret and secret-shaped value replaced by ``***``."""
    out = text if isinstance(text, str) else str(text)
    for value in _known():
        if value in out:
            out = out.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        out = pattern.sub(replacement, out)
    return out


def scrub_known(text: str) -> str:
    """Replace only the registered secret values (no shape patterns): safe on whole documents such as
    project.json, where a prompt may legitimately say "token" or "key=" and must stay as written."""
    for value in _known():
        if value in text:
            text = text.replace(value, MASK)
    return text


def scrub_data(value: object) -> object:
    """Scrub every string inside nested dicts/lists (for reports and checkpoints written as JSON)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_data(v) for v in value) if isinstance(value, tuple) else [scrub_data(v) for v in value]
    return value


class ScrubFilter(logging.Filter):
    """A logging filter that scrubs each record's final message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to logging's own error path
            return True
        cleaned = scrub(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks quote exception text; format it now, scrubbed, and drop the raw exception.
            formatter = logging.Formatter()
            cleaned += "\n" + scrub(formatter.formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = cleaned, None
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Attach :class:`ScrubFilter` to every handler of ``logger`` (default: the root logger), once."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())
