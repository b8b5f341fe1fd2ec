"""The providers' official Python SDKs talk to our mocks: evidence the mocks speak the real protocols.

If ``runwayml``, ``lumaai``, ``fal-client`` and ``google-genai`` (pointed at the
mock through their base-URL options) can create, poll, read and cancel tasks,
then the mocks' paths, headers, field names and status shapes are the real
ones, and the adapters tested against those mocks are tested against the protocol.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from tests.backends.backend_mocks.fal import FAL_KEY, FalMock
from tests.backends.backend_mocks.luma import LumaMock
from tests.backends.backend_mocks.runway import RunwayMock
from tests.backends.backend_mocks.veo import GEMINI_KEY, VeoMock


def _until(check, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_runwayml_sdk_against_mock(serve, mock_clip):
    runwayml = pytest.importorskip("runwayml")
    mock = serve(RunwayMock, mock_clip)
    client = runwayml.RunwayML(api_key=mock.key, base_url=mock.url, max_retries=0)
    created = client.text_to_video.create(model="gen4.5", prompt_text="a lighthouse", ratio="1280:720", duration=5)
    assert mock.log[-1].headers["x-runway-version"] == "2024-11-06"  # the SDK sends the version header we require
    task = _until(lambda: (t := client.tasks.retrieve(created.id)).status == "SUCCEEDED" and t)
    assert task.output[0].startswith(mock.url)
    moderated = client.text_to_video.create(model="gen4.5", prompt_text="FORBIDDEN", ratio="1280:720", duration=5)
    failed = _until(lambda: (t := client.tasks.retrieve(moderated.id)).status == "FAILED" and t)
    assert failed.failure_code.startswith("SAFETY.")
    slow = client.text_to_video.create(model="gen4.5", prompt_text="slow", ratio="1280:720", duration=5)
    mock.tasks[slow.id].created += 60
    client.tasks.delete(slow.id)
    assert client.tasks.retrieve(slow.id).status == "CANCELLED"
    with pytest.raises(runwayml.AuthenticationError):
        runwayml.RunwayML(api_key="wrong", base_url=mock.url, max_retries=0).tasks.retrieve(created.id)


def test_runwayml_sdk_retries_our_429(serve, mock_clip):
    runwayml = pytest.importorskip("runwayml")
    mock = serve(RunwayMock, mock_clip)
    mock.faults.submit_429 = 1
    client = runwayml.RunwayML(api_key=mock.key, base_url=mock.url, max_retries=2)
    client.text_to_video.create(model="gen4.5", prompt_text="a lighthouse", ratio="1280:720", duration=5)
    assert mock.submits == 1 and mock.faults.submit_429 == 0


def test_lumaai_sdk_against_mock(serve, mock_clip):
    lumaai = pytest.importorskip("lumaai")
    mock = serve(LumaMock, mock_clip, key="luma-test-SECRET-abcdef")
    client = lumaai.LumaAI(auth_token=mock.key, base_url=mock.url + "/dream-machine/v1", max_retries=0)
    generation = client.generations.create(model="ray-2", prompt="a lighthouse", aspect_ratio="16:9", duration="5s",
                                           resolution="720p")
    done = _until(lambda: (g := client.generations.get(generation.id)).state == "completed" and g)
    assert done.assets.video.startswith(mock.url)
    client.generations.delete(generation.id)
    assert mock.cancels == 1
    with pytest.raises(lumaai.BadRequestError):
        client.generations.create(model="ray-2", prompt="FORBIDDEN", duration="5s", resolution="720p")


def test_fal_client_against_mock(serve, mock_clip, monkeypatch):
    fal_client = pytest.importorskip("fal_client")
    import fal_client.client as fal_impl

    mock = serve(FalMock, mock_clip, key=FAL_KEY)
    monkeypatch.setattr(fal_impl, "QUEUE_URL_FORMAT", mock.url + "/")

    async def scenario():
        client = fal_client.AsyncClient(key=FAL_KEY)
        handle = await client.submit("fal-ai/pika/v2.2/text-to-video",
                                     arguments={"prompt": "a lighthouse", "resolution": "720p", "duration": 5,
                                                "aspect_ratio": "16:9"})
        assert handle.status_url.endswith(f"/fal-ai/pika/requests/{handle.request_id}/status")
        status = await handle.status(with_logs=True)
        assert isinstance(status, (fal_client.Queued, fal_client.InProgress, fal_client.Completed))
        result = await handle.get(interval=0.02)
        assert result["video"]["url"].startswith(mock.url)
        # Resume from a stored request id, as a restarted run does.
        again = await client.status("fal-ai/pika/v2.2/text-to-video", handle.request_id, with_logs=True)
        assert isinstance(again, fal_client.Completed)
        slow = await client.submit("fal-ai/pika/v2.2/text-to-video",
                                   arguments={"prompt": "slow", "resolution": "720p", "duration": 5})
        mock.tasks[slow.request_id].created += 60
        await slow.cancel()
        assert mock.cancels == 1

    asyncio.run(scenario())


def test_google_genai_sdk_reads_our_operations(serve, mock_clip):
    """google-genai reads the mock's long-running operations (polling and result shapes).

    google-genai 3.x refuses ``generate_videos`` outside Vertex mode (it raises
    before sending), so the create call goes through our adapter and the SDK's
    ``operations.get`` polls and parses what the mock answers, including a
    safety refusal.
    """
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    from shotsmith.backends.base import GenerationRequest
    from shotsmith.backends.veo import VeoBackend

    mock = serve(VeoMock, mock_clip, key=GEMINI_KEY)
    client = genai.Client(api_key=GEMINI_KEY, http_options=types.HttpOptions(base_url=mock.url))
    backend = VeoBackend(base_url=mock.url + "/v1beta", api_key=GEMINI_KEY)

    async def submit(prompt):
        async with backend.client() as api:
            return await backend.submit(api, GenerationRequest(prompt=prompt, duration_s=5))

    name = asyncio.run(submit("a lighthouse at dawn")).id
    assert name.startswith("models/veo-3.1-generate-preview/operations/")
    done = _until(lambda: (op := client.operations.get(types.GenerateVideosOperation(name=name))).done and op)
    assert done.response.generated_videos[0].video.uri.startswith(mock.url)
    refused_name = asyncio.run(submit("FORBIDDEN")).id
    refused = _until(lambda: (op := client.operations.get(types.GenerateVideosOperation(name=refused_name))).done and op)
    assert refused.response.rai_media_filtered_count == 1
    assert not refused.response.generated_videos
