"""The cloud voices (OpenAI speech, ElevenLabs) against their mocks: requests, timings, faults, SDKs.

The mocks answer with real speech (espeak-ng) and, for ElevenLabs, an
alignment built from espeak's true word onsets, so timings can be checked
against the truth. Each fault drill runs against both adapters.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from dataclasses import dataclass

import pytest
from tests.backends.backend_mocks.elevenlabs import ELEVEN_KEY, ElevenLabsMock
from tests.backends.backend_mocks.openai_speech import OpenAISpeechMock
from tests.backends.backend_mocks.speech import speech
from tests.backends.backend_support import FAST_RETRY

from shotsmith.backends.base import GenerationMode, GenerationRequest, MediaKind
from shotsmith.backends.elevenlabs import ElevenLabsBackend
from shotsmith.backends.errors import AmbiguousCreateError, AuthError, RemoteError
from shotsmith.backends.openai_speech import OpenAISpeechBackend
from shotsmith.backends.voice import decode_mono
from shotsmith.scrub import scrub

TEXT = "Grind the beans. Pour slowly in circles."
OPENAI_KEY = "sk-test-SECRET-0123456789"


@dataclass
class Voice:
    name: str
    mock_cls: type
    backend_cls: type
    env: str
    key: str
    path: str
    suffix: str


VOICES = {
    "openai-speech": Voice("openai-speech", OpenAISpeechMock, OpenAISpeechBackend, "OPENAI_API_KEY", OPENAI_KEY,
                           "/v1/audio/speech", ".wav"),
    "elevenlabs": Voice("elevenlabs", ElevenLabsMock, ElevenLabsBackend, "ELEVENLABS_API_KEY", ELEVEN_KEY,
                        "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM/with-timestamps", ".mp3"),
}


@pytest.fixture(params=sorted(VOICES))
def voice(request):
    return VOICES[request.param]


@pytest.fixture
def setup(voice, serve, mock_clip, monkeypatch, tmp_path):
    mock = serve(voice.mock_cls, mock_clip, key=voice.key)
    monkeypatch.setenv(voice.env, voice.key)

    def make(**kw):
        options = dict(base_url=mock.url, retry=FAST_RETRY, spool_dir=str(tmp_path / "spool"))
        options.update(kw)
        return voice.backend_cls(**options)

    return mock, make


def say(text: str = TEXT, **kw) -> GenerationRequest:
    return GenerationRequest(prompt=text, mode=GenerationMode.TEXT_TO_SPEECH, duration_s=4, **kw)


def generate(backend, request, dest):
    ready, _ = backend.prepare(request)
    return asyncio.run(backend.generate(ready, dest, on_progress=lambda e: None, cancel=threading.Event()))


def posts(mock, path):
    return [r for r in mock.log if r.method == "POST" and r.path == path]


def test_speech_comes_back_with_word_timings(setup, voice, tmp_path):
    mock, make = setup
    dest = tmp_path / f"v{voice.suffix}"
    result = generate(make(), say(), dest)
    samples, rate = decode_mono(dest)
    assert result.kind is MediaKind.VOICE and abs(result.duration_s - len(samples) / rate) < 0.05
    assert result.remote_task_id and result.cost.amount > 0
    assert [w.word.strip(".") for w in result.word_timings] == TEXT.replace(".", "").split()
    _, _, truth = speech(TEXT)
    offsets = [abs(w.start_s - t.start_s) for w, t in zip(result.word_timings, truth)]
    if voice.name == "elevenlabs":  # the provider's own alignment: exact
        assert max(offsets) < 0.02 and result.warnings == []
    else:  # OpenAI gives none: an estimate, said so
        assert max(offsets) < 0.35 and "estimated" in result.warnings[0]
    assert len(posts(mock, voice.path)) == 1


def test_openai_request_body_and_headers(serve, mock_clip, monkeypatch, tmp_path):
    mock = serve(OpenAISpeechMock, mock_clip, key=OPENAI_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    backend = OpenAISpeechBackend(base_url=mock.url, retry=FAST_RETRY, spool_dir=str(tmp_path / "s"))
    generate(backend, say(voice="nova", instructions="warm, unhurried"), tmp_path / "a.wav")
    sent = posts(mock, "/v1/audio/speech")[-1]
    assert sent.body == {"model": "gpt-4o-mini-tts", "input": TEXT, "voice": "nova", "response_format": "wav",
                         "instructions": "warm, unhurried"}
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.headers["accept"] == "application/octet-stream"
    # tts-1 takes no instructions: dropped with a warning, and the mock (which would refuse them) accepts
    backend = OpenAISpeechBackend(base_url=mock.url, retry=FAST_RETRY, spool_dir=str(tmp_path / "s"), model="tts-1")
    ready, warnings = backend.prepare(say(instructions="warm"))
    assert ready.instructions is None and any("instructions" in w for w in warnings)
    asyncio.run(backend.generate(ready, tmp_path / "b.wav", on_progress=lambda e: None, cancel=threading.Event()))
    assert posts(mock, "/v1/audio/speech")[-1].body["model"] == "tts-1"


def test_elevenlabs_request_and_any_voice_id(serve, mock_clip, monkeypatch, tmp_path):
    mock = serve(ElevenLabsMock, mock_clip)
    monkeypatch.setenv("ELEVENLABS_API_KEY", ELEVEN_KEY)
    backend = ElevenLabsBackend(base_url=mock.url, retry=FAST_RETRY, spool_dir=str(tmp_path / "s"),
                                model="eleven_flash_v2_5", output_format="wav_22050")
    result = generate(backend, say(voice="pNInz6obpgDQGcFmaJgB", language="en-US", seed=7), tmp_path / "a.wav")
    sent = [r for r in mock.log if r.method == "POST"][-1]
    assert sent.path == "/v1/text-to-speech/pNInz6obpgDQGcFmaJgB/with-timestamps"
    assert sent.query == {"output_format": "wav_22050"} and sent.headers["xi-api-key"] == ELEVEN_KEY
    assert sent.body == {"text": TEXT, "model_id": "eleven_flash_v2_5", "language_code": "en", "seed": 7}
    assert result.path.endswith(".wav") and result.word_timings
    with pytest.raises(Exception, match="not a voice id"):
        backend.prepare(say(voice="../../etc"))


@pytest.mark.parametrize("fault", ["submit_429", "submit_500"])
def test_busy_answers_are_retried_and_nothing_is_paid_twice(setup, voice, tmp_path, fault):
    mock, make = setup
    setattr(mock.faults, fault, 2)
    mock.faults.retry_after = "0.05"
    result = generate(make(), say(), tmp_path / f"v{voice.suffix}")
    assert result.word_timings
    assert len(posts(mock, voice.path)) == 3 and mock.submits == 1


def test_a_dropped_answer_is_not_sent_again(setup, voice, tmp_path):
    mock, make = setup
    mock.faults.submit_accept_drop = 1  # the provider made (and billed) it; the answer never arrived
    with pytest.raises(AmbiguousCreateError, match="may have been created"):
        generate(make(), say(), tmp_path / f"v{voice.suffix}")
    assert len(posts(mock, voice.path)) == 1 and mock.submits == 1


def test_out_of_quota_is_reported_with_what_to_do_and_not_retried(setup, voice, tmp_path):
    mock, make = setup
    mock.quota = 5
    with pytest.raises(RemoteError) as caught:
        generate(make(), say(), tmp_path / f"v{voice.suffix}")
    error = caught.value
    assert not isinstance(error, AuthError) and not error.retryable
    assert "quota" in error.message or "credit" in error.message
    assert error.hint and "retry will not help" in error.hint
    assert len(posts(mock, voice.path)) == 1


def test_a_wrong_key_names_the_variable_and_never_shows_the_key(setup, voice, tmp_path, monkeypatch):
    mock, make = setup
    wrong = "wrong-SECRET-key-999999"
    monkeypatch.setenv(voice.env, wrong)
    with pytest.raises(AuthError) as caught:
        generate(make(), say(), tmp_path / f"v{voice.suffix}")
    assert voice.env in (caught.value.hint or "")
    assert wrong not in scrub(str(caught.value))
    monkeypatch.delenv(voice.env)
    with pytest.raises(AuthError, match="no API key"):
        make().check_ready()


def test_received_audio_survives_a_crash_before_it_was_filed(setup, voice, tmp_path):
    """The spool: a task whose audio arrived is 'polled' to success by a fresh backend; a lost spool fails it."""
    mock, make = setup

    async def create():
        backend = make()
        async with backend.client() as api:
            ready, _ = backend.prepare(say())
            return await backend.submit(api, ready)

    task = asyncio.run(create())

    async def poll(backend):
        async with backend.client() as api:
            return await backend.poll(api, task)

    fresh = make()
    status = asyncio.run(poll(fresh))
    assert status.state == "succeeded" and status.video_url.startswith("http://shotsmith-spool.invalid/")
    timings, estimated = fresh.word_timings(task.id)
    assert timings and estimated == (voice.name == "openai-speech")
    for file in (tmp_path / "spool").glob(f"{task.id}*"):
        file.unlink()
    status = asyncio.run(poll(make()))
    assert status.state == "failed" and "no longer in the spool" in status.error.message
    assert mock.submits == 1


def test_openai_sdk_against_the_mock(serve, mock_clip):
    openai = pytest.importorskip("openai")
    mock = serve(OpenAISpeechMock, mock_clip, key=OPENAI_KEY)
    client = openai.OpenAI(api_key=OPENAI_KEY, base_url=mock.url + "/v1", max_retries=0)
    audio = client.audio.speech.create(model="gpt-4o-mini-tts", voice="coral", input="Hello there.",
                                       instructions="cheerful", response_format="wav")
    assert audio.content[:4] == b"RIFF"
    with pytest.raises(openai.BadRequestError):
        client.audio.speech.create(model="tts-1", voice="coral", input="Hi", instructions="cheerful")
    mock.quota = 1
    with pytest.raises(openai.RateLimitError) as caught:
        client.audio.speech.create(model="gpt-4o-mini-tts", voice="coral", input="Hi")
    assert caught.value.code == "insufficient_quota"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="sk-wrong-0000000000", base_url=mock.url + "/v1",
                      max_retries=0).audio.speech.create(model="tts-1", voice="coral", input="Hi")


def test_elevenlabs_sdk_against_the_mock(serve, mock_clip):
    elevenlabs = pytest.importorskip("elevenlabs")
    mock = serve(ElevenLabsMock, mock_clip)
    client = elevenlabs.ElevenLabs(api_key=ELEVEN_KEY, base_url=mock.url)
    response = client.text_to_speech.convert_with_timestamps("21m00Tcm4TlvDq8ikWAM", text="Hello there.",
                                                             model_id="eleven_multilingual_v2",
                                                             output_format="mp3_44100_128")
    assert base64.b64decode(response.audio_base_64)[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    assert response.alignment.characters == list("Hello there.")
    assert response.alignment.character_start_times_seconds[6] > 0
    mock.quota = 1
    with pytest.raises(Exception) as caught:
        client.text_to_speech.convert_with_timestamps("21m00Tcm4TlvDq8ikWAM", text="Hi")
    assert getattr(caught.value, "status_code", None) == 401 and "quota_exceeded" in str(caught.value.body)


# -- through the job engine: cache, create-at-most-once across runs --------------------------------------

def run_engine(store, backend, requests, **kw):
    from shotsmith.backends.engine import generate_shots

    return asyncio.run(generate_shots(store, backend, requests, **kw))


def test_engine_files_the_voice_with_its_suffix_and_timings_and_caches_it(setup, voice, tmp_path):
    from shotsmith.store import ProjectStore

    mock, make = setup
    store = ProjectStore.create(tmp_path / "p")
    request = say(shot_index=1)
    (outcome,) = run_engine(store, make(), [request])
    assert outcome.ok, outcome.error
    assert outcome.clip.parent == store.clips_dir and outcome.clip.suffix == voice.suffix
    assert outcome.kind is MediaKind.VOICE and outcome.word_timings
    assert [w.word.strip(".") for w in outcome.word_timings] == TEXT.replace(".", "").split()
    (again,) = run_engine(ProjectStore.open(store.root), make(), [request])
    assert again.cached and again.word_timings == outcome.word_timings
    assert len(posts(mock, voice.path)) == 1, "a cached voice is not synthesised (or paid for) again"


def test_engine_never_repeats_a_create_whose_answer_was_lost(setup, voice, tmp_path):
    from shotsmith.store import ProjectStore

    mock, make = setup
    store = ProjectStore.create(tmp_path / "p")
    mock.faults.submit_accept_drop = 1
    (lost,) = run_engine(store, make(), [say(shot_index=1)])
    assert not lost.ok and lost.uncertain and "resubmit" in (lost.hint or "")
    (rerun,) = run_engine(ProjectStore.open(store.root), make(), [say(shot_index=1)])
    assert not rerun.ok and rerun.uncertain
    assert len(posts(mock, voice.path)) == 1, "the rerun did not pay again on its own"
    (paid,) = run_engine(ProjectStore.open(store.root), make(), [say(shot_index=1)], resubmit=True)
    assert paid.ok and len(posts(mock, voice.path)) == 2


def test_espeak_through_the_engine(tmp_path):
    from shotsmith.backends.espeak import EspeakBackend
    from shotsmith.store import ProjectStore

    store = ProjectStore.create(tmp_path / "p")
    (outcome,) = run_engine(store, EspeakBackend(), [say(shot_index=2, voice="en-us+f3")])
    assert outcome.ok and outcome.clip.suffix == ".wav" and outcome.kind is MediaKind.VOICE
    assert [w.word for w in outcome.word_timings] == TEXT.split()


def test_elevenlabs_refuses_headerless_output_formats(monkeypatch):
    monkeypatch.setenv("ELEVENLABS_API_KEY", ELEVEN_KEY)
    with pytest.raises(Exception, match="output_format 'pcm_24000'"):
        ElevenLabsBackend(output_format="pcm_24000").prepare(say())
