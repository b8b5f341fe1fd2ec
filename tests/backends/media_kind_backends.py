"""Small image and voice backends (local and remote, with a mock API) the media-kind tests drive.

Kept out of the test modules so the engine, conformance and media-kind tests
share one definition. The remote ones speak a made-up task API (images) and a
made-up synchronous API (speech) served by a :class:`MockProvider`, so resume,
spend guard and create-at-most-once can be exercised for both kinds.
"""

from __future__ import annotations

import asyncio
import io
import math
import re
import struct
import wave
from pathlib import Path

from PIL import Image
from tests.backends.backend_mocks.server import MockProvider, Req, Resp

from shotsmith.backends.base import (Backend, Capabilities, CostEstimate, GenerationMode, GenerationRequest,
                                     GenerationResult, MediaKind, ProgressEvent, WordTiming)
from shotsmith.backends.remote import RemoteBackend, RemoteStatus, RemoteTask, json_body
from shotsmith.errors import CancelledError, InvalidInputError
from shotsmith.formats import frame_size

WORDS_PER_S = 2.5
SAMPLE_RATE = 16000


def still_bytes(width: int, height: int, fmt: str = "PNG", colour=(200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, fmt)
    return buffer.getvalue()


def speech_wav(text: str) -> tuple[bytes, list[WordTiming]]:
    """A WAV with one short tone per word (0.4 s of sound, 0.1 s of silence) and the words' timings."""
    words = text.split()
    frames = bytearray()
    timings: list[WordTiming] = []
    t = 0.0
    for i, word in enumerate(words):
        tone = int(0.4 * SAMPLE_RATE)
        for n in range(tone):
            frames += struct.pack("<h", int(8000 * math.sin(2 * math.pi * (220 + 20 * i) * n / SAMPLE_RATE)))
        frames += b"\0\0" * int(0.1 * SAMPLE_RATE)
        timings.append(WordTiming(word=word, start_s=round(t, 3), end_s=round(t + 0.4, 3)))
        t += 0.5
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(frames))
    return buffer.getvalue(), timings


class StillBackend(Backend):
    """Local stills: a flat colour at the requested size, JPEG by default (so the suffix must come from content)."""

    name = "stilltest"
    description = "Test stills: a flat colour at the requested size."
    model = "still-1"
    fmt = "JPEG"

    def __init__(self) -> None:
        self.seen: list[GenerationRequest] = []

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE],
                            resolutions=["360p", "720p"], max_references=2, supports_seed=True)

    def estimate_cost(self, request):
        return CostEstimate(amount=0.0, source="local compute")

    async def generate(self, request, dest, *, on_progress, cancel):
        if cancel.is_set():
            raise CancelledError("cancelled")
        self.seen.append(request)
        width, height = frame_size(request.aspect_ratio, request.resolution)
        colour = (200, 120, 40)
        for ref in request.references:  # the still takes the colour of its (last) reference
            if not Path(ref.path).is_file():
                raise InvalidInputError(f"reference image {ref.path} does not exist")
            with Image.open(ref.path) as image:
                colour = image.convert("RGB").getpixel((0, 0))
        Path(dest).write_bytes(still_bytes(width, height, self.fmt, colour))
        on_progress(ProgressEvent(shot_index=request.shot_index, state="running", percent=100))
        return GenerationResult(path=str(dest), duration_s=0.0, width=width, height=height, kind=MediaKind.IMAGE)


class SpeechBackend(Backend):
    """Local speech: one tone per word, with exact word timings."""

    name = "speechtest"
    description = "Test speech: one tone per word."
    model = "speech-1"

    def __init__(self) -> None:
        self.seen: list[GenerationRequest] = []

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_SPEECH], voices=["ana", "ben"], word_timings=True,
                            languages=["en", "de"], aspect_ratios=["16:9"], resolutions=["720p"])

    def estimate_cost(self, request):
        return CostEstimate(amount=0.0, source="local compute")

    async def generate(self, request, dest, *, on_progress, cancel):
        if cancel.is_set():
            raise CancelledError("cancelled")
        self.seen.append(request)
        data, timings = speech_wav(request.prompt)
        Path(dest).write_bytes(data)
        return GenerationResult(path=str(dest), duration_s=timings[-1].end_s + 0.1, width=0, height=0,
                                kind=MediaKind.VOICE, word_timings=timings)


class MediaMock(MockProvider):
    """``POST /images`` makes a task (``GET /images/ID`` polls it; the still is at ``/files/ID.png``);
    ``POST /speech`` answers with the WAV itself and its timings in a header-free JSON envelope."""

    name = "mediamock"

    def __init__(self, clip: Path, **kwargs) -> None:
        super().__init__(clip, **kwargs)
        #: When set, the next speech answer is 200 with this body instead of the audio.
        self.speech_body: bytes | None = None

    def handle(self, req: Req):
        if req.headers.get("authorization") != f"Bearer {self.key}":
            return Resp(401, {"error": "bad key"})
        body = req.body or {}
        if req.method == "POST" and req.path in ("/images", "/speech"):
            fault = self.submit_fault()
            if fault is not None:
                return fault
            if not str(body.get("prompt", "")).strip():
                return Resp(400, {"error": "prompt is required"})
            task = self.new_task(req.path, body, body["prompt"])
            if req.path == "/images":
                return Resp(200, {"id": task.id})
            if getattr(self._local, "drop", False):
                return Resp(200, {})  # replaced by a dropped connection
            if self.speech_body is not None:
                broken, self.speech_body = self.speech_body, None
                return Resp(200, raw=broken, content_type="audio/wav")
            data, timings = speech_wav(body["prompt"])
            return Resp(200, raw=data, content_type="audio/wav",
                        headers={"X-Timings": ";".join(f"{w.word},{w.start_s},{w.end_s}" for w in timings)})
        match = re.fullmatch(r"/images/([\w-]+)", req.path)
        if match and req.method == "GET":
            task = self.tasks.get(match.group(1))
            if task is None:
                return Resp(404, {"error": "no such task"})
            fault = self.poll_fault(req)
            if fault is not None:
                return fault
            phase, progress = self.phase(task)
            if phase == "done":
                with self.lock:
                    self.signature += 1
                    sig = self.signature
                return Resp(200, {"state": "done", "url": f"{self.url}/files/{task.id}.png?sig={sig}"})
            return Resp(200, {"state": phase if phase in ("failed", "cancelled") else "running",
                              "progress": progress})
        return Resp(404, {"error": "not found"})

    def serve_file(self, req: Req) -> Resp:
        with self.lock:
            self.downloads += 1
        task = self.tasks.get(req.path.rsplit("/", 1)[-1].removesuffix(".png"))
        width, height = (task.body.get("width", 64), task.body.get("height", 36)) if task else (64, 36)
        data = still_bytes(width, height, "PNG")
        if self.faults.take("truncate_download_silent"):
            return Resp(200, raw=data[: len(data) // 2], content_type="image/png", declare_length=False)
        if self.faults.take("download_html"):
            return Resp(200, raw=b"<html>oops</html>", content_type="text/html")
        return Resp(200, raw=data, content_type="image/png")


class RemoteStills(RemoteBackend):
    """A task-based image API (create, poll, download), like Runway's text_to_image."""

    name = "remotestills"
    description = "Test: stills through a task API."
    model = "stills-1"
    key_env = ("MEDIAMOCK_KEY",)
    default_prices = {"per_image": 0.02}
    pricing_source = "test prices"

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE], resolutions=["360p", "720p"], costs_money=True,
                            local=False, max_concurrency=2)

    def estimate_cost(self, request):
        return CostEstimate(amount=self.prices["per_image"], source=self.pricing_source)

    async def submit(self, api, request):
        width, height = frame_size(request.aspect_ratio, request.resolution)
        data = json_body(await api.request("POST", self.url("/images"),
                                           json={"prompt": request.prompt, "width": width, "height": height}))
        return RemoteTask(data["id"])

    async def poll(self, api, task):
        data = json_body(await api.request("GET", self.url(f"/images/{task.id}")))
        if data["state"] == "done":
            return RemoteStatus("succeeded", video_url=data["url"])
        if data["state"] in ("failed", "cancelled"):
            return RemoteStatus(data["state"])
        return RemoteStatus("running", percent=100 * data.get("progress", 0))


class RemoteSpeech(RemoteBackend):
    """A synchronous speech API (the answer is the audio), like OpenAI's /audio/speech."""

    name = "remotespeech"
    description = "Test: speech through a synchronous API."
    model = "speech-remote-1"
    key_env = ("MEDIAMOCK_KEY",)
    synchronous = True
    default_prices = {"per_request": 0.01}
    pricing_source = "test prices"

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_SPEECH], voices=["alloy", "echo"], word_timings=True,
                            supports_instructions=True, costs_money=True, local=False)

    def estimate_cost(self, request):
        return CostEstimate(amount=self.prices["per_request"], source=self.pricing_source)

    async def submit_and_fetch(self, api, request, dest):
        response = await api.request("POST", self.url("/speech"), json={"prompt": request.prompt,
                                                                       "voice": request.voice})
        if not response.content.startswith(b"RIFF"):
            from shotsmith.backends.errors import RemoteError

            raise RemoteError("the answer is not audio", retryable=False)
        await asyncio.to_thread(Path(dest).write_bytes, response.content)
        timings = [WordTiming(word=w, start_s=float(s), end_s=float(e))
                   for w, s, e in (item.split(",") for item in response.headers.get("x-timings", "").split(";") if item)]
        return RemoteStatus("succeeded", word_timings=timings)
