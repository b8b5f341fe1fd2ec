"""OpenAI speech (``POST /v1/audio/speech``): gpt-4o-mini-tts voices, with speaking instructions.

Protocol (openai-python ``types/audio/speech_create_params.py``): ``Authorization:
Bearer``; JSON body ``model``, ``input`` (<= 4096 characters), ``voice``,
``instructions`` (not on tts-1 / tts-1-hd), ``response_format`` (``wav`` here:
decodable without guessing), ``speed``; the answer is the audio bytes
(``Accept: application/octet-stream``, as the SDK sends). Errors are
``{"error": {message, type, param, code}}``; a 429 whose code is
``insufficient_quota`` is a billing state, not a rate limit, so it is not retried.

The API is synchronous; how it fits the engine's create / poll / download is in
:mod:`shotsmith.backends.speech_remote`. OpenAI returns **no word timings**:
captions use :func:`shotsmith.backends.voice.estimate_word_timings` (voice
activity on the audio plus syllable counts), whose accuracy ``bench/bench_captions.py``
measures; the result carries a warning saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import httpx

import shotsmith
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest, WordTiming
from shotsmith.backends.errors import RemoteError
from shotsmith.backends.http import ApiClient
from shotsmith.backends.remote import error_body
from shotsmith.backends.speech_remote import SpeechRemoteBackend
from shotsmith.backends.voice import decode_mono, estimate_word_timings
from shotsmith.errors import InvalidInputError

VOICES = ["coral", "alloy", "ash", "ballad", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin",
          "cedar"]
MODELS = ("gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15", "tts-1", "tts-1-hd")
#: Speaking rate assumed by the estimate (English, words per second).
WORDS_PER_S = 2.5


class OpenAISpeechBackend(SpeechRemoteBackend):
    name = "openai-speech"
    description = ("OpenAI speech (gpt-4o-mini-tts; voices such as coral, alloy, nova; speaking instructions). "
                   "Key: OPENAI_API_KEY. No word timings: captions are aligned by an estimate.")
    model = "gpt-4o-mini-tts"
    key_env = ("OPENAI_API_KEY",)
    default_base_url = "https://api.openai.com"
    voices: ClassVar[list[str]] = VOICES
    #: USD: per 1M input characters (tts-1, tts-1-hd); gpt-4o-mini-tts per 1M text tokens in and audio tokens out.
    default_prices: ClassVar[dict[str, float]] = {"tts-1": 15.0, "tts-1-hd": 30.0, "gpt-4o-mini-tts.text_in": 0.60,
                                                  "gpt-4o-mini-tts.audio_out": 12.0,
                                                  "gpt-4o-mini-tts.audio_tokens_per_min": 1250.0}
    pricing_source = ("OpenAI model pages (developers.openai.com), 2026: tts-1 $15/1M chars, tts-1-hd $30/1M, "
                      "gpt-4o-mini-tts $0.60/1M text in + $12/1M audio out; audio tokens per minute unconfirmed")

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_SPEECH], min_duration_s=0.1, max_duration_s=3600.0,
                            max_prompt_chars=4096, max_concurrency=self.concurrency, costs_money=True, local=False,
                            voices=[self.default_voice, *[v for v in VOICES if v != self.default_voice]],
                            word_timings=False, supports_instructions=True)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        model = request.model or self.model or "gpt-4o-mini-tts"
        chars = len(request.prompt)
        if model in ("tts-1", "tts-1-hd"):
            rate = self.prices.get(model, 15.0)
            return CostEstimate(amount=round(rate * chars / 1e6, 6), source=self.pricing_source,
                                detail=f"estimate: {chars} characters x {rate:g} USD/1M ({model})")
        minutes = len(request.prompt.split()) / WORDS_PER_S / 60
        tokens_in = chars / 4
        tokens_out = minutes * self.prices["gpt-4o-mini-tts.audio_tokens_per_min"]
        amount = (tokens_in * self.prices["gpt-4o-mini-tts.text_in"] + tokens_out * self.prices["gpt-4o-mini-tts.audio_out"]) / 1e6
        return CostEstimate(amount=round(amount, 6), source=self.pricing_source,
                            detail=f"estimate (unconfirmed): ~{tokens_in:.0f} text tokens in, ~{minutes * 60:.0f} s of "
                                   f"speech at ~{self.prices['gpt-4o-mini-tts.audio_tokens_per_min']:g} audio tokens/min "
                                   "out; override with [backends.openai-speech.prices]")

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        ready, warnings = super().prepare(request)
        model = ready.model or self.model or ""
        if model not in MODELS:
            raise InvalidInputError(f"openai-speech has no model {model!r}", hint=f"models: {', '.join(MODELS)}")
        if ready.instructions and model.startswith("tts-1"):
            warnings.append(f"{model} does not take speaking instructions; they are ignored (use gpt-4o-mini-tts)")
            ready = ready.model_copy(update={"instructions": None})
        return ready, warnings

    def classify(self, response: httpx.Response) -> RemoteError:
        error = super().classify(response)
        detail = error_body(response).get("error")
        if not isinstance(detail, dict):
            return error
        code, message = str(detail.get("code") or detail.get("type") or ""), str(detail.get("message") or "")
        if code == "insufficient_quota":
            quota = RemoteError(f"openai-speech: the account is out of credit ({message})", status=response.status_code,
                                code=code, hint="add credit at platform.openai.com (Settings > Billing); "
                                                "a retry will not help")
            return quota
        if response.status_code not in (401, 403) and message:
            error.message = f"openai-speech: {message} (HTTP {response.status_code})"
            error.code = code or None
        return error

    def body(self, request: GenerationRequest) -> dict:
        """The JSON body of the create (public so tests can check field names)."""
        body = {"model": request.model or self.model, "input": request.prompt, "voice": self.voice_for(request),
                "response_format": "wav"}
        if request.instructions:
            body["instructions"] = request.instructions
        return body

    async def speak(self, api: ApiClient, request: GenerationRequest) -> tuple[bytes, str, list[WordTiming] | None, str | None]:
        response = await api.request("POST", self.url("/v1/audio/speech"), json=self.body(request),
                                     headers={"Accept": "application/octet-stream"})
        kind = response.headers.get("content-type", "")
        if kind.startswith("application/json") or kind.startswith("text/"):
            raise RemoteError(f"openai-speech: expected audio, got {kind or 'no content type'}", retryable=True)
        return response.content, ".wav", None, response.headers.get("x-request-id")

    def timings_for(self, request: GenerationRequest, audio: Path) -> list[WordTiming] | None:
        samples, rate = decode_mono(audio)
        return estimate_word_timings(request.prompt, samples, rate)


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(OpenAISpeechBackend)
