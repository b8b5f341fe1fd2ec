"""Local neural voices with Piper: ONNX voice models from a folder the user points at.

Piper (``pip install 'shotsmith[piper]'``: piper-tts, ~34 MB, plus onnxruntime
~28 MB; CPU is enough) speaks with VITS models of 20-100 MB each, downloaded
by the user (https://huggingface.co/rhasspy/piper-voices): a model is a pair
``NAME.onnx`` + ``NAME.onnx.json`` in the models folder, and ``NAME`` is the
voice (``--voice piper:en_US-lessac-medium``). The folder is the option
``model_dir`` (``[backends.piper] model_dir = "~/voices"`` in the config) or
the environment variable ``SHOTSMITH_PIPER_MODELS``.

Piper reports phoneme alignments only for specially patched models, so word
timings are estimated from the audio, as for OpenAI speech (the result says
so). Everything that can be wrong before synthesis (no extra, no folder, no
model in it, a model without its JSON, a JSON without a sample rate) is
reported by :meth:`PiperBackend.check_ready` with what to do.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import numpy as np

import shotsmith
from shotsmith.backends.base import (Backend, Capabilities, CostEstimate, GenerationMode, GenerationRequest,
                                     GenerationResult, ProgressCallback, ProgressEvent)
from shotsmith.backends.voice import estimate_word_timings, voice_result, write_wav
from shotsmith.config import Settings, load_settings
from shotsmith.errors import BackendError, CancelledError, InvalidInputError

ENV_MODELS = "SHOTSMITH_PIPER_MODELS"
EXTRA_HINT = "pip install 'shotsmith[piper]' (piper-tts and onnxruntime)"


def _model_config(model: Path) -> dict:
    """The JSON beside a model, checked for what synthesis needs."""
    config = model.with_name(model.name + ".json")
    if not config.is_file():
        raise BackendError(f"piper voice {model.stem} has no {config.name} beside it",
                           hint="download both files of the voice (NAME.onnx and NAME.onnx.json)")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackendError(f"{config.name} is not readable JSON: {exc}",
                           hint="download the voice's .onnx.json again") from exc
    if not isinstance(data, dict) or not isinstance((data.get("audio") or {}).get("sample_rate"), int):
        raise BackendError(f"{config.name} has no audio.sample_rate: not a Piper voice config",
                           hint="download the voice's .onnx.json again")
    return data


class PiperBackend(Backend):
    """Options: ``model_dir`` (the voices folder), ``voice`` (default: the first model), ``length_scale``
    (> 1 slower, < 1 faster), ``use_cuda``."""

    name = "piper"
    description = (f"Local neural voices (Piper ONNX models from a folder: model_dir or ${ENV_MODELS}). "
                   "Free, offline, CPU; extra 'piper'. Word timings estimated.")
    model = "piper"

    def __init__(self, *, model_dir: str | None = None, voice: str | None = None, length_scale: float | None = None,
                 use_cuda: bool | None = None, settings: Settings | None = None, **unknown) -> None:
        if unknown:
            raise InvalidInputError(f"backend piper: unknown option(s) {', '.join(sorted(unknown))}",
                                    hint="known: model_dir, voice, length_scale, use_cuda")
        config = dict((settings or load_settings()).backends.get("piper", {}))
        folder = model_dir or config.get("model_dir") or os.environ.get(ENV_MODELS)
        self.model_dir = Path(folder).expanduser() if folder else None
        self.voice = voice or config.get("voice")
        self.length_scale = float(length_scale or config.get("length_scale") or 1.0)
        self.use_cuda = bool(use_cuda if use_cuda is not None else config.get("use_cuda", False))
        self._voices: dict[Path, object] = {}
        self._lock = threading.Lock()

    # -- the models folder -----------------------------------------------------------------
    def voices(self) -> list[str]:
        """Voice names (model stems) in the folder, the configured default first; [] when none."""
        if self.model_dir is None or not self.model_dir.is_dir():
            return []
        names = sorted(p.name.removesuffix(".onnx") for p in self.model_dir.glob("*.onnx"))
        if self.voice in names:
            names.remove(self.voice)
            names.insert(0, self.voice)
        return names

    def model_path(self, voice: str | None) -> Path:
        names = self.voices()
        if not names:
            self.check_ready()
        name = voice or names[0]
        if name not in names:
            raise InvalidInputError(f"piper has no voice {name!r} in {self.model_dir}",
                                    hint=f"voices there: {', '.join(names)}")
        return self.model_dir / f"{name}.onnx"  # type: ignore[operator]

    def check_ready(self) -> None:
        try:
            import piper  # noqa: F401
        except ImportError as exc:
            raise BackendError("the piper voice needs the piper extra", hint=EXTRA_HINT) from exc
        if self.model_dir is None:
            raise BackendError("no Piper voices folder is configured",
                               hint=f"set {ENV_MODELS}=/path/to/voices or [backends.piper] model_dir in the config; "
                                    "voices: https://huggingface.co/rhasspy/piper-voices")
        if not self.model_dir.is_dir():
            raise BackendError(f"the Piper voices folder {self.model_dir} does not exist",
                               hint=f"point {ENV_MODELS} or model_dir at the folder holding NAME.onnx files")
        names = self.voices()
        if not names:
            raise BackendError(f"no Piper voice (NAME.onnx) in {self.model_dir}",
                               hint="download a voice's .onnx and .onnx.json into it")
        for name in names:
            _model_config(self.model_dir / f"{name}.onnx")

    # -- Backend ---------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_SPEECH], min_duration_s=0.1, max_duration_s=3600.0,
                            max_prompt_chars=20000, max_concurrency=1, costs_money=False, local=True,
                            voices=self.voices(), word_timings=False)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        return CostEstimate(amount=0.0, unit="USD", source="local compute (Piper, CPU)")

    def cache_identity(self) -> dict:
        return {"length_scale": self.length_scale}

    def _load(self, path: Path):
        with self._lock:
            if path not in self._voices:
                _model_config(path)
                try:
                    from piper import PiperVoice
                except ImportError as exc:
                    raise BackendError("the piper voice needs the piper extra", hint=EXTRA_HINT) from exc
                try:
                    self._voices[path] = PiperVoice.load(path, use_cuda=self.use_cuda)
                except Exception as exc:  # onnxruntime raises its own types for a corrupt model
                    raise BackendError(f"cannot load the Piper voice {path.name}: {type(exc).__name__}: {exc}",
                                       hint="download the voice again; the .onnx may be incomplete") from exc
            return self._voices[path]

    def synthesize(self, text: str, voice: str | None = None,
                   cancel: threading.Event | None = None) -> tuple[np.ndarray, int]:
        """int16 samples and their rate for ``text`` in ``voice`` (a model name in the folder)."""
        from piper import SynthesisConfig

        engine = self._load(self.model_path(voice))
        chunks, rate = [], 22050
        for chunk in engine.synthesize(text, SynthesisConfig(length_scale=self.length_scale)):
            if cancel is not None and cancel.is_set():
                raise CancelledError("speech synthesis was cancelled")
            chunks.append(chunk.audio_int16_array.reshape(-1))
            rate = chunk.sample_rate
        if not chunks:
            raise BackendError("piper produced no audio", hint="check that the text has words in the voice's language")
        return np.concatenate(chunks), rate

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        if cancel.is_set():
            raise CancelledError("speech synthesis was cancelled before it started")
        samples, rate = await asyncio.to_thread(self.synthesize, request.prompt, request.voice, cancel)
        await asyncio.to_thread(write_wav, Path(dest), samples, rate)
        timings = estimate_word_timings(request.prompt, samples.astype(np.float32) / 32768, rate)
        on_progress(ProgressEvent(shot_index=request.shot_index, state="running", percent=100))
        return voice_result(Path(dest), word_timings=timings, cost=self.estimate_cost(request),
                            warnings=["piper returns no word timings: caption times are estimated from the audio "
                                      "(docs/voice.md)"])


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(PiperBackend)
