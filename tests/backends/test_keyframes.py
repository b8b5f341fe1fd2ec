"""Image-to-video from keyframes: each cloud video adapter sends the first (and last) frame as its protocol wants.

Runway: data URIs, a ``[{uri, position}]`` list only on veo3.1; Kling: raw
base64 ``image`` / ``image_tail``; Luma: public URLs (through the uploader) in
``keyframes.frame0/frame1``; Veo: ``bytesBase64Encoded`` in ``image`` /
``lastFrame`` and ASSET ``referenceImages``; Pika: ``image_url``, or
Pikaframes ``image_urls`` when both frames are given.
"""

from __future__ import annotations

import asyncio
import base64

import pytest
from PIL import Image
from tests.backends.backend_support import FAST_RETRY
from tests.backends.providers import PROVIDERS
from tests.backends.test_uploaders import MockStorePlugin

from shotsmith.backends import registry
from shotsmith.backends.base import GenerationMode, GenerationRequest, MediaKind, Reference
from shotsmith.backends.engine import generate_shots


@pytest.fixture(scope="module")
def end_image(tmp_path_factory):
    out = tmp_path_factory.mktemp("end") / "end.png"
    Image.new("RGB", (320, 320), (200, 40, 40)).save(out)
    return out


def b64(path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def data_uri(path) -> str:
    return f"data:image/png;base64,{b64(path)}"


def run_keyframed(name, serve, mock_clip, monkeypatch, store, request_kw, **backend_kw):
    provider = PROVIDERS[name]
    mock = serve(provider.mock_cls, mock_clip, **provider.extra.get("mock_kwargs", {}))
    for var, value in provider.env.items():
        monkeypatch.setenv(var, value)
    if name == "pika":
        backend_kw = {"storage_url": mock.url, **backend_kw}  # frames go to fal storage (the mock serves it)
    backend = provider.backend_cls(base_url=mock.url + provider.base_path, poll_interval_s=0.01, retry=FAST_RETRY,
                                   **backend_kw)
    request = GenerationRequest(prompt="the keeper climbs the stairs", duration_s=5, shot_index=1,
                                mode=GenerationMode.IMAGE_TO_VIDEO, **request_kw)
    outcomes = asyncio.run(generate_shots(store, backend, [request]))
    assert outcomes[0].ok, outcomes[0].error
    (create,) = [r for r in mock.log if r.method == "POST" and isinstance(r.body, dict) and r.body.get("prompt",
                 r.body.get("promptText", "")) or (isinstance(r.body, dict) and "instances" in r.body)]
    return mock, backend, create.body


def test_runway_veo31_first_and_last(serve, mock_clip, monkeypatch, store, start_image, end_image):
    _, backend, body = run_keyframed("runway", serve, mock_clip, monkeypatch, store,
                                     {"image": str(start_image), "end_image": str(end_image)}, model="veo3.1")
    assert backend.capabilities().supports_end_image
    assert body["promptImage"] == [{"uri": data_uri(start_image), "position": "first"},
                                   {"uri": data_uri(end_image), "position": "last"}]


def test_runway_frames_as_uploads(serve, mock_clip, monkeypatch, store, start_image, end_image):
    """Frames over Runway's 5 MB data-URI limit (here: every frame, images = "upload") go as Runway uploads."""
    mock, _, body = run_keyframed("runway", serve, mock_clip, monkeypatch, store,
                                  {"image": str(start_image), "end_image": str(end_image)}, model="veo3.1",
                                  images="upload")
    assert body["promptImage"] == [{"uri": "runway://uploads/up1", "position": "first"},
                                   {"uri": "runway://uploads/up2", "position": "last"}]
    assert start_image.read_bytes() in mock.uploads["up1"] and end_image.read_bytes() in mock.uploads["up2"]
    assert all("authorization" not in r.headers for r in mock.log if r.path == "/upload-bucket")


def test_runway_large_frames_are_uploaded_by_default(serve, mock_clip, monkeypatch, store, tmp_path):
    import os

    big = tmp_path / "big.png"
    Image.frombytes("RGB", (1400, 1400), os.urandom(1400 * 1400 * 3)).save(big)  # noise: ~5.9 MB as PNG
    assert big.stat().st_size > 5_000_000
    _, _, body = run_keyframed("runway", serve, mock_clip, monkeypatch, store, {"image": str(big)})
    assert body["promptImage"] == "runway://uploads/up1"


def test_runway_gen45_takes_the_first_frame_only(serve, mock_clip, monkeypatch, store, start_image, end_image):
    _, backend, body = run_keyframed("runway", serve, mock_clip, monkeypatch, store,
                                     {"image": str(start_image), "end_image": str(end_image)})
    assert not backend.capabilities().supports_end_image
    assert body["promptImage"] == data_uri(start_image)


def test_kling_image_and_tail_as_raw_base64(serve, mock_clip, monkeypatch, store, start_image, end_image):
    _, backend, body = run_keyframed("kling", serve, mock_clip, monkeypatch, store,
                                     {"image": str(start_image), "end_image": str(end_image)})
    assert backend.capabilities().supports_end_image
    assert body["image"] == b64(start_image) and body["image_tail"] == b64(end_image)
    assert body["mode"] == "pro" and "camera_control" not in body


def test_kling_master_drops_the_tail_with_a_warning(start_image, end_image):
    from shotsmith.backends.kling import KlingBackend

    backend = KlingBackend(model="kling-v2-1-master")
    assert not backend.capabilities().supports_end_image
    ready, warnings = backend.prepare(GenerationRequest(prompt="p", duration_s=5, mode=GenerationMode.IMAGE_TO_VIDEO,
                                                        image=str(start_image), end_image=str(end_image)))
    assert ready.end_image is None and any("end" in w or "last frame" in w for w in warnings)
    assert "image_tail" not in backend.body(ready)[1]


def test_luma_frames_are_uploaded_urls(serve, mock_clip, monkeypatch, store, start_image, end_image):
    if registry.plugin_manager().get_plugin("mock-store") is None:
        registry.register_plugin(MockStorePlugin(), name="mock-store")
    provider = PROVIDERS["luma"]
    mock = serve(provider.mock_cls, mock_clip, **provider.extra["mock_kwargs"])
    monkeypatch.setenv("LUMAAI_API_KEY", mock.key)
    from shotsmith.backends.luma import LumaBackend

    backend = LumaBackend(base_url=mock.url + provider.base_path, poll_interval_s=0.01, retry=FAST_RETRY,
                          uploader="mock-store", upload={"url": mock.url})
    request = GenerationRequest(prompt="the keeper climbs", duration_s=5, mode=GenerationMode.IMAGE_TO_VIDEO,
                                image=str(start_image), end_image=str(end_image), shot_index=1)
    outcomes = asyncio.run(generate_shots(store, backend, [request]))
    assert outcomes[0].ok, outcomes[0].error
    (create,) = [r for r in mock.log if r.path.endswith("/generations/video") and r.method == "POST"]
    frames = create.body["keyframes"]
    assert frames["frame0"] == {"type": "image", "url": f"{mock.url}/store/start.png"}
    assert frames["frame1"] == {"type": "image", "url": f"{mock.url}/store/end.png"}
    assert mock.store["start.png"] == start_image.read_bytes() and mock.store["end.png"] == end_image.read_bytes()


def test_veo_image_and_last_frame(serve, mock_clip, monkeypatch, store, start_image, end_image):
    _, backend, body = run_keyframed("veo", serve, mock_clip, monkeypatch, store,
                                     {"image": str(start_image), "end_image": str(end_image)})
    caps = backend.capabilities()
    assert caps.supports_end_image and caps.max_references == 3
    (instance,) = body["instances"]
    assert instance["image"] == {"bytesBase64Encoded": b64(start_image), "mimeType": "image/png"}
    assert instance["lastFrame"] == {"bytesBase64Encoded": b64(end_image), "mimeType": "image/png"}
    assert "referenceImages" not in instance


def test_veo_reference_images_are_assets(serve, mock_clip, monkeypatch, store, end_image):
    provider = PROVIDERS["veo"]
    mock = serve(provider.mock_cls, mock_clip, **provider.extra["mock_kwargs"])
    monkeypatch.setenv("GEMINI_API_KEY", mock.key)
    backend = provider.backend_cls(base_url=mock.url + provider.base_path, poll_interval_s=0.01, retry=FAST_RETRY)
    request = GenerationRequest(prompt="the keeper climbs", duration_s=4, shot_index=1,
                                references=[Reference(path=str(end_image), tag="keeper")])
    outcomes = asyncio.run(generate_shots(store, backend, [request]))
    assert outcomes[0].ok, outcomes[0].error
    (create,) = [r for r in mock.log if r.method == "POST"]
    assert create.body["instances"][0]["referenceImages"] == [
        {"image": {"bytesBase64Encoded": b64(end_image), "mimeType": "image/png"}, "referenceType": "ASSET"}]


def test_veo_drops_references_beside_a_start_frame(start_image, end_image):
    from shotsmith.backends.veo import VeoBackend

    ready, warnings = VeoBackend().prepare(GenerationRequest(
        prompt="p", duration_s=4, mode=GenerationMode.IMAGE_TO_VIDEO, image=str(start_image),
        references=[Reference(path=str(end_image))]))
    assert ready.references == [] and any("reference" in w for w in warnings)


def test_veo2_gets_no_last_frame(start_image, end_image):
    from shotsmith.backends.veo import VeoBackend

    backend = VeoBackend(model="veo-2.0-generate-001")
    assert not backend.capabilities().supports_end_image
    body = backend.body(GenerationRequest(prompt="p", duration_s=5, mode=GenerationMode.IMAGE_TO_VIDEO,
                                          image=str(start_image), end_image=str(end_image)))
    assert "lastFrame" not in body["instances"][0]


def stored(mock, url: str) -> bytes:
    assert url.startswith(f"{mock.url}/store/"), url
    return mock.store[url.rsplit("/", 1)[-1]]


def test_pika_first_frame_through_fal_storage(serve, mock_clip, monkeypatch, store, start_image):
    mock, _, body = run_keyframed("pika", serve, mock_clip, monkeypatch, store, {"image": str(start_image)})
    assert stored(mock, body["image_url"]) == start_image.read_bytes() and "aspect_ratio" not in body
    assert any(r.path == "/fal-ai/pika/v2.2/image-to-video" for r in mock.log)


def test_pika_first_frame_as_a_data_uri(serve, mock_clip, monkeypatch, store, start_image):
    _, _, body = run_keyframed("pika", serve, mock_clip, monkeypatch, store, {"image": str(start_image)},
                               images="data_uri")
    assert body["image_url"] == data_uri(start_image)


def test_pika_first_and_last_use_pikaframes(serve, mock_clip, monkeypatch, store, start_image, end_image):
    mock, backend, body = run_keyframed("pika", serve, mock_clip, monkeypatch, store,
                                        {"image": str(start_image), "end_image": str(end_image)})
    assert backend.capabilities().supports_end_image
    assert any(r.path == "/fal-ai/pika/v2.2/pikaframes" for r in mock.log)
    assert [stored(mock, u) for u in body["image_urls"]] == [start_image.read_bytes(), end_image.read_bytes()]
    assert body["transitions"] == [{"duration": 5, "prompt": "the keeper climbs the stairs"}]


def test_each_video_backend_names_its_providers_image_backend():
    """Storyboard-first picks the same provider's image model for keyframes when there is one."""
    classes = registry.backend_classes()
    expected = {"runway": "runway-image", "luma": "luma-image", "pika": "flux", "veo": "gemini-image", "kling": None}
    for video, image in expected.items():
        assert classes[video].image_backend == image
        if image is not None:
            assert image in classes and classes[image]().capabilities().kinds == {MediaKind.IMAGE}
