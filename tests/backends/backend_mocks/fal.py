"""Mock of fal.ai's queue API serving the Pika 2.2 and FLUX models, and fal storage (token + CDN upload)."""

from __future__ import annotations

import re

from tests.backends.backend_mocks.server import MockProvider, Req, Resp

FAL_KEY = "fal-key-id-1234:fal-secret-SECRET-5678"
MODELS = {"fal-ai/pika/v2.2/text-to-video", "fal-ai/pika/v2.2/image-to-video", "fal-ai/pika/v2.2/pikaframes",
          "fal-ai/flux/dev", "fal-ai/flux/schnell", "fal-ai/flux-pro/kontext", "fal-ai/flux-pro/kontext/multi"}
IMAGE_MODELS = {m for m in MODELS if "/flux" in m}
KONTEXT_RATIOS = {"21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21"}
STORAGE_TOKEN = "fal-storage-token-SECRET-777"


class FalMock(MockProvider):
    name = "fal"

    def handle_storage(self, req: Req):
        """fal storage: a token for the CDN (FAL_KEY auth), then raw-bytes uploads with that token."""
        if req.path == "/storage/auth/token" and req.method == "POST":
            if req.headers.get("authorization") != f"Key {self.key}":
                return Resp(401, {"detail": "Invalid authentication credentials"})
            if req.query.get("storage_type") != "fal-cdn-v3":
                return Resp(400, {"detail": "unknown storage_type"})
            return Resp(200, {"token": STORAGE_TOKEN, "token_type": "Bearer", "base_url": self.url,
                              "expires_at": "2099-01-01T00:00:00Z"})
        if req.path == "/files/upload" and req.method == "POST":
            if req.headers.get("authorization") != f"Bearer {STORAGE_TOKEN}":
                return Resp(401, {"detail": "bad storage token"})
            name = req.headers.get("x-fal-file-name") or "upload.bin"
            if not req.headers.get("content-type", "").startswith("image/") or not req.raw:
                return Resp(400, {"detail": "Content-Type and a body are required"})
            key = f"cdn-{len(self.store) + 1}-{name}"
            self.store[key] = req.raw
            return Resp(200, {"access_url": f"{self.url}/store/{key}"})
        return None

    def serve_file(self, req: Req) -> Resp:
        if req.path == "/files/upload":  # the CDN's upload endpoint (another host in production), not a download
            return self.handle(req)
        return super().serve_file(req)

    def handle(self, req: Req):
        storage = self.handle_storage(req)
        if storage is not None:
            return storage
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
            base = f"{self.url}/{'/'.join(model.split('/')[:2])}/requests/{task.id}"
            return Resp(200, {"request_id": task.id, "status_url": f"{base}/status", "response_url": base,
                              "cancel_url": f"{base}/cancel", "queue_position": 0})
        match = re.fullmatch(r"/fal-ai/[\w.-]+/requests/([\w-]+)(/status|/cancel)?", req.path)
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
            if phase == "moderated" and task.kind not in IMAGE_MODELS:
                body.update(error="Content policy violation", error_type="content_policy_violation")
            if phase == "failed":
                body.update(error="Internal error while generating", error_type="internal_error")
            return Resp(200, body)
        if task.kind in IMAGE_MODELS and phase in ("done", "moderated"):
            # The safety checker answers a flagged image with a black frame and has_nsfw_concepts [true].
            return Resp(200, {"images": [{"url": self.file_url(task, "png"), "width": 96, "height": 54,
                                          "content_type": "image/png"}], "seed": 42, "prompt": task.body.get("prompt"),
                              "has_nsfw_concepts": [phase == "moderated"], "timings": {"inference": 0.1}})
        if phase == "moderated":
            return Resp(422, {"detail": [{"loc": ["body", "prompt"], "msg": "The content could not be processed",
                                          "type": "content_policy_violation"}]}, headers={"X-Fal-Retryable": "false"})
        if phase == "failed":
            return Resp(500, {"detail": "Internal error while generating"}, headers={"X-Fal-Retryable": "false"})
        if phase != "done":
            return Resp(400, {"detail": "Request is still in progress"})
        return Resp(200, {"video": {"url": self.file_url(task), "content_type": "video/mp4", "file_name": "out.mp4",
                                    "file_size": len(self.clip_bytes)}})

    def _validate(self, model: str, body: dict) -> str | None:
        if model in IMAGE_MODELS:
            return self._validate_image(model, body)
        if model.endswith("pikaframes"):
            allowed = {"image_urls", "transitions", "prompt", "negative_prompt", "seed", "resolution"}
            urls = body.get("image_urls") or []
            if set(body) - allowed:
                return f"unexpected fields {sorted(set(body) - allowed)}"
            if not 2 <= len(urls) <= 5 or not all(str(u).startswith(("data:image/", "https://", self.url)) for u in urls):
                return "image_urls needs 2-5 images"
            transitions = body.get("transitions") or []
            if transitions and (len(transitions) != len(urls) - 1 or sum(t.get("duration", 5) for t in transitions) > 25):
                return "transitions: one per pair of images, at most 25 s in all"
            return None
        allowed = {"prompt", "seed", "negative_prompt", "aspect_ratio", "resolution", "duration", "image_url"}
        if set(body) - allowed:
            return f"unexpected fields {sorted(set(body) - allowed)}"
        if body.get("resolution") not in ("720p", "1080p") or body.get("duration") not in (5, 10):
            return "bad resolution or duration"
        if model.endswith("image-to-video") and not str(body.get("image_url", "")).startswith(("data:image/", "https://", f"{self.url}/store/")):
            return "image_url is required"
        if model.endswith("text-to-video") and body.get("aspect_ratio", "16:9") not in ("16:9", "9:16", "1:1", "4:5", "5:4", "3:2", "2:3"):
            return "bad aspect_ratio"
        return None

    def _validate_image(self, model: str, body: dict) -> str | None:
        if not body.get("prompt"):
            return "prompt is required"
        if "kontext" in model:
            allowed = {"prompt", "image_url", "image_urls", "aspect_ratio", "guidance_scale", "num_images",
                       "output_format", "safety_tolerance", "seed", "sync_mode", "enhance_prompt"}
            urls = body.get("image_urls") if model.endswith("/multi") else [body.get("image_url")]
            if not urls or not all(isinstance(u, str) and u.startswith(("https://", f"{self.url}/store/")) for u in urls):
                return "image_url(s) must be fetchable URLs"
            if model.endswith("/multi") and "image_url" in body or not model.endswith("/multi") and "image_urls" in body:
                return "image_url is for kontext, image_urls for kontext/multi"
            if body.get("aspect_ratio", "1:1") not in KONTEXT_RATIOS:
                return "bad aspect_ratio"
        else:
            allowed = {"prompt", "image_size", "num_inference_steps", "guidance_scale", "seed", "num_images",
                       "enable_safety_checker", "output_format", "acceleration", "sync_mode"}
            size = body.get("image_size", "landscape_4_3")
            enums = {"square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"}
            if not (size in enums if isinstance(size, str) else
                    isinstance(size, dict) and all(isinstance(size.get(k), int) and 0 < size[k] <= 14142
                                                   for k in ("width", "height"))):
                return "bad image_size"
        if set(body) - allowed:
            return f"unexpected fields {sorted(set(body) - allowed)}"
        if body.get("output_format", "jpeg") not in ("jpeg", "png"):
            return "bad output_format"
        return None
