"""Each adapter's exact request fields, capabilities, cost estimates, options and auth details."""

from __future__ import annotations

import asyncio
import base64
import time

import jwt
import pytest
from tests.backends.backend_mocks.kling import ACCESS_KEY, SECRET_KEY, KlingMock
from tests.backends.backend_mocks.veo import GEMINI_KEY, VeoMock
from tests.backends.backend_support import FAST_RETRY

from shotsmith.backends.base import GenerationMode, GenerationRequest
from shotsmith.backends.engine import generate_shots
from shotsmith.backends.fal import PikaBackend
from shotsmith.backends.kling import KlingBackend
from shotsmith.backends.luma import LumaBackend
from shotsmith.backends.registry import get_backend
from shotsmith.backends.remote import RemoteBackend, RemoteTask
from shotsmith.backends.runway import RunwayBackend
from shotsmith.backends.veo import VeoBackend
from shotsmith.errors import InvalidInputError
from shotsmith.formats import CameraMove

ALL = [RunwayBackend, KlingBackend, PikaBackend, LumaBackend, VeoBackend]


def req(**kw) -> GenerationRequest:
    base = dict(prompt="a lighthouse", duration_s=5, aspect_ratio="16:9", resolution="720p", shot_index=1)
    base.update(kw)
    return GenerationRequest(**base)


def test_runway_fields(start_image):
    backend = RunwayBackend()
    path, body = backend.body(req(seed=7))
    assert path == "/v1/text_to_video"
    assert body == {"model": "gen4.5", "promptText": "a lighthouse", "ratio": "1280:720", "duration": 5, "seed": 7}
    path, body = backend.body(req(mode=GenerationMode.IMAGE_TO_VIDEO, image=str(start_image), aspect_ratio="9:16"))
    assert path == "/v1/image_to_video" and body["ratio"] == "720:1280"
    assert body["promptImage"].startswith("data:image/png;base64,")
    assert backend.default_headers() == {"X-Runway-Version": "2024-11-06"}


def test_kling_fields_and_camera(start_image):
    backend = KlingBackend()
    kind, body = backend.body(req(resolution="1080p", negative_prompt="blur", camera=CameraMove.PAN_LEFT))
    assert kind == "text2video"
    assert body["duration"] == "5" and body["mode"] == "pro" and body["aspect_ratio"] == "16:9"
    assert body["negative_prompt"] == "blur" and body["model_name"] == "kling-v2-5-turbo"
    assert "camera_control" not in body, "camera control sent to a model that ignores it"
    # kling-v1 honours simple camera control in text-to-video, std mode, 5 s
    kind, body = KlingBackend(model="kling-v1").body(req(camera=CameraMove.PAN_LEFT))
    assert body["camera_control"]["type"] == "simple"
    assert [k for k, v in body["camera_control"]["config"].items() if v] == ["pan"]
    _, body = KlingBackend(model="kling-v1").body(req(camera=CameraMove.PAN_LEFT, resolution="1080p"))
    assert "camera_control" not in body  # pro mode: not honoured
    kind, body = backend.body(req(mode=GenerationMode.IMAGE_TO_VIDEO, image=str(start_image)))
    assert kind == "image2video" and not body["image"].startswith("data:")
    assert base64.b64decode(body["image"]) == start_image.read_bytes()


def test_kling_jwt_claims(monkeypatch):
    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET_KEY)
    token = KlingBackend().auth_headers()["Authorization"].removeprefix("Bearer ")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
    now = time.time()
    assert claims["iss"] == ACCESS_KEY
    assert now + 1700 < claims["exp"] <= now + 1801 and claims["nbf"] <= now - 4


def test_kling_resigns_an_expired_token(serve, mock_clip, store, monkeypatch):
    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET_KEY)
    mock = serve(KlingMock, mock_clip)
    mock.expire_next_token = 1
    backend = KlingBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    signed = []
    real_encode = jwt.encode
    monkeypatch.setattr("shotsmith.backends.kling.jwt.encode", lambda *a, **k: signed.append(1) or real_encode(*a, **k))
    outcomes = asyncio.run(generate_shots(store, backend, [req()]))
    assert outcomes[0].ok, outcomes[0].error
    assert len(signed) == 2, "the token was not re-signed after code 1004"
    assert mock.expire_next_token == 0


def test_kling_api_key_mode(monkeypatch):
    monkeypatch.setenv("KLING_API_KEY", "kling-single-key-123")
    backend = KlingBackend(auth_mode="api_key")
    assert backend.auth_headers() == {"Authorization": "Bearer kling-single-key-123"}


def test_pika_fields_and_paths(start_image):
    backend = PikaBackend()
    args = backend.arguments(req(seed=3, negative_prompt="blur", duration_s=10, resolution="1080p", aspect_ratio="4:5"))
    assert args == {"prompt": "a lighthouse", "aspect_ratio": "4:5", "resolution": "1080p", "duration": 10, "seed": 3,
                    "negative_prompt": "blur"}
    i2v = req(mode=GenerationMode.IMAGE_TO_VIDEO, image=str(start_image))
    assert backend.model_path(i2v) == "fal-ai/pika/v2.2/image-to-video"
    assert backend.arguments(i2v)["image_url"].startswith("data:image/png;base64,")
    # Resuming without stored URLs rebuilds them the way fal's own client does (model sub-path dropped).
    urls = backend._urls(RemoteTask("abc"))
    assert urls["status_url"] == "https://queue.fal.run/fal-ai/pika/requests/abc/status"


def test_luma_fields(start_image):
    body = LumaBackend().body(req(resolution="2160p", duration_s=9))
    assert body == {"model": "ray-2", "prompt": "a lighthouse", "aspect_ratio": "16:9", "duration": "9s",
                    "resolution": "4k", "loop": False}
    i2v = req(mode=GenerationMode.IMAGE_TO_VIDEO, image=str(start_image))
    body = LumaBackend().body(i2v, {str(start_image): "https://bucket.example/start.png"})
    assert body["keyframes"] == {"frame0": {"type": "image", "url": "https://bucket.example/start.png"}}
    # Luma takes only URLs: without an uploader the request is refused before anything is sent.
    with pytest.raises(InvalidInputError, match="uploader"):
        LumaBackend().prepare(i2v)


def test_veo_fields(start_image):
    body = VeoBackend().body(req(negative_prompt="blur", mode=GenerationMode.IMAGE_TO_VIDEO, image=str(start_image)))
    assert body["parameters"] == {"sampleCount": 1, "durationSeconds": 5, "aspectRatio": "16:9", "resolution": "720p",
                                  "negativePrompt": "blur"}
    assert VeoBackend(model="veo-2.0-generate-001").body(req())["parameters"] == {
        "sampleCount": 1, "durationSeconds": 5, "aspectRatio": "16:9"}
    image = body["instances"][0]["image"]
    assert image["mimeType"] == "image/png" and base64.b64decode(image["bytesBase64Encoded"]) == start_image.read_bytes()
    assert VeoBackend(model="veo-3.0-generate-001").body(req(resolution="1080p", duration_s=8))["parameters"]["resolution"] == "1080p"


def test_veo_sends_the_key_only_to_its_own_host(monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    backend = VeoBackend()
    assert backend.download_headers("https://generativelanguage.googleapis.com/v1beta/files/x:download?alt=media") == {
        "x-goog-api-key": GEMINI_KEY}
    assert backend.download_headers("https://storage.googleapis.com/bucket/x.mp4") == {}
    for cls in (RunwayBackend, PikaBackend, LumaBackend, KlingBackend):
        assert cls().download_headers("https://cdn.example.com/x.mp4") == {}


def test_veo_download_needs_the_key_and_gets_it(serve, mock_clip, store, monkeypatch):
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    mock = serve(VeoMock, mock_clip, key=GEMINI_KEY)
    backend = VeoBackend(base_url=mock.url + "/v1beta", poll_interval_s=0.01, retry=FAST_RETRY)
    outcomes = asyncio.run(generate_shots(store, backend, [req()]))
    assert outcomes[0].ok, outcomes[0].error


@pytest.mark.parametrize("cls", ALL)
def test_capabilities_and_estimates(cls):
    backend = cls()
    caps = backend.capabilities()
    assert not caps.local and caps.costs_money and caps.durations_s
    assert caps.max_concurrency == backend.concurrency
    ready, _ = backend.prepare(req(duration_s=caps.durations_s[0], aspect_ratio=caps.aspect_ratios[0],
                                   resolution=caps.resolutions[0]))
    estimate = backend.estimate_cost(ready)
    assert estimate.amount > 0 and estimate.source and "estimate" in estimate.detail


@pytest.mark.parametrize("cls", ALL)
def test_prices_are_configurable(cls, tmp_path, monkeypatch):
    backend = cls()
    ready, _ = backend.prepare(req(duration_s=backend.capabilities().durations_s[0]))
    before = backend.estimate_cost(ready).amount
    doubled = {k: v * 2 for k, v in backend.prices.items()}
    config = tmp_path / "config.toml"
    lines = [f'[backends.{cls.name}.prices]'] + [f'"{k}" = {v}' for k, v in doubled.items()]
    config.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))
    assert cls().estimate_cost(ready).amount == pytest.approx(before * 2, rel=0.01)


def test_base_url_and_concurrency_from_config(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[backends.kling]\nbase_url = "https://api-beijing.klingai.com/"\nconcurrency = 7\n')
    monkeypatch.setenv("SHOTSMITH_CONFIG", str(config))
    backend = get_backend("kling")
    assert backend.base_url == "https://api-beijing.klingai.com"
    assert backend.capabilities().max_concurrency == 7
    assert get_backend("kling", concurrency=2).concurrency == 2, "constructor options win over the config"


def test_unknown_option_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="unknown option"):
        RunwayBackend(base_urll="https://x")


def test_durations_snap_with_a_warning():
    ready, warnings = KlingBackend().prepare(req(duration_s=6.5))
    assert ready.duration_s == 5 and any("6.5s" in w for w in warnings)
    ready, warnings = RunwayBackend().prepare(req(duration_s=7.2))
    assert ready.duration_s == 7 and warnings
    with pytest.raises(InvalidInputError):
        VeoBackend().prepare(req(aspect_ratio="1:1"))
    ready, warnings = LumaBackend().prepare(req(seed=4))
    assert ready.seed is None and any("seed" in w for w in warnings)


def test_no_key_needed_to_construct_or_describe():
    for cls in ALL:
        backend = cls()
        assert isinstance(backend, RemoteBackend)
        backend.capabilities()
        assert backend.secrets() == []


# -- adapter defaults against the real services (issue 9, item 6) ------------------------------------------

def test_kling_default_model_does_text_to_video_at_the_mock(serve, mock_clip, store, monkeypatch):
    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET_KEY)
    mock = serve(KlingMock, mock_clip)
    backend = KlingBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    assert GenerationMode.TEXT_TO_VIDEO in backend.capabilities().modes
    outcomes = asyncio.run(generate_shots(store, backend, [req(camera=CameraMove.ZOOM_IN)]))
    assert outcomes[0].ok, outcomes[0].error
    assert any("camera" in w for w in outcomes[0].warnings), "the dropped camera move was not reported"
    (create,) = [r for r in mock.log if r.method == "POST"]
    assert create.body["model_name"] == "kling-v2-5-turbo" and "camera_control" not in create.body
    # The old default has no text-to-video: the mock refuses it as Kling does, and the adapter says so up front.
    old = KlingBackend(model="kling-v2-1", base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    assert old.capabilities().modes == [GenerationMode.IMAGE_TO_VIDEO]
    with pytest.raises(InvalidInputError):
        old.prepare(req())


def test_kling_camera_control_reaches_a_model_that_honours_it(serve, mock_clip, store, monkeypatch):
    monkeypatch.setenv("KLING_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("KLING_SECRET_KEY", SECRET_KEY)
    mock = serve(KlingMock, mock_clip)
    backend = KlingBackend(model="kling-v1", base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    assert backend.capabilities().supports_camera_control
    outcomes = asyncio.run(generate_shots(store, backend, [req(camera=CameraMove.TILT_UP)]))
    assert outcomes[0].ok and not outcomes[0].warnings, (outcomes[0].error, outcomes[0].warnings)
    (create,) = [r for r in mock.log if r.method == "POST"]
    assert create.body["camera_control"]["config"]["tilt"] == 5


def test_runway_sends_no_seed_to_veo31(serve, mock_clip, store, monkeypatch):
    from tests.backends.backend_mocks.runway import RunwayMock

    monkeypatch.setenv("RUNWAYML_API_SECRET", "sk-test-SECRET-0123456789")
    assert "seed" not in RunwayBackend().body(req(seed=7, model="veo3.1", duration_s=6))[1]
    assert RunwayBackend().body(req(seed=7))[1]["seed"] == 7  # gen4.5 has one
    mock = serve(RunwayMock, mock_clip)
    backend = RunwayBackend(model="veo3.1", base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    assert not backend.capabilities().supports_seed
    outcomes = asyncio.run(generate_shots(store, backend, [req(seed=7, duration_s=6)]))
    assert outcomes[0].ok, outcomes[0].error
    assert any("seed" in w for w in outcomes[0].warnings)
    (create,) = [r for r in mock.log if r.method == "POST"]
    assert create.body["model"] == "veo3.1" and "seed" not in create.body


def test_runway_prompt_limit_counts_utf16_units_like_the_api(serve, mock_clip, store, monkeypatch):
    from tests.backends.backend_mocks.runway import RunwayMock

    monkeypatch.setenv("RUNWAYML_API_SECRET", "sk-test-SECRET-0123456789")
    mock = serve(RunwayMock, mock_clip)
    backend = RunwayBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    too_long = "\U0001F3AC" * 700  # 700 characters, 1400 UTF-16 units: the API answers 400
    with pytest.raises(InvalidInputError) as info:
        backend.prepare(req(prompt=too_long))
    assert "1400" in info.value.message
    assert mock.log == []
    fits = "\U0001F3AC" * 500  # exactly 1000 units
    outcomes = asyncio.run(generate_shots(store, backend, [req(prompt=fits)]))
    assert outcomes[0].ok, outcomes[0].error
    # The mock itself counts like the API: the 700-emoji prompt it refuses.
    from shotsmith.backends.errors import RemoteError

    async def raw_create():
        async with backend.client() as api:
            await backend.submit(api, req(prompt=too_long))

    with pytest.raises(RemoteError) as refused:
        asyncio.run(raw_create())
    assert refused.value.status == 400


def test_veo_default_model_and_audio():
    backend = VeoBackend()
    assert backend.model == "veo-3.1-generate-preview"
    assert backend.capabilities().generates_audio
    assert not VeoBackend(model="veo-2.0-generate-001").capabilities().generates_audio
    assert not RunwayBackend().capabilities().generates_audio


def test_veo_default_model_returns_the_audio_it_declares(serve, store, tmp_path, monkeypatch):
    from shotsmith.media.ffmpeg import run_ffmpeg

    clip = tmp_path / "with-audio.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=160x90:r=24:d=1", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                "-movflags", "+faststart", str(clip)])
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    mock = serve(VeoMock, clip, key=GEMINI_KEY)
    backend = VeoBackend(base_url=mock.url + "/v1beta", poll_interval_s=0.01, retry=FAST_RETRY)
    outcomes = asyncio.run(generate_shots(store, backend, [req(duration_s=8)]))
    assert outcomes[0].ok, outcomes[0].error
    (create,) = [r for r in mock.log if r.method == "POST"]
    assert create.path == "/v1beta/models/veo-3.1-generate-preview:predictLongRunning"
    assert backend.capabilities().generates_audio and outcomes[0].result.has_audio
