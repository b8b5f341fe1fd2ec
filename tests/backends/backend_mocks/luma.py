"""Mock of Luma's Dream Machine API (/dream-machine/v1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.backends.backend_mocks.server import ExtensionShapes, MockProvider, Req, Resp

PREFIX = "/dream-machine/v1"


class LumaMock(ExtensionShapes, MockProvider):
    name = "luma"

    def handle(self, req: Req):
        if req.headers.get("authorization") != f"Bearer {self.key}":
            return Resp(401, {"detail": "Invalid API key"})
        if not req.path.startswith(PREFIX):
            return Resp(404, {"detail": "Not Found"})
        path = req.path[len(PREFIX):]
        if req.method == "POST" and path in ("/generations/video", "/generations/image"):
            fault = self.submit_fault()
            if fault is not None:
                return fault if not isinstance(fault, Resp) else Resp(fault.status, {"detail": "busy"}, fault.headers)
            body = req.body or {}
            kind = path.rsplit("/", 1)[-1]
            problem = self._validate(body) if kind == "video" else self._validate_image(body)
            problem = problem or self._urls_problem(body)
            if problem:
                return Resp(400, {"detail": problem})
            if "FORBIDDEN" in body.get("prompt", ""):
                return Resp(400, {"detail": "Prompt not allowed because it failed moderation"})
            source, problem = self._extended(body)
            if problem:
                return Resp(400, {"detail": problem})
            task = self.new_task(kind, body, body.get("prompt", ""))
            if source is not None:  # an extension: the whole clip, the source's seconds and the new ones
                task.extra.update(extends=source, adds_s=float(body["duration"].rstrip("s")))
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
        keyframes = body.get("keyframes") or {}
        if set(keyframes) - {"frame0", "frame1"}:
            return "invalid keyframes"
        for name, frame in keyframes.items():
            if frame.get("type") == "generation" and name == "frame0" and frame.get("id"):
                continue  # an extension of an earlier generation (checked against the generations by _extended)
            if frame.get("type") != "image" or not frame.get("url"):
                return "invalid keyframe"
        return None

    def _extended(self, body: dict):
        """(the generation that frame0 extends, or None; a problem): it must exist and be completed."""
        frame0 = (body.get("keyframes") or {}).get("frame0") or {}
        if frame0.get("type") != "generation":
            return None, None
        source = self.tasks.get(frame0["id"])
        if source is None:
            return None, "keyframes.frame0: generation not found"
        if self.phase(source)[0] != "done":
            return None, "keyframes.frame0: the generation is not completed"
        return source, None

    @staticmethod
    def _validate_image(body: dict) -> str | None:
        allowed = {"model", "prompt", "aspect_ratio", "format", "image_ref", "style_ref", "character_ref",
                   "modify_image_ref", "callback_url", "sync", "sync_timeout", "generation_type"}
        if set(body) - allowed:
            return f"unexpected fields {sorted(set(body) - allowed)}"
        if body.get("model") not in ("photon-1", "photon-flash-1"):
            return "invalid model"
        if body.get("aspect_ratio", "16:9") not in ("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"):
            return "invalid aspect_ratio"
        if body.get("format", "jpg") not in ("jpg", "png"):
            return "invalid format"
        if len(body.get("image_ref") or []) > 4 or len(body.get("style_ref") or []) > 1:
            return "too many references"
        character = body.get("character_ref")
        if character is not None and (set(character) != {"identity0"} or
                                      not 1 <= len(character["identity0"].get("images") or []) <= 4):
            return "character_ref needs identity0 with 1-4 images"
        for ref in (body.get("image_ref") or []) + (body.get("style_ref") or []):
            if not 0 <= ref.get("weight", 0.85) <= 1 or not ref.get("url"):
                return "invalid reference"
        return None

    def _urls_problem(self, body: dict) -> str | None:
        """Luma fetches every image from a public URL: data URIs and unfetchable URLs are refused."""
        urls = [f["url"] for f in (body.get("keyframes") or {}).values() if f.get("url")]
        urls += [r.get("url") for r in (body.get("image_ref") or []) + (body.get("style_ref") or [])]
        urls += ((body.get("character_ref") or {}).get("identity0") or {}).get("images") or []
        for url in urls:
            if not isinstance(url, str) or not url.startswith(("https://", f"{self.url}/store/")):
                return f"image url must be a public URL, got {str(url)[:40]}"
            if url.startswith(f"{self.url}/store/") and url[len(self.url) + 7:] not in self.store:
                return f"could not fetch image {url}"
        return None

    def _generation(self, task) -> dict:
        phase, _ = self.phase(task)
        state = {"queued": "queued", "running": "dreaming", "done": "completed", "failed": "failed",
                 "moderated": "failed", "cancelled": "failed"}[phase]
        return {"id": task.id, "generation_type": task.kind, "state": state,
                "failure_reason": "Internal server error" if phase == "failed" else None,
                "created_at": datetime.fromtimestamp(task.created_wall, UTC).isoformat(), "model": task.body.get("model"),
                "assets": ({"image": self.file_url(task, "png")} if task.kind == "image" else
                           {"video": self.file_url(task)}) if phase == "done" else None,
                "request": {"generation_type": task.kind, **task.body}}
