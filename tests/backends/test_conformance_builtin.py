"""The conformance suite itself: the built-in animatic passes it, and broken backends fail it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tests.backends.media_kind_backends import SpeechBackend, StillBackend, speech_wav, still_bytes

from shotsmith.backends.animatic import AnimaticBackend
from shotsmith.backends.base import GenerationResult, MediaKind, WordTiming
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.testing import BackendConformance
from shotsmith.testing.conformance import (check_cancellation, check_generate, check_generate_image,
                                           check_generate_voice, check_references, check_validation)


class TestAnimaticConformance(BackendConformance):
    @pytest.fixture
    def backend(self):
        return AnimaticBackend()


class WrongSize(AnimaticBackend):
    """Renders every clip at 64x64 whatever was asked: the suite must notice."""

    name = "wrongsize"

    async def generate(self, request, dest, *, on_progress, cancel):
        await asyncio.to_thread(run_ffmpeg, ["-f", "lavfi", "-i", f"testsrc2=s=64x64:r=24:d={request.duration_s}",
                                              "-c:v", "libx264", "-pix_fmt", "yuv420p", str(dest)])
        return GenerationResult(path=str(dest), duration_s=request.duration_s, width=64, height=64)


class SilentSnap(AnimaticBackend):
    name = "silentsnap"

    def prepare(self, request):
        ready, _ = super().prepare(request)
        return ready, []


class IgnoresCancel(AnimaticBackend):
    name = "ignorescancel"

    async def generate(self, request, dest, *, on_progress, cancel):
        return await super().generate(request, dest, on_progress=on_progress, cancel=threading.Event())


def test_suite_catches_a_wrong_size(tmp_path):
    with pytest.raises(AssertionError, match="64x64"):
        check_generate(WrongSize(), tmp_path)


def test_suite_catches_silent_snapping():
    with pytest.raises(AssertionError, match="warning"):
        check_validation(SilentSnap())


def test_suite_catches_ignored_cancel(tmp_path):
    with pytest.raises(pytest.fail.Exception):
        check_cancellation(IgnoresCancel(), tmp_path)


def test_fixture_form(backend_conformance):
    backend_conformance(AnimaticBackend())


class TestRunwayConformanceAgainstMock(BackendConformance):
    """A cloud adapter passes the same suite when pointed at its mock (rendering clips to order)."""

    @pytest.fixture
    def backend(self, serve, mock_clip, monkeypatch):
        from tests.backends.backend_mocks.runway import RunwayMock
        from tests.backends.backend_support import FAST_RETRY

        from shotsmith.backends.runway import RunwayBackend

        mock = serve(RunwayMock, mock_clip, render=True)
        monkeypatch.setenv("RUNWAYML_API_SECRET", mock.key)
        return RunwayBackend(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)


# -- image and voice backends ------------------------------------------------------------------------------------

class TestLocalImageConformance(BackendConformance):
    @pytest.fixture
    def backend(self):
        return StillBackend()


class TestLocalVoiceConformance(BackendConformance):
    @pytest.fixture
    def backend(self):
        return SpeechBackend()


class SquareStills(StillBackend):
    """Ignores the aspect ratio: every still is square."""

    name = "squarestills"

    async def generate(self, request, dest, *, on_progress, cancel):
        dest.write_bytes(still_bytes(360, 360))
        return GenerationResult(path=str(dest), duration_s=0, width=360, height=360, kind=MediaKind.IMAGE)


class IgnoresReferences(StillBackend):
    """Declares references and never looks at them."""

    name = "ignoresrefs"

    async def generate(self, request, dest, *, on_progress, cancel):
        return await super().generate(request.model_copy(update={"references": []}), dest,
                                      on_progress=on_progress, cancel=cancel)


class TimingsPastTheEnd(SpeechBackend):
    name = "latetimings"

    async def generate(self, request, dest, *, on_progress, cancel):
        result = await super().generate(request, dest, on_progress=on_progress, cancel=cancel)
        late = [w.model_copy(update={"start_s": w.start_s + 30, "end_s": w.end_s + 30}) for w in result.word_timings]
        return result.model_copy(update={"word_timings": late})


class Mumbles(SpeechBackend):
    """Says one short word whatever the text."""

    name = "mumbles"

    async def generate(self, request, dest, *, on_progress, cancel):
        data, timings = speech_wav("hm")
        dest.write_bytes(data)
        return GenerationResult(path=str(dest), duration_s=0.5, width=0, height=0, kind=MediaKind.VOICE,
                                word_timings=[WordTiming(word=w, start_s=0, end_s=0.4) for w in request.prompt.split()])


def test_suite_catches_an_image_of_the_wrong_shape(tmp_path):
    with pytest.raises(AssertionError, match="360x360"):
        check_generate_image(SquareStills(), tmp_path)


def test_suite_catches_references_that_are_never_read(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        check_references(IgnoresReferences(), tmp_path)


def test_suite_catches_word_timings_outside_the_audio(tmp_path):
    with pytest.raises(AssertionError, match="outside"):
        check_generate_voice(TimingsPastTheEnd(), tmp_path)


def test_suite_catches_speech_too_short_for_its_words(tmp_path):
    with pytest.raises(AssertionError, match="plausible"):
        check_generate_voice(Mumbles(), tmp_path)


def test_fixture_form_for_images_and_voices(backend_conformance):
    backend_conformance(StillBackend())
    backend_conformance(SpeechBackend())


class TestRemoteImageAndVoiceConformance(BackendConformance):
    """A task-based image API and a synchronous speech API pass the same suite against their mock."""

    @pytest.fixture(params=["remotestills", "remotespeech"])
    def backend(self, request, serve, mock_clip, monkeypatch):
        from tests.backends.media_kind_backends import MediaMock, RemoteSpeech, RemoteStills
        from tests.backends.backend_support import FAST_RETRY

        mock = serve(MediaMock, mock_clip)
        monkeypatch.setenv("MEDIAMOCK_KEY", mock.key)
        cls = RemoteStills if request.param == "remotestills" else RemoteSpeech
        return cls(base_url=mock.url, poll_interval_s=0.01, retry=FAST_RETRY)


class TestSketchConformance(BackendConformance):
    @pytest.fixture
    def backend(self):
        from shotsmith.backends.sketch import SketchBackend

        return SketchBackend()


class TestDiffusersImageConformance(BackendConformance):
    """The local diffusers image backend on a tiny random-weight SD folder (tests/backends/tiny_image_pipelines.py)."""

    @pytest.fixture
    def backend(self, tmp_path_factory):
        pytest.importorskip("diffusers")
        torch = pytest.importorskip("torch")
        from tests.backends.tiny_image_pipelines import shared_stable_diffusion

        from shotsmith.backends.diffusers_image import DiffusersImageBackend
        from shotsmith.config import Settings

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny models on a shared box: a spinning thread pool is slower
        yield DiffusersImageBackend(model=str(shared_stable_diffusion(tmp_path_factory)), settings=Settings(),
                                    short_side=64, steps=2, device="cpu")
        torch.set_num_threads(threads)


class TestDiffusersConformance(BackendConformance):
    """The local diffusers video backend on a tiny random-weight ModelScope folder (tests/backends/tiny_pipelines.py).

    It honours the requested resolution, snapped to the model's multiple: this folder's VAE compresses 16x, as
    a real model's does, so 16:9 at 360p is made 640x352, with the warning the suite requires for that."""

    size_multiple = 16

    @pytest.fixture
    def backend(self, tmp_path_factory):
        pytest.importorskip("diffusers")
        torch = pytest.importorskip("torch")
        from tests.backends.tiny_pipelines import PipelineUnavailable, build_modelscope

        from shotsmith.backends.local_diffusion import DiffusersBackend
        from shotsmith.config import Settings

        folder = tmp_path_factory.getbasetemp() / "tiny-video-models" / "modelscope-vae16"
        if not (folder / "model_index.json").is_file():
            folder.parent.mkdir(parents=True, exist_ok=True)
            try:
                build_modelscope(folder, vae_blocks=5)
            except PipelineUnavailable as exc:
                pytest.skip(str(exc))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny models on a shared box: a spinning thread pool is slower
        # VAE tiling is off: the tiny VAE's sample_size would make every tile a couple of latent pixels.
        yield DiffusersBackend(model=str(folder), settings=Settings(), resolutions=["360p"], fps=[8], steps=2,
                               device="cpu", vae_tiling=False)
        torch.set_num_threads(threads)


class SilentlySnapped(WrongSize):
    """Makes 640x352 for a 640x360 frame and says nothing: a declared multiple does not excuse that."""

    name = "silentlysnapped"

    async def generate(self, request, dest, *, on_progress, cancel):
        await asyncio.to_thread(run_ffmpeg, ["-f", "lavfi", "-i", f"testsrc2=s=640x352:r=24:d={request.duration_s}",
                                              "-c:v", "libx264", "-pix_fmt", "yuv420p", str(dest)])
        return GenerationResult(path=str(dest), duration_s=request.duration_s, width=640, height=352)


def test_suite_catches_a_snapped_size_without_a_warning(tmp_path):
    from shotsmith.testing.conformance import check_generate_video

    backend = SilentlySnapped()
    backend.capabilities = lambda: AnimaticBackend().capabilities().model_copy(update={"resolutions": ["360p"]})
    with pytest.raises(AssertionError, match="without a warning"):
        check_generate_video(backend, tmp_path, size_multiple=16)
    with pytest.raises(AssertionError, match="640x352"):  # undeclared, it is simply the wrong size
        check_generate_video(backend, tmp_path)


class TestEspeakConformance(BackendConformance):
    @pytest.fixture
    def backend(self):
        from shotsmith.backends.espeak import EspeakBackend

        return EspeakBackend()


class TestCloudImageConformanceAgainstMocks(BackendConformance):
    """Every cloud image adapter against its protocol mock, rendering stills to order."""

    @pytest.fixture(params=["runway-image", "flux", "luma-image", "gemini-image"])
    def backend(self, request, serve, mock_clip, monkeypatch, tmp_path):
        from tests.backends.backend_support import FAST_RETRY
        from tests.backends.test_image_adapters import IMAGE_PROVIDERS, backend_options
        from tests.backends.test_uploaders import MockStorePlugin

        from shotsmith.backends import registry

        if registry.plugin_manager().get_plugin("mock-store") is None:  # luma-image uploads through it
            registry.register_plugin(MockStorePlugin(), name="mock-store")

        provider = IMAGE_PROVIDERS[request.param]
        mock = serve(provider.mock_cls, mock_clip, render=True, **provider.extra.get("mock_kwargs", {}))
        for var, value in provider.env.items():
            monkeypatch.setenv(var, value)
        options = dict(base_url=mock.url + provider.base_path, poll_interval_s=0.01, retry=FAST_RETRY)
        options.update(backend_options(provider.name, mock, tmp_path))
        return provider.backend_cls(**options)


class TestCloudVoiceConformanceAgainstMocks(BackendConformance):
    """OpenAI speech and ElevenLabs against their protocol mocks (which answer with real speech)."""

    @pytest.fixture(params=["openai-speech", "elevenlabs"])
    def backend(self, request, serve, mock_clip, monkeypatch, tmp_path):
        from tests.backends.backend_support import FAST_RETRY
        from tests.backends.test_voice_cloud import VOICES

        voice = VOICES[request.param]
        mock = serve(voice.mock_cls, mock_clip, key=voice.key)
        monkeypatch.setenv(voice.env, voice.key)
        return voice.backend_cls(base_url=mock.url, retry=FAST_RETRY, spool_dir=str(tmp_path / "spool"))



def _field(body, words: tuple[str, ...]):
    """The first value in a (nested) request body whose key mentions one of ``words``."""
    if isinstance(body, dict):
        for key, value in body.items():
            if any(w in key.lower() for w in words) and not isinstance(value, dict | list):
                return value
        items = list(body.values())
    elif isinstance(body, list):
        items = body
    else:
        return None
    for item in items:
        found = _field(item, words)
        if found is not None:
            return found
    return None


def rendered_shape(self, task):
    """(width, height, seconds) a video task asked for, read from its request body whatever the protocol."""
    import re as _re

    from shotsmith.formats import frame_size

    aspect = str(_field(task.body, ("aspect",)) or "16:9")
    resolution = str(_field(task.body, ("resolution",)) or "720p").lower()
    resolution = resolution if resolution.endswith("p") else "720p"
    seconds = float(_re.sub(r"[^\d.]", "", str(_field(task.body, ("duration",)) or "5")) or 5)
    return (*frame_size(aspect, resolution), seconds)


class TestCloudVideoConformanceAgainstMocks(BackendConformance):
    """The other cloud video adapters against their protocol mocks, each rendering clips of the shape it was asked for."""

    duration_tolerance_s = 0.3

    @pytest.fixture(params=["kling", "luma", "veo", "pika"])
    def backend(self, request, serve, mock_clip, monkeypatch):
        from tests.backends.backend_support import FAST_RETRY
        from tests.backends.providers import PROVIDERS

        provider = PROVIDERS[request.param]
        mock_cls = type(f"Rendering{provider.mock_cls.__name__}", (provider.mock_cls,), {"task_shape": rendered_shape})
        mock = serve(mock_cls, mock_clip, render=True, **provider.extra.get("mock_kwargs", {}))
        for var, value in provider.env.items():
            monkeypatch.setenv(var, value)
        return provider.backend_cls(base_url=mock.url + provider.base_path, poll_interval_s=0.01, retry=FAST_RETRY)
