"""Mock of Runway's task API (X-Runway-Version 2024-11-06)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.backends.backend_mocks.server import MockProvider, Req, Resp

RATIOS = {"1280:720", "720:1280", "960:960", "1104:832", "832:1104", "1584:672"}
#: text_to_image ratios (gen4_image and gen4_image_turbo), per the SDK's create params.
IMAGE_RATIOS = {"1024:1024", "1080:1080", "1168:880", "1360:768", "1440:1080", "1080:1440", "1808:768", "1920:1080",
                "1080:1920", "2112:912", "1280:720", "720:1280", "720:720", "960:720", "720:960", "1680:720"}
TAG = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,15}")
#: Models that take promptImage position "last" (runwayml 5.13.0).
LAST_FRAME_MODELS = {"veo3.1", "veo3.1_fast"}


class RunwayMock(MockProvider):
    name = "runway"

    def __init__(self, clip, **kwargs) -> None:
        super().__init__(clip, **kwargs)
        #: upload id -> the multipart form the upload bucket received (None until then).
        self.uploads: dict[str, bytes | None] = {}

    def handle_bucket(self, req: Req) -> Resp:
        """The upload host (S3 in production): a multipart POST with the granted fields and the file."""
        if "authorization" in req.headers:
            return Resp(400, raw=b"<Error>Only one auth mechanism allowed</Error>", content_type="application/xml")
        ctype = req.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data") or b'name="file"' not in req.raw or b'name="key"' not in req.raw:
            return Resp(400, raw=b"<Error>POST requires multipart form with key and file</Error>",
                        content_type="application/xml")
        match = re.search(rb'name="key"\r\n\r\nuploads/(\w+)\r\n', req.raw)
        if not match or match.group(1).decode() not in self.uploads:
            return Resp(403, raw=b"<Error>Policy check failed</Error>", content_type="application/xml")
        self.uploads[match.group(1).decode()] = req.raw
        return Resp(204)

    def handle(self, req: Req):
        if req.path == "/upload-bucket":
            return self.handle_bucket(req)
        if req.headers.get("authorization") != f"Bearer {self.key}":
            return Resp(401, {"error": "Invalid API key."})
        if req.headers.get("x-runway-version") != "2024-11-06":
            return Resp(400, {"error": "The X-Runway-Version header is missing or invalid."})
        if req.method == "POST" and req.path == "/v1/uploads":
            body = req.body or {}
            if body.get("type") != "ephemeral" or not body.get("filename"):
                return Resp(400, {"error": "filename and type ephemeral are required"})
            upload_id = f"up{len(self.uploads) + 1}"
            self.uploads[upload_id] = None
            return Resp(200, {"runwayUri": f"runway://uploads/{upload_id}", "uploadUrl": f"{self.url}/upload-bucket",
                              "fields": {"key": f"uploads/{upload_id}", "policy": "eyJ4IjoxfQ==", "x-amz-signature": "abc"}})
        if req.method == "POST" and req.path in ("/v1/text_to_video", "/v1/image_to_video", "/v1/text_to_image"):
            fault = self.submit_fault()
            if fault is not None:
                return fault
            body = req.body or {}
            problem = self._validate(req.path, body)
            if problem:
                return Resp(400, {"error": problem})
            task = self.new_task(req.path, body, body.get("promptText", ""))
            return Resp(200, {"id": task.id})
        match = re.fullmatch(r"/v1/tasks/([\w-]+)", req.path)
        if match:
            task = self.tasks.get(match.group(1))
            if task is None:
                return Resp(404, {"error": "Task not found."})
            if req.method == "DELETE":
                task.cancelled = True
                self.cancels += 1
                return Resp(204)
            fault = self.poll_fault(req)
            if fault is not None:
                return fault
            return Resp(200, self._task_json(task))
        return Resp(404, {"error": "Not found."})

    def image_shape(self, task):
        width, height = (int(v) for v in task.body["ratio"].split(":"))
        return width, height

    def task_shape(self, task):
        width, height = (int(v) for v in task.body["ratio"].split(":"))
        return width, height, float(task.body["duration"])

    def _validate(self, path: str, body: dict) -> str | None:
        if path == "/v1/text_to_image":
            return self._validate_image(body)
        allowed = {"model", "promptText", "promptImage", "ratio", "duration", "seed", "contentModeration"}
        extra = set(body) - allowed
        if extra:
            return f"Unrecognized keys: {sorted(extra)}"
        if not isinstance(body.get("model"), str) or body.get("ratio") not in RATIOS:
            return "Invalid model or ratio."
        if not isinstance(body.get("duration"), int) or not 2 <= body["duration"] <= 10:
            return "duration must be an integer between 2 and 10."
        if path == "/v1/text_to_video" and not body.get("promptText"):
            return "promptText is required."
        if path == "/v1/image_to_video":
            image = body.get("promptImage")
            if isinstance(image, list):
                positions = [i.get("position") for i in image]
                if not all(self._uri_ok(i.get("uri")) for i in image) or positions not in (["first"], ["first", "last"]):
                    return "promptImage must be [{uri, position: first}] with an optional last frame after it."
                if "last" in positions and body.get("model") not in LAST_FRAME_MODELS:
                    return f"Model {body.get('model')} does not support position 'last'."
            elif not self._uri_ok(image):
                return "promptImage must be an HTTPS URL or a data URI."
        if len(body.get("promptText", "").encode("utf-16-le")) // 2 > 1000:  # Runway counts UTF-16 code units
            return "promptText is too long."
        if "seed" in body and str(body.get("model", "")).startswith("veo"):
            return "Unrecognized key 'seed' for model veo3.1."
        return None

    @staticmethod
    def _uri_ok(uri) -> bool:
        return isinstance(uri, str) and uri.startswith(("data:image/", "https://", "runway://"))

    def _validate_image(self, body: dict) -> str | None:
        allowed = {"model", "promptText", "ratio", "referenceImages", "seed", "contentModeration"}
        if set(body) - allowed:
            return f"Unrecognized keys: {sorted(set(body) - allowed)}"
        if body.get("model") not in ("gen4_image", "gen4_image_turbo"):
            return "Invalid model."
        if body.get("ratio") not in IMAGE_RATIOS:
            return "Invalid ratio."
        prompt = body.get("promptText") or ""
        if not prompt or len(prompt.encode("utf-16-le")) // 2 > 1000:
            return "promptText must be 1-1000 characters."
        refs = body.get("referenceImages") or []
        if len(refs) > 3 or (body["model"] == "gen4_image_turbo" and not refs):
            return "referenceImages: 0-3 for gen4_image, 1-3 for gen4_image_turbo."
        for ref in refs:
            if not self._uri_ok(ref.get("uri")):
                return "referenceImages[].uri must be an HTTPS URL, a runway:// URI or a data URI."
            if ref.get("uri", "").startswith("runway://") and ref["uri"].rsplit("/", 1)[-1] not in self.uploads:
                return "Unknown upload."
            tag = ref.get("tag")
            if tag is not None and not TAG.fullmatch(tag):
                return f"Invalid tag {tag!r}."
            if tag is not None and f"@{tag}" not in prompt:
                return f"Tag @{tag} is not used in promptText."  # stricter than Runway: a silent no-op otherwise
        return None

    def _task_json(self, task) -> dict:
        phase, progress = self.phase(task)
        base = {"id": task.id, "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "estimatedCost": {"credits": 60}}
        if phase == "cancelled":
            return {**base, "status": "CANCELLED", "cost": {"credits": 0}}
        if phase == "queued":
            return {**base, "status": "PENDING"}
        if phase == "running":
            return {**base, "status": "RUNNING", "progress": round(progress, 2)}
        if phase == "moderated":
            return {**base, "status": "FAILED", "failure": "Input text did not pass moderation.",
                    "failureCode": "SAFETY.INPUT.TEXT", "cost": {"credits": 0}}
        if phase == "failed":
            return {**base, "status": "FAILED", "failure": "An unexpected error occurred.",
                    "failureCode": "INTERNAL.BAD_OUTPUT.CODE01", "cost": {"credits": 0}}
        ext = "png" if task.kind == "/v1/text_to_image" else "mp4"
        return {**base, "status": "SUCCEEDED", "output": [self.file_url(task, ext)], "cost": {"credits": 60}}
