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


# -- image models: the same check for the image mocks ------------------------------------------------------------

def test_runwayml_sdk_text_to_image_with_an_upload(serve, mock_clip, start_image):
    """The SDK's two-step ephemeral upload and gen4_image create, as our runway-image adapter speaks them."""
    runwayml = pytest.importorskip("runwayml")
    mock = serve(RunwayMock, mock_clip)
    client = runwayml.RunwayML(api_key=mock.key, base_url=mock.url, max_retries=0)
    uploaded = client.uploads.create_ephemeral(file=start_image)
    assert uploaded.uri == "runway://uploads/up1" and start_image.read_bytes() in mock.uploads["up1"]
    created = client.text_to_image.create(model="gen4_image", prompt_text="@Mara on the pier", ratio="1920:1080",
                                          reference_images=[{"uri": uploaded.uri, "tag": "Mara"}])
    task = _until(lambda: (t := client.tasks.retrieve(created.id)).status == "SUCCEEDED" and t)
    assert task.output[0].split("?")[0].endswith(".png")
    with pytest.raises(runwayml.BadRequestError):  # a tag the prompt never cites
        client.text_to_image.create(model="gen4_image", prompt_text="on the pier", ratio="1920:1080",
                                    reference_images=[{"uri": uploaded.uri, "tag": "Mara"}])


def test_lumaai_sdk_photon_with_references(serve, mock_clip, start_image):
    lumaai = pytest.importorskip("lumaai")
    mock = serve(LumaMock, mock_clip, key="luma-test-SECRET-abcdef")
    mock.store["mara.png"] = start_image.read_bytes()
    url = f"{mock.url}/store/mara.png"
    client = lumaai.LumaAI(auth_token=mock.key, base_url=mock.url + "/dream-machine/v1", max_retries=0)
    generation = client.generations.image.create(model="photon-1", prompt="Mara on the pier", aspect_ratio="16:9",
                                                 character_ref={"identity0": {"images": [url]}},
                                                 style_ref=[{"url": url, "weight": 0.8}])
    done = _until(lambda: (g := client.generations.get(generation.id)).state == "completed" and g)
    assert done.assets.image.split("?")[0].endswith(".png")
    with pytest.raises(lumaai.BadRequestError):  # Luma fetches URLs; a data URI is refused by the mock
        client.generations.image.create(model="photon-1", prompt="x", image_ref=[{"url": "data:image/png;base64,AA"}])


def test_fal_client_upload_and_flux(serve, mock_clip, monkeypatch, start_image):
    """fal_client's storage upload (token, then the CDN) and FLUX / Kontext requests against the mock."""
    pytest.importorskip("fal_client")
    import fal_client
    import fal_client.client as fal_impl

    mock = serve(FalMock, mock_clip, key=FAL_KEY)
    monkeypatch.setattr(fal_impl, "QUEUE_URL_FORMAT", mock.url + "/")
    monkeypatch.setattr(fal_impl, "REST_URL", mock.url)
    monkeypatch.setattr(fal_impl, "CDN_URL", mock.url)

    async def scenario():
        client = fal_client.AsyncClient(key=FAL_KEY)
        url = await client.upload(start_image.read_bytes(), "image/png", file_name="mara.png")
        assert url.startswith(f"{mock.url}/store/") and mock.store[url.rsplit("/", 1)[-1]] == start_image.read_bytes()
        handle = await client.submit("fal-ai/flux-pro/kontext", arguments={"prompt": "Mara at dusk", "image_url": url,
                                                                           "aspect_ratio": "16:9"})
        assert handle.status_url.endswith(f"/fal-ai/flux-pro/requests/{handle.request_id}/status")
        result = await handle.get(interval=0.02)
        assert result["images"][0]["url"].split("?")[0].endswith(".png") and result["has_nsfw_concepts"] == [False]
        dev = await client.submit("fal-ai/flux/dev", arguments={"prompt": "a pier", "image_size": {"width": 1280,
                                                                                                  "height": 720}})
        assert (await dev.get(interval=0.02))["images"]

    asyncio.run(scenario())


def test_google_genai_generate_content_image(serve, mock_clip, start_image):
    """google-genai's generate_content with image output and an inline reference, parsed from the mock."""
    pytest.importorskip("google.genai")
    from google import genai
    from google.genai import types

    from tests.backends.backend_mocks.gemini_image import GeminiImageMock

    mock = serve(GeminiImageMock, mock_clip, key=GEMINI_KEY)
    client = genai.Client(api_key=GEMINI_KEY, http_options=types.HttpOptions(base_url=mock.url))
    config = types.GenerateContentConfig(response_modalities=["IMAGE"],
                                         image_config=types.ImageConfig(aspect_ratio="16:9"))
    answer = client.models.generate_content(
        model="gemini-2.5-flash-image", config=config,
        contents=["Mara on the pier", types.Part.from_bytes(data=start_image.read_bytes(), mime_type="image/png")])
    images = [p.inline_data.data for p in answer.candidates[0].content.parts if p.inline_data]
    assert images == [mock.image_bytes]
    (sent,) = [r.body for r in mock.log]
    assert sent["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9"}
    assert sent["contents"][0]["parts"][1]["inlineData"]["data"]  # the SDK spells mime_type; proto JSON takes both
    refused = client.models.generate_content(model="gemini-2.5-flash-image", contents="FORBIDDEN", config=config)
    assert refused.candidates[0].finish_reason == types.FinishReason.IMAGE_SAFETY


def test_sdks_send_first_and_last_frames_our_mocks_accept(serve, mock_clip, start_image):
    """runwayml's promptImage positions (veo3.1) and lumaai's keyframes frame0/frame1, as our adapters send them."""
    runwayml = pytest.importorskip("runwayml")
    lumaai = pytest.importorskip("lumaai")
    import base64

    uri = "data:image/png;base64," + base64.b64encode(start_image.read_bytes()).decode()
    runway = serve(RunwayMock, mock_clip)
    client = runwayml.RunwayML(api_key=runway.key, base_url=runway.url, max_retries=0)
    created = client.image_to_video.create(model="veo3.1", ratio="1280:720", duration=8, prompt_text="the keeper",
                                           prompt_image=[{"uri": uri, "position": "first"},
                                                         {"uri": uri, "position": "last"}])
    assert created.id in runway.tasks
    luma = serve(LumaMock, mock_clip, key="luma-test-SECRET-abcdef")
    luma.store["f.png"] = start_image.read_bytes()
    url = f"{luma.url}/store/f.png"
    frames = {"frame0": {"type": "image", "url": url}, "frame1": {"type": "image", "url": url}}
    generation = lumaai.LumaAI(auth_token=luma.key, base_url=luma.url + "/dream-machine/v1", max_retries=0).generations.create(
        model="ray-2", prompt="the keeper", duration="5s", resolution="720p", aspect_ratio="16:9", keyframes=frames)
    assert luma.tasks[generation.id].body["keyframes"] == frames
