"""Luma Dream Machine (api.lumalabs.ai/dream-machine/v1): Ray 2 text- and image-to-video.

Protocol: ``Authorization: Bearer LUMAAI_API_KEY``; ``POST /generations/video``
with ``model`` (ray-2, ray-flash-2, ray-1-6), ``prompt``, ``aspect_ratio``,
``duration`` as "5s"/"9s", ``resolution`` and, for image-to-video,
``keyframes.frame0 = {"type": "image", "url": ...}`` (and ``frame1`` for the
last frame); ``GET /generations/{id}`` reports ``state`` queued, dreaming,
completed (video at ``assets.video``) or failed (``failure_reason``);
``DELETE /generations/{id}`` removes (and so stops) a generation. A clip is
extended (``video-extend``) by a new generation whose ``keyframes.frame0`` is
``{"type": "generation", "id": <the finished generation's id>}``, priced like a
create of the seconds it adds; the result is taken as the whole, longer clip.

Luma takes images only as public URLs and has no upload endpoint, so a
keyframe is put on the configured uploader (option ``uploader``, e.g. ``s3``;
see :mod:`shotsmith.backends.uploaders`) right before the create. Without one
:meth:`LumaBackend.prepare` refuses the request, so the refusal comes before
approval and before anything is spent.

Luma has no idempotency key, but it lists generations (``GET /generations``
with ``limit``/``offset``, each with the ``request`` it was created from and
``created_at``): when a create's answer is lost, :meth:`LumaBackend.find_created`
looks for a generation made from exactly our request since we sent it and the
engine adopts it. "Nothing was created" is only concluded once the create is
older than :data:`FIND_GRACE_S` and the listing covers that time; before that
the shot stops as "may have been created" and a later rerun looks again.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import httpx

import shotsmith
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest
from shotsmith.backends.errors import ModerationError, RemoteError
from shotsmith.backends.http import ApiClient
from shotsmith.backends.remote import RemoteBackend, RemoteStatus, RemoteTask, error_body, image_bytes, json_body
from shotsmith.backends.uploaders import Uploader, guess_type, uploader_for
from shotsmith.errors import InvalidInputError, ShotsmithError
from shotsmith.scrub import register_secrets, scrub

MODERATION_WORDS = ("moderation", "content policy", "safety", "prohibited", "not allowed")
RESOLUTIONS = {"540p": "540p", "720p": "720p", "1080p": "1080p", "2160p": "4k"}
#: A lost create is only declared "not created" once it is this old (clock skew and queueing included).
FIND_GRACE_S = 120.0
LIST_PAGE = 100
LIST_PAGES = 3
#: Fields of the request echo compared to find the generation a lost create made.
MATCH_FIELDS = ("model", "prompt", "aspect_ratio", "duration", "resolution", "loop")


def _moderated(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in MODERATION_WORDS)


class LumaBackend(RemoteBackend):
    name = "luma"
    description = "Luma Dream Machine Ray 2 (key: LUMAAI_API_KEY); 5 or 9 s, 540p to 4K."
    model = "ray-2"
    key_env = ("LUMAAI_API_KEY",)
    #: The same provider's image backend, which makes this backend's keyframes by default (storyboard-first).
    image_backend: ClassVar[str | None] = "luma-image"
    default_base_url = "https://api.lumalabs.ai/dream-machine/v1"
    default_poll_interval_s = 3.0
    default_concurrency = 2
    #: USD per 5 s at 720p by model; other resolutions scale by pixel count.
    default_prices: ClassVar[dict[str, float]] = {"ray-2": 0.71, "ray-flash-2": 0.24, "ray-1-6": 0.50}
    pricing_source = "Luma API pricing (lumalabs.ai/api/pricing), USD per 5 s at 720p as of 2026-11"
    can_find_created = True
    find_grace_s: float = FIND_GRACE_S
    #: Where the finished generation's file is in ``assets``.
    asset_key: str = "video"
    create_path: str = "/generations/video"

    def extra_options(self) -> tuple[str, ...]:
        return ("uploader", "upload")

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO,
                                   GenerationMode.VIDEO_EXTEND], durations_s=[5.0, 9.0], extension_s=[5.0, 9.0],
                            min_duration_s=5, max_duration_s=9, aspect_ratios=["16:9", "9:16", "1:1"],
                            resolutions=list(RESOLUTIONS), fps=[24], max_prompt_chars=5000, supports_seed=False,
                            supports_negative_prompt=False, supports_camera_control=False, supports_end_image=True,
                            max_concurrency=self.concurrency, costs_money=True, local=False)

    # -- images must be URLs ---------------------------------------------------------
    def images(self, request: GenerationRequest) -> list[str]:
        """Every local image this request sends (each becomes a URL through the uploader)."""
        paths = [p for p in (request.image, request.end_image) if p]
        return paths + [r.path for r in request.references]

    def uploader(self) -> Uploader | None:
        return uploader_for(self.options, self._settings)

    def check_ready(self) -> None:
        """The key, and an uploader that is named must be usable (before planning or approval).

        No uploader at all is fine here: text-only shots need none, and a
        request with images is refused in :meth:`prepare`.
        """
        super().check_ready()
        if self.options.get("uploader"):
            uploader = self.uploader()
            assert uploader is not None
            uploader.check_ready()

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        ready, warnings = super().prepare(request)
        if ready.end_image and not ready.image:
            raise InvalidInputError("luma: a last frame needs a first frame too", hint="give the shot a start image")
        paths = self.images(ready)
        if paths:
            uploader = self.uploader()
            if uploader is None:
                raise InvalidInputError(
                    f"{self.name} takes images only as public URLs and no uploader is configured",
                    hint=f"set SHOTSMITH_S3_BUCKET (and keys) for the built-in s3 uploader, or uploader = \"NAME\" "
                         f"under [backends.{self.name}]; nothing was sent or spent")
            uploader.check_ready()
            for path in paths:
                image_bytes(path)
        return ready, warnings

    def secrets(self) -> list[str]:
        values = super().secrets()
        try:
            uploader = self.uploader()
        except Exception:  # noqa: BLE001 - an unknown uploader is reported by prepare
            uploader = None
        return values + (uploader.secrets() if uploader else [])

    async def upload_images(self, request: GenerationRequest) -> dict[str, str]:
        """Local path -> public URL for every image of the request (before the create, costing nothing)."""
        paths = self.images(request)
        if not paths:
            return {}
        uploader = self.uploader()
        if uploader is None:
            raise InvalidInputError(f"{self.name} needs an uploader for images")
        urls: dict[str, str] = {}
        for path in dict.fromkeys(paths):
            try:
                urls[path] = await uploader.upload(Path(path), content_type=guess_type(path),
                                                   timeout_s=self.request_timeout_s)
            except RemoteError:
                raise
            except Exception as exc:  # noqa: BLE001 - a plugin's own error: reported as "nothing was sent"
                # A RemoteError tells the engine the create was not sent (nothing spent); scrubbed, since
                # an uploader's error may quote a signed URL or a key.
                register_secrets(uploader.secrets())
                detail = exc.message if isinstance(exc, ShotsmithError) else f"{type(exc).__name__}: {exc}"
                raise RemoteError(scrub(f"{self.name}: the {uploader.name} uploader could not upload "
                                        f"{Path(path).name}: {detail}"),
                                  hint="nothing was sent to the provider or spent; check the uploader's settings") from exc
        return urls

    def extension_source(self, task_id: str, data: dict) -> str | None:
        return task_id or None  # a generation id: frame0 of the extension names it

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        model = request.model or self.model or "ray-2"
        base = self.prices.get(model, self.prices.get("ray-2", 0.71))
        scale = {"540p": 0.56, "720p": 1.0, "1080p": 2.25, "2160p": 9.0}.get(request.resolution, 1.0)
        return CostEstimate(amount=round(base * scale * request.duration_s / 5, 3), unit="USD", source=self.pricing_source,
                            detail=f"estimate: ${base:g} per 5 s at 720p for {model}, x{scale:g} for "
                                   f"{request.resolution}; override with [backends.luma.prices]")

    def classify(self, response: httpx.Response) -> RemoteError:
        error = super().classify(response)
        body = error_body(response)
        detail = str(body.get("detail") or "")
        if response.status_code == 400 and _moderated(detail):
            return ModerationError(f"luma refused the shot on content grounds: {detail}", status=400)
        if detail and response.status_code not in (401, 403):
            error.message = f"luma: {detail} (HTTP {response.status_code})"
        return error

    def body(self, request: GenerationRequest, urls: dict[str, str] | None = None) -> dict:
        """The create body; ``urls`` maps each local image to its uploaded URL (placeholders when omitted)."""
        url = (urls or {}).get
        body: dict = {"model": request.model or self.model, "prompt": request.prompt,
                      "aspect_ratio": request.aspect_ratio, "duration": f"{int(round(request.duration_s))}s",
                      "resolution": RESOLUTIONS[request.resolution], "loop": False}
        if request.mode is GenerationMode.VIDEO_EXTEND:
            assert request.extend_from
            body["keyframes"] = {"frame0": {"type": "generation", "id": request.extend_from}}
        elif request.mode is GenerationMode.IMAGE_TO_VIDEO:
            assert request.image
            body["keyframes"] = {"frame0": {"type": "image", "url": url(request.image, "upload:frame0")}}
            if request.end_image:
                body["keyframes"]["frame1"] = {"type": "image", "url": url(request.end_image, "upload:frame1")}
        return body

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        urls = await self.upload_images(request)
        data = json_body(await api.request("POST", self.url(self.create_path), json=self.body(request, urls)))
        return RemoteTask(str(data["id"]))

    async def find_created(self, api: ApiClient, request: GenerationRequest, token: str,
                           sent_at: float) -> RemoteTask | None:
        wanted = self.body(request)
        since = sent_at - self.find_grace_s  # allow for clock skew between us and Luma
        matches: list[str] = []
        covered = False
        for page in range(LIST_PAGES):
            data = json_body(await api.request("GET", self.url("/generations"),
                                               params={"limit": LIST_PAGE, "offset": page * LIST_PAGE}))
            generations = data.get("generations") or []
            for item in generations:
                created = _timestamp(item.get("created_at"))
                if created is not None and created < since:
                    covered = True
                    continue
                echo = item.get("request") or {}
                frame0 = (echo.get("keyframes") or {}).get("frame0")
                wanted0 = (wanted.get("keyframes") or {}).get("frame0")
                same_start = frame0 == wanted0 if (wanted0 or {}).get("type") == "generation" else \
                    bool(frame0) == bool(wanted0)  # an uploaded image's URL differs per upload
                if all(echo.get(k) == wanted.get(k) for k in MATCH_FIELDS) and same_start:
                    matches.append(str(item["id"]))
            if not data.get("has_more") or not generations:
                covered = True
                break
        if len(matches) == 1:
            return RemoteTask(matches[0])
        if len(matches) > 1:
            raise RemoteError(f"luma: {len(matches)} generations match the lost create; cannot tell which is ours")
        if covered and time.time() - sent_at >= self.find_grace_s:
            return None
        raise RemoteError("luma: the lost create is not listed (yet); it may still appear", retryable=True)

    async def poll(self, api: ApiClient, task: RemoteTask) -> RemoteStatus:
        data = json_body(await api.request("GET", self.url(f"/generations/{task.id}")))
        state = data.get("state")
        if state == "queued":
            return RemoteStatus("queued")
        if state == "dreaming":
            return RemoteStatus("running")
        if state == "completed":
            return RemoteStatus("succeeded", percent=100, video_url=(data.get("assets") or {}).get(self.asset_key))
        if state == "failed":
            reason = data.get("failure_reason") or "the generation failed"
            if _moderated(reason):
                return RemoteStatus("failed", error=ModerationError(f"luma refused the shot on content grounds: {reason}"))
            return RemoteStatus("failed", error=RemoteError(f"luma: generation failed: {reason}"))
        raise RemoteError(f"luma: unknown generation state {state!r}", retryable=True)

    async def cancel(self, api: ApiClient, task: RemoteTask) -> bool:
        await api.request("DELETE", self.url(f"/generations/{task.id}"))
        return True


def _timestamp(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(LumaBackend)
