"""Local neural voices with Kokoro: an ONNX model and its voices file from a folder the user points at.

Kokoro (82M parameters, Apache-2.0) runs on CPU through ``kokoro-onnx``
(``pip install 'shotsmith[kokoro]'``: kokoro-onnx ~30 kB, onnxruntime ~28 MB,
phonemizer; no torch, so no CUDA wheel is pulled in). Its phonemes come from
espeak-ng, loaded from the same ``espeakng-loader`` wheel the offline voice
uses. The user downloads the model files once
(https://github.com/thewh1teagle/kokoro-onnx/releases: ``kokoro-v1.0.onnx``,
~310 MB, or ``kokoro-v1.0.int8.onnx``, ~88 MB; and ``voices-v1.0.bin``) into a
folder: the option ``model_dir`` (``[backends.kokoro] model_dir = "~/kokoro"``)
or the environment variable ``SHOTSMITH_KOKORO_MODELS``. The folder holds one
``.onnx`` model (``model_file`` picks one when there are several) and one
voices file (``voices*.bin`` or ``.npz``, a NumPy archive of style vectors,
one entry per voice: ``af_heart``, ``am_michael``, ``bf_emma``…); the voice is
``--voice kokoro:af_heart``.

Word timings: an export that reports phoneme durations (a ``duration``
output; kokoro-onnx's own ``scripts/export.py`` makes one) gives each word's
time from its phonemes, kept only when the phoneme words line up one to one
with the text's words. Otherwise, like Piper, the times are estimated from the
audio, and the result says so.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import numpy as np

import shotsmith
from shotsmith.backends.base import (Backend, Capabilities, CostEstimate, GenerationMode, GenerationRequest,
                                     GenerationResult, ProgressCallback, ProgressEvent, WordTiming)
from shotsmith.backends.voice import estimate_word_timings, voice_result, write_wav
from shotsmith.config import Settings, load_settings
from shotsmith.errors import BackendError, CancelledError, InvalidInputError

ENV_MODELS = "SHOTSMITH_KOKORO_MODELS"
EXTRA_HINT = "pip install 'shotsmith[kokoro]' (kokoro-onnx and onnxruntime, ~30 MB; no torch)"
MODEL_HINT = ("download kokoro-v1.0.onnx (or kokoro-v1.0.int8.onnx) and voices-v1.0.bin from "
              "https://github.com/thewh1teagle/kokoro-onnx/releases into it")
#: ISO 639-1 (the narration's language) -> the espeak-ng language Kokoro phonemizes with.
LANGUAGES = {"en": "en-us", "fr": "fr-fr", "es": "es", "it": "it", "pt": "pt-br", "hi": "hi", "ja": "ja",
             "zh": "cmn"}
_MARKS = set(".,!?;:—…\"'()[]¡¿«»“”")


def words_from_phonemes(text: str, timings: list) -> list[WordTiming] | None:
    """Word times from Kokoro's per-phoneme ``Timing`` (phoneme, start, end): a word is a run of phonemes
    between spaces, punctuation left out. None when the phoneme words do not pair one to one with the
    text's words (a number read out as several words, say): those times would be guesses."""
    spans: list[list[float]] = []
    current: list[float] | None = None
    for timing in timings:
        if timing.phoneme == " ":
            current = None
            continue
        if timing.phoneme in _MARKS:
            continue
        if current is None:
            current = [timing.start, timing.end]
            spans.append(current)
        else:
            current[1] = timing.end
    words = text.split()
    if not words or len(spans) != len(words):
        return None
    return [WordTiming(word=w, start_s=round(s, 3), end_s=round(e, 3)) for w, (s, e) in zip(words, spans)]


class KokoroBackend(Backend):
    """Options: ``model_dir`` (the folder), ``model_file`` (which .onnx in it), ``voice`` (default: the first),
    ``speed`` (0.5-2.0), ``lang`` (an espeak-ng language, overriding the narration's)."""

    name = "kokoro"
    description = (f"Local neural voices (Kokoro ONNX model + voices file from a folder: model_dir or "
                   f"${ENV_MODELS}). Free, offline, CPU; extra 'kokoro'.")
    model = "kokoro"

    def __init__(self, *, model_dir: str | None = None, model_file: str | None = None, voice: str | None = None,
                 speed: float | None = None, lang: str | None = None, settings: Settings | None = None,
                 **unknown) -> None:
        if unknown:
            raise InvalidInputError(f"backend kokoro: unknown option(s) {', '.join(sorted(unknown))}",
                                    hint="known: model_dir, model_file, voice, speed, lang")
        config = dict((settings or load_settings()).backends.get("kokoro", {}))
        folder = model_dir or config.get("model_dir") or os.environ.get(ENV_MODELS)
        self.model_dir = Path(folder).expanduser() if folder else None
        self.model_file = model_file or config.get("model_file")
        self.voice = voice or config.get("voice")
        self.speed = float(speed or config.get("speed") or 1.0)
        if not 0.5 <= self.speed <= 2.0:
            raise InvalidInputError(f"backend kokoro: speed {self.speed:g} is outside 0.5-2.0")
        self.lang = lang or config.get("lang")
        self._engine = None
        self._engine_key: tuple | None = None
        self._lock = threading.Lock()

    # -- the models folder -----------------------------------------------------------------
    def _files(self, pattern: str) -> list[Path]:
        if self.model_dir is None or not self.model_dir.is_dir():
            return []
        return sorted(p for p in self.model_dir.glob(pattern) if p.is_file())

    def model_path(self) -> Path | None:
        models = self._files("*.onnx")
        if self.model_file:
            chosen = [p for p in models if p.name == self.model_file]
            return chosen[0] if chosen else None
        return models[0] if len(models) == 1 else None

    def voices_path(self) -> Path | None:
        found = self._files("voices*.bin") + self._files("*.npz")
        return found[0] if found else None

    def voices(self) -> list[str]:
        """Voice names in the voices file, the configured default first; [] when there is none (never raises)."""
        path = self.voices_path()
        if path is None:
            return []
        try:
            with np.load(path) as archive:
                names = sorted(archive.files)
        except (OSError, ValueError):
            return []
        if self.voice in names:
            names.remove(self.voice)
            names.insert(0, self.voice)
        return names

    def check_ready(self) -> None:
        try:
            import kokoro_onnx  # noqa: F401
        except ImportError as exc:
            raise BackendError("the kokoro voice needs the kokoro extra", hint=EXTRA_HINT) from exc
        if self.model_dir is None:
            raise BackendError("no Kokoro model folder is configured",
                               hint=f"set {ENV_MODELS}=/path/to/kokoro or [backends.kokoro] model_dir in the config; "
                                    + MODEL_HINT)
        if not self.model_dir.is_dir():
            raise BackendError(f"the Kokoro model folder {self.model_dir} does not exist",
                               hint=f"point {ENV_MODELS} or model_dir at the folder holding the .onnx model")
        models = self._files("*.onnx")
        if not models:
            raise BackendError(f"no Kokoro model (.onnx) in {self.model_dir}", hint=MODEL_HINT)
        if self.model_path() is None:
            names = ", ".join(p.name for p in models)
            raise BackendError(f"the Kokoro folder {self.model_dir} has "
                               + (f"no {self.model_file}" if self.model_file else "more than one model")
                               + f" ({names})", hint="set [backends.kokoro] model_file to the one to use")
        path = self.voices_path()
        if path is None:
            raise BackendError(f"no Kokoro voices file (voices*.bin or .npz) in {self.model_dir}", hint=MODEL_HINT)
        if not self.voices():
            raise BackendError(f"{path.name} is not a Kokoro voices file (a NumPy archive of voices)",
                               hint="download voices-v1.0.bin again")

    # -- Backend ---------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_SPEECH], min_duration_s=0.1, max_duration_s=3600.0,
                            max_prompt_chars=20000, max_concurrency=1, costs_money=False, local=True,
                            voices=self.voices(), word_timings=False, languages=list(LANGUAGES))

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        return CostEstimate(amount=0.0, unit="USD", source="local compute (Kokoro, CPU)")

    def cache_identity(self) -> dict:
        model = self.model_path()
        return {"speed": self.speed, "lang": self.lang, "model_file": model.name if model else None}

    def _load(self):
        self.check_ready()
        model, voices = self.model_path(), self.voices_path()
        key = (str(model), model.stat().st_mtime_ns, str(voices), voices.stat().st_mtime_ns)  # type: ignore[union-attr]
        with self._lock:
            if self._engine is None or self._engine_key != key:
                from kokoro_onnx import Kokoro

                try:
                    self._engine = Kokoro(str(model), str(voices))
                except Exception as exc:  # onnxruntime and numpy raise their own types for a corrupt file
                    raise BackendError(f"cannot load the Kokoro model {model.name}: {type(exc).__name__}: {exc}",
                                       hint="download the model and voices files again; one may be "
                                            "incomplete") from exc
                self._engine_key = key
            return self._engine

    def language_for(self, request: GenerationRequest) -> str:
        if self.lang:
            return self.lang
        language = (request.language or "en").lower()
        return LANGUAGES.get(language.split("-")[0], language)

    def synthesize(self, text: str, voice: str | None = None, *, language: str = "en-us",
                   cancel: threading.Event | None = None) -> tuple[np.ndarray, int, list]:
        """Float samples, their rate and the per-phoneme timings (empty when the model reports none)."""
        names = self.voices()
        name = voice or (names[0] if names else None)
        if name not in names:
            raise InvalidInputError(f"kokoro has no voice {name!r} in {self.voices_path()}",
                                    hint=f"voices there: {', '.join(names[:30])}")
        engine = self._load()
        if cancel is not None and cancel.is_set():
            raise CancelledError("speech synthesis was cancelled")
        try:
            if hasattr(engine, "create_timed"):
                samples, rate, timings = engine.create_timed(text, voice=name, speed=self.speed, lang=language)
            else:  # kokoro-onnx before 0.5: no timings
                samples, rate = engine.create(text, voice=name, speed=self.speed, lang=language)
                timings = []
        except ValueError as exc:  # kokoro-onnx's word for text it cannot speak
            raise BackendError(f"kokoro could not speak this line: {exc}",
                               hint="check the text is in the voice's language") from exc
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if samples.size == 0:
            raise BackendError("kokoro produced no audio", hint="check the text is in the voice's language")
        return samples, int(rate), list(timings)

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        if cancel.is_set():
            raise CancelledError("speech synthesis was cancelled before it started")
        samples, rate, phonemes = await asyncio.to_thread(self.synthesize, request.prompt, request.voice,
                                                         language=self.language_for(request), cancel=cancel)
        await asyncio.to_thread(write_wav, Path(dest), samples, rate)
        timings = words_from_phonemes(request.prompt, phonemes) if phonemes else None
        warnings = []
        if timings is None:
            timings = estimate_word_timings(request.prompt, samples, rate)
            warnings.append("kokoro gave no word timings for this line: caption times are estimated from the "
                            "audio (docs/voice.md)")
        on_progress(ProgressEvent(shot_index=request.shot_index, state="running", percent=100))
        return voice_result(Path(dest), word_timings=timings, cost=self.estimate_cost(request), warnings=warnings)


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(KokoroBackend)
