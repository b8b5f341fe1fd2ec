"""ElevenLabs text-to-speech with timestamps: a voice plus per-character timings, grouped into words.

Protocol (elevenlabs-python ``text_to_speech/raw_client.py``,
``types/audio_with_timestamps_response.py``): ``POST
/v1/text-to-speech/{voice_id}/with-timestamps?output_format=...`` with header
``xi-api-key``; JSON body ``text``, ``model_id``, ``language_code`` (not for
``eleven_multilingual_v2``), ``voice_settings``, ``seed``. The answer is JSON:
``audio_base64`` and ``alignment`` (``characters``,
``character_start_times_seconds``, ``character_end_times_seconds``, following
the input text). Words are runs of non-space characters
(:func:`shotsmith.backends.voice.words_from_chars`), so caption times are the
provider's own.

Errors: ``{"detail": {"status", "message"}}``; ``401 quota_exceeded`` means the
plan's characters are used up (a retry will not help, the hint says what
will); ``429 too_many_concurrent_requests`` / ``system_busy`` are retried with
backoff. Voices are ids (``--voice elevenlabs:<voice_id>``), any id is accepted;
the default is configurable (option ``voice``). The API is synchronous: see
:mod:`shotsmith.backends.speech_remote` for how it runs on the engine.
"""

from __future__ import annotations

import base64
import binascii
from typing import ClassVar

import httpx

import shotsmith
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest, WordTiming
from shotsmith.backends.errors import AuthError, RemoteError
from shotsmith.backends.http import ApiClient
from shotsmith.backends.remote import error_body, json_body
from shotsmith.backends.speech_remote import SpeechRemoteBackend
from shotsmith.backends.voice import words_from_chars
from shotsmith.errors import InvalidInputError

#: "Rachel", the voice the ElevenLabs docs use in examples; override with the ``voice`` option.
DEFAULT_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"
OUTPUT_FORMATS = {"mp3": ".mp3", "wav": ".wav", "opus": ".opus"}
#: Per-request character limits per model (aggregator pages, unconfirmed).
CHAR_LIMITS = {"eleven_multilingual_v2": 10_000, "eleven_flash_v2_5": 40_000, "eleven_turbo_v2_5": 40_000,
               "eleven_v3": 5_000}


class ElevenLabsBackend(SpeechRemoteBackend):
    """Options besides the common ones: ``voice`` (a voice id), ``output_format`` (default mp3_44100_128)."""

    name = "elevenlabs"
    description = ("ElevenLabs voices with per-character timestamps (exact caption timing). Key: ELEVENLABS_API_KEY; "
                   "voice = a voice id.")
    model = "eleven_multilingual_v2"
    key_env = ("ELEVENLABS_API_KEY",)
    default_base_url = "https://api.elevenlabs.io"
    voices: ClassVar[list[str]] = [DEFAULT_VOICE_ID]
    #: USD per character (unconfirmed: plan-dependent; ~0.30 USD per 1000 characters on the Creator plan's
    #: overage, flash/turbo models bill half the credits).
    default_prices: ClassVar[dict[str, float]] = {"eleven_multilingual_v2": 0.0003, "eleven_v3": 0.0003,
                                                  "eleven_flash_v2_5": 0.00015, "eleven_turbo_v2_5": 0.00015}
    pricing_source = "ElevenLabs pricing page, credits per character by model; USD per credit is plan-dependent (unconfirmed)"

    def extra_options(self) -> tuple[str, ...]:
        return (*super().extra_options(), "output_format")

    @property
    def output_format(self) -> str:
        value = str(self.options.get("output_format") or "mp3_44100_128")
        if value.split("_")[0] not in OUTPUT_FORMATS:
            raise InvalidInputError(f"elevenlabs output_format {value!r} is not a file format shotsmith can keep",
                                    hint="use mp3_44100_128 (default), wav_24000 or opus_48000_64 (raw pcm/ulaw/alaw "
                                         "have no header)")
        return value

    def allows_custom_voices(self) -> bool:
        return True

    def auth_headers(self) -> dict[str, str]:
        return {"xi-api-key": self.api_key().get_secret_value()}

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_SPEECH], min_duration_s=0.1, max_duration_s=3600.0,
                            max_prompt_chars=CHAR_LIMITS.get(self.model or "", 5_000),
                            max_concurrency=self.concurrency, costs_money=True, local=False,
                            voices=[], word_timings=True, supports_seed=True)  # any voice id of the account

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        model = request.model or self.model or "eleven_multilingual_v2"
        rate = self.prices.get(model, self.prices["eleven_multilingual_v2"])
        chars = len(request.prompt)
        return CostEstimate(amount=round(rate * chars, 6), source=self.pricing_source,
                            detail=f"estimate (unconfirmed): {chars} characters x {rate * 1000:g} USD/1000 ({model}); "
                                   "override with [backends.elevenlabs.prices]")

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        self.output_format  # noqa: B018  (a bad format is refused before anything is sent)
        ready, warnings = super().prepare(request)
        voice = ready.voice or ""
        if not voice.replace("_", "").replace("-", "").isalnum():
            raise InvalidInputError(f"elevenlabs voice {voice!r} is not a voice id",
                                    hint="pass the id from your ElevenLabs voice library, e.g. elevenlabs:21m00Tcm4TlvDq8ikWAM")
        if ready.instructions:
            warnings.append("elevenlabs does not take speaking instructions; they are ignored")
        return ready, warnings

    def classify(self, response: httpx.Response) -> RemoteError:
        detail = error_body(response).get("detail")
        status = str(detail.get("status") or "") if isinstance(detail, dict) else ""
        message = str(detail.get("message") or "") if isinstance(detail, dict) else str(detail or "")
        if status == "quota_exceeded":
            return RemoteError(f"elevenlabs: the plan's character quota is used up ({message})",
                               status=response.status_code, code=status,
                               hint="wait for the quota to reset or upgrade the plan at elevenlabs.io; a retry will not help")
        if response.status_code in (401, 403):
            return AuthError(f"elevenlabs refused the API key (HTTP {response.status_code})", status=response.status_code,
                             hint="check ELEVENLABS_API_KEY")
        error = super().classify(response)
        if message:
            error.message = f"elevenlabs: {message}{f' ({status})' if status else ''} (HTTP {response.status_code})"
            error.code = status or None
        return error

    def body(self, request: GenerationRequest) -> dict:
        """The JSON body of the create (public so tests can check field names)."""
        model = request.model or self.model
        body: dict = {"text": request.prompt, "model_id": model}
        if request.language and model != "eleven_multilingual_v2":
            body["language_code"] = request.language.split("-")[0].lower()
        if request.seed is not None:
            body["seed"] = request.seed
        return body

    async def speak(self, api: ApiClient, request: GenerationRequest) -> tuple[bytes, str, list[WordTiming] | None, str | None]:
        voice = self.voice_for(request)
        response = await api.request("POST", self.url(f"/v1/text-to-speech/{voice}/with-timestamps"),
                                     json=self.body(request), params={"output_format": self.output_format})
        data = json_body(response)
        try:
            audio = base64.b64decode(data.get("audio_base64") or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RemoteError("elevenlabs: the audio in the answer is not valid base64", retryable=True) from exc
        alignment = data.get("alignment") or {}
        timings = None
        if alignment.get("characters"):
            timings = words_from_chars(alignment["characters"], alignment.get("character_start_times_seconds") or [],
                                       alignment.get("character_end_times_seconds") or [])
        suffix = OUTPUT_FORMATS.get(self.output_format.split("_")[0], ".mp3")
        return audio, suffix, timings, response.headers.get("request-id")


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(ElevenLabsBackend)
