"""Mock of OpenAI's ``POST /v1/audio/speech``: real speech bytes back, the real error shapes, faults.

Besides the shared faults (``submit_429`` with Retry-After, ``submit_500``,
``submit_drop``, ``submit_accept_drop``) it can answer ``429 insufficient_quota``
(``quota`` counter), OpenAI's out-of-credit state.
"""

from __future__ import annotations

import uuid

from tests.backends.backend_mocks.server import MockProvider, Req, Resp
from tests.backends.backend_mocks.speech import encode, speech

VOICES = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin",
          "cedar"}
MODELS = {"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15"}
FORMATS = {"mp3", "opus", "aac", "flac", "wav", "pcm"}


def _error(status: int, message: str, type_: str, code: str | None = None, param: str | None = None) -> Resp:
    return Resp(status, {"error": {"message": message, "type": type_, "param": param, "code": code}})


class OpenAISpeechMock(MockProvider):
    name = "openai-speech"

    def __init__(self, clip, **kwargs) -> None:
        super().__init__(clip, **kwargs)
        self.quota = 0

    def handle(self, req: Req):
        if req.headers.get("authorization") != f"Bearer {self.key}":
            return _error(401, "Incorrect API key provided: sk-wr***ng.", "invalid_request_error", "invalid_api_key")
        if not (req.method == "POST" and req.path == "/v1/audio/speech"):
            return _error(404, f"Invalid URL ({req.method} {req.path})", "invalid_request_error")
        fault = self.submit_fault()
        if fault is not None:
            if isinstance(fault, Resp) and fault.status == 429:
                fault.body = {"error": {"message": "Rate limit reached for requests", "type": "requests",
                                        "param": None, "code": "rate_limit_exceeded"}}
            return fault
        if self.quota > 0:
            self.quota -= 1
            return _error(429, "You exceeded your current quota, please check your plan and billing details.",
                          "insufficient_quota", "insufficient_quota")
        body = req.body if isinstance(req.body, dict) else {}
        problem = self._validate(body)
        if problem:
            return _error(400, problem[1], "invalid_request_error", param=problem[0])
        fmt = body.get("response_format", "mp3")
        if fmt in ("aac", "flac"):
            fmt = "wav"  # the mock's encoder set; the adapter asks for wav
        samples, rate, _ = speech(body["input"])
        self.new_task("speech", body, body["input"])
        audio = encode(samples, rate, fmt, 24000)
        kind = {"wav": "audio/wav", "mp3": "audio/mpeg", "opus": "audio/opus", "pcm": "audio/pcm"}[fmt]
        return Resp(200, raw=audio, content_type=kind, headers={"x-request-id": f"req_{uuid.uuid4().hex}"})

    def _validate(self, body: dict) -> tuple[str, str] | None:
        allowed = {"model", "input", "voice", "instructions", "response_format", "speed", "stream_format"}
        extra = sorted(set(body) - allowed)
        if extra:
            return extra[0], f"Unrecognized request argument supplied: {extra[0]}"
        if body.get("model") not in MODELS:
            return "model", f"Invalid model: {body.get('model')!r}"
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            return "input", "input is required"
        if len(text) > 4096:
            return "input", "string too long. Expected a string with maximum length 4096"
        voice = body.get("voice")
        if not (voice in VOICES or (isinstance(voice, dict) and str(voice.get("id", "")).startswith("voice_"))):
            return "voice", f"Invalid voice: {voice!r}"
        if "instructions" in body and str(body["model"]).startswith("tts-1"):
            return "instructions", "instructions are not supported for this model"
        if body.get("response_format", "mp3") not in FORMATS:
            return "response_format", "Invalid response_format"
        return None
