"""Mock of Runway's task API (X-Runway-Version 2024-11-06)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.backends.backend_mocks.server import MockProvider, Req, Resp

RATIOS = {"1280:720", "720:1280", "960:960", "1104:832", "832:1104", "1584:672"}


class RunwayMock(MockProvider):
    name = "runway"

    def handle(self, req: Req):
        if req.headers.get("authorization") != f"Bearer {self.key}":
            return Resp(401, {"error": "Invalid API key."})
        if req.headers.get("x-runway-version") != "2024-11-06":
            return Resp(400, {"error": "The X-Runway-Version header is missing or invalid."})
        if req.method == "POST" and req.path in ("/v1/text_to_video", "/v1/image_to_video"):
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

    def task_shape(self, task):
        width, height = (int(v) for v in task.body["ratio"].split(":"))
        return width, height, float(task.body["duration"])

    def _validate(self, path: str, body: dict) -> str | None:
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
            if not (isinstance(image, str) and (image.startswith("data:image/") or image.startswith("https://"))):
                return "promptImage must be an HTTPS URL or a data URI."
        if len(body.get("promptText", "").encode("utf-16-le")) // 2 > 1000:  # Runway counts UTF-16 code units
            return "promptText is too long."
        if "seed" in body and str(body.get("model", "")).startswith("veo"):
            return "Unrecognized key 'seed' for model veo3.1."
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
        return {**base, "status": "SUCCEEDED", "output": [self.file_url(task)], "cost": {"credits": 60}}
