"""Piper (local neural voices from a folder) and --voice: what can be tested without downloading a model.

No Piper model can be built here without downloads (a model is a trained VITS
network; authoring even a dummy one needs the ``onnx`` package), so these tests
cover the folder handling and every error before synthesis; synthesis itself
runs only where the extra and a real voice are installed (``SHOTSMITH_PIPER_MODELS``).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading

import pytest

from shotsmith.backends.base import GenerationMode, GenerationRequest
from shotsmith.backends.elevenlabs import ElevenLabsBackend
from shotsmith.backends.espeak import EspeakBackend
from shotsmith.backends.openai_speech import OpenAISpeechBackend
from shotsmith.backends.piper import ENV_MODELS, PiperBackend
from shotsmith.backends.voice import resolve_voice, split_voice
from shotsmith.config import Settings
from shotsmith.errors import BackendError, InvalidInputError

CONFIG = {"audio": {"sample_rate": 22050}, "espeak": {"voice": "en-us"}, "num_speakers": 1}


def voice_folder(tmp_path, *names, config=CONFIG, sub="voices"):
    folder = tmp_path / sub
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / f"{name}.onnx").write_bytes(b"not really a model")
        if config is not None:
            (folder / f"{name}.onnx.json").write_text(json.dumps(config) if isinstance(config, dict) else config)
    return folder


def piper(**kw) -> PiperBackend:
    return PiperBackend(settings=Settings(), **kw)


def _piper_installed() -> bool:
    try:
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def test_voices_are_the_models_in_the_folder(tmp_path):
    folder = voice_folder(tmp_path, "en_US-lessac-medium", "de_DE-thorsten-low")
    backend = piper(model_dir=str(folder), voice="en_US-lessac-medium")
    assert backend.voices() == ["en_US-lessac-medium", "de_DE-thorsten-low"]
    caps = backend.capabilities()
    assert caps.voices[0] == "en_US-lessac-medium" and not caps.costs_money and caps.local
    assert piper().voices() == [] and piper().capabilities().voices == []  # no folder: nothing, no error


def test_the_folder_comes_from_the_environment_or_the_config(tmp_path, monkeypatch):
    folder = voice_folder(tmp_path, "a")
    monkeypatch.setenv(ENV_MODELS, str(folder))
    assert piper().voices() == ["a"]
    monkeypatch.delenv(ENV_MODELS)
    assert PiperBackend(settings=Settings(backends={"piper": {"model_dir": str(folder)}})).voices() == ["a"]


@pytest.mark.skipif(_piper_installed(), reason="the piper extra is installed here")
def test_without_the_extra_the_hint_names_it(tmp_path):
    with pytest.raises(BackendError, match="piper extra") as caught:
        piper(model_dir=str(voice_folder(tmp_path, "a"))).check_ready()
    assert "shotsmith[piper]" in caught.value.hint


@pytest.mark.parametrize("case,match", [
    ("unset", "no Piper voices folder"), ("missing", "does not exist"), ("empty", "no Piper voice"),
    ("no json", "has no a.onnx.json"), ("bad json", "not readable JSON"), ("not piper", "audio.sample_rate"),
])
def test_every_folder_problem_is_reported_before_synthesis(tmp_path, monkeypatch, case, match):
    monkeypatch.setitem(__import__("sys").modules, "piper", __import__("types").ModuleType("piper"))  # past the extra check
    monkeypatch.delenv(ENV_MODELS, raising=False)
    folders = {"unset": lambda: None, "missing": lambda: str(tmp_path / "nowhere"),
               "empty": lambda: str(voice_folder(tmp_path)),
               "no json": lambda: str(voice_folder(tmp_path, "a", config=None)),
               "bad json": lambda: str(voice_folder(tmp_path, "a", config="{not json")),
               "not piper": lambda: str(voice_folder(tmp_path, "a", config={"sample_rate": 1}))}
    with pytest.raises(BackendError, match=match) as caught:
        piper(model_dir=folders[case]()).check_ready()
    assert caught.value.hint


def test_unknown_voice_and_options(tmp_path):
    backend = piper(model_dir=str(voice_folder(tmp_path, "a")))
    with pytest.raises(InvalidInputError, match="no voice 'b'"):
        backend.model_path("b")
    with pytest.raises(InvalidInputError, match="unknown option"):
        PiperBackend(settings=Settings(), speed=2)


@pytest.mark.skipif(not _piper_installed(), reason="needs the piper extra")
def test_a_corrupt_model_fails_with_a_hint(tmp_path):
    backend = piper(model_dir=str(voice_folder(tmp_path, "a")))
    request = GenerationRequest(prompt="hello", mode=GenerationMode.TEXT_TO_SPEECH, duration_s=2)
    with pytest.raises(BackendError, match="cannot load the Piper voice"):
        asyncio.run(backend.generate(request, tmp_path / "o.wav", on_progress=lambda e: None,
                                     cancel=threading.Event()))


@pytest.mark.skipif(not (_piper_installed() and os.environ.get(ENV_MODELS)), reason="needs a real Piper voice")
def test_a_real_voice_speaks(tmp_path):
    backend = PiperBackend()
    request = GenerationRequest(prompt="Grind the beans.", mode=GenerationMode.TEXT_TO_SPEECH, duration_s=2)
    result = asyncio.run(backend.generate(request, tmp_path / "o.wav", on_progress=lambda e: None,
                                          cancel=threading.Event()))
    assert result.duration_s > 0.3 and [w.word for w in result.word_timings] == ["Grind", "the", "beans."]


def test_voice_names_pick_backend_and_voice(monkeypatch):
    assert split_voice("espeak:en-us+f3") == ("espeak", "en-us+f3") and split_voice(None) == (None, None)
    backend, voice = resolve_voice("espeak:en-us+f3")
    assert isinstance(backend, EspeakBackend) and voice == "en-us+f3"
    backend, voice = resolve_voice("openai-speech:coral")
    assert isinstance(backend, OpenAISpeechBackend) and voice == "coral"
    backend, voice = resolve_voice("elevenlabs:21m00Tcm4TlvDq8ikWAM")
    assert isinstance(backend, ElevenLabsBackend) and voice == "21m00Tcm4TlvDq8ikWAM"
    assert isinstance(resolve_voice(None)[0], EspeakBackend) and resolve_voice(None)[1] is None
    assert isinstance(resolve_voice("elevenlabs")[0], ElevenLabsBackend)  # a backend alone: its default voice
    backend, voice = resolve_voice("coral")  # a bare voice is found in the voice lists
    assert isinstance(backend, OpenAISpeechBackend) and voice == "coral"
    assert isinstance(resolve_voice("fr")[0], EspeakBackend)
    with pytest.raises(InvalidInputError, match="no installed voice backend"):
        resolve_voice("no-such-voice")
    with pytest.raises(InvalidInputError, match="does not speak"):
        resolve_voice("animatic:anything")
    with pytest.raises(InvalidInputError, match="unknown voice backend"):
        resolve_voice("nobody:x")
