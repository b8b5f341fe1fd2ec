"""Runway ``text_to_image`` (Gen-4 Image): storyboard keyframes, with cast references cited as ``@Tag``.

Protocol (runwayml SDK ``text_to_image_create_params``; same auth, version
header, task polling and failure codes as :mod:`shotsmith.backends.runway`):
``POST /v1/text_to_image`` with ``model`` (``gen4_image``; ``gen4_image_turbo``
needs 1-3 references), ``promptText`` (≤1000 UTF-16 units), ``ratio`` from a
fixed list of pixel sizes, ``seed`` and ``referenceImages: [{uri, tag}]`` (≤3)
returns ``{"id"}``; the finished task's ``output`` holds image URLs.

Why tags are rewritten: Runway only binds a reference to the prompt through
``@Tag`` (3-16 of ``[A-Za-z0-9_]``, a letter first). Each reference gets a
valid tag from its own tag or file name, and the prompt is made to cite it:
an ``@name`` already there is normalised, a bare mention of the name becomes
``@Tag``, and a reference the prompt never mentions is added by role
("featuring @Mara", "in @Harbour", "in the style of @Look").

Reference images travel as Runway uploads (``POST /v1/uploads`` for an
ephemeral upload, a multipart POST of the file to the returned ``uploadUrl``,
then the ``runway://`` URI), or, with ``references = "data_uri"``, inline as
data URIs (≤5 MB). The upload host gets no API key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import shotsmith
from shotsmith.backends.base import (Capabilities, CostEstimate, GenerationMode, GenerationRequest, MediaKind,
                                     Reference)
from shotsmith.backends.http import ApiClient
from shotsmith.backends.remote import IMAGE_CONTENT_TYPES, RemoteTask, image_bytes, image_data_uri, json_body, reference_tags
from shotsmith.backends.runway import RunwayBackend
from shotsmith.errors import InvalidInputError

#: Per model: the fewest and most references a request carries.
MODELS: dict[str, tuple[int, int]] = {"gen4_image": (0, 3), "gen4_image_turbo": (1, 3)}
#: (aspect ratio, resolution) -> one of Runway's allowed pixel ratios.
RATIOS: dict[tuple[str, str], str] = {
    ("16:9", "720p"): "1280:720", ("16:9", "1080p"): "1920:1080",
    ("9:16", "720p"): "720:1280", ("9:16", "1080p"): "1080:1920",
    ("1:1", "720p"): "720:720", ("1:1", "1080p"): "1080:1080",
}
DATA_URI_LIMIT = 5_000_000
ROLE_PHRASE = {"character": "featuring", "product": "with", "location": "in", "style": "in the style of"}


def cite(prompt: str, references: list[Reference], tags: list[str]) -> str:
    """The prompt with every reference cited as ``@Tag`` exactly once at least."""
    extra: list[str] = []
    for ref, tag in zip(references, tags):
        names = [n for n in (ref.tag, Path(ref.path).stem) if n]
        mention = re.compile(r"@(" + "|".join(re.escape(n) for n in [tag, *names]) + r")\b", re.IGNORECASE)
        if mention.search(prompt):
            prompt = mention.sub(f"@{tag}", prompt)
            continue
        bare = re.compile(r"(?<![@\w])(" + "|".join(re.escape(n) for n in names) + r")\b", re.IGNORECASE) if names else None
        if bare is not None and bare.search(prompt):
            prompt = bare.sub(f"@{tag}", prompt, count=1)
            continue
        extra.append(f"{ROLE_PHRASE[ref.role]} @{tag}")
    return f"{prompt.rstrip().rstrip('.')}, {', '.join(extra)}" if extra else prompt


class RunwayImageBackend(RunwayBackend):
    name = "runway-image"
    description = "Runway Gen-4 Image keyframes with up to 3 @tagged references (key: RUNWAYML_API_SECRET)."
    model = "gen4_image"
    download_content_types = IMAGE_CONTENT_TYPES
    max_download_mb = 50.0
    #: Credits per image by model and resolution (1 credit = $0.01).
    default_prices: ClassVar[dict[str, float]] = {"gen4_image_720p": 5.0, "gen4_image_1080p": 8.0,
                                                  "gen4_image_turbo_720p": 2.0, "gen4_image_turbo_1080p": 2.0}
    pricing_source = "Runway API pricing page (docs.dev.runwayml.com/guides/pricing), credits per image as of 2026-11"

    def extra_options(self) -> tuple[str, ...]:
        return (*super().extra_options(), "references")

    def capabilities(self) -> Capabilities:
        low, high = MODELS.get(self.model or "", MODELS["gen4_image"])
        modes = [GenerationMode.REFERENCE_TO_IMAGE] if low else [GenerationMode.TEXT_TO_IMAGE,
                                                                   GenerationMode.REFERENCE_TO_IMAGE]
        return Capabilities(modes=modes, aspect_ratios=["16:9", "9:16", "1:1"], resolutions=["720p", "1080p"], fps=[24],
                            max_prompt_chars=1000, prompt_length_unit="utf16", supports_seed=True,
                            max_references=high, max_concurrency=self.concurrency, costs_money=True, local=False)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        model = request.model or self.model or "gen4_image"
        key = f"{model}_{request.resolution}"
        rate = self.prices.get(key, self.prices.get("gen4_image_1080p", 8.0))
        return CostEstimate(amount=rate, unit="credits", source=self.pricing_source,
                            detail=f"{rate:g} credits per image ({model}, {request.resolution}); "
                                   "override with [backends.runway-image.prices]")

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        ready, warnings = super().prepare(request)
        model = ready.model or self.model or "gen4_image"
        low, _ = MODELS.get(model, MODELS["gen4_image"])  # references beyond the most: dropped by super(), with a warning
        if len(ready.references) < low:
            raise InvalidInputError(f"{model} needs at least {low} reference image", hint="use model gen4_image")
        if ready.mode is GenerationMode.REFERENCE_TO_IMAGE and not ready.references:
            raise InvalidInputError("reference-to-image needs at least one reference image")
        for ref in ready.references:
            image_bytes(ref.path)  # a missing or non-image reference is refused before anything is spent
        body = self.body(ready, uris=["runway://check"] * len(ready.references))[1]
        if len(body["promptText"].encode("utf-16-le")) // 2 > 1000:
            raise InvalidInputError("the prompt with its @tags is over Runway's 1000 characters",
                                    hint="shorten the prompt")
        return ready, warnings

    def body(self, request: GenerationRequest, uris: list[str] | None = None) -> tuple[str, dict]:  # type: ignore[override]
        """The endpoint and JSON body; ``uris`` are the references' uploaded URIs (data URIs when omitted)."""
        model = request.model or self.model or "gen4_image"
        refs = request.references[:MODELS.get(model, MODELS["gen4_image"])[1]]
        tags = reference_tags([r.tag or Path(r.path).stem for r in refs])
        ratio = RATIOS.get((request.aspect_ratio, request.resolution)) or RATIOS[(request.aspect_ratio, "720p")]
        body: dict = {"model": model, "promptText": cite(request.prompt, refs, tags), "ratio": ratio}
        if request.seed is not None:
            body["seed"] = request.seed
        if refs:
            uris = uris or [image_data_uri(r.path, max_bytes=DATA_URI_LIMIT) for r in refs]
            body["referenceImages"] = [{"uri": uri, "tag": tag} for uri, tag in zip(uris, tags)]
        return "/v1/text_to_image", body

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        uris = None
        if request.references and self.options.get("references", "upload") == "upload":
            uris = [await self.upload(api, ref.path) for ref in request.references[:3]]
        path, body = self.body(request, uris)
        response = await api.request("POST", self.url(path), json=body)
        return RemoteTask(str(json_body(response)["id"]), {"kind": MediaKind.IMAGE.value})


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(RunwayImageBackend)
