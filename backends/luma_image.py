"""Luma Photon (``photon-1``, ``photon-flash-1``): keyframes with character, style and image references.

Protocol (lumaai SDK ``generations/image_create_params``): ``POST
/dream-machine/v1/generations/image`` with ``model``, ``prompt``,
``aspect_ratio``, ``format`` (jpg|png) and typed references, each a public URL:
``character_ref: {"identity0": {"images": [url, ...]}}`` (1-4, one identity)
for cast members, ``style_ref: [{url, weight}]`` (1) for a look, and
``image_ref: [{url, weight}]`` (≤4) for products and places. It answers a
Generation object; ``GET /generations/{id}`` reports the same states as video
and the picture is at ``assets.image``. The limits are from third-party
schemas (unconfirmed upstream), as is every Photon price: both are options.

Luma has no upload endpoint, so references go through the configured uploader
(see :class:`~shotsmith.backends.luma.LumaBackend`): without one a request with
references is refused in ``prepare``, before approval. Lost creates are found
in Luma's list of generations, as for video.
"""

from __future__ import annotations

from typing import ClassVar

import shotsmith
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest
from shotsmith.backends.luma import LumaBackend
from shotsmith.backends.remote import IMAGE_CONTENT_TYPES
from shotsmith.errors import InvalidInputError

#: Per role: how many references Photon takes (third-party schemas; unconfirmed).
LIMITS = {"character": 4, "style": 1, "image": 4}
WEIGHTS = {"style": 0.8, "image": 0.85}


class LumaImageBackend(LumaBackend):
    name = "luma-image"
    description = "Luma Photon keyframes with character/style/image references (key: LUMAAI_API_KEY; needs an uploader)."
    model = "photon-1"
    asset_key = "image"
    create_path = "/generations/image"
    download_content_types = IMAGE_CONTENT_TYPES
    max_download_mb = 50.0
    default_prices: ClassVar[dict[str, float]] = {"photon-1": 0.015, "photon-flash-1": 0.004}
    pricing_source = "unconfirmed: no first-party Photon API price found (2026-11); set [backends.luma-image.prices]"

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE],
                            aspect_ratios=["16:9", "9:16", "1:1"],
                            resolutions=["720p", "1080p"], fps=[24], max_prompt_chars=5000,
                            max_references=LIMITS["character"] + LIMITS["style"] + LIMITS["image"],
                            max_concurrency=self.concurrency, costs_money=True, local=False)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        model = request.model or self.model or "photon-1"
        amount = self.prices.get(model, self.prices.get("photon-1", 0.015))
        return CostEstimate(amount=amount, unit="USD", source=self.pricing_source,
                            detail=f"${amount:g} per image ({model}), unconfirmed")

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        if request.mode is GenerationMode.REFERENCE_TO_IMAGE and not request.references:
            raise InvalidInputError("reference-to-image needs at least one reference image")
        warnings: list[str] = []
        kept, counts = [], {"character": 0, "style": 0, "image": 0}
        for ref in request.references:
            slot = ref.role if ref.role in ("character", "style") else "image"
            if counts[slot] < LIMITS[slot]:
                counts[slot] += 1
                kept.append(ref)
        if len(kept) < len(request.references):
            label = f"shot {request.shot_index}: " if request.shot_index is not None else ""
            warnings.append(f"{label}luma-image takes {LIMITS['character']} character, {LIMITS['style']} style and "
                            f"{LIMITS['image']} other references; {len(request.references) - len(kept)} dropped")
            request = request.model_copy(update={"references": kept})
        ready, more = super().prepare(request)
        return ready, warnings + more

    def body(self, request: GenerationRequest, urls: dict[str, str] | None = None) -> dict:
        url = (urls or {}).get
        body: dict = {"generation_type": "image", "model": request.model or self.model, "prompt": request.prompt,
                      "aspect_ratio": request.aspect_ratio, "format": "png"}
        characters = [url(r.path, "upload:character") for r in request.references if r.role == "character"]
        styles = [r for r in request.references if r.role == "style"]
        others = [r for r in request.references if r.role not in ("character", "style")]
        if characters:
            body["character_ref"] = {"identity0": {"images": characters}}
        if styles:
            body["style_ref"] = [{"url": url(r.path, "upload:style"), "weight": r.weight if r.weight is not None
                                  else WEIGHTS["style"]} for r in styles]
        if others:
            body["image_ref"] = [{"url": url(r.path, "upload:image"), "weight": r.weight if r.weight is not None
                                  else WEIGHTS["image"]} for r in others]
        return body


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(LumaImageBackend)
