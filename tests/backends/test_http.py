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
