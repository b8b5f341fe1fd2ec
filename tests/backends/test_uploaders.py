"""Uploaders: the plugin hook, the built-in S3 uploader against a local S3-compatible server (moto),
and Luma refusing images before any spend when no uploader is configured."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

import shotsmith
from shotsmith.backends import registry
from shotsmith.backends.base import GenerationMode, GenerationRequest
from shotsmith.backends.errors import AuthError
from shotsmith.backends.luma import LumaBackend
from shotsmith.backends.uploaders import S3Uploader, Uploader, uploader_classes, uploader_for
from shotsmith.errors import InvalidInputError

S3_KEY_ID = "AKIATESTKEYID0000001"
S3_SECRET = "s3-test-SECRET-abcdefghijklmnop"


class MockStoreUploader(Uploader):
    """Puts the file on a mock provider's public ``/store/`` (a stand-in bucket); option ``url``."""

    name = "mock-store"

    async def upload(self, path: Path, *, content_type: str, timeout_s: float = 60.0) -> str:
        url = f"{self.options['url']}/store/{Path(path).name}"
        async with httpx.AsyncClient(timeout=timeout_s) as client:
            (await client.put(url, content=Path(path).read_bytes())).raise_for_status()
        return url


class MockStorePlugin:
    @shotsmith.hookimpl
    def shotsmith_register_uploaders(self, register):
        register(MockStoreUploader)


@pytest.fixture(autouse=True)
def mock_store_plugin():
    """Registered through the hook for every test here (the registry is reset between tests)."""
    if registry.plugin_manager().get_plugin("mock-store") is None:
        registry.register_plugin(MockStorePlugin(), name="mock-store")
    yield


def test_uploaders_are_registered_through_the_hook():
    classes = uploader_classes()
    assert classes["s3"] is S3Uploader and classes["mock-store"] is MockStoreUploader
    assert isinstance(uploader_for({"uploader": "mock-store", "upload": {"url": "x"}}), MockStoreUploader)
    with pytest.raises(InvalidInputError, match="unknown uploader"):
        uploader_for({"uploader": "nope"})


def test_no_uploader_configured(monkeypatch):
    monkeypatch.delenv("SHOTSMITH_S3_BUCKET", raising=False)
    assert uploader_for({}) is None
    monkeypatch.setenv("SHOTSMITH_S3_BUCKET", "b")
    assert isinstance(uploader_for({}), S3Uploader)


# -- S3 against a local S3-compatible server --------------------------------------------------------------------

@pytest.fixture
def s3_server(monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SHOTSMITH_S3_ACCESS_KEY_ID", S3_KEY_ID)
    monkeypatch.setenv("SHOTSMITH_S3_SECRET_ACCESS_KEY", S3_SECRET)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=S3_KEY_ID,
                 aws_secret_access_key=S3_SECRET).create_bucket(Bucket="frames")
    yield endpoint
    server.stop()


def test_s3_uploader_round_trip(s3_server, start_image):
    uploader = S3Uploader(endpoint=s3_server, bucket="frames", region="us-east-1", prefix="test/")
    url = asyncio.run(uploader.upload(start_image, content_type="image/png", timeout_s=10))
    assert url.startswith(f"{s3_server}/frames/test/") and url.split("?")[0].endswith("/start.png")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
    assert S3_SECRET not in url
    fetched = httpx.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == start_image.read_bytes()
    # Content-addressed: the same file uploads to the same object.
    again = asyncio.run(uploader.upload(start_image, content_type="image/png", timeout_s=10))
    assert again.split("?")[0] == url.split("?")[0]


def test_s3_uploader_missing_bucket_is_refused(s3_server, start_image):
    with pytest.raises(InvalidInputError, match="bucket"):
        S3Uploader(endpoint=s3_server).check_ready()
    with pytest.raises(Exception, match="HTTP 404|NoSuchBucket"):
        asyncio.run(S3Uploader(endpoint=s3_server, bucket="absent").upload(start_image, content_type="image/png",
                                                                           timeout_s=10))


def test_s3_uploader_without_keys(monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SHOTSMITH_S3_ACCESS_KEY_ID",
                "SHOTSMITH_S3_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(AuthError) as info:
        S3Uploader(bucket="b").check_ready()
    assert "SHOTSMITH_S3_ACCESS_KEY_ID" in info.value.hint


def test_luma_keyframe_through_s3(s3_server, start_image, tmp_path):
    """The URL Luma receives for frame0 is a presigned GET on the S3 server that serves the keyframe."""
    backend = LumaBackend(uploader="s3", upload={"endpoint": s3_server, "bucket": "frames"}, api_key="k")
    request = GenerationRequest(prompt="a pier", duration_s=5, mode=GenerationMode.IMAGE_TO_VIDEO, image=str(start_image))
    ready, _ = backend.prepare(request)
    urls = asyncio.run(backend.upload_images(ready))
    body = backend.body(ready, urls)
    frame0 = body["keyframes"]["frame0"]["url"]
    assert frame0.startswith(s3_server) and httpx.get(frame0, timeout=10).content == start_image.read_bytes()


# -- Luma refuses before any spend without an uploader ----------------------------------------------------------

@pytest.mark.parametrize("backend_name", ["luma", "luma-image"])
def test_luma_without_uploader_refuses_in_prepare(backend_name, start_image, monkeypatch):
    from shotsmith.backends.base import Reference

    monkeypatch.delenv("SHOTSMITH_S3_BUCKET", raising=False)
    backend = registry.get_backend(backend_name)
    if backend_name == "luma":
        request = GenerationRequest(prompt="a pier", duration_s=5, mode=GenerationMode.IMAGE_TO_VIDEO,
                                    image=str(start_image))
    else:
        request = GenerationRequest(prompt="a pier", duration_s=1, mode=GenerationMode.REFERENCE_TO_IMAGE,
                                    references=[Reference(path=str(start_image))])
    with pytest.raises(InvalidInputError) as info:
        backend.prepare(request)
    assert "uploader" in info.value.message and "SHOTSMITH_S3_BUCKET" in info.value.hint
    assert "nothing was sent" in info.value.hint
    # Text-only requests need no uploader.
    plain = request.model_copy(update={"mode": GenerationMode.TEXT_TO_VIDEO if backend_name == "luma" else
                                       GenerationMode.TEXT_TO_IMAGE, "image": None, "references": []})
    backend.prepare(plain)


def test_every_hook_is_in_the_plugin_guide():
    import inspect

    from shotsmith.backends import hookspecs

    guide = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text(encoding="utf-8")
    hooks = [n for n, obj in vars(hookspecs).items() if n.startswith("shotsmith_") and inspect.isfunction(obj)]
    assert "shotsmith_register_uploaders" in hooks
    for name in hooks:
        assert name in guide, f"hook {name} is not documented in docs/plugins.md"


class BrokenUploader(Uploader):
    name = "broken-store"

    async def upload(self, path: Path, *, content_type: str, timeout_s: float = 60.0) -> str:
        raise OSError("bucket on fire; url https://x.example/?X-Amz-Signature=abc")


class BrokenPlugin:
    @shotsmith.hookimpl
    def shotsmith_register_uploaders(self, register):
        register(BrokenUploader)


def test_a_failing_uploader_spends_nothing(serve, mock_clip, store, start_image, monkeypatch):
    """The upload fails before the create: no create is sent, and the spend guard hears 'not created'."""
    from tests.backends.backend_mocks.luma import LumaMock
    from tests.backends.backend_support import FAST_RETRY

    from shotsmith.backends.engine import generate_shots

    if registry.plugin_manager().get_plugin("broken-store") is None:
        registry.register_plugin(BrokenPlugin(), name="broken-store")
    mock = serve(LumaMock, mock_clip, key="luma-test-SECRET-abcdef")
    monkeypatch.setenv("LUMAAI_API_KEY", mock.key)

    class Guard:
        settled: list = []

        def authorize(self, backend, request, cache_key):
            pass

        def settle(self, cache_key, *, created):
            self.settled.append(created)

    guard = Guard()
    backend = LumaBackend(base_url=mock.url + "/dream-machine/v1", poll_interval_s=0.01, retry=FAST_RETRY,
                          uploader="broken-store")
    request = GenerationRequest(prompt="a pier", duration_s=5, mode=GenerationMode.IMAGE_TO_VIDEO, image=str(start_image))
    outcomes = asyncio.run(generate_shots(store, backend, [request], spend_guard=guard))
    assert not outcomes[0].ok and "broken-store" in outcomes[0].error and "nothing was sent" in outcomes[0].hint
    assert not [r for r in mock.log if r.method == "POST"], "a create was sent after the upload failed"
    assert guard.settled == [False]
    assert not outcomes[0].uncertain


def test_luma_check_ready_checks_a_named_uploader(monkeypatch):
    monkeypatch.delenv("SHOTSMITH_S3_BUCKET", raising=False)
    LumaBackend(api_key="k").check_ready()  # no uploader: fine until a request has images
    with pytest.raises(InvalidInputError, match="bucket"):
        LumaBackend(api_key="k", uploader="s3").check_ready()
    with pytest.raises(InvalidInputError, match="unknown uploader"):
        LumaBackend(api_key="k", uploader="nope").check_ready()
