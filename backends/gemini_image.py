"""Gemini image generation (``generateContent`` with image output): keyframes from Google's image models.

Protocol (google-genai ``models.py``): ``POST
v1beta/models/{model}:generateContent`` with ``x-goog-api-key``;
``contents[0].parts`` = the prompt as ``{"text"}`` then each reference as
``{"inlineData": {"mimeType", "data"}}`` (raw base64), and ``generationConfig =
{"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio"}}``. The answer
carries the picture itself in ``candidates[0].content.parts[].inlineData``;
``finishReason`` ``IMAGE_SAFETY`` / ``IMAGE_PROHIBITED_CONTENT`` / ``SAFETY``
... or ``promptFeedback.blockReason`` is a refusal, ``NO_IMAGE`` / ``IMAGE_OTHER``
a failure. Imagen on the Gemini API is gone (2026), so this is the Gemini API's
image path; the model name is an option because the image models change often.

**Synchronous, fitted to the task engine.** There is no task to poll: the
create *is* the generation. How the engine's money rules apply:

* The ``generateContent`` POST is the create. The engine saves its token
  before sending it, and it is sent at most once: a dropped connection, a
  timeout or an unreadable 2xx answer (the image may have been made and
  billed) stops the shot as "may have been created", and a rerun does not
  send it again without ``--resubmit`` (Gemini cannot look a request up).
  429 and 5xx answers are retried (nothing was made).
* The image arrives in that answer, so before :meth:`submit` returns the
  task (which the engine then persists) the picture is written, atomically,
  to a spool file named by a new task id (``spool_dir``, default
  ``~/.cache/shotsmith/spool/gemini-image``). A run killed after that resumes
  the task and finds the picture there; nothing is generated twice.
* :meth:`poll` reports the task finished at once from the spool (or refused,
  from the finish reason kept in the task's data), and the engine's usual
  download step fetches the spool file through a transport that serves the
  spool host locally, so the still goes through the same size, type and decode
  checks as any provider's.

Prices: ~$0.039 per image for gemini-2.5-flash-image (third-party cost tables;
unconfirmed).
"""

from __future__ import annotations

import base64
import binascii
import os
import time
import uuid
from pathlib import Path
from typing import ClassVar

import httpx

import shotsmith
from shotsmith.atomic import atomic_output
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest
from shotsmith.backends.errors import ModerationError, RemoteError
from shotsmith.backends.http import ApiClient
from shotsmith.backends.remote import IMAGE_CONTENT_TYPES, RemoteStatus, RemoteTask, image_base64, json_body
from shotsmith.backends.veo import VeoBackend

DEFAULT_MODEL = "gemini-2.5-flash-image"
SPOOL_HOST = "gemini-image.spool"
REFUSALS = {"SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST", "SPII",
            "RECITATION", "IMAGE_RECITATION"}
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
#: Spool files older than this are removed (their shots were downloaded long ago, or abandoned).
SPOOL_KEEP_S = 14 * 86400


def default_spool() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "shotsmith" / "spool" / "gemini-image"


class SpoolTransport(httpx.AsyncBaseTransport):
    """Serves ``http://gemini-image.spool/NAME`` from the spool folder; every other URL goes to ``inner``."""

    def __init__(self, spool: Path, inner: httpx.AsyncBaseTransport) -> None:
        self.spool, self.inner = spool, inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != SPOOL_HOST:
            return await self.inner.handle_async_request(request)
        file = self.spool / Path(request.url.path).name
        if not file.is_file():
            return httpx.Response(404, content=b"not in the spool", headers={"Content-Type": "text/plain"})
        data = file.read_bytes()
        ext = file.suffix.lstrip(".")
        mime = next((m for m, e in EXTENSIONS.items() if e == ext), "application/octet-stream")
        return httpx.Response(200, content=data, headers={"Content-Type": mime, "Content-Length": str(len(data))})

    async def aclose(self) -> None:
        await self.inner.aclose()


class GeminiImageBackend(VeoBackend):
    name = "gemini-image"
    description = "Gemini image generation (gemini-2.5-flash-image) with inline reference images (key: GEMINI_API_KEY)."
    model = DEFAULT_MODEL
    default_poll_interval_s = 0.5
    download_content_types = IMAGE_CONTENT_TYPES
    max_download_mb = 50.0
    default_prices: ClassVar[dict[str, float]] = {DEFAULT_MODEL: 0.039, "gemini-3-pro-image-preview": 0.134}
    pricing_source = "unconfirmed: third-party cost tables for the Gemini API (2026-11), USD per image"

    def extra_options(self) -> tuple[str, ...]:
        return ("spool_dir", "max_references")

    @property
    def spool(self) -> Path:
        return Path(self.options.get("spool_dir") or default_spool()).expanduser()

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE],
                            aspect_ratios=["16:9", "9:16", "1:1"],
                            resolutions=["720p", "1080p"], fps=[24], max_prompt_chars=8000,
                            max_references=int(self.options.get("max_references") or 3),
                            max_concurrency=self.concurrency, costs_money=True, local=False)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        model = request.model or self.model or DEFAULT_MODEL
        amount = self.prices.get(model, self.prices.get(DEFAULT_MODEL, 0.039))
        return CostEstimate(amount=amount, unit="USD", source=self.pricing_source,
                            detail=f"${amount:g} per image ({model}), unconfirmed")

    def download_headers(self, url: str) -> dict[str, str]:
        return {}  # the spool is local; nothing else is downloaded

    def client(self) -> ApiClient:
        self.api_key()
        inner = self._transport or httpx.AsyncHTTPTransport()
        return ApiClient(self.name, auth=self.auth_headers, classify=self.classify, secrets=self.secrets,
                         headers={"Accept": "application/json", "User-Agent": "shotsmith"}, retry=self.retry,
                         timeout_s=self.request_timeout_s, base_url=self.base_url,
                         transport=SpoolTransport(self.spool, inner))

    def body(self, request: GenerationRequest) -> dict:
        parts: list[dict] = [{"text": request.prompt}]
        for ref in request.references[:self.capabilities().max_references]:
            data, mime = image_base64(ref.path, max_bytes=7_000_000)
            parts.append({"inlineData": {"mimeType": mime, "data": data}})
        return {"contents": [{"role": "user", "parts": parts}],
                "generationConfig": {"responseModalities": ["IMAGE"],
                                     "imageConfig": {"aspectRatio": request.aspect_ratio}}}

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        model = request.model or self.model
        data = json_body(await api.request("POST", self.url(f"models/{model}:generateContent"), json=self.body(request)))
        task_id = f"gi-{uuid.uuid4().hex}"
        blocked = (data.get("promptFeedback") or {}).get("blockReason")
        candidate = (data.get("candidates") or [{}])[0]
        reason = str(candidate.get("finishReason") or "")
        image = next((p["inlineData"] for p in (candidate.get("content") or {}).get("parts") or []
                      if isinstance(p, dict) and isinstance(p.get("inlineData"), dict)), None)
        if blocked or reason in REFUSALS:
            return RemoteTask(task_id, {"outcome": "refused", "reason": str(blocked or reason)})
        if image is None:
            text = " ".join(p.get("text", "") for p in (candidate.get("content") or {}).get("parts") or []
                            if isinstance(p, dict))[:200]
            return RemoteTask(task_id, {"outcome": "failed", "reason": reason or "no image", "text": text})
        try:
            # Either alphabet: google-genai itself writes bytes URL-safe encoded.
            pixels = base64.b64decode(str(image.get("data") or "").replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            return RemoteTask(task_id, {"outcome": "failed", "reason": "the image data was not valid base64"})
        name = f"{task_id}.{EXTENSIONS.get(str(image.get('mimeType')), 'png')}"
        self.spool.mkdir(parents=True, exist_ok=True)
        self._sweep()
        with atomic_output(self.spool / name) as tmp:
            tmp.write_bytes(pixels)
        return RemoteTask(task_id, {"outcome": "image", "spool": name})

    def _sweep(self) -> None:
        cutoff = time.time() - SPOOL_KEEP_S
        for old in self.spool.glob("gi-*"):
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink()
            except OSError:
                pass

    async def poll(self, api: ApiClient, task: RemoteTask) -> RemoteStatus:
        outcome, reason = task.data.get("outcome"), task.data.get("reason", "")
        if outcome == "refused":
            return RemoteStatus("failed", error=ModerationError(f"gemini-image refused the image on content grounds "
                                                                f"({reason})", code=reason))
        if outcome == "failed":
            said = f": {task.data['text']}" if task.data.get("text") else ""
            return RemoteStatus("failed", error=RemoteError(f"gemini-image returned no image ({reason}){said}",
                                                            code=reason or None))
        name = task.data.get("spool", "")
        if not name or not (self.spool / name).is_file():
            return RemoteStatus("failed", error=RemoteError(
                f"gemini-image: the image of task {task.id} is no longer in the spool ({self.spool})",
                hint="it was generated and paid for; generating the shot again pays again"))
        return RemoteStatus("succeeded", percent=100, video_url=f"http://{SPOOL_HOST}/{name}")

    async def cancel(self, api: ApiClient, task: RemoteTask) -> bool:
        return False  # finished on create: nothing to cancel


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(GeminiImageBackend)
