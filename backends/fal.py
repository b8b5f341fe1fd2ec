"""fal.ai's queue protocol, and Pika served through it.

Protocol: ``POST https://queue.fal.run/{model path}`` with ``Authorization:
Key FAL_KEY`` returns ``{request_id, status_url, response_url, cancel_url}``.
Those URLs are used as given (their path drops the model's sub-path, e.g.
``fal-ai/pika/requests/{id}/status``) and persisted with the task so a resumed
run polls the same request. ``GET status_url?logs=1`` answers IN_QUEUE (with
``queue_position``), IN_PROGRESS or COMPLETED (with ``error``/``error_type``
when the app failed); ``GET response_url`` gives the result, for video models
``{"video": {"url", "content_type", ...}}``; ``PUT cancel_url`` cancels.
Start and end frames go to fal storage first (:meth:`FalQueueBackend.upload_file`,
``storage_url`` option; fal documents data URIs for "some models" only), or
inline as data URIs with ``images = "data_uri"``.
Errors carry ``{"detail": ...}`` and an ``X-Fal-Retryable`` header; a content
refusal is 422 with type ``content_policy_violation``.

:class:`FalQueueBackend` is generic over fal-hosted video models;
:class:`PikaBackend` fills in Pika 2.2's model paths, inputs and prices.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import httpx

import shotsmith
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest
from shotsmith.backends.errors import ModerationError, RemoteError
from shotsmith.backends.http import ApiClient, parse_retry_after
from shotsmith.backends.remote import (RemoteBackend, RemoteStatus, RemoteTask, error_body, image_bytes, image_data_uri,
                                       json_body, side_request)


def _is_moderation(body: object) -> bool:
    text = json.dumps(body).lower() if body is not None else ""
    return "content_policy_violation" in text


class FalQueueBackend(RemoteBackend):
    """Any fal-hosted video model; subclasses set the model paths and map the inputs."""

    key_env = ("FAL_KEY",)
    default_base_url = "https://queue.fal.run"
    default_poll_interval_s = 2.0
    default_concurrency = 2
    #: Model path for image-to-video; ``model`` is the text-to-video path.
    image_model: str | None = None

    def __init__(self, **options) -> None:
        super().__init__(**options)
        if self.options.get("image_model"):
            self.image_model = str(self.options["image_model"])

    def extra_options(self) -> tuple[str, ...]:
        return ("image_model", "storage_url", "images")

    def secrets(self) -> list[str]:
        token = getattr(self, "_storage_token", None)
        return super().secrets() + ([token[0].split(" ", 1)[-1]] if token else [])

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self.api_key().get_secret_value()}"}

    def classify(self, response: httpx.Response) -> RemoteError:
        status = response.status_code
        body = error_body(response)
        detail = body.get("detail")
        summary = detail if isinstance(detail, str) else (json.dumps(detail)[:300] if detail else f"HTTP {status}")
        if status == 422 and _is_moderation(body):
            return ModerationError(f"{self.name} refused the shot on content grounds: {summary}", status=status,
                                   code="content_policy_violation")
        if status in (401, 403):
            return super().classify(response)
        flag = response.headers.get("x-fal-retryable")
        retryable = flag.lower() == "true" if flag else status in (408, 429, 500, 502, 503, 504)
        return RemoteError(f"{self.name}: {summary} (HTTP {status})", retryable=retryable, status=status,
                           retry_after_s=parse_retry_after(response.headers))

    def arguments(self, request: GenerationRequest, urls: dict[str, str] | None = None) -> dict:
        """The model's input JSON (``urls``: uploaded images); subclasses map the request onto their model's fields."""
        raise NotImplementedError

    def model_path(self, request: GenerationRequest) -> str:
        if request.mode is GenerationMode.IMAGE_TO_VIDEO and self.image_model:
            return self.image_model
        return request.model or self.model or ""

    def request_images(self, request: GenerationRequest) -> list[str]:
        """The local images a request sends (start and end frame)."""
        if request.mode is not GenerationMode.IMAGE_TO_VIDEO:
            return []
        return [p for p in (request.image, request.end_image) if p]

    def image_ref(self, path: str, urls: dict[str, str] | None) -> str:
        """The uploaded URL of a local image, or a data URI (``images = "data_uri"``; unconfirmed for some models)."""
        if urls and path in urls:
            return urls[path]
        return image_data_uri(path, max_bytes=10_000_000)

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        urls: dict[str, str] = {}
        if self.options.get("images", "upload") == "upload":
            # fal storage works for every model; data URIs only for "some models" (fal's docs).
            for path in dict.fromkeys(self.request_images(request)):
                urls[path] = await self.upload_file(api, path)
        response = await api.request("POST", self.url(self.model_path(request)), json=self.arguments(request, urls))
        data = json_body(response)
        request_id = str(data["request_id"])
        base = self._request_base(self.model_path(request), request_id)
        return RemoteTask(request_id, {"status_url": data.get("status_url") or f"{base}/status",
                                       "response_url": data.get("response_url") or base,
                                       "cancel_url": data.get("cancel_url") or f"{base}/cancel"})

    def _request_base(self, model_path: str, request_id: str) -> str:
        owner_alias = "/".join(model_path.split("/")[:2])
        return self.url(f"{owner_alias}/requests/{request_id}")

    def _urls(self, task: RemoteTask) -> dict[str, str]:
        if task.data.get("status_url"):
            return task.data
        base = self._request_base(self.model or "", task.id)
        return {"status_url": f"{base}/status", "response_url": base, "cancel_url": f"{base}/cancel"}

    async def poll(self, api: ApiClient, task: RemoteTask) -> RemoteStatus:
        urls = self._urls(task)
        data = json_body(await api.request("GET", urls["status_url"], params={"logs": "1"}))
        status = data.get("status")
        if status == "IN_QUEUE":
            return RemoteStatus("queued", message=f"queue position {data.get('queue_position')}")
        if status == "IN_PROGRESS":
            return RemoteStatus("running")
        if status != "COMPLETED":
            raise RemoteError(f"{self.name}: unknown request status {status!r}", retryable=True)
        if data.get("error"):
            kind = data.get("error_type") or ""
            if kind == "content_policy_violation":
                return RemoteStatus("failed", error=ModerationError(f"{self.name} refused the shot on content grounds: "
                                                                    f"{data['error']}", code=kind))
            return RemoteStatus("failed", error=RemoteError(f"{self.name}: request failed: {data['error']}", code=kind or None))
        try:
            result = json_body(await api.request("GET", urls["response_url"]))
        except ModerationError as exc:
            return RemoteStatus("failed", error=exc)
        except RemoteError as exc:
            if exc.retryable:
                raise
            return RemoteStatus("failed", error=exc)
        return self.finished(result)

    def finished(self, result: dict) -> RemoteStatus:
        """The status of a completed request from its result JSON (image models override it)."""
        video = result.get("video") or {}
        return RemoteStatus("succeeded", percent=100, video_url=video.get("url"))

    # -- fal storage (reference images, keyframes) ------------------------------------------------------
    def storage_url(self) -> str:
        return str(self.options.get("storage_url") or "https://rest.fal.ai").rstrip("/")

    async def upload_file(self, api: ApiClient, path: str) -> str:
        """Put a local image on fal's CDN (what ``fal_client.upload_file`` does) and return its URL.

        A storage token from ``POST {rest}/storage/auth/token?storage_type=fal-cdn-v3``
        (FAL_KEY auth, cached until it expires), then the raw bytes to
        ``{base_url}/files/upload`` with that token: the FAL_KEY goes only to the
        REST host, the token only to the CDN host it was issued for.
        """
        data, mime = image_bytes(path)
        token = getattr(self, "_storage_token", None)
        if token is None or time.time() > token[2] - 60:
            grant = json_body(await side_request(api, "POST", f"{self.storage_url()}/storage/auth/token",
                                                 what="getting a fal storage token", json={},
                                                 headers={**self.auth_headers(), "Accept": "application/json"},
                                                 classify=self.classify, params={"storage_type": "fal-cdn-v3"}))
            expires = _expiry(grant.get("expires_at"))
            token = (f"{grant.get('token_type') or 'Bearer'} {grant['token']}", str(grant["base_url"]).rstrip("/"),
                     expires)
            self._storage_token = token
        answer = json_body(await side_request(api, "POST", f"{token[1]}/files/upload", what=f"uploading {Path(path).name}",
                                              content=data, headers={"Authorization": token[0], "Content-Type": mime,
                                                                     "X-Fal-File-Name": Path(path).name}))
        return str(answer["access_url"])

    async def cancel(self, api: ApiClient, task: RemoteTask) -> bool:
        try:
            await api.request("PUT", self._urls(task)["cancel_url"], retry=False)
        except RemoteError as exc:
            if exc.status == 400:  # already completed: nothing left to cancel
                return False
            raise
        return True


class PikaBackend(FalQueueBackend):
    name = "pika"
    description = "Pika 2.2 through fal.ai's queue (key: FAL_KEY); 720p/1080p, 5 or 10 s, seed and negative prompt."
    model = "fal-ai/pika/v2.2/text-to-video"
    image_model = "fal-ai/pika/v2.2/image-to-video"
    #: First and last frame together: Pikaframes (2-5 keyframes, one transition between each pair).
    frames_model = "fal-ai/pika/v2.2/pikaframes"
    #: The same provider's image backend, which makes this backend's keyframes by default (storyboard-first).
    image_backend: ClassVar[str | None] = "flux"
    #: USD per clip by resolution and duration.
    default_prices: ClassVar[dict[str, float]] = {"720p_5s": 0.20, "720p_10s": 0.40, "1080p_5s": 0.45, "1080p_10s": 0.90}
    pricing_source = "fal.ai model page for fal-ai/pika/v2.2 (fal.ai/models), USD per clip as of 2026-11"

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO], durations_s=[5.0, 10.0],
                            min_duration_s=5, max_duration_s=10, aspect_ratios=["16:9", "9:16", "1:1", "4:5"],
                            resolutions=["720p", "1080p"], fps=[24], max_prompt_chars=2000, supports_seed=True,
                            supports_negative_prompt=True, supports_camera_control=False, supports_end_image=True,
                            max_concurrency=self.concurrency, costs_money=True, local=False)

    def model_path(self, request: GenerationRequest) -> str:
        if request.mode is GenerationMode.IMAGE_TO_VIDEO and request.end_image:
            return self.frames_model
        return super().model_path(request)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        key = f"{request.resolution}_{int(round(request.duration_s))}s"
        amount = self.prices.get(key, self.prices.get("720p_5s", 0.2) * request.duration_s / 5)
        return CostEstimate(amount=round(amount, 3), unit="USD", source=self.pricing_source,
                            detail=f"estimate for {key}; override with [backends.pika.prices]")

    def arguments(self, request: GenerationRequest, urls: dict[str, str] | None = None) -> dict:
        args: dict = {"prompt": request.prompt, "aspect_ratio": request.aspect_ratio, "resolution": request.resolution,
                      "duration": int(round(request.duration_s))}
        if request.seed is not None:
            args["seed"] = request.seed
        if request.negative_prompt:
            args["negative_prompt"] = request.negative_prompt
        if request.mode is GenerationMode.IMAGE_TO_VIDEO:
            assert request.image
            args.pop("aspect_ratio")  # image-to-video follows the image's own shape
            first = self.image_ref(request.image, urls)
            if request.end_image:
                # Pikaframes: the two keyframes and one transition of the shot's length between them.
                args.pop("duration")
                args["image_urls"] = [first, self.image_ref(request.end_image, urls)]
                args["transitions"] = [{"duration": int(round(request.duration_s)), "prompt": request.prompt}]
            else:
                args["image_url"] = first
        return args


def _expiry(value: object) -> float:
    """A storage token's expiry (ISO time) as a timestamp; ten minutes from now when unreadable."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time() + 600


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(PikaBackend)
