"""Mock of the Gemini API's ``generateContent`` with image output (synchronous: the image is in the answer)."""

from __future__ import annotations

import base64
import binascii
import re

from tests.backends.backend_mocks.server import MockProvider, Req, Resp

ASPECT_RATIOS = {"1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9"}


class GeminiImageMock(MockProvider):
    name = "gemini-image"

    def __init__(self, clip, **kwargs) -> None:
        super().__init__(clip, **kwargs)
        self.truncate_create = 0  # answer this many creates with half their JSON (after making the image)

    def _error(self, status: int, code: str, message: str, headers=None) -> Resp:
        return Resp(status, {"error": {"code": status, "message": message, "status": code}}, headers=headers or {})

    def handle(self, req: Req):
        if req.path == "/bounce":
            return Resp(404, {"error": "wrong host"})
        if req.headers.get("x-goog-api-key") != self.key:
            return self._error(403, "PERMISSION_DENIED", "API key not valid. Please pass a valid API key.")
        match = re.fullmatch(r"/v1(?:beta)?/models/([\w.-]+):generateContent", req.path)
        if not (match and req.method == "POST"):
            return self._error(404, "NOT_FOUND", "not found")
        if self.faults.foreign and self.faults.take("redirect_create"):
            return self.redirect_via_foreign(req)
        fault = self.submit_fault()
        if fault is not None:
            if isinstance(fault, Resp):
                code = "RESOURCE_EXHAUSTED" if fault.status == 429 else "INTERNAL"
                return self._error(fault.status, code, "try again later", fault.headers)
            return fault
        body = req.body or {}
        problem = self._validate(body)
        if problem:
            return self._error(400, "INVALID_ARGUMENT", problem)
        prompt = body["contents"][0]["parts"][0]["text"]
        task = self.new_task(match.group(1), body, prompt)
        if task.moderated:
            answer = {"candidates": [{"finishReason": "IMAGE_SAFETY", "content": {"role": "model", "parts": []}}]}
        elif task.fail:
            answer = {"candidates": [{"finishReason": "NO_IMAGE", "content": {"role": "model", "parts": [
                {"text": "I could not make that image."}]}}]}
        else:
            data = base64.b64encode(self.image_bytes).decode("ascii")
            answer = {"candidates": [{"finishReason": "STOP", "index": 0, "content": {"role": "model", "parts": [
                {"text": "Here is the image."}, {"inlineData": {"mimeType": "image/png", "data": data}}]}}],
                "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 1290},
                "modelVersion": match.group(1), "responseId": task.id}
        if self.truncate_create > 0:
            self.truncate_create -= 1
            import json

            raw = json.dumps(answer).encode()
            return Resp(200, raw=raw, truncate_to=len(raw) // 2)
        return Resp(200, answer)

    @staticmethod
    def _validate(body: dict) -> str | None:
        contents = body.get("contents")
        if not isinstance(contents, list) or len(contents) != 1:
            return "contents must hold one user turn"
        parts = contents[0].get("parts") or []
        if not parts or not parts[0].get("text"):
            return "the first part must be the prompt text"
        for part in parts[1:]:
            # Proto JSON: either field spelling is accepted (google-genai sends inlineData.mime_type).
            inline = part.get("inlineData") or part.get("inline_data")
            mime = (inline or {}).get("mimeType") or (inline or {}).get("mime_type") or ""
            if not isinstance(inline, dict) or not str(mime).startswith("image/"):
                return "reference parts must be inlineData images"
            try:
                # Standard or URL-safe alphabet (google-genai sends bytes URL-safe encoded).
                base64.b64decode(str(inline.get("data", "")).replace("-", "+").replace("_", "/"), validate=True)
            except (binascii.Error, ValueError):
                return "inlineData.data must be raw base64 (no data: prefix)"
        config = body.get("generationConfig") or {}
        if "IMAGE" not in (config.get("responseModalities") or []):
            return "responseModalities must include IMAGE"
        image = config.get("imageConfig") or {}
        if set(image) - {"aspectRatio", "imageSize"} or image.get("aspectRatio", "1:1") not in ASPECT_RATIOS:
            return "bad imageConfig"
        return None
