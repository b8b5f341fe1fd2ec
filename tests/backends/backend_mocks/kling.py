"""Mock of Kling's API: JWT auth, the {code, message, request_id, data} envelope, no cancel."""

from __future__ import annotations

import re
import time

import jwt

from tests.backends.backend_mocks.server import ExtensionShapes, MockProvider, Req, Resp

ACCESS_KEY = "ak-test-ACCESS-4242"
SECRET_KEY = "sk-test-KLINGSECRET-0123456789abcdef0123"


class KlingMock(ExtensionShapes, MockProvider):
    name = "kling"

    def __init__(self, clip, **kwargs) -> None:
        super().__init__(clip, **kwargs)
        self.expire_next_token = 0  # answer 1004 this many times

    @staticmethod
    def envelope(code: int, message: str, data=None) -> dict:
        return {"code": code, "message": message, "request_id": "req-1", "data": data}

    def _auth(self, req: Req):
        header = req.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return Resp(401, self.envelope(1000, "Authentication failed"))
        try:
            claims = jwt.decode(header[7:], SECRET_KEY, algorithms=["HS256"], options={"require": ["exp", "nbf", "iss"]})
        except jwt.PyJWTError:
            return Resp(401, self.envelope(1002, "Authorization is invalid"))
        if claims["iss"] != ACCESS_KEY:
            return Resp(401, self.envelope(1002, "Authorization is invalid"))
        if claims["exp"] - time.time() > 1800 + 5:
            return Resp(401, self.envelope(1002, "token lifetime too long"))
        if self.expire_next_token > 0:
            self.expire_next_token -= 1
            return Resp(401, self.envelope(1004, "Authorization has expired"))
        return None

    def handle(self, req: Req):
        problem = self._auth(req)
        if problem:
            return problem
        create = re.fullmatch(r"/v1/videos/(text2video|image2video)", req.path)
        if create and req.method == "POST":
            fault = self.submit_fault()
            if fault is not None:
                return fault if not isinstance(fault, Resp) else Resp(
                    fault.status, self.envelope(1302 if fault.status == 429 else 5000, "busy"), fault.headers)
            body = req.body or {}
            problem = self._validate(create.group(1), body)
            if problem:
                return Resp(400, self.envelope(1201, problem))
            if "FORBIDDEN" in body.get("prompt", ""):
                return Resp(400, self.envelope(1301, "Trigger the content security policy of the platform"))
            external = body.get("external_task_id")
            if external and any(t.body.get("external_task_id") == external for t in list(self.tasks.values())):
                return Resp(400, self.envelope(1201, "external_task_id already exists"))
            task = self.new_task(create.group(1), body, body.get("prompt", ""))
            return Resp(200, self.envelope(0, "SUCCEED", {"task_id": task.id, "task_status": "submitted",
                                                          "created_at": 1, "updated_at": 1}))
        if req.path == "/v1/videos/video-extend" and req.method == "POST":
            return self._extend(req.body or {})
        poll = re.fullmatch(r"/v1/videos/(text2video|image2video|video-extend)/([\w-]+)", req.path)
        if poll and req.method == "GET":
            task = self.tasks.get(poll.group(2)) or next(
                (t for t in list(self.tasks.values()) if t.body.get("external_task_id") == poll.group(2)), None)
            if task is None or task.kind != poll.group(1):
                return Resp(404, self.envelope(1203, "task not found"))
            fault = self.poll_fault(req)
            if fault is not None:
                return fault
            phase, _ = self.phase(task)
            data = {"task_id": task.id, "task_info": {"external_task_id": task.body.get("external_task_id", "")},
                    "task_status": {"queued": "submitted", "running": "processing",
                                                        "done": "succeed", "failed": "failed"}[phase],
                    "task_status_msg": "Generation failed: internal error" if phase == "failed" else "",
                    "created_at": 1, "updated_at": 2}
            if phase == "done":
                seconds = (self.task_shape(task) or (0, 0, 5.0))[2] if self.render else 5.0
                data["task_result"] = {"videos": [{"id": self.video_id(task), "url": self.file_url(task),
                                                   "duration": f"{seconds:g}"}]}
            return Resp(200, self.envelope(0, "SUCCEED", data))
        return Resp(404, self.envelope(1203, "not found"))

    @staticmethod
    def video_id(task) -> str:
        return f"vid-{task.id}"

    def _extend(self, body: dict):
        """``POST /v1/videos/video-extend``: a finished video (by its video id) plus about five seconds."""
        fault = self.submit_fault()
        if fault is not None:
            return fault if not isinstance(fault, Resp) else Resp(
                fault.status, self.envelope(1302 if fault.status == 429 else 5000, "busy"), fault.headers)
        allowed = {"video_id", "prompt", "negative_prompt", "cfg_scale", "callback_url"}
        if set(body) - allowed:
            return Resp(400, self.envelope(1201, f"unknown fields {sorted(set(body) - allowed)}"))
        source = next((t for t in list(self.tasks.values()) if self.video_id(t) == body.get("video_id")), None)
        if source is None or self.phase(source)[0] != "done":
            return Resp(400, self.envelope(1201, "video_id: no finished video with that id"))
        if len(body.get("prompt") or "") > 2500:
            return Resp(400, self.envelope(1201, "prompt too long"))
        task = self.new_task("video-extend", body, body.get("prompt", ""))
        task.extra.update(extends=source, adds_s=self.extend_s)
        return Resp(200, self.envelope(0, "SUCCEED", {"task_id": task.id, "task_status": "submitted",
                                                      "created_at": 1, "updated_at": 1}))

    #: Seconds one extension adds.
    extend_s = 4.8

    @staticmethod
    def _validate(kind: str, body: dict) -> str | None:
        allowed = {"model_name", "prompt", "negative_prompt", "cfg_scale", "mode", "aspect_ratio", "duration",
                   "camera_control", "callback_url", "external_task_id", "image", "image_tail"}
        if set(body) - allowed:
            return f"unknown fields {sorted(set(body) - allowed)}"
        t2v = {"kling-v1", "kling-v1-6", "kling-v2-master", "kling-v2-1-master", "kling-v2-5-turbo", "kling-v2-6"}
        i2v = t2v | {"kling-v1-5", "kling-v2-1"}
        if body.get("model_name", "kling-v1") not in (t2v if kind == "text2video" else i2v):
            return f"model_name {body.get('model_name')} does not support {kind}"
        if body.get("duration") not in ("5", "10"):
            return "duration must be the string 5 or 10"
        if body.get("mode") not in ("std", "pro"):
            return "mode must be std or pro"
        if kind == "text2video" and body.get("aspect_ratio") not in ("16:9", "9:16", "1:1"):
            return "bad aspect_ratio"
        if kind == "image2video":
            image = body.get("image", "")
            if not image or image.startswith("data:"):
                return "image must be a URL or raw base64 without a data: prefix"
            tail = body.get("image_tail")
            if tail is not None:
                if tail.startswith("data:"):
                    return "image_tail must be a URL or raw base64 without a data: prefix"
                tails = {"kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-1", "kling-v2-5-turbo", "kling-v2-6"}
                if body.get("model_name") not in tails:
                    return f"model_name {body.get('model_name')} does not support image_tail"
                if body.get("mode") != "pro" and not (body.get("model_name") == "kling-v1" and body.get("duration") == "5"):
                    return "image_tail needs pro mode"
                if body.get("camera_control"):
                    return "image_tail and camera_control are mutually exclusive"
        camera = body.get("camera_control")
        if camera:
            nonzero = [k for k, v in camera.get("config", {}).items() if v]
            if camera.get("type") != "simple" or len(nonzero) != 1:
                return "camera_control simple needs exactly one non-zero axis"
        return None
