"""One HTTP client for every cloud adapter: retries, backoff with jitter, Retry-After, redaction.

Why one: every provider fails the same ways (dropped connections, timeouts,
429 when over a limit, 5xx when busy) and every adapter must react the same
way: retry those with exponential backoff and full jitter, wait at least what
``Retry-After`` (or ``retry-after-ms``) asks, and never retry a 4xx that means
the request is wrong or was refused. The adapter only supplies ``classify``,
which turns a provider's error body into a :class:`RemoteError`.

Keys travel in headers built per attempt by ``auth`` (so a JWT can be re-signed)
and are never logged; every error message passes through :meth:`redact`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from shotsmith.backends.errors import RemoteError

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Defaults suit real APIs; tests and the bench shrink the delays."""

    max_attempts: int = 8
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    #: A server asking for longer than this is believed only up to this.
    max_retry_after_s: float = 60.0
    jitter: bool = True

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Delay before attempt ``attempt + 1``: full-jitter exponential, at least Retry-After."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        backoff = random.uniform(ceiling / 2, ceiling) if self.jitter else ceiling
        if retry_after_s is not None:
            return max(min(retry_after_s, self.max_retry_after_s), 0.0) + (random.uniform(0, self.base_delay_s / 4) if self.jitter else 0.0)
        return backoff


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP date."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def default_classify(response: httpx.Response, provider: str) -> RemoteError:
    """Generic mapping: 429/5xx/408 retryable, other 4xx not."""
    status = response.status_code
    detail = _short_body(response)
    return RemoteError(f"{provider} answered HTTP {status}{': ' + detail if detail else ''}",
                       retryable=status in RETRYABLE_STATUSES, status=status,
                       retry_after_s=parse_retry_after(response.headers))


def _short_body(response: httpx.Response, limit: int = 300) -> str:
    try:
        text = response.text
    except (httpx.ResponseNotRead, UnicodeDecodeError):
        return ""
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


class ApiClient:
    """An ``httpx.AsyncClient`` plus the retry loop, bound to one provider.

    ``auth`` returns the auth headers for one attempt; ``classify`` maps an
    error response to a :class:`RemoteError`; ``secrets`` returns the strings
    to scrub from any message (keys, signed tokens).
    """

    def __init__(self, provider: str, *, auth: Callable[[], dict[str, str]] | None = None,
                 classify: Callable[[httpx.Response], RemoteError] | None = None,
                 secrets: Callable[[], Iterable[str]] | None = None, headers: dict[str, str] | None = None,
                 retry: RetryPolicy | None = None, timeout_s: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.provider = provider
        self._auth = auth or (lambda: {})
        self._classify = classify or (lambda r: default_classify(r, provider))
        self._secrets = secrets or (lambda: ())
        self.retry = retry or RetryPolicy()
        self.client = httpx.AsyncClient(headers=headers or {}, timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
                                        follow_redirects=True, transport=transport)
        #: Requests sent (each attempt counts); read by tests and the bench.
        self.attempts = 0

    async def __aenter__(self) -> "ApiClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def redact(self, text: str) -> str:
        for value in self._secrets():
            if value and len(value) >= 4:
                text = text.replace(value, "***")
        return text

    async def request(self, method: str, url: str, *, json: Any = None, headers: dict[str, str] | None = None,
                      params: dict[str, Any] | None = None, authenticated: bool = True,
                      retry: bool = True) -> httpx.Response:
        """Send with retries; return a 2xx/3xx response or raise :class:`RemoteError`."""
        attempt = 0
        while True:
            attempt += 1
            self.attempts += 1
            all_headers = {**(self._auth() if authenticated else {}), **(headers or {})}
            try:
                response = await self.client.request(method, url, json=json, headers=all_headers, params=params)
            except httpx.TransportError as exc:  # connect/read errors, timeouts, dropped connections
                error = RemoteError(self.redact(f"{self.provider}: {method} {_path(url)} failed: {type(exc).__name__}"
                                                f"{': ' + str(exc) if str(exc) else ''}"), retryable=True)
            else:
                if response.status_code < 400:
                    log.debug("%s %s %s -> %s", self.provider, method, _path(url), response.status_code)
                    return response
                try:
                    error = self._classify(response)
                except Exception:  # a provider answering in an unexpected shape must not crash the run
                    log.debug("%s: could not classify an error response", self.provider, exc_info=True)
                    error = default_classify(response, self.provider)
                error.message = self.redact(error.message)
                error.args = (error.message,)
            if not (retry and error.retryable and attempt < self.retry.max_attempts):
                raise error
            wait = self.retry.delay(attempt, error.retry_after_s)
            log.info("%s: %s; retry %d/%d in %.2fs", self.provider, error.message, attempt,
                     self.retry.max_attempts - 1, wait)
            await asyncio.sleep(wait)


def _path(url: str) -> str:
    """The URL without its query string: signed URLs carry tokens in the query."""
    return url.split("?", 1)[0]
