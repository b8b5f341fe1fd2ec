"""One HTTP client for every cloud adapter: bounded retries, deadlines, safe redirects, redaction.

Why one: every provider fails the same ways (dropped connections, timeouts,
429 when over a limit, 5xx when busy) and every adapter must react the same
way: retry those with exponential backoff and full jitter, wait at least what
``Retry-After`` (or ``retry-after-ms``) asks, and never retry a 4xx that means
the request is wrong or was refused. The adapter only supplies ``classify``,
which turns a provider's error body into a :class:`RemoteError`.

Every wait is bounded:

* one HTTP exchange (connect, send, headers *and* body) by ``timeout_s`` in
  total, not per read, so a server that drips a byte now and then still ends;
* a request's retries by ``RetryPolicy.max_attempts`` and by the deadline of
  the :func:`call_scope` it runs in (the job engine sets one per create, per
  poll and per task), so retries are counted against the caller's budget and
  never nested inside another retry loop.

Creates are special (:func:`call_scope` with ``create=True``, which the engine
sets around ``RemoteBackend.submit``): a create whose answer was lost after it
was sent (a read timeout, a dropped connection, a 504) may have been accepted,
so it is never retried; it raises :class:`AmbiguousCreateError`. Only failures
that prove nothing was created (the connection never opened, a 429, a
500/502/503 answer) are retried.

Redirects are followed here, not by httpx: credentials go only to the
configured API host. On a hop to any other host every auth header
(``Authorization``, ``x-goog-api-key``, ``X-API-Key``, ``Key`` …, and any header
carrying a registered secret) and every key-like query parameter are dropped.

Keys travel in headers built per attempt by ``auth`` (so a JWT can be re-signed)
and are never logged; every error message passes through :meth:`ApiClient.redact`,
which is the core scrubber (:func:`shotsmith.scrub.scrub`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from shotsmith.backends.errors import AmbiguousCreateError, NetworkError, RemoteError, TimeoutExceededError
from shotsmith.scrub import register_secrets, scrub

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Answers to a create that prove nothing was created (the server refused before acting).
CREATE_SAFE_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503})
MAX_REDIRECTS = 5
#: Header names that carry credentials; dropped on any hop to another host.
AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "x-goog-api-key", "x-api-key", "api-key", "key",
                          "xi-api-key", "x-runway-api-key", "x-fal-key", "cookie"})
#: Query parameter names that carry API keys; dropped on any hop to another host (so is any parameter whose
#: value is a registered secret). Signature parameters of signed CDN URLs (sig, token, X-Amz-*) are kept:
#: they belong to the URL the provider handed out, not to our credentials.
AUTH_QUERY_KEYS = frozenset({"key", "api_key", "apikey", "api-key", "x-goog-api-key"})
DNS_MARKERS = ("name or service not known", "nodename nor servname", "temporary failure in name resolution",
               "getaddrinfo failed", "no address associated", "name resolution")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Defaults follow the official SDKs (a few attempts, backoff capped at 8 s)."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
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


@dataclass(frozen=True)
class CallScope:
    """What the caller allows the requests made inside it: a deadline, retries, create semantics."""

    deadline: float | None = None  # time.monotonic() value
    retry: bool = True
    create: bool = False
    #: What the deadline bounds, for messages ("polling task X").
    what: str = ""
    #: Filled in by the client: ``accepted`` once a create got a 2xx answer.
    state: dict = field(default_factory=dict)


_SCOPE: contextvars.ContextVar[CallScope] = contextvars.ContextVar("shotsmith_http_scope", default=CallScope())


@contextlib.contextmanager
def call_scope(*, deadline: float | None = None, retry: bool = True, create: bool = False,
               what: str = "") -> Iterator[CallScope]:
    """Run the requests inside under a deadline (monotonic), with or without retries, as a create or not.

    Nested scopes keep the earlier deadline. The job engine wraps every adapter
    call in one, so an adapter's ``api.request`` needs no extra arguments.
    """
    outer = _SCOPE.get()
    deadline = _earliest(outer.deadline, deadline)
    scope = CallScope(deadline=deadline, retry=retry and outer.retry, create=create or outer.create,
                      what=what or outer.what)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def current_scope() -> CallScope:
    return _SCOPE.get()


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


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


def origin(url: str | httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with default ports filled in: what "the same host" means here."""
    parts = httpx.URL(str(url))
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.host or "").lower(), port


def strip_query_keys(url: str, secrets: Iterable[str] = ()) -> str:
    """``url`` without key-like query parameters or parameters whose value is a known secret."""
    values = {s for s in secrets if s}
    split = urlsplit(url)
    if not split.query:
        return url
    kept = [(k, v) for k, v in parse_qsl(split.query, keep_blank_values=True)
            if k.lower() not in AUTH_QUERY_KEYS and v not in values]
    return urlunsplit(split._replace(query=urlencode(kept)))


def is_dns_failure(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__ or ''} {exc.__context__ or ''}".lower()
    return any(marker in text for marker in DNS_MARKERS)


class ApiClient:
    """An ``httpx.AsyncClient`` plus the retry loop, bound to one provider.

    ``auth`` returns the auth headers for one attempt; ``classify`` maps an
    error response to a :class:`RemoteError`; ``secrets`` returns the strings
    to scrub from any message (keys, signed tokens). ``base_url`` is the API
    host credentials may go to (default: the host of each request's own URL).
    ``timeout_s`` bounds one HTTP exchange in total.
    """

    def __init__(self, provider: str, *, auth: Callable[[], dict[str, str]] | None = None,
                 classify: Callable[[httpx.Response], RemoteError] | None = None,
                 secrets: Callable[[], Iterable[str]] | None = None, headers: dict[str, str] | None = None,
                 retry: RetryPolicy | None = None, timeout_s: float = 60.0, base_url: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.provider = provider
        self._auth = auth or (lambda: {})
        self._classify = classify or (lambda r: default_classify(r, provider))
        self._secrets = secrets or (lambda: ())
        self.retry = retry or RetryPolicy()
        self.timeout_s = float(timeout_s)
        self.api_origin = origin(base_url) if base_url else None
        self.client = httpx.AsyncClient(headers=headers or {}, timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
                                        follow_redirects=False, transport=transport)
        #: Requests sent (each attempt counts); read by tests and the bench.
        self.attempts = 0
        #: Creates sent (each attempt inside a create scope counts); read by tests and the bench.
        self.creates = 0
        self._register()

    async def __aenter__(self) -> "ApiClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def _register(self) -> list[str]:
        try:
            values = [v for v in self._secrets() if v]
        except Exception:  # a secrets() that needs a key not set: nothing to register
            values = []
        register_secrets(values)
        return values

    def redact(self, text: str) -> str:
        """The core scrubber, after registering this adapter's current secrets (a re-signed token too)."""
        self._register()
        return scrub(text)

    # -- redirects ----------------------------------------------------------------------
    def _trusted(self, url: str | httpx.URL, first_url: str) -> bool:
        return origin(url) == (self.api_origin or origin(first_url))

    def _hop_headers(self, url: str | httpx.URL, first_url: str, extra: dict[str, str], authenticated: bool,
                     auth_for: Callable[[str], dict[str, str]] | None) -> dict[str, str]:
        trusted = self._trusted(url, first_url)
        if auth_for is not None:
            auth = auth_for(str(url)) if trusted else {}
        else:
            auth = self._auth() if (authenticated and trusted) else {}
        headers = {**auth, **extra}
        if trusted:
            return headers
        secrets = self._register()
        return {k: v for k, v in headers.items()
                if k.lower() not in AUTH_HEADERS and not any(s in v for s in secrets)}

    async def send(self, method: str, url: str, *, json: Any = None, headers: dict[str, str] | None = None,
                   params: dict[str, Any] | None = None, authenticated: bool = True, stream: bool = False,
                   auth_for: Callable[[str], dict[str, str]] | None = None) -> httpx.Response:
        """One exchange, following up to five redirects; credentials only ever go to the API host.

        ``auth_for(url)`` replaces ``auth`` when given (downloads). With ``stream`` the
        caller must close the response.
        """
        extra = dict(headers or {})
        current = url
        body = json
        for _ in range(MAX_REDIRECTS + 1):
            hop = self._hop_headers(current, url, extra, authenticated, auth_for)
            request = self.client.build_request(method, current, json=body, headers=hop,
                                                params=params if current == url else None)
            if not self._trusted(current, url):  # the client's own default headers too
                secrets = self._register()
                for name in [n for n, v in request.headers.items()
                             if n.lower() in AUTH_HEADERS or any(s in v for s in secrets)]:
                    del request.headers[name]
            response = await self.client.send(request, stream=stream, follow_redirects=False)
            location = response.headers.get("location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                return response
            await response.aclose()
            target = urljoin(str(request.url), location)
            if not self._trusted(target, url):
                target = strip_query_keys(target, self._register())
                extra = {k: v for k, v in extra.items() if k.lower() not in AUTH_HEADERS}
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, body = "GET", None
            log.debug("%s: redirected to %s", self.provider, _path(target))
            current = target
        raise RemoteError(f"{self.provider}: more than {MAX_REDIRECTS} redirects from {_path(url)}", retryable=False)

    # -- the retry loop -------------------------------------------------------------------
    async def request(self, method: str, url: str, *, json: Any = None, headers: dict[str, str] | None = None,
                      params: dict[str, Any] | None = None, authenticated: bool = True,
                      retry: bool | None = None, deadline: float | None = None) -> httpx.Response:
        """Send with bounded retries; return a 2xx response or raise :class:`RemoteError`.

        ``retry`` and ``deadline`` default to the enclosing :func:`call_scope`.
        """
        scope = _SCOPE.get()
        retry = scope.retry if retry is None else (retry and scope.retry)
        deadline = _earliest(deadline, scope.deadline)
        create = scope.create and method.upper() != "GET"
        where = f"{method} {_path(url)}"
        attempt = 0
        while True:
            attempt += 1
            self.attempts += 1
            budget = self.timeout_s if deadline is None else min(self.timeout_s, deadline - time.monotonic())
            if budget <= 0:
                raise TimeoutExceededError(self.redact(f"{self.provider}: {where} ran out of time"
                                                       f"{' (' + scope.what + ')' if scope.what else ''}"),
                                           retryable=True)
            if create:
                self.creates += 1
            try:
                response = await asyncio.wait_for(self.send(method, url, json=json, headers=headers, params=params,
                                                            authenticated=authenticated), budget)
            except (TimeoutError, asyncio.TimeoutError):
                error = self._timeout_error(where, budget, create)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # The connection never opened: nothing was sent, so even a create is safe to retry.
                if is_dns_failure(exc):
                    raise NetworkError(self.redact(f"{self.provider}: cannot resolve the API host of {_path(url)}"),
                                       retryable=False,
                                       hint="check the network connection and the backend's base_url; "
                                            "nothing was sent") from exc
                error = NetworkError(self.redact(f"{self.provider}: cannot connect for {where}: {type(exc).__name__}"
                                                 f"{': ' + str(exc) if str(exc) else ''}"), retryable=True,
                                     hint="check the network connection; run again when the provider is reachable")
            except httpx.TimeoutException:
                error = self._timeout_error(where, budget, create)
            except httpx.TransportError as exc:  # read/write errors, dropped connections
                if create:
                    error = self._ambiguous(where, type(exc).__name__)
                else:
                    error = RemoteError(self.redact(f"{self.provider}: {where} failed: {type(exc).__name__}"
                                                    f"{': ' + str(exc) if str(exc) else ''}"), retryable=True)
            else:
                if response.status_code < 300:
                    if create:
                        scope.state["accepted"] = True
                    log.debug("%s %s %s -> %s", self.provider, method, _path(url), response.status_code)
                    return response
                if response.status_code < 400:  # a redirect without Location, or 304
                    error = RemoteError(f"{self.provider}: {where} answered HTTP {response.status_code}", retryable=False,
                                        status=response.status_code)
                else:
                    try:
                        error = self._classify(response)
                    except Exception:  # a provider answering in an unexpected shape must not crash the run
                        log.debug("%s: could not classify an error response", self.provider, exc_info=True)
                        error = default_classify(response, self.provider)
                    if create and error.retryable and response.status_code not in CREATE_SAFE_RETRY_STATUSES:
                        error = self._ambiguous(where, f"HTTP {response.status_code}", status=response.status_code)
                error.message = self.redact(error.message)
                error.args = (error.message,)
            if not (retry and error.retryable and attempt < self.retry.max_attempts):
                raise error
            wait = self.retry.delay(attempt, error.retry_after_s)
            if deadline is not None and time.monotonic() + wait >= deadline:
                raise error  # the next attempt could not finish in time: report the real cause now
            log.info("%s: %s; retry %d/%d in %.2fs", self.provider, error.message, attempt,
                     self.retry.max_attempts - 1, wait)
            await asyncio.sleep(wait)

    def _timeout_error(self, where: str, budget: float, create: bool) -> RemoteError:
        if create:
            return self._ambiguous(where, f"no answer within {budget:.3g}s")
        return TimeoutExceededError(self.redact(f"{self.provider}: {where} got no answer within {budget:.3g}s"),
                                    retryable=True)

    def _ambiguous(self, where: str, cause: str, *, status: int | None = None) -> AmbiguousCreateError:
        return AmbiguousCreateError(self.redact(f"{self.provider}: the create request ({where}) was sent but its answer "
                                                f"was lost ({cause}); the task may have been created"), status=status)


def _path(url: str | httpx.URL) -> str:
    """The URL without its query string: signed URLs carry tokens in the query."""
    return str(url).split("?", 1)[0]
