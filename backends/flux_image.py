"""FLUX on fal.ai: text-to-image (``fal-ai/flux/dev`` or ``schnell``) and Kontext for reference-guided frames.

Same queue protocol as :mod:`shotsmith.backends.fal` (submit, status and
result URLs keep only owner/alias: ``fal-ai/flux/requests/{id}``,
``fal-ai/flux-pro/requests/{id}``). Inputs per fal-js ``endpoints.ts``:

* ``fal-ai/flux/dev``: ``prompt``, ``image_size`` (``{width, height}``, sized
  from the shot's aspect ratio and resolution, multiples of 16), ``seed``,
  ``num_images`` 1, ``output_format`` png, ``enable_safety_checker``.
* ``fal-ai/flux-pro/kontext`` (one reference: ``image_url``) and
  ``fal-ai/flux-pro/kontext/multi`` (several: ``image_urls``), with
  ``aspect_ratio`` from a fixed list (4:5 is sent as 3:4, its nearest).

Results are ``{images: [{url, width, height, content_type}], has_nsfw_concepts}``;
fal's safety checker answers a flagged image with a black frame and
``has_nsfw_concepts: [true]``, which is reported as a moderation refusal, not
saved as a keyframe. References go to fal storage first (see
:meth:`FalQueueBackend.upload_file`). Prices: the flux-1 pages give $0.025/MP
(dev) and $0.003/MP (schnell); ``fal-ai/flux/*`` and Kontext prices are
unconfirmed and overridable.
"""

from __future__ import annotations

from typing import ClassVar

import shotsmith
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest
from shotsmith.backends.errors import ModerationError
from shotsmith.backends.fal import FalQueueBackend
from shotsmith.backends.http import ApiClient
from shotsmith.backends.remote import IMAGE_CONTENT_TYPES, RemoteStatus, RemoteTask, json_body
from shotsmith.formats import frame_size

KONTEXT = "fal-ai/flux-pro/kontext"
KONTEXT_MULTI = "fal-ai/flux-pro/kontext/multi"
KONTEXT_RATIOS = {"16:9": "16:9", "9:16": "9:16", "1:1": "1:1", "4:5": "3:4"}
MAX_REFERENCES = 4


class FluxBackend(FalQueueBackend):
    name = "flux"
    description = "FLUX.1 [dev] text-to-image and FLUX Kontext reference frames on fal.ai (key: FAL_KEY)."
    model = "fal-ai/flux/dev"
    download_content_types = IMAGE_CONTENT_TYPES
    max_download_mb = 50.0
    #: USD per megapixel (dev, schnell) or per image (kontext).
    default_prices: ClassVar[dict[str, float]] = {"fal-ai/flux/dev": 0.025, "fal-ai/flux/schnell": 0.003,
                                                  KONTEXT: 0.04, KONTEXT_MULTI: 0.04}
    pricing_source = ("fal.ai model pages for fal-ai/flux-1/dev and /schnell (USD per megapixel, 2026-11); "
                      "fal-ai/flux/* and Kontext prices unconfirmed")

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE],
                            aspect_ratios=["16:9", "9:16", "1:1", "4:5"],
                            resolutions=["720p", "1080p"], fps=[24], max_prompt_chars=2000, supports_seed=True,
                            max_references=MAX_REFERENCES, max_concurrency=self.concurrency, costs_money=True,
                            local=False)

    def model_path(self, request: GenerationRequest) -> str:
        if request.references:
            return KONTEXT if len(request.references) == 1 else KONTEXT_MULTI
        return request.model or self.model or "fal-ai/flux/dev"

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        path = self.model_path(request)
        rate = self.prices.get(path, 0.04)
        if path.startswith("fal-ai/flux-pro/kontext"):
            return CostEstimate(amount=rate, unit="USD", source=self.pricing_source,
                                detail=f"${rate:g} per image ({path}), unconfirmed")
        width, height = self.size(request)
        megapixels = width * height / 1e6
        return CostEstimate(amount=round(rate * megapixels, 4), unit="USD", source=self.pricing_source,
                            detail=f"${rate:g}/MP x {megapixels:.2f} MP ({path})")

    @staticmethod
    def size(request: GenerationRequest) -> tuple[int, int]:
        width, height = frame_size(request.aspect_ratio, request.resolution)
        return width // 16 * 16, height // 16 * 16

    def arguments(self, request: GenerationRequest, urls: list[str] | None = None) -> dict:  # type: ignore[override]
        """The model's input; ``urls`` are the references' fal storage URLs, in order."""
        if request.references:
            args: dict = {"prompt": request.prompt, "aspect_ratio": KONTEXT_RATIOS[request.aspect_ratio],
                          "num_images": 1, "output_format": "png"}
            urls = urls or ["upload:reference"] * len(request.references)
            if len(urls) == 1:
                args["image_url"] = urls[0]
            else:
                args["image_urls"] = urls[:MAX_REFERENCES]
        else:
            width, height = self.size(request)
            args = {"prompt": request.prompt, "image_size": {"width": width, "height": height}, "num_images": 1,
                    "output_format": "png", "enable_safety_checker": True}
        if request.seed is not None:
            args["seed"] = request.seed
        return args

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        urls = [await self.upload_file(api, ref.path) for ref in request.references[:MAX_REFERENCES]]
        path = self.model_path(request)
        data = json_body(await api.request("POST", self.url(path), json=self.arguments(request, urls or None)))
        request_id = str(data["request_id"])
        base = self._request_base(path, request_id)
        return RemoteTask(request_id, {"status_url": data.get("status_url") or f"{base}/status",
                                       "response_url": data.get("response_url") or base,
                                       "cancel_url": data.get("cancel_url") or f"{base}/cancel"})

    def finished(self, result: dict) -> RemoteStatus:
        images = result.get("images") or []
        flagged = result.get("has_nsfw_concepts") or []
        if flagged and flagged[0]:
            return RemoteStatus("failed", error=ModerationError(f"{self.name}: fal's safety checker flagged the image "
                                                                "(it would be a black frame)", code="has_nsfw_concepts"))
        return RemoteStatus("succeeded", percent=100, video_url=images[0].get("url") if images else None)


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(FluxBackend)
