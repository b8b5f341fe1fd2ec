"""A task-API mock toolkit for testing cloud backends: create -> poll -> download, with faults.

Most video, image and voice APIs work the same way: a create call returns a
task id, status calls report progress, and the finished output is fetched
from a (signed, expiring) URL. This module is a small threaded HTTP server on
127.0.0.1 that plays such an API, so a cloud backend can be tested offline
the way shotsmith tests its built-in adapters (whose provider mocks are
subclasses of :class:`MockProvider`):

* subclass :class:`MockProvider` and implement :meth:`MockProvider.handle` to
  speak your provider's protocol, using :meth:`~MockProvider.new_task`,
  :meth:`~MockProvider.phase`, :meth:`~MockProvider.file_url` and the fault
  helpers; or use :class:`TaskAPIMock`, a ready-made generic task API (the one
  ``shotsmith plugin new NAME --remote`` wires its adapter to);
* inject faults through ``mock.faults`` (:class:`Faults`): 429 with
  ``Retry-After``, 5xx, dropped connections, a create whose answer is lost,
  hung calls, expired or truncated downloads, an HTML error page served as the
  file; a prompt containing ``FAIL`` makes the task fail, one containing
  ``FORBIDDEN`` makes it a moderation refusal;
* ``render=True`` makes the mock render each output at the size and length
  its task asked for (so the conformance suite's shape checks pass).

It is test code that ships in the package (``shotsmith.testing``) so plugin
authors can use it; it imports nothing beyond the standard library until it
renders (Pillow for stills, ffmpeg for clips).
"""


from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

__all__ = ["DROP", "Bouncer", "Faults", "MockProvider", "Req", "Resp", "Task", "TaskAPIMock", "png_bytes",
           "render_clip", "wav_bytes"]

DROP = object()  # returned by a handler: close the connection without answering


def render_clip(width: int, height: int, seconds: float, fps: int = 24) -> bytes:
    """A real H.264 MP4 test pattern of that size and length (ffmpeg through :mod:`shotsmith.media.ffmpeg`)."""
    import tempfile

    from shotsmith.media.ffmpeg import run_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={fps}:d={seconds}", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)])
        return out.read_bytes()


def wav_bytes(seconds: float, rate: int = 16000, hz: float = 440.0) -> bytes:
    """A real mono 16-bit WAV: a tone of that length (speech stand-in that decodes like speech does)."""
    import io
    import math
    import struct
    import wave

    frames = max(1, int(seconds * rate))
    samples = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(frames))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples)
    return out.getvalue()


def png_bytes(width: int, height: int) -> bytes:
    """A real PNG of that size (a gradient, so a truncated file cannot decode as the same picture)."""
    import io

    from PIL import Image

    image = Image.new("RGB", (width, height))
    image.putdata([((x * 255) // max(width - 1, 1), (y * 255) // max(height - 1, 1), 128)
                   for y in range(height) for x in range(width)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class Req:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw: bytes = b""


@dataclass
class Resp:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"
    truncate_to: int | None = None  # send only this many bytes of ``raw`` (Content-Length stays full)
    declare_length: bool = True
    drip_s: float = 0.0  # write the payload one byte at a time, this many seconds apart


@dataclass
class Faults:
    """Counters: each fault fires that many times, then stops. ``random_rate`` fires at random."""

    submit_429: int = 0
    submit_500: int = 0
    submit_drop: int = 0
    poll_429: int = 0
    poll_500: int = 0
    poll_drop: int = 0
    retry_after: str = "0"
    expire_download: int = 0
    truncate_download: int = 0          # Content-Length says more than is sent, then the socket closes
    truncate_download_silent: int = 0   # no Content-Length, half the file: only decoding notices
    download_html: int = 0              # a CDN error page served as 200 text/html
    random_rate: float = 0.0            # probability of a 500 or 429 on any API call (bench)
    submit_accept_drop: int = 0         # create the task, then close the connection without answering
    submit_hang_s: float = 0.0          # create the task, then answer only after this long (a hung create)
    poll_hang_s: float = 0.0            # every status call answers only after this long (a hung status API)
    download_drip_s: float = 0.0        # serve the clip one byte every this many seconds
    redirect_poll: int = 0              # answer this many status calls with a 307 through ``foreign``
    redirect_download: int = 0          # answer this many downloads with a 302 through ``foreign``
    foreign: str = ""                   # base URL of another host (a Bouncer) the redirects go through
    redirect_create: int = 0            # answer this many creates with a 307 through ``foreign`` (synchronous APIs)

    def take(self, name: str) -> bool:
        value = getattr(self, name)
        if value > 0:
            setattr(self, name, value - 1)
            return True
        return False


@dataclass
class Task:
    id: str
    kind: str
    body: dict
    created: float = field(default_factory=time.monotonic)
    created_wall: float = field(default_factory=time.time)
    cancelled: bool = False
    fail: bool = False
    moderated: bool = False
    extra: dict = field(default_factory=dict)


class MockProvider:
    """Subclass and implement :meth:`handle`; the base serves ``/files/...`` and counts calls."""

    name = "mock"

    def __init__(self, clip: Path | None = None, *, key: str = "sk-test-SECRET-0123456789", latency: float = 0.05,
                 render: bool = False) -> None:
        #: The clip every video task serves unless ``render`` (None: a 1 s 160x90 clip made on first use).
        self._clip_bytes = Path(clip).read_bytes() if clip is not None else None
        #: The still image tasks of image models serve (a real PNG; ``image_shape`` renders to order).
        self.image_bytes = png_bytes(96, 54)
        #: Render each task's clip at the size and length it asked for (conformance runs) instead
        #: of serving the one small clip.
        self.render = render
        self._rendered: dict[tuple[int, int, float], bytes] = {}
        self.key = key
        self.latency = latency
        self.faults = Faults()
        self.tasks: dict[str, Task] = {}
        self.lock = threading.Lock()
        self.submits = 0
        self.polls = 0
        self.downloads = 0
        self.cancels = 0
        self.log: list[Req] = []
        self.injected = 0  # random faults served (bench)
        self.signature = 0  # download URLs carry ?sig=N; only the newest is valid after an expiry
        self.expired_sigs: set[int] = set()
        #: Objects a test uploader PUT under /store/NAME (a stand-in public bucket), by name.
        self.store: dict[str, bytes] = {}
        self._server: ThreadingHTTPServer | None = None
        self._local = threading.local()
        #: Set on stop(): hung handlers (hang, drip faults) end early.
        self.stopped = threading.Event()

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "MockProvider":
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                req = Req(self.command, split.path, {k: v[0] for k, v in parse_qs(split.query).items()},
                          {k.lower(): v for k, v in self.headers.items()}, body, raw)
                with mock.lock:
                    mock.log.append(req)
                if split.path.startswith("/files/"):
                    resp = mock.serve_file(req)
                elif split.path.startswith("/store/"):
                    resp = mock.serve_store(req)
                else:
                    if mock.faults.random_rate and random.random() < mock.faults.random_rate:
                        with mock.lock:
                            mock.injected += 1
                        resp = Resp(random.choice([500, 502, 503, 429]), {"error": "injected"},
                                    headers={"Retry-After": mock.faults.retry_after})
                    else:
                        resp = mock.handle(req)
                        if getattr(mock._local, "drop", False):  # the task was created, the answer is lost
                            mock._local.drop = False
                            resp = DROP
                if resp is DROP:
                    self.close_connection = True
                    return
                self._write(resp)

            def _write(self, resp: Resp) -> None:
                if resp.raw is not None:
                    payload = resp.raw
                elif resp.body is None:
                    payload = b""
                else:
                    payload = json.dumps(resp.body).encode()
                self.send_response(resp.status)
                if payload or resp.status not in (204, 304):
                    self.send_header("Content-Type", resp.content_type)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                if resp.declare_length:
                    self.send_header("Content-Length", str(len(payload)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                if resp.truncate_to is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                data = payload if resp.truncate_to is None else payload[:resp.truncate_to]
                try:
                    if resp.drip_s:
                        for i in range(len(data)):
                            self.wfile.write(data[i:i + 1])
                            self.wfile.flush()
                            if mock.stopped.wait(resp.drip_s):
                                break
                    else:
                        self.wfile.write(data)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        # The stdlib's listen backlog is 5: the 6th simultaneous connect would wait for a SYN
        # retry (about a second), which is the mock's limit, not the client's.
        server_class = type("MockHTTPServer", (ThreadingHTTPServer,), {"request_queue_size": 128})
        self._server = server_class(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- helpers for subclasses --------------------------------------------------------
    def handle(self, req: Req) -> Resp | object:
        raise NotImplementedError

    def new_task(self, kind: str, body: dict, prompt: str) -> Task:
        task = Task(id=str(uuid.uuid4()), kind=kind, body=body, fail="FAIL" in prompt, moderated="FORBIDDEN" in prompt)
        with self.lock:
            self.tasks[task.id] = task
            self.submits += 1
        if self.faults.take("submit_accept_drop"):
            self._local.drop = True
        if self.faults.submit_hang_s:
            self.stopped.wait(self.faults.submit_hang_s)
        return task

    def phase(self, task: Task) -> tuple[str, float]:
        """(queued|running|done|failed|moderated|cancelled, progress 0-1) from the task's age."""
        if task.cancelled:
            return "cancelled", 0.0
        age = time.monotonic() - task.created
        if age < self.latency * 0.2:
            return "queued", 0.0
        if age < self.latency:
            return "running", min(0.99, age / self.latency)
        if task.moderated:
            return "moderated", 1.0
        if task.fail:
            return "failed", 1.0
        return "done", 1.0

    def submit_fault(self) -> Resp | object | None:
        if self.faults.take("submit_drop"):
            return DROP
        if self.faults.take("submit_429"):
            return Resp(429, {"error": "Too many requests"}, headers={"Retry-After": self.faults.retry_after})
        if self.faults.take("submit_500"):
            return Resp(500, {"error": "Internal error"})
        return None

    def poll_fault(self, req: Req | None = None) -> Resp | object | None:
        with self.lock:
            self.polls += 1
        if self.faults.poll_hang_s:
            self.stopped.wait(self.faults.poll_hang_s)
        if req is not None and self.faults.foreign and self.faults.take("redirect_poll"):
            return self.redirect_via_foreign(req)
        if self.faults.take("poll_drop"):
            return DROP
        if self.faults.take("poll_429"):
            return Resp(429, {"error": "Too many requests"}, headers={"Retry-After": self.faults.retry_after})
        if self.faults.take("poll_500"):
            return Resp(502, {"error": "Bad gateway"})
        return None

    def file_url(self, task: Task, ext: str = "mp4") -> str:
        """A fresh signed-looking URL; each call mints a new signature. ``ext`` png/jpg serves a still."""
        with self.lock:
            self.signature += 1
            sig = self.signature
        return f"{self.url}/files/{task.id}.{ext}?sig={sig}"

    def image_shape(self, task: Task) -> tuple[int, int] | None:
        """(width, height) an image task asked for; mocks of image models override it (with ``render``)."""
        return None

    def image_for(self, task_id: str) -> bytes:
        task = self.tasks.get(task_id)
        shape = self.image_shape(task) if (self.render and task is not None) else None
        return png_bytes(*shape) if shape else self.image_bytes

    @property
    def clip_bytes(self) -> bytes:
        if self._clip_bytes is None:
            self._clip_bytes = render_clip(160, 90, 1.0)
        return self._clip_bytes

    @clip_bytes.setter
    def clip_bytes(self, value: bytes) -> None:
        self._clip_bytes = value

    def audio_seconds(self, task: Task) -> float:
        """How long the speech of a voice task lasts; mocks of speech APIs override it."""
        return 1.0

    def audio_for(self, task_id: str) -> bytes:
        task = self.tasks.get(task_id)
        return wav_bytes(self.audio_seconds(task) if task is not None else 1.0)

    def task_shape(self, task: Task) -> tuple[int, int, float] | None:
        """(width, height, seconds) a task asked for; providers that support ``render`` override it."""
        return None

    def clip_for(self, task_id: str) -> bytes:
        task = self.tasks.get(task_id)
        shape = self.task_shape(task) if (self.render and task is not None) else None
        if shape is None:
            return self.clip_bytes
        with self.lock:
            if shape not in self._rendered:
                self._rendered[shape] = render_clip(*shape)
            return self._rendered[shape]

    def redirect_via_foreign(self, req: Req, status: int = 307) -> Resp:
        """A redirect to the same path on another host, which sends the client back here."""
        query = "&".join(f"{k}={v}" for k, v in req.query.items())
        back = f"{self.url}{req.path}{'?' + query if query else ''}"
        return Resp(status, raw=b"", headers={"Location": f"{self.faults.foreign}/bounce?to={quote(back, safe='')}"})

    def serve_file(self, req: Req) -> Resp:
        if self.faults.foreign and self.faults.take("redirect_download"):
            return self.redirect_via_foreign(req, 302)
        with self.lock:
            self.downloads += 1
        name = req.path.rsplit("/", 1)[-1]
        still = name.endswith((".png", ".jpg"))
        if name.endswith(".wav"):
            clip_bytes, ctype = self.audio_for(name.removesuffix(".wav")), "audio/wav"
        else:
            clip_bytes = self.image_for(name.rsplit(".", 1)[0]) if still else self.clip_for(name.removesuffix(".mp4"))
            ctype = ("image/jpeg" if name.endswith(".jpg") else "image/png") if still else "video/mp4"
        sig = int(req.query.get("sig", "0") or 0)
        if self.faults.take("expire_download"):
            self.expired_sigs.add(sig)
        if sig in self.expired_sigs:
            return Resp(403, raw=b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                        content_type="application/xml")
        if self.faults.take("download_html"):
            return Resp(200, raw=b"<html>Service unavailable</html>", content_type="text/html")
        if self.faults.download_drip_s:
            return Resp(200, raw=clip_bytes, content_type=ctype, drip_s=self.faults.download_drip_s)
        if self.faults.take("truncate_download"):
            return Resp(200, raw=clip_bytes, content_type=ctype, truncate_to=len(clip_bytes) // 2)
        if self.faults.take("truncate_download_silent"):
            return Resp(200, raw=clip_bytes[: len(clip_bytes) // 2], content_type=ctype,
                        declare_length=False)
        return Resp(200, raw=clip_bytes, content_type=ctype)

    def serve_store(self, req: Req) -> Resp:
        """A public bucket: PUT stores an object, GET serves it (no credentials either way)."""
        name = req.path[len("/store/"):]
        if req.method == "PUT":
            with self.lock:
                self.store[name] = req.raw
            return Resp(200, raw=b"", content_type="text/plain")
        if name not in self.store:
            return Resp(404, raw=b"not found", content_type="text/plain")
        return Resp(200, raw=self.store[name], content_type="image/png")

    def count_submits(self) -> int:
        return self.submits

    def headers_seen(self) -> list[dict[str, str]]:
        return [r.headers for r in self.log]


class Bouncer(MockProvider):
    """Another host: records what reaches it (headers, query) and redirects back to ``?to=``."""

    name = "bouncer"

    def handle(self, req: Req):
        target = req.query.get("to")
        if not target:
            return Resp(404, {"error": "nothing here"})
        return Resp(307, raw=b"", headers={"Location": target})

    def serve_file(self, req: Req) -> Resp:
        return self.handle(req)


class TaskAPIMock(MockProvider):
    """A generic task API: what ``shotsmith plugin new NAME --remote`` generates an adapter for.

    Protocol (JSON; ``Authorization: Bearer KEY`` on every API call, else 401):

    * ``POST /v1/tasks`` with ``{"kind": "video"|"image"|"voice", "prompt", "width", "height",
      "duration", "seed"?, "voice"?}`` creates a task: ``201 {"id", "status": "queued"}``;
      invalid input is ``400 {"error": {"code": "invalid_request", "message"}}``.
    * ``GET /v1/tasks/ID`` is its status: ``{"id", "status": queued|running|succeeded|failed|cancelled,
      "progress": 0-1, "output_url"?, "error"?: {"code": "moderation"|"generation_failed", "message"}}``.
    * ``DELETE /v1/tasks/ID`` cancels it (204).
    * ``output_url`` serves the output (MP4, PNG or WAV, rendered to the task's size and length when
      ``render``), through every download fault of :class:`Faults`.
    """

    name = "taskapi"
    KINDS = {"video": "mp4", "image": "png", "voice": "wav"}

    def handle(self, req: Req):
        if req.headers.get("authorization") != f"Bearer {self.key}":
            return Resp(401, {"error": {"code": "unauthorized", "message": "Invalid API key."}})
        if req.method == "POST" and req.path == "/v1/tasks":
            fault = self.submit_fault()
            if fault is not None:
                return fault
            body = req.body if isinstance(req.body, dict) else {}
            problem = self.validate(body)
            if problem:
                return Resp(400, {"error": {"code": "invalid_request", "message": problem}})
            task = self.new_task(body["kind"], body, body["prompt"])
            return Resp(201, {"id": task.id, "status": "queued"})
        parts = req.path.split("/")
        if len(parts) == 4 and parts[:3] == ["", "v1", "tasks"]:
            task = self.tasks.get(parts[3])
            if task is None:
                return Resp(404, {"error": {"code": "not_found", "message": "No such task."}})
            if req.method == "DELETE":
                task.cancelled = True
                with self.lock:
                    self.cancels += 1
                return Resp(204)
            fault = self.poll_fault(req)
            if fault is not None:
                return fault
            return Resp(200, self.task_json(task))
        return Resp(404, {"error": {"code": "not_found", "message": "Not found."}})

    def validate(self, body: dict) -> str | None:
        if body.get("kind") not in self.KINDS:
            return f"kind must be one of {', '.join(self.KINDS)}"
        if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
            return "prompt is required"
        if body["kind"] != "voice" and not all(isinstance(body.get(k), int) and body[k] > 0 for k in ("width", "height")):
            return "width and height must be positive integers"
        if body["kind"] == "video" and not (isinstance(body.get("duration"), int | float) and body["duration"] > 0):
            return "duration must be a positive number of seconds"
        return None

    def task_json(self, task: Task) -> dict:
        phase, progress = self.phase(task)
        data: dict = {"id": task.id, "progress": round(progress, 2)}
        if phase in ("queued", "running", "cancelled"):
            return {**data, "status": phase}
        if phase == "moderated":
            return {**data, "status": "failed", "error": {"code": "moderation", "message": "The prompt was refused."}}
        if phase == "failed":
            return {**data, "status": "failed", "error": {"code": "generation_failed", "message": "Generation failed."}}
        return {**data, "status": "succeeded", "output_url": self.file_url(task, self.KINDS[task.kind])}

    def task_shape(self, task: Task) -> tuple[int, int, float] | None:
        return int(task.body["width"]), int(task.body["height"]), float(task.body["duration"])

    def image_shape(self, task: Task) -> tuple[int, int] | None:
        return int(task.body["width"]), int(task.body["height"])

    def audio_seconds(self, task: Task) -> float:
        duration = task.body.get("duration")
        return float(duration) if duration else max(0.5, 0.35 * len(task.body["prompt"].split()))
