"""Kokoro (local neural voices from a model folder), tested as far as a tiny model can be built here.

A real Kokoro model is a trained 82M-parameter network (310 MB), not made here. But kokoro-onnx loads
any ONNX graph with Kokoro's inputs (``input_ids``, ``style``, ``speed``) and outputs (``waveform``, and
``duration`` per token for timings), so the tests build one with the ``onnx`` helper: 0.1 s of a 220 Hz
tone per phoneme token, its loudness set by the token id. Everything around the network is the real
thing: kokoro-onnx's espeak-ng phonemizer and tokenizer, its voices file, onnxruntime, the backend's
folder handling, word timings from the phoneme durations, and the production path speaking a narration
with it. The folder and extra errors are tested always; the model tests skip where the ``kokoro`` extra
(kokoro-onnx) or ``onnx`` is missing.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from shotsmith.backends.base import GenerationMode, GenerationRequest
from shotsmith.backends.kokoro import ENV_MODELS, KokoroBackend, words_from_phonemes
from shotsmith.backends.voice import resolve_voice
from shotsmith.config import Settings
from shotsmith.errors import BackendError, InvalidInputError

HAS_KOKORO = importlib.util.find_spec("kokoro_onnx") is not None and importlib.util.find_spec("onnx") is not None
needs_kokoro = pytest.mark.skipif(not HAS_KOKORO, reason="needs the kokoro extra (kokoro-onnx) and onnx")
SEGMENT = 2400  # samples per token at 24 kHz: 0.1 s
Timing = namedtuple("Timing", "phoneme start end")


def tiny_model(path: Path, *, durations: bool = True) -> Path:
    """A Kokoro-shaped ONNX graph: 0.1 s of a 220 Hz tone per token, and each token's duration (3 frames)."""
    from onnx import TensorProto, checker, helper, numpy_helper, save

    t = np.arange(SEGMENT) / 24000
    tone = np.sin(2 * np.pi * 220 * t).astype(np.float32).reshape(1, 1, SEGMENT)
    nodes = [helper.make_node("Cast", ["input_ids"], ["ids"], to=TensorProto.FLOAT),
             helper.make_node("Div", ["ids", "k200"], ["scaled"]),
             helper.make_node("Add", ["scaled", "k03"], ["amplitude"]),
             helper.make_node("Unsqueeze", ["amplitude", "axis2"], ["amplitude3"]),
             helper.make_node("Mul", ["amplitude3", "tone"], ["segments"]),
             helper.make_node("Reshape", ["segments", "flat"], ["waveform"])]
    outputs = [helper.make_tensor_value_info("waveform", TensorProto.FLOAT, [None])]
    if durations:
        nodes += [helper.make_node("Shape", ["input_ids"], ["shape"]),
                  helper.make_node("Gather", ["shape", "one"], ["count"], axis=0),
                  helper.make_node("Unsqueeze", ["count", "axis0"], ["count1"]),
                  helper.make_node("ConstantOfShape", ["count1"], ["duration"],
                                   value=helper.make_tensor("v", TensorProto.INT64, [1], [3]))]
        outputs.append(helper.make_tensor_value_info("duration", TensorProto.INT64, [None]))
    constants = {"k200": np.array(400, np.float32), "k03": np.array(0.15, np.float32),
                 "axis2": np.array([2], np.int64), "axis0": np.array([0], np.int64), "tone": tone,
                 "flat": np.array([-1], np.int64), "one": np.array(1, np.int64)}
    graph = helper.make_graph(nodes, "tiny-kokoro", [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, None]),
        helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
        helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1])], outputs,
        [numpy_helper.from_array(v, k) for k, v in constants.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(model, str(path))
    return path


def voices_file(path: Path, *names: str) -> Path:
    """A voices archive: one (510, 1, 256) style table per voice, as voices-v1.0.bin holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        np.savez(out, **{n: np.full((510, 1, 256), i, np.float32) for i, n in enumerate(names)})
    return path


def model_folder(tmp_path: Path, *, durations: bool = True, voices=("af_tiny", "am_tiny")) -> Path:
    folder = tmp_path / "kokoro"
    tiny_model(folder / "kokoro-tiny.onnx", durations=durations)
    voices_file(folder / "voices-tiny.bin", *voices)
    return folder


def kokoro(**kw) -> KokoroBackend:
    return KokoroBackend(settings=Settings(), **kw)


def speak(backend: KokoroBackend, text: str, tmp_path: Path, **request):
    req = GenerationRequest(prompt=text, mode=GenerationMode.TEXT_TO_SPEECH, duration_s=2, **request)
    return asyncio.run(backend.generate(req, tmp_path / "o.wav", on_progress=lambda e: None,
                                        cancel=threading.Event()))


# -- always: the folder, the options, the extra, the timing grouping -------------------------------------------

def test_voices_come_from_the_voices_file_without_the_extra(tmp_path):
    folder = tmp_path / "k"
    voices_file(folder / "voices-v1.0.bin", "af_heart", "am_michael", "bf_emma")
    (folder / "kokoro-v1.0.onnx").write_bytes(b"not read until speaking")
    backend = kokoro(model_dir=str(folder), voice="bf_emma")
    assert backend.voices() == ["bf_emma", "af_heart", "am_michael"]
    caps = backend.capabilities()
    assert caps.voices[0] == "bf_emma" and caps.local and not caps.costs_money and caps.languages[0] == "en"
    assert kokoro().voices() == []  # no folder: nothing, no error


def test_the_folder_comes_from_the_environment_or_the_config(tmp_path, monkeypatch):
    folder = tmp_path / "k"
    voices_file(folder / "voices.bin", "af_x")
    monkeypatch.setenv(ENV_MODELS, str(folder))
    assert kokoro().voices() == ["af_x"]
    monkeypatch.delenv(ENV_MODELS)
    assert KokoroBackend(settings=Settings(backends={"kokoro": {"model_dir": str(folder)}})).voices() == ["af_x"]


@pytest.mark.skipif(importlib.util.find_spec("kokoro_onnx") is not None, reason="the kokoro extra is installed here")
def test_without_the_extra_the_hint_names_it(tmp_path):
    with pytest.raises(BackendError, match="kokoro extra") as caught:
        kokoro(model_dir=str(tmp_path)).check_ready()
    assert "shotsmith[kokoro]" in caught.value.hint and "no torch" in caught.value.hint


@pytest.mark.parametrize("case,match", [
    ("unset", "no Kokoro model folder"), ("missing", "does not exist"), ("empty", r"no Kokoro model \(.onnx\)"),
    ("two models", "more than one model"), ("no voices", "no Kokoro voices file"),
    ("bad voices", "not a Kokoro voices file"),
])
def test_every_folder_problem_is_reported_before_synthesis(tmp_path, monkeypatch, case, match):
    monkeypatch.setitem(__import__("sys").modules, "kokoro_onnx", __import__("types").ModuleType("kokoro_onnx"))
    monkeypatch.delenv(ENV_MODELS, raising=False)
    folder = tmp_path / "k"
    folder.mkdir()
    if case in ("two models", "no voices", "bad voices"):
        (folder / "a.onnx").write_bytes(b"x")
    if case == "two models":
        (folder / "b.onnx").write_bytes(b"x")
        voices_file(folder / "voices.bin", "af")
    if case == "bad voices":
        (folder / "voices.bin").write_bytes(b"not an archive")
    where = {"unset": None, "missing": str(tmp_path / "nowhere")}.get(case, str(folder))
    with pytest.raises(BackendError, match=match) as caught:
        kokoro(model_dir=where).check_ready()
    assert caught.value.hint


def test_unknown_options_and_speed_are_refused():
    with pytest.raises(InvalidInputError, match="unknown option"):
        KokoroBackend(settings=Settings(), length_scale=2)
    with pytest.raises(InvalidInputError, match="speed 3 is outside"):
        kokoro(speed=3)


def test_words_are_grouped_from_phoneme_timings_only_when_they_pair_up():
    timings = [Timing(p, i / 10, (i + 1) / 10) for i, p in enumerate("hˈa , wˈɜːld .")]
    words = words_from_phonemes("Hi, world.", timings)
    assert [(w.word, w.start_s, w.end_s) for w in words] == [("Hi,", 0.0, 0.3), ("world.", 0.6, 1.2)]
    assert words_from_phonemes("Hi there, world.", timings) is None  # 3 words, 2 spoken groups: no guessing


def test_the_voice_name_picks_kokoro(tmp_path, monkeypatch):
    folder = tmp_path / "k"
    voices_file(folder / "voices.bin", "af_heart")
    monkeypatch.setenv(ENV_MODELS, str(folder))
    backend, voice = resolve_voice("kokoro:af_heart")
    assert isinstance(backend, KokoroBackend) and voice == "af_heart"


# -- with the extra: a tiny model, spoken through kokoro-onnx ---------------------------------------------------

@needs_kokoro
def test_a_tiny_model_speaks_with_word_timings_from_its_durations(tmp_path):
    backend = kokoro(model_dir=str(model_folder(tmp_path)))
    backend.check_ready()
    result = speak(backend, "Fresh bread, every morning.", tmp_path, voice="am_tiny")
    assert [w.word for w in result.word_timings] == ["Fresh", "bread,", "every", "morning."]
    starts = [w.start_s for w in result.word_timings]
    assert starts == sorted(starts) and all(w.end_s > w.start_s for w in result.word_timings)
    assert result.word_timings[-1].end_s <= result.duration_s + 1e-3
    assert not result.warnings
    from shotsmith.backends.voice import decode_mono

    samples, rate = decode_mono(Path(result.path))
    assert rate == 24000 and 20 * np.log10(np.sqrt(np.mean(samples ** 2))) > -30  # it made sound


@needs_kokoro
def test_a_model_without_durations_gets_estimated_timings_and_says_so(tmp_path):
    backend = kokoro(model_dir=str(model_folder(tmp_path, durations=False)))
    result = speak(backend, "Fresh bread daily.", tmp_path)
    assert [w.word for w in result.word_timings] == ["Fresh", "bread", "daily."]
    assert any("estimated" in w for w in result.warnings)


@needs_kokoro
def test_unknown_voice_and_a_corrupt_model(tmp_path):
    folder = model_folder(tmp_path)
    with pytest.raises(InvalidInputError, match="no voice 'zz'"):
        speak(kokoro(model_dir=str(folder)), "Hello.", tmp_path, voice="zz")
    (folder / "kokoro-tiny.onnx").write_bytes(b"truncated download")
    with pytest.raises(BackendError, match="cannot load the Kokoro model") as caught:
        speak(kokoro(model_dir=str(folder)), "Hello.", tmp_path)
    assert "download" in caught.value.hint


@needs_kokoro
@pytest.mark.slow
def test_a_narrated_run_speaks_through_kokoro(tmp_path, monkeypatch):
    from shotsmith.assistant import ServiceOptions, drive_brief, open_session

    monkeypatch.setenv(ENV_MODELS, str(model_folder(tmp_path)))
    out = tmp_path / "k.mp4"
    session = open_session(tmp_path / "k.shotsmith", options=ServiceOptions(
        resolution="360p", outputs=(out,), voice="kokoro:af_tiny", captions="srt"), offline=True)
    report, error = drive_brief(session, "A 10 second explainer with a voice-over: how to bake bread, 2 shots", out)
    assert error is None, error
    spoken = [g for g in session.store.project.generations.values() if g.kind == "voice"]
    assert spoken and all(g.backend == "kokoro" and g.word_timings for g in spoken)
    from shotsmith.tools.subtitles import parse_srt

    cues = parse_srt(out.with_suffix(".srt").read_text())
    said = " ".join(line.text for line in session.store.project.narration.lines)
    assert cues and " ".join(c.text for c in cues).split() == said.split()


@needs_kokoro
class TestKokoroConformance(__import__("shotsmith.testing", fromlist=["BackendConformance"]).BackendConformance):
    """The plugin contract's suite on the tiny model: identity, capabilities, speech with timings inside it,
    cancellation, the engine's cache."""

    @pytest.fixture
    def backend(self, tmp_path):
        return kokoro(model_dir=str(model_folder(tmp_path)))
