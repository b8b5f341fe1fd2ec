"""The cloud image adapters against their mocks: exact requests, references, faults, credentials.

Each fault drill runs once per adapter in :data:`IMAGE_PROVIDERS`. The jobs are
driven by :func:`tests.backends.image_support.make_image` (the job runner's
own create and poll logic, then a download decoded with Pillow).
"""

from __future__ import annotations

import json
import time

import pytest
from tests.backends.backend_mocks.fal import FAL_KEY, FalMock
from tests.backends.backend_mocks.gemini_image import GeminiImageMock
from tests.backends.backend_mocks.luma import LumaMock
from tests.backends.backend_mocks.runway import RunwayMock
from tests.backends.backend_mocks.server import Bouncer
from tests.backends.backend_mocks.veo import GEMINI_KEY
from tests.backends.backend_support import FAST_RETRY
from tests.backends.image_support import make_image
from tests.backends.providers import Provider
from tests.backends.test_uploaders import mock_store_plugin  # noqa: F401  (autouse: registers the test uploader)

from shotsmith.backends.base import GenerationMode, GenerationRequest, MediaKind, Reference
from shotsmith.backends.errors import AmbiguousCreateError, AuthError, DownloadError, ModerationError, RemoteError
from shotsmith.backends.flux_image import FluxBackend
from shotsmith.backends.gemini_image import GeminiImageBackend
from shotsmith.backends.luma_image import LumaImageBackend
from shotsmith.backends.runway_image import RunwayImageBackend, cite
from shotsmith.errors import InvalidInputError

LUMA_KEY = "luma-test-SECRET-abcdef"

IMAGE_PROVIDERS: dict[str, Provider] = {
    "runway-image": Provider("runway-image", RunwayMock, RunwayImageBackend,
                             env={"RUNWAYML_API_SECRET": "sk-test-SECRET-0123456789"}),
    "flux": Provider("flux", FalMock, FluxBackend, env={"FAL_KEY": FAL_KEY}, extra={"mock_kwargs": {"key": FAL_KEY}}),
    "luma-image": Provider("luma-image", LumaMock, LumaImageBackend, env={"LUMAAI_API_KEY": LUMA_KEY},
                           base_path="/dream-machine/v1", extra={"mock_kwargs": {"key": LUMA_KEY}}),
    "gemini-image": Provider("gemini-image", GeminiImageMock, GeminiImageBackend, env={"GEMINI_API_KEY": GEMINI_KEY},
                             base_path="/v1beta", extra={"mock_kwargs": {"key": GEMINI_KEY}}),
}


@pytest.fixture(params=sorted(IMAGE_PROVIDERS))
def provider(request):
    return IMAGE_PROVIDERS[request.param]


@pytest.fixture
def setup(provider, serve, mock_clip, monkeypatch, tmp_path):
    mock = serve(provider.mock_cls, mock_clip, **provider.extra.get("mock_kwargs", {}))
    for var, value in provider.env.items():
        monkeypatch.setenv(var, value)

    def make_backend(**kwargs):
        options = dict(base_url=mock.url + provider.base_path, poll_interval_s=0.01, retry=FAST_RETRY)
        options.update(backend_options(provider.name, mock, tmp_path))
        options.update(kwargs)
        return provider.backend_cls(**options)

    return mock, make_backend


def backend_options(name: str, mock, tmp_path) -> dict:
    """Per-adapter options that point side services (storage, spool, uploader) at the mock."""
    if name == "flux":
        return {"storage_url": mock.url}
    if name == "gemini-image":
        return {"spool_dir": str(tmp_path / "spool")}
    if name == "luma-image":
        return {"uploader": "mock-store", "upload": {"url": mock.url}}
    return {}


def still(prompt: str = "a lighthouse at dawn", **kw) -> GenerationRequest:
    base = dict(prompt=prompt, mode=GenerationMode.TEXT_TO_IMAGE, duration_s=1, aspect_ratio="16:9",
                resolution="720p", shot_index=1)
    base.update(kw)
    return GenerationRequest(**base)


def creates(mock) -> list:
    return [r for r in mock.log if r.method == "POST" and isinstance(r.body, dict) and
            ("prompt" in json.dumps(r.body) or "contents" in r.body)]


# -- every adapter ---------------------------------------------------------------------------------------------

def test_text_to_image_happy_path(setup, tmp_path, provider):
    mock, make_backend = setup
    backend = make_backend()
    caps = backend.capabilities()
    assert caps.kinds == {MediaKind.IMAGE} and caps.costs_money and not caps.local
    assert GenerationMode.TEXT_TO_IMAGE in caps.modes and caps.max_references >= 1
    cost = backend.estimate_cost(still())
    assert cost.amount > 0 and cost.source
    task, size, _ = make_image(backend, still(), tmp_path / "out.png")
    assert size == (96, 54) and task.id
    assert len(creates(mock)) == 1


def test_retries_429_honouring_retry_after(setup, tmp_path):
    mock, make_backend = setup
    mock.faults.submit_429 = 1
    mock.faults.retry_after = "1"
    started = time.monotonic()
    make_image(make_backend(), still(), tmp_path / "out.png")
    assert time.monotonic() - started >= 1.0, "Retry-After: 1 was not honoured"
    assert mock.faults.submit_429 == 0


@pytest.mark.parametrize("fault", ["submit_500", "poll_500", "poll_429", "poll_drop"])
def test_transient_faults_are_retried(setup, tmp_path, provider, fault):
    mock, make_backend = setup
    if provider.name == "gemini-image" and fault.startswith("poll"):
        pytest.skip("generateContent is synchronous: there is no status call")
    setattr(mock.faults, fault, 2)
    make_image(make_backend(), still(), tmp_path / "out.png")
    assert getattr(mock.faults, fault) == 0, "the fault never fired"


@pytest.mark.parametrize("fault", ["submit_drop", "submit_accept_drop"])
def test_lost_create_answer_is_never_sent_again(setup, tmp_path, provider, fault):
    mock, make_backend = setup
    setattr(mock.faults, fault, 1)
    if provider.name == "luma-image" and fault == "submit_accept_drop":
        make_image(make_backend(), still(), tmp_path / "out.png")  # found in Luma's list and adopted
        assert len(creates(mock)) == 1 and mock.submits == 1
        return
    with pytest.raises(AmbiguousCreateError) as info:
        make_image(make_backend(), still(), tmp_path / "out.png")
    assert "may have been created" in info.value.message + (info.value.hint or "")
    assert len(creates(mock)) == 1, "an ambiguous create was sent again"


def test_moderation_is_reported_and_not_retried(setup, tmp_path):
    mock, make_backend = setup
    with pytest.raises(ModerationError):
        make_image(make_backend(), still("FORBIDDEN content"), tmp_path / "out.png")
    assert len(creates(mock)) == 1


def test_failed_task_is_terminal(setup, tmp_path, provider):
    mock, make_backend = setup
    with pytest.raises(RemoteError) as info:
        make_image(make_backend(), still("FAIL this one"), tmp_path / "out.png")
    assert not isinstance(info.value, ModerationError)
    assert len(creates(mock)) == 1


def test_truncated_download_is_refused(setup, tmp_path, provider):
    mock, make_backend = setup
    if provider.name == "gemini-image":
        pytest.skip("the image arrives inside the create's answer; see test_gemini_truncated_answer_is_ambiguous")
    mock.faults.truncate_download = 1
    with pytest.raises(DownloadError, match="truncated|broke off"):
        make_image(make_backend(), still(), tmp_path / "out.png")


def test_missing_key_is_a_clear_error_before_anything_is_sent(provider, serve, mock_clip, tmp_path):
    mock = serve(provider.mock_cls, mock_clip)
    backend = provider.backend_cls(base_url=mock.url + provider.base_path, retry=FAST_RETRY,
                                   **backend_options(provider.name, mock, tmp_path))
    with pytest.raises(AuthError) as info:
        backend.check_ready()
    assert any(var in (info.value.hint or "") for var in provider.env)
    assert mock.log == []


def test_wrong_key_is_not_retried(setup, tmp_path, provider, monkeypatch):
    mock, make_backend = setup
    for var in provider.env:
        monkeypatch.setenv(var, "wrong-" + provider.env[var])
    with pytest.raises(AuthError):
        make_image(make_backend(), still(), tmp_path / "out.png")
    assert len([r for r in mock.log if r.path != "/upload-bucket"]) == 1, "a refused key was retried"


def test_redirect_to_another_host_drops_every_credential(setup, tmp_path, provider, serve, mock_clip):
    mock, make_backend = setup
    foreign = serve(Bouncer, mock_clip)
    mock.faults.foreign = foreign.url
    mock.faults.redirect_poll = 1
    mock.faults.redirect_download = 1
    if provider.name == "gemini-image":
        mock.faults.redirect_create = 1
    make_image(make_backend(), still(), tmp_path / "out.png")
    assert foreign.log, "the redirects never reached the other host"
    for req in foreign.log:
        for name in ("authorization", "x-goog-api-key", "x-api-key", "key", "cookie"):
            assert name not in req.headers, f"{name} followed a redirect to another host"
        seen = json.dumps(req.headers) + json.dumps(req.query)
        assert not any(value in seen for value in provider.secrets(mock))


# -- Runway text_to_image ------------------------------------------------------------------------------------

def test_runway_image_fields():
    backend = RunwayImageBackend()
    path, body = backend.body(still(resolution="1080p", seed=4))
    assert path == "/v1/text_to_image"
    assert body == {"model": "gen4_image", "promptText": "a lighthouse at dawn", "ratio": "1920:1080", "seed": 4}
    assert backend.body(still(aspect_ratio="9:16"))[1]["ratio"] == "720:1280"
    assert backend.body(still(aspect_ratio="1:1", resolution="1080p"))[1]["ratio"] == "1080:1080"
    with pytest.raises(InvalidInputError):
        backend.prepare(still(aspect_ratio="4:5"))
    assert backend.estimate_cost(still(resolution="1080p")).amount == 8
    assert backend.estimate_cost(still()).unit == "credits"


def test_runway_tags_are_valid_and_cited():
    refs = [Reference(path="/x/Mara Lee.png", tag="Mara Lee"), Reference(path="/x/h.png", tag="harbour", role="location"),
            Reference(path="/x/look.png", role="style")]
    from shotsmith.backends.remote import reference_tags

    tags = reference_tags([r.tag or "look" for r in refs])
    assert tags == ["Mara_Lee", "harbour", "look"]
    prompt = cite("@mara_lee walks along the harbour at night", refs, tags)
    assert prompt == "@Mara_Lee walks along the @harbour at night, in the style of @look"


def test_runway_references_are_uploaded_and_tagged(serve, mock_clip, tmp_path, start_image, monkeypatch):
    mock = serve(RunwayMock, mock_clip)
    monkeypatch.setenv("RUNWAYML_API_SECRET", mock.key)
    backend = RunwayImageBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    request = still("Mara waits on the pier", mode=GenerationMode.REFERENCE_TO_IMAGE,
                    references=[Reference(path=str(start_image), tag="Mara")])
    make_image(backend, request, tmp_path / "out.png")
    (create,) = [r for r in mock.log if r.path == "/v1/text_to_image"]
    assert create.body["referenceImages"] == [{"uri": "runway://uploads/up1", "tag": "Mara"}]
    assert create.body["promptText"] == "@Mara waits on the pier"
    (bucket,) = [r for r in mock.log if r.path == "/upload-bucket"]
    assert "authorization" not in bucket.headers, "the API key went to the upload host"
    assert start_image.read_bytes() in mock.uploads["up1"]
    grant = next(r for r in mock.log if r.path == "/v1/uploads")
    assert grant.body == {"filename": start_image.name, "type": "ephemeral"}


def test_runway_references_as_data_uris(serve, mock_clip, tmp_path, start_image, monkeypatch):
    mock = serve(RunwayMock, mock_clip)
    monkeypatch.setenv("RUNWAYML_API_SECRET", mock.key)
    backend = RunwayImageBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY, references="data_uri")
    make_image(backend, still("a pier", references=[Reference(path=str(start_image))]), tmp_path / "out.png")
    (create,) = [r for r in mock.log if r.path == "/v1/text_to_image"]
    (ref,) = create.body["referenceImages"]
    assert ref["uri"].startswith("data:image/png;base64,") and ref["tag"] == "start"
    assert "featuring @start" in create.body["promptText"]
    assert not mock.uploads


def test_runway_failed_upload_spends_nothing(serve, mock_clip, tmp_path, start_image, monkeypatch):
    mock = serve(RunwayMock, mock_clip)
    monkeypatch.setenv("RUNWAYML_API_SECRET", mock.key)
    mock.handle_bucket = lambda req: __import__("tests.backends.backend_mocks.server", fromlist=["Resp"]).Resp(
        403, raw=b"<Error>denied</Error>", content_type="application/xml")
    backend = RunwayImageBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    with pytest.raises(RemoteError) as info:
        make_image(backend, still("a pier", references=[Reference(path=str(start_image))]), tmp_path / "o.png")
    assert not isinstance(info.value, AmbiguousCreateError)
    assert not [r for r in mock.log if r.path == "/v1/text_to_image"]


def test_runway_turbo_needs_a_reference():
    with pytest.raises(InvalidInputError):
        RunwayImageBackend(model="gen4_image_turbo").prepare(still())


# -- FLUX on fal -------------------------------------------------------------------------------------------------

def test_flux_text_to_image_fields():
    backend = FluxBackend()
    request = still(seed=9)
    assert backend.model_path(request) == "fal-ai/flux/dev"
    assert backend.arguments(request) == {"prompt": "a lighthouse at dawn", "image_size": {"width": 1280, "height": 720},
                                          "num_images": 1, "output_format": "png", "enable_safety_checker": True,
                                          "seed": 9}
    assert backend.arguments(still(aspect_ratio="4:5", resolution="1080p"))["image_size"] == {"width": 1072,
                                                                                              "height": 1344}
    cost = backend.estimate_cost(still())
    assert cost.amount == round(0.025 * 1280 * 720 / 1e6, 4) and "unconfirmed" in cost.source


@pytest.mark.parametrize("count", [1, 2])
def test_flux_references_go_through_fal_storage_to_kontext(serve, mock_clip, tmp_path, start_image, monkeypatch,
                                                           count):
    from tests.backends.backend_mocks.fal import STORAGE_TOKEN

    mock = serve(FalMock, mock_clip, key=FAL_KEY)
    monkeypatch.setenv("FAL_KEY", FAL_KEY)
    backend = FluxBackend(base_url=mock.url, storage_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)
    refs = [Reference(path=str(start_image), tag="Mara")] * count
    make_image(backend, still("Mara at dusk", mode=GenerationMode.REFERENCE_TO_IMAGE, references=refs),
               tmp_path / "out.png")
    model = "fal-ai/flux-pro/kontext" if count == 1 else "fal-ai/flux-pro/kontext/multi"
    (create,) = [r for r in mock.log if r.path == f"/{model}"]
    urls = [create.body["image_url"]] if count == 1 else create.body["image_urls"]
    assert len(urls) == count and all(mock.store[u.rsplit("/", 1)[-1]] == start_image.read_bytes() for u in urls)
    assert create.body["aspect_ratio"] == "16:9"
    (token,) = [r for r in mock.log if r.path == "/storage/auth/token"]  # cached for the second upload
    assert token.headers["authorization"] == f"Key {FAL_KEY}"
    for upload in [r for r in mock.log if r.path == "/files/upload"]:
        assert upload.headers["authorization"] == f"Bearer {STORAGE_TOKEN}", "the FAL_KEY went to the CDN host"
        assert upload.headers["x-fal-file-name"] == start_image.name


# -- Luma Photon ---------------------------------------------------------------------------------------------------

def test_luma_image_typed_references(serve, mock_clip, tmp_path, start_image, monkeypatch):
    mock = serve(LumaMock, mock_clip, key=LUMA_KEY)
    monkeypatch.setenv("LUMAAI_API_KEY", LUMA_KEY)
    backend = LumaImageBackend(base_url=mock.url + "/dream-machine/v1", poll_interval_s=0.01, retry=FAST_RETRY,
                               uploader="mock-store", upload={"url": mock.url})
    refs = [Reference(path=str(start_image), tag="mara"), Reference(path=str(start_image), role="style", weight=0.5),
            Reference(path=str(start_image), role="location")]
    make_image(backend, still("mara on the pier", mode=GenerationMode.REFERENCE_TO_IMAGE, references=refs),
               tmp_path / "out.png")
    (create,) = [r for r in mock.log if r.path.endswith("/generations/image")]
    url = f"{mock.url}/store/{start_image.name}"
    assert create.body == {"generation_type": "image", "model": "photon-1", "prompt": "mara on the pier",
                           "aspect_ratio": "16:9", "format": "png", "character_ref": {"identity0": {"images": [url]}},
                           "style_ref": [{"url": url, "weight": 0.5}], "image_ref": [{"url": url, "weight": 0.85}]}


def test_luma_image_drops_extra_references_with_a_warning(start_image):
    backend = LumaImageBackend(uploader="mock-store", upload={"url": "http://127.0.0.1:9"})
    refs = [Reference(path=str(start_image), role="style")] * 2
    ready, warnings = backend.prepare(still(mode=GenerationMode.REFERENCE_TO_IMAGE, references=refs))
    assert len(ready.references) == 1 and any("dropped" in w for w in warnings)


# -- Gemini image ------------------------------------------------------------------------------------------------

def test_gemini_references_are_inline_parts(serve, mock_clip, tmp_path, start_image, monkeypatch):
    import base64

    mock = serve(GeminiImageMock, mock_clip, key=GEMINI_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    backend = GeminiImageBackend(base_url=mock.url + "/v1beta", retry=FAST_RETRY, spool_dir=str(tmp_path / "spool"))
    make_image(backend, still("Mara at dusk", aspect_ratio="9:16", references=[Reference(path=str(start_image))]),
               tmp_path / "out.png")
    (create,) = mock.log
    assert create.path == "/v1beta/models/gemini-2.5-flash-image:generateContent"
    assert create.body["contents"][0]["parts"] == [
        {"text": "Mara at dusk"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(start_image.read_bytes()).decode()}}]
    assert create.body["generationConfig"] == {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "9:16"}}


def test_gemini_image_is_spooled_before_the_task_is_returned(serve, mock_clip, tmp_path, monkeypatch):
    """A run killed after the create resumes from the spool: no second generateContent."""
    mock = serve(GeminiImageMock, mock_clip, key=GEMINI_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    backend = GeminiImageBackend(base_url=mock.url + "/v1beta", retry=FAST_RETRY, spool_dir=str(tmp_path / "spool"))
    task, _, _ = make_image(backend, still(), tmp_path / "first.png")
    assert (tmp_path / "spool" / task.data["spool"]).read_bytes() == mock.image_bytes
    again, size, _ = make_image(backend, still(), tmp_path / "resumed.png", task=task)  # the engine resuming it
    assert again is task and size == (96, 54) and len(mock.log) == 1
    (tmp_path / "spool" / task.data["spool"]).unlink()
    with pytest.raises(RemoteError, match="no longer in the spool"):
        make_image(backend, still(), tmp_path / "lost.png", task=task)
    assert len(mock.log) == 1, "a lost spool file must not silently pay again"


def test_gemini_truncated_answer_is_ambiguous(serve, mock_clip, tmp_path, monkeypatch):
    """The image was made (and billed) but the answer broke off: never sent again."""
    mock = serve(GeminiImageMock, mock_clip, key=GEMINI_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    mock.truncate_create = 1
    backend = GeminiImageBackend(base_url=mock.url + "/v1beta", retry=FAST_RETRY, spool_dir=str(tmp_path / "spool"))
    with pytest.raises(AmbiguousCreateError):
        make_image(backend, still(), tmp_path / "out.png")
    assert len(mock.log) == 1 and mock.submits == 1


def test_gemini_prompt_block_is_moderation(serve, mock_clip, tmp_path, monkeypatch):
    mock = serve(GeminiImageMock, mock_clip, key=GEMINI_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    backend = GeminiImageBackend(base_url=mock.url + "/v1beta", retry=FAST_RETRY, spool_dir=str(tmp_path / "spool"))
    from shotsmith.backends.remote import RemoteTask

    status = __import__("asyncio").run(backend.poll(None, RemoteTask("gi-x", {"outcome": "refused",
                                                                              "reason": "PROHIBITED_CONTENT"})))
    assert isinstance(status.error, ModerationError) and status.state == "failed"


# -- through the job engine (stills verified and stored by kind) ----------------------------------------------------

def test_engine_stores_the_still_and_caches_it(setup, store, provider):
    import asyncio

    from shotsmith.backends.engine import generate_shots

    mock, make_backend = setup
    outcomes = asyncio.run(generate_shots(store, make_backend(), [still(), still("a red kite over dunes", shot_index=2)]))
    assert [o.ok for o in outcomes] == [True, True], [o.error for o in outcomes]
    for outcome in outcomes:
        assert outcome.clip.parent == store.clips_dir and outcome.clip.suffix == ".png"
        assert outcome.result.kind is MediaKind.IMAGE and (outcome.result.width, outcome.result.height) == (96, 54)
    calls = len(mock.log)
    again = asyncio.run(generate_shots(store, make_backend(), [still(), still("a red kite over dunes", shot_index=2)]))
    assert [o.cached for o in again] == [True, True] and len(mock.log) == calls


def test_engine_resumes_a_killed_run_without_paying_again(setup, store, provider):
    import asyncio

    from shotsmith.backends.engine import generate_shots
    from shotsmith.store import ProjectStore

    class Kill(BaseException):
        pass

    mock, make_backend = setup

    def killer(event):
        if event.state == "submitted" and "task" in event.message:
            raise Kill()

    with pytest.raises(Kill):
        asyncio.run(generate_shots(store, make_backend(), [still()], on_progress=killer))
    paid = len(creates(mock))
    assert paid == 1
    outcomes = asyncio.run(generate_shots(ProjectStore.open(store.root), make_backend(), [still()]))
    assert outcomes[0].ok and outcomes[0].resumed, outcomes[0].error
    assert len(creates(mock)) == 1, "the resumed run paid for the image again"
