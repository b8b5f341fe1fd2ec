"""The shared HTTP client: Retry-After parsing, backoff bounds, what is retried, redaction."""

from __future__ import annotations

import asyncio
import email.utils
import time

import httpx
import pytest

from shotsmith.backends.errors import RemoteError
from shotsmith.backends.http import ApiClient, RetryPolicy, parse_retry_after


def test_parse_retry_after_forms():
    assert parse_retry_after(httpx.Headers({"retry-after": "3"})) == 3.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < parse_retry_after(httpx.Headers({"retry-after": future})) <= 30
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx.Headers({})) is None


def test_backoff_grows_with_jitter_and_respects_retry_after():
    policy = RetryPolicy(base_delay_s=1, max_delay_s=8, max_retry_after_s=20)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (6, 8)]:
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1, "no jitter"
    assert 5 <= policy.delay(1, retry_after_s=5) <= 5.25
    assert policy.delay(1, retry_after_s=500) <= 20.25


def _client(handler, **kw) -> ApiClient:
    return ApiClient("testprov", transport=httpx.MockTransport(handler),
                     retry=RetryPolicy(max_attempts=4, base_delay_s=0.001, max_delay_s=0.002), **kw)


def test_retries_5xx_then_succeeds():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(503 if len(calls) < 3 else 200, json={"ok": True})

    async def go():
        async with _client(handler) as api:
            return await api.request("GET", "http://x/y")

    assert asyncio.run(go()).status_code == 200
    assert len(calls) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_never_retries_request_errors(status):
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(status, json={"error": "nope"})

    async def go():
        async with _client(handler) as api:
            await api.request("POST", "http://x/y", json={})

    with pytest.raises(RemoteError) as info:
        asyncio.run(go())
    assert len(calls) == 1 and info.value.status == status and not info.value.retryable


def test_connection_errors_are_retried_then_reported():
    calls = []

    def handler(request):
        calls.append(1)
        raise httpx.ConnectError("refused")

    async def go():
        async with _client(handler) as api:
            await api.request("GET", "http://x/y")

    with pytest.raises(RemoteError) as info:
        asyncio.run(go())
    assert len(calls) == 4 and info.value.retryable


def test_error_messages_are_redacted():
    key = "sk-live-VERYSECRET-1234"

    def handler(request):
        assert request.headers["authorization"] == f"Bearer {key}"
        return httpx.Response(400, text=f"bad request for key {key}")

    async def go():
        async with _client(handler, auth=lambda: {"Authorization": f"Bearer {key}"}, secrets=lambda: [key]) as api:
            await api.request("GET", "http://x/y?token=abc")

    with pytest.raises(RemoteError) as info:
        asyncio.run(go())
    assert key not in str(info.value) and "***" in info.value.message


# -- redirects: credentials go only to the configured API host ------------------------------------------------

def test_redirect_to_another_host_drops_auth_headers_and_query_keys():
    key = "AIza-live-VERYSECRET-5678"
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        if request.url.host == "api.example.com" and request.url.path == "/v1/op":
            location = f"https://cdn.example.net/file?key={key}&alt=media&sig=1&access_token={key}"
            return httpx.Response(302, headers={"Location": location})
        if request.url.host == "cdn.example.net":
            return httpx.Response(307, headers={"Location": "https://api.example.com/v1/back"})
        return httpx.Response(200, json={"ok": True})

    async def go():
        async with ApiClient("testprov", transport=httpx.MockTransport(handler), base_url="https://api.example.com/v1",
                             auth=lambda: {"x-goog-api-key": key, "Authorization": f"Bearer {key}"},
                             secrets=lambda: [key], retry=RetryPolicy(max_attempts=1)) as api:
            return await api.request("GET", "https://api.example.com/v1/op",
                                     headers={"X-API-Key": key, "Key": key, "X-Trace": "t1"})

    assert asyncio.run(go()).status_code == 200
    first, foreign, back = seen
    assert first.headers["x-goog-api-key"] == key
    assert foreign.url.host == "cdn.example.net"
    for name in ("authorization", "x-goog-api-key", "x-api-key", "key"):
        assert name not in foreign.headers
    assert key not in str(foreign.url) and "alt=media" in str(foreign.url) and "sig=1" in str(foreign.url)
    assert foreign.headers["x-trace"] == "t1"
    assert back.url.host == "api.example.com" and back.headers["x-goog-api-key"] == key


def test_redirect_loop_is_bounded():
    def handler(request):
        return httpx.Response(302, headers={"Location": "https://api.example.com/again"})

    async def go():
        async with ApiClient("testprov", transport=httpx.MockTransport(handler), retry=RetryPolicy(max_attempts=1)) as api:
            await api.request("GET", "https://api.example.com/start")

    with pytest.raises(RemoteError, match="redirects"):
        asyncio.run(go())


# -- creates: at most once unless nothing was received ----------------------------------------------------------

@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("closed"),
                                     httpx.ReadError("reset")])
def test_create_whose_answer_is_lost_is_not_retried(failure):
    from shotsmith.backends.errors import AmbiguousCreateError
    from shotsmith.backends.http import call_scope

    calls = []

    def handler(request):
        calls.append(request.method)
        raise failure

    async def go():
        async with _client(handler) as api:
            with call_scope(create=True):
                await api.request("POST", "http://x/create", json={})

    with pytest.raises(AmbiguousCreateError, match="may have been created"):
        asyncio.run(go())
    assert calls == ["POST"]


def test_create_that_was_never_received_is_retried():
    from shotsmith.backends.http import call_scope

    calls = []

    def handler(request):
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        if len(calls) == 2:
            return httpx.Response(503, json={"error": "busy"})
        return httpx.Response(200, json={"id": "t1"})

    async def go():
        async with _client(handler) as api:
            with call_scope(create=True):
                return await api.request("POST", "http://x/create", json={})

    assert asyncio.run(go()).json() == {"id": "t1"} and len(calls) == 3


def test_504_on_a_create_is_ambiguous_but_a_504_on_a_poll_is_retried():
    from shotsmith.backends.errors import AmbiguousCreateError
    from shotsmith.backends.http import call_scope

    calls = []

    def handler(request):
        calls.append(request.method)
        return httpx.Response(504 if len(calls) < 3 else 200, json={})

    async def go(create):
        async with _client(handler) as api:
            with call_scope(create=create):
                return await api.request("POST" if create else "GET", "http://x/y")

    with pytest.raises(AmbiguousCreateError):
        asyncio.run(go(True))
    assert calls == ["POST"]
    calls.clear()
    assert asyncio.run(go(False)).status_code == 200 and len(calls) == 3


# -- every wait bounded -----------------------------------------------------------------------------------------

def test_one_exchange_is_bounded_in_total_not_per_read():
    """A server that keeps sending a byte now and then never trips a read timeout; the total bound ends it."""
    from shotsmith.backends.errors import TimeoutExceededError

    class Drip(httpx.AsyncByteStream):
        async def __aiter__(self):
            while True:
                yield b" "
                await asyncio.sleep(0.02)

    def handler(request):
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=Drip())

    async def go():
        async with ApiClient("testprov", transport=httpx.MockTransport(handler), timeout_s=0.2,
                             retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.01)) as api:
            await api.request("GET", "http://x/status")

    started = time.monotonic()
    with pytest.raises(TimeoutExceededError):
        asyncio.run(go())
    assert time.monotonic() - started < 1.5


def test_retries_are_counted_against_the_callers_deadline():
    from shotsmith.backends.http import call_scope

    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(503, json={}, headers={"Retry-After": "5"})

    async def go():
        async with ApiClient("testprov", transport=httpx.MockTransport(handler),
                             retry=RetryPolicy(max_attempts=8, base_delay_s=0.01, max_delay_s=0.01)) as api:
            with call_scope(deadline=time.monotonic() + 0.5):
                await api.request("GET", "http://x/status")

    started = time.monotonic()
    with pytest.raises(RemoteError) as info:
        asyncio.run(go())
    assert time.monotonic() - started < 0.4, "a Retry-After past the deadline was waited for"
    assert len(calls) == 1 and "503" in info.value.message


def test_redact_is_the_core_scrubber_and_registers_the_adapters_secrets():
    from shotsmith.scrub import scrub

    token = "eyJhbGciOiJIUzI1NiJ9.adapter-signed-token"
    api = ApiClient("testprov", secrets=lambda: [token])
    assert token not in api.redact(f"failed with {token} and Bearer abcdefghijklmnop")
    assert "abcdefghijklmnop" not in api.redact("Bearer abcdefghijklmnop")
    assert token not in scrub(f"elsewhere: {token}"), "the adapter's secret was not registered with the core scrubber"
    asyncio.run(api.aclose())


def test_a_key_in_the_clients_default_headers_does_not_follow_a_redirect_either():
    key = "plugin-key-in-default-headers-0001"
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        if request.url.host == "api.example.com":
            return httpx.Response(307, headers={"Location": "https://elsewhere.example.org/x"})
        return httpx.Response(200, json={})

    async def go():
        async with ApiClient("testprov", transport=httpx.MockTransport(handler), base_url="https://api.example.com",
                             headers={"X-Api-Key": key, "X-Other": f"v={key}"}, secrets=lambda: [key],
                             retry=RetryPolicy(max_attempts=1)) as api:
            await api.request("GET", "https://api.example.com/v1/op")

    asyncio.run(go())
    assert seen[0].headers["x-api-key"] == key
    assert "x-api-key" not in seen[1].headers and "x-other" not in seen[1].headers
