"""Mock of ElevenLabs ``POST /v1/text-to-speech/{voice_id}/with-timestamps``: real speech, real alignment.

The alignment is built from espeak-ng's true word onsets, so a test can check
that the adapter's grouped words land where the speech is. Faults: the shared
ones, plus ``quota`` (``401 quota_exceeded``) and ``busy`` (``429 system_busy``).
"""

from __future__ import annotations

import base64
import re
import uuid

from tests.backends.backend_mocks.server import MockProvider, Req, Resp
from tests.backends.backend_mocks.speech import char_alignment, encode, speech

ELEVEN_KEY = "el-test-SECRET-abcdef0123"
MODELS = {"eleven_multilingual_v2", "eleven_flash_v2_5", "eleven_turbo_v2_5", "eleven_v3"}
FORMAT = re.compile(r"(mp3|wav|pcm|opus)_(\d+)(?:_\d+)?")


def _detail(status: int, code: str, message: str) -> Resp:
    return Resp(status, {"detail": {"status": code, "message": message}})


class ElevenLabsMock(MockProvider):
    name = "elevenlabs"

    def __init__(self, clip, *, key: str = ELEVEN_KEY, **kwargs) -> None:
        super().__init__(clip, key=key, **kwargs)
        self.quota = 0
        self.busy = 0

    def handle(self, req: Req):
        if req.headers.get("xi-api-key") != self.key:
            return _detail(401, "invalid_api_key", "Invalid API key")
        match = re.fullmatch(r"/v1/text-to-speech/([\w-]+)/with-timestamps", req.path)
        if not (req.method == "POST" and match):
            return Resp(404, {"detail": "Not Found"})
        fault = self.submit_fault()
        if fault is not None:
            return fault
        if self.busy > 0:
            self.busy -= 1
            return Resp(429, {"detail": {"status": "system_busy", "message": "We are experiencing heavy traffic."}},
                        headers={"Retry-After": self.faults.retry_after})
        if self.quota > 0:
            self.quota -= 1
            return _detail(401, "quota_exceeded", "This request exceeds your quota of 10000. You have 3 credits "
                                                  "remaining, while 120 credits are required for this request.")
        body = req.body if isinstance(req.body, dict) else {}
        problem = self._validate(body)
        if problem:
            return Resp(422, {"detail": [{"loc": ["body", problem[0]], "msg": problem[1], "type": "value_error"}]})
        fmt = FORMAT.fullmatch(req.query.get("output_format", "mp3_44100_128"))
        if fmt is None:
            return _detail(400, "invalid_output_format", "Invalid output format")
        text = body["text"]
        samples, rate, words = speech(text)
        self.new_task("speech", {**body, "voice_id": match.group(1)}, text)
        audio = encode(samples, rate, fmt.group(1), int(fmt.group(2)))
        alignment = char_alignment(text, words)
        return Resp(200, {"audio_base64": base64.b64encode(audio).decode("ascii"), "alignment": alignment,
                          "normalized_alignment": alignment}, headers={"request-id": uuid.uuid4().hex})

    def _validate(self, body: dict) -> tuple[str, str] | None:
        allowed = {"text", "model_id", "language_code", "voice_settings", "pronunciation_dictionary_locators", "seed",
                   "previous_text", "next_text", "previous_request_ids", "next_request_ids",
                   "apply_text_normalization", "apply_language_text_normalization", "use_pvc_as_ivc", "audio_effects"}
        extra = sorted(set(body) - allowed)
        if extra:
            return extra[0], "extra fields not permitted"
        if not isinstance(body.get("text"), str) or not body["text"].strip():
            return "text", "field required"
        if body.get("model_id", "eleven_multilingual_v2") not in MODELS:
            return "model_id", "unknown model"
        if "language_code" in body and body.get("model_id", "eleven_multilingual_v2") == "eleven_multilingual_v2":
            return "language_code", "language_code is not supported for eleven_multilingual_v2"
        return None
