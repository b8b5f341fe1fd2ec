"""Mock of the Gemini API's Veo long-running operations (/v1beta)."""

from __future__ import annotations

import re

from tests.backends.backend_mocks.server import MockProvider, Req, Resp

GEMINI_KEY = "AIza-test-SECRET-gemini-0001"


class VeoMock(MockProvider):
    name = "veo"

    def _error(self, status: int, code: str, message: str, headers=None) -> Resp:
        return Resp(status, {"error": {"code": status, "message": message, "status": code}}, headers=headers or {})

    def handle(self, req: Req):
        if req.headers.get("x-goog-api-key") != self.key:
            return self._error(403, "PERMISSION_DENIED", "API key not valid. Please pass a valid API key.")
        create = re.fullmatch(r"/v1(?:beta)?/models/([\w.-]+):predictLongRunning", req.path)
        if create and req.method == "POST":
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
            prompt = body["instances"][0].get("prompt", "")
            task = self.new_task(create.group(1), body, prompt)
            return Resp(200, {"name": f"models/{create.group(1)}/operations/{task.id}"})
        poll = re.fullmatch(r"/(v1(?:beta)?)/models/[\w.-]+/operations/([\w-]+)", req.path)
        if poll and req.method == "GET":
            task = self.tasks.get(poll.group(2))
            if task is None:
                return self._error(404, "NOT_FOUND", "operation not found")
            fault = self.poll_fault(req)
            if fault is not None:
                return fault
            name = req.path[len(poll.group(1)) + 2:]
            phase, _ = self.phase(task)
            if phase in ("queued", "running"):
                return Resp(200, {"name": name, **({"metadata": {"@type": "x"}} if phase == "running" else {})})
            if phase == "failed":
                return Resp(200, {"name": name, "done": True, "error": {"code": 13, "message": "Internal error"}})
            if phase == "moderated":
                return Resp(200, {"name": name, "done": True, "response": {
                    "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                    "generateVideoResponse": {"raiMediaFilteredCount": 1,
                                              "raiMediaFilteredReasons": ["The prompt could not be submitted."]}}})
            return Resp(200, {"name": name, "done": True, "response": {
                "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
                "generateVideoResponse": {"generatedSamples": [{"video": {"uri": self.file_url(task)}}]}}})
        return self._error(404, "NOT_FOUND", "not found")

    def serve_file(self, req: Req) -> Resp:
        if req.headers.get("x-goog-api-key") != self.key:  # Gemini file URIs need the key
            return self._error(403, "PERMISSION_DENIED", "missing key")
        return super().serve_file(req)

    @staticmethod
    def _validate(body: dict) -> str | None:
        instances = body.get("instances")
        if not isinstance(instances, list) or len(instances) != 1 or not instances[0].get("prompt"):
            return "instances[0].prompt is required"
        image = instances[0].get("image")
        if image is not None and (not image.get("bytesBase64Encoded") or not image.get("mimeType")):
            return "image needs bytesBase64Encoded and mimeType"
        last = instances[0].get("lastFrame")
        if last is not None and (image is None or not last.get("bytesBase64Encoded") or not last.get("mimeType")):
            return "lastFrame needs image, and bytesBase64Encoded and mimeType"
        refs = instances[0].get("referenceImages")
        if refs is not None:
            if len(refs) > 3 or any(r.get("referenceType") != "ASSET" or not (r.get("image") or {}).get("bytesBase64Encoded")
                                    for r in refs):
                return "referenceImages: at most 3, referenceType ASSET, image.bytesBase64Encoded"
        params = body.get("parameters") or {}
        allowed = {"sampleCount", "durationSeconds", "aspectRatio", "resolution", "personGeneration", "negativePrompt",
                   "enhancePrompt", "numberOfVideos"}
        if set(params) - allowed:
            return f"unknown parameters {sorted(set(params) - allowed)}"
        if params.get("aspectRatio") not in (None, "16:9", "9:16"):
            return "aspectRatio must be 16:9 or 9:16"
        return None
