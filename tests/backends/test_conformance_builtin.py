"""The conformance suite itself: the built-in animatic passes it, and broken backends fail it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from shotsmith.backends.animatic import AnimaticBackend
from shotsmith.backends.base import GenerationResult
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.testing import BackendConformance
from shotsmith.testing.conformance import check_cancellation, check_generate, check_validation


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
        from tests.backends.media_kind_backends import StillBackend

        return StillBackend()


class TestLocalVoiceConformance(BackendConformance):
    @pytest.fixture
    def backend(self):
        from tests.backends.media_kind_backends import SpeechBackend

        return SpeechBackend()


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
