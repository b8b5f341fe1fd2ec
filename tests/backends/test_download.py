"""download_clip's own bounds: a total deadline and a minimum rate, whatever the read timeout says."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from shotsmith.backends.download import download_clip
from shotsmith.backends.errors import DownloadError
from shotsmith.backends.http import ApiClient, RetryPolicy


class Stream(httpx.AsyncByteStream):
    def __init__(self, chunk: bytes, every_s: float) -> None:
        self.chunk, self.every_s = chunk, every_s

    async def __aiter__(self):
        while True:
            yield self.chunk
            await asyncio.sleep(self.every_s)


def fetch(stream: Stream, tmp_path, **kw):
    def handler(request):
        return httpx.Response(200, headers={"content-type": "video/mp4"}, stream=stream)

    async def go():
        async with ApiClient("testprov", transport=httpx.MockTransport(handler), timeout_s=30,
                             retry=RetryPolicy(max_attempts=1)) as api:
            return await download_clip(api, "https://cdn.example.com/clip.mp4", tmp_path / "clip.mp4",
                                       max_bytes=10**9, content_types=("video/",), **kw)

    started = time.monotonic()
    with pytest.raises(DownloadError) as info:
        asyncio.run(go())
    return info.value, time.monotonic() - started


def test_a_drip_below_the_rate_floor_is_dropped_after_one_window(tmp_path):
    error, elapsed = fetch(Stream(b"x", 0.05), tmp_path, min_rate_bps=1000, rate_window_s=0.3)
    assert "stalled" in error.message and error.retryable
    assert elapsed < 1.0


def test_a_fast_enough_but_endless_download_ends_at_its_deadline(tmp_path):
    error, elapsed = fetch(Stream(b"x" * 4096, 0.02), tmp_path, min_rate_bps=1000, rate_window_s=0.2,
                           deadline=time.monotonic() + 0.6)
    assert "did not finish in time" in error.message
    assert 0.5 < elapsed < 1.5


def test_a_server_that_sends_nothing_is_dropped_even_without_a_rate_floor(tmp_path):
    error, elapsed = fetch(Stream(b"", 0.05), tmp_path, deadline=time.monotonic() + 0.4)
    assert "did not finish in time" in error.message and elapsed < 1.2
