"""Mock of fal.ai's queue API serving the Pika 2.2 models."""

from __future__ import annotations

import re

from tests.backends.backend_mocks.server import MockProvider, Req, Resp

FAL_KEY = "fal-key-id-1234:fal-secret-SECRET-5678"
MODELS = {"fal-ai/pika/v2.2/text-to-video", "fal-ai/pika/v2.2/image-to-video"}


class FalMock(MockProvider):
    name = "fal"

    def handle(self, req: Req):
        if req.headers.get("authorization") != f"Key {self.key}":
            return Resp(401, {"detail": "Invalid authentication credentials"})
        model = req.path.lstrip("/")
        if req.method == "POST" and model in MODELS:
            fault = self.submit_fault()
            if fault is not None:
                return fault if not isinstance(fault, Resp) else Resp(fault.status, {"detail": "busy"}, fault.headers)
            body = req.body or {}
            problem = self._validate(model, body)
            if problem:
                return Resp(422, {"detail": [{"loc": ["body"], "msg": problem, "type": "value_error"}]},
                            headers={"X-Fal-Retryable": "false"})
            task = self.new_task(model, body, body.get("prompt", ""))
            base = f"{self.url}/fal-ai/pika/requests/{task.id}"
            return Resp(200, {"request_id": task.id, "status_url": f"{base}/status", "response_url": base,
                              "cancel_url": f"{base}/cancel", "queue_position": 0})
        match = re.fullmatch(r"/fal-ai/pika/requests/([\w-]+)(/status|/cancel)?", req.path)
        if not match:
            return Resp(404, {"detail": "Not found"})
        task = self.tasks.get(match.group(1))
        if task is None:
            return Resp(404, {"detail": "Request not found"})
        suffix = match.group(2)
        if suffix == "/cancel" and req.method == "PUT":
            phase, _ = self.phase(task)
            if phase in ("done", "failed", "moderated"):
                return Resp(400, {"status": "ALREADY_COMPLETED"})
            task.cancelled = True
            self.cancels += 1
            return Resp(202, {"status": "CANCELLATION_REQUESTED"})
        fault = self.poll_fault(req)
        if fault is not None:
            return fault
        phase, _ = self.phase(task)
        if suffix == "/status":
            if phase == "queued":
                return Resp(202, {"status": "IN_QUEUE", "queue_position": 1, "response_url": f"{self.url}{req.path[:-7]}"})
            if phase == "running":
                return Resp(202, {"status": "IN_PROGRESS", "logs": [{"message": "generating"}]})
            body = {"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 1.0}}
            if phase == "cancelled":
                body.update(error="Request was cancelled", error_type="request_cancelled")
            if phase == "moderated":
                body.update(error="Content policy violation", error_type="content_policy_violation")
            if phase == "failed":
                body.update(error="Internal error while generating", error_type="internal_error")
            return Resp(200, body)
        if phase == "moderated":
            return Resp(422, {"detail": [{"loc": ["body", "prompt"], "msg": "The content could not be processed",
                                          "type": "content_policy_violation"}]}, headers={"X-Fal-Retryable": "false"})
        if phase == "failed":
            return Resp(500, {"detail": "Internal error while generating"}, headers={"X-Fal-Retryable": "false"})
        if phase != "done":
            return Resp(400, {"detail": "Request is still in progress"})
        return Resp(200, {"video": {"url": self.file_url(task), "content_type": "video/mp4", "file_name": "out.mp4",
                                    "file_size": len(self.clip_bytes)}})

    @staticmethod
    def _validate(model: str, body: dict) -> str | None:
        allowed = {"prompt", "seed", "negative_prompt", "aspect_ratio", "resolution", "duration", "image_url"}
        if set(body) - allowed:
            return f"unexpected fields {sorted(set(body) - allowed)}"
        if body.get("resolution") not in ("720p", "1080p") or body.get("duration") not in (5, 10):
            return "bad resolution or duration"
        if model.endswith("image-to-video") and not str(body.get("image_url", "")).startswith(("data:image/", "https://")):
            return "image_url is required"
        if model.endswith("text-to-video") and body.get("aspect_ratio", "16:9") not in ("16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3"):
            return "bad aspect_ratio"
        return None
