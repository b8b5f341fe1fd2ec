"""Mock of Luma's Dream Machine API (/dream-machine/v1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.backends.backend_mocks.server import MockProvider, Req, Resp

PREFIX = "/dream-machine/v1"


class LumaMock(MockProvider):
    name = "luma"

    def handle(self, req: Req):
        if req.headers.get("authorization") != f"Bearer {self.key}":
            return Resp(401, {"detail": "Invalid API key"})
        if not req.path.startswith(PREFIX):
            return Resp(404, {"detail": "Not Found"})
        path = req.path[len(PREFIX):]
        if req.method == "POST" and path == "/generations/video":
            fault = self.submit_fault()
            if fault is not None:
                return fault if not isinstance(fault, Resp) else Resp(fault.status, {"detail": "busy"}, fault.headers)
            body = req.body or {}
            problem = self._validate(body)
            if problem:
                return Resp(400, {"detail": problem})
            if "FORBIDDEN" in body.get("prompt", ""):
                return Resp(400, {"detail": "Prompt not allowed because it failed moderation"})
            task = self.new_task("video", body, body.get("prompt", ""))
            return Resp(201, self._generation(task))
        if req.method == "GET" and path == "/generations":
            limit, offset = int(req.query.get("limit", 10)), int(req.query.get("offset", 0))
            newest = sorted(list(self.tasks.values()), key=lambda t: t.created_wall, reverse=True)
            page = newest[offset:offset + limit]
            return Resp(200, {"generations": [self._generation(t) for t in page], "count": len(page),
                              "has_more": offset + limit < len(newest), "limit": limit, "offset": offset})
        match = re.fullmatch(r"/generations/([\w-]+)", path)
        if match:
            task = self.tasks.get(match.group(1))
            if task is None:
                return Resp(404, {"detail": "Generation not found"})
            if req.method == "DELETE":
                task.cancelled = True
                self.cancels += 1
                return Resp(204)
            fault = self.poll_fault(req)
            if fault is not None:
                return fault
            return Resp(200, self._generation(task))
        return Resp(404, {"detail": "Not Found"})

    @staticmethod
    def _validate(body: dict) -> str | None:
        allowed = {"model", "prompt", "aspect_ratio", "duration", "resolution", "loop", "keyframes", "callback_url",
                   "generation_type", "concepts"}
        if set(body) - allowed:
            return f"unexpected fields {sorted(set(body) - allowed)}"
        if body.get("model") not in ("ray-1-6", "ray-2", "ray-flash-2"):
            return "invalid model"
        if body.get("duration") not in ("5s", "9s") or body.get("resolution") not in ("540p", "720p", "1080p", "4k"):
            return "invalid duration or resolution"
        if body.get("aspect_ratio") not in ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"):
            return "invalid aspect_ratio"
        frame = (body.get("keyframes") or {}).get("frame0")
        if frame is not None and (frame.get("type") != "image" or not frame.get("url")):
            return "invalid keyframe"
        return None

    def _generation(self, task) -> dict:
        phase, _ = self.phase(task)
        state = {"queued": "queued", "running": "dreaming", "done": "completed", "failed": "failed",
                 "moderated": "failed", "cancelled": "failed"}[phase]
        return {"id": task.id, "generation_type": "video", "state": state,
                "failure_reason": "Internal server error" if phase == "failed" else None,
                "created_at": datetime.fromtimestamp(task.created_wall, UTC).isoformat(), "model": task.body.get("model"),
                "assets": {"video": self.file_url(task)} if phase == "done" else None,
                "request": {"generation_type": "video", **task.body}}
