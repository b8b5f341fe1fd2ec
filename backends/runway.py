"""Runway (api.dev.runwayml.com): text- and image-to-video through its task API.

Protocol: ``Authorization: Bearer`` plus ``X-Runway-Version: 2024-11-06`` on
every request; ``POST /v1/text_to_video`` or ``/v1/image_to_video`` with
camelCase fields returns ``{"id"}``; ``GET /v1/tasks/{id}`` reports PENDING,
THROTTLED, RUNNING (``progress`` 0-1), SUCCEEDED (``output`` URLs, valid a day
or two: fetch the task again for fresh ones), FAILED (``failure``,
``failureCode``; ``SAFETY.*`` is moderation) or CANCELLED;
``DELETE /v1/tasks/{id}`` cancels. Runway asks clients to poll no more often
than every 5 seconds.

Per the API reference: ``promptText`` is limited to 1000 UTF-16 code units
(an emoji outside the Basic Multilingual Plane counts twice), so the local
check counts the same way; ``seed`` exists on the Gen-4 models but not on
``veo3.1``, so it is only sent where the model has one. A last frame
(``promptImage`` as ``[{uri, position: first}, {uri, position: last}]``) is
only taken by ``veo3.1`` (runwayml 5.13.0); Gen-4.5 and Gen-4 Turbo take the
first frame only. Runway has no way to
list tasks or to make a create idempotent: a create whose answer is lost stops
the shot (see :mod:`shotsmith.backends.jobs`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import httpx

import shotsmith
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest
from shotsmith.backends.errors import ModerationError, RemoteError
from shotsmith.backends.http import ApiClient
from shotsmith.backends.remote import (RemoteBackend, RemoteStatus, RemoteTask, error_body, image_bytes, image_data_uri,
                                       json_body, side_request)

API_VERSION = "2024-11-06"
#: Runway's limit for an image sent inline as a data URI; larger frames go as uploads.
DATA_URI_LIMIT = 5_000_000

#: Per model: modes, durations, our aspect ratio -> Runway's pixel ratio string.
MODELS: dict[str, dict] = {
    "gen4.5": {"modes": [GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO],
               "durations": [2, 3, 4, 5, 6, 7, 8, 9, 10], "ratios": {"16:9": "1280:720", "9:16": "720:1280"},
               "seed": True},
    "gen4_turbo": {"modes": [GenerationMode.IMAGE_TO_VIDEO], "durations": [5, 10],
                   "ratios": {"16:9": "1280:720", "9:16": "720:1280", "1:1": "960:960"}, "seed": True},
    "veo3.1": {"modes": [GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO], "durations": [4, 6, 8],
               "ratios": {"16:9": "1280:720", "9:16": "720:1280"}, "seed": False, "last_frame": True},
}


class RunwayBackend(RemoteBackend):
    name = "runway"
    description = "Runway Gen-4.5 / Gen-4 Turbo / Veo 3.1 through Runway's API (key: RUNWAYML_API_SECRET)."
    model = "gen4.5"
    key_env = ("RUNWAYML_API_SECRET",)
    #: The same provider's image backend, which makes this backend's keyframes by default (storyboard-first).
    image_backend: ClassVar[str | None] = "runway-image"
    default_base_url = "https://api.dev.runwayml.com"
    default_poll_interval_s = 5.0
    default_concurrency = 2
    #: Credits per second of output (1 credit = $0.01).
    default_prices: ClassVar[dict[str, float]] = {"gen4.5": 12.0, "gen4_turbo": 5.0, "veo3.1": 40.0}
    pricing_source = "Runway API pricing page (docs.dev.runwayml.com/guides/pricing), credits per second as of 2026-11"

    def _spec(self) -> dict:
        return MODELS.get(self.model or "", MODELS["gen4.5"])

    def capabilities(self) -> Capabilities:
        spec = self._spec()
        return Capabilities(modes=spec["modes"], durations_s=[float(d) for d in spec["durations"]],
                            min_duration_s=min(spec["durations"]), max_duration_s=max(spec["durations"]),
                            aspect_ratios=list(spec["ratios"]), resolutions=["720p"], fps=[24], max_prompt_chars=1000,
                            prompt_length_unit="utf16", supports_seed=bool(spec.get("seed")), supports_negative_prompt=False, supports_camera_control=False,
                            supports_end_image=bool(spec.get("last_frame")),
                            max_concurrency=self.concurrency, costs_money=True, local=False)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        model = request.model or self.model or "gen4.5"
        rate = self.prices.get(model, self.prices.get("gen4.5", 12.0))
        return CostEstimate(amount=round(rate * request.duration_s, 2), unit="credits", source=self.pricing_source,
                            detail=f"estimate: {rate:g} credits/s x {request.duration_s:g}s ({model}); "
                                   "override with [backends.runway.prices]")

    def default_headers(self) -> dict[str, str]:
        return {"X-Runway-Version": API_VERSION}

    def classify(self, response: httpx.Response) -> RemoteError:
        error = super().classify(response)
        body = error_body(response)
        detail = body.get("error")
        if detail and not isinstance(error, ModerationError) and response.status_code not in (401, 403):
            error.message = f"runway: {detail} (HTTP {response.status_code})"
        return error

    def body(self, request: GenerationRequest, uris: dict[str, str] | None = None) -> tuple[str, dict]:
        """The endpoint and JSON body for a request (public so tests can check field names).

        ``uris`` maps frames already uploaded to their ``runway://`` URIs; the others go as data URIs.
        """
        def frame(path: str) -> str:
            return (uris or {}).get(path) or image_data_uri(path, max_bytes=DATA_URI_LIMIT)

        model = request.model or self.model or "gen4.5"
        spec = MODELS.get(model, MODELS["gen4.5"])
        body: dict = {"model": model, "promptText": request.prompt, "ratio": spec["ratios"][request.aspect_ratio],
                      "duration": int(round(request.duration_s))}
        if request.seed is not None and spec.get("seed"):
            body["seed"] = request.seed
        if request.mode is GenerationMode.IMAGE_TO_VIDEO:
            assert request.image
            first = frame(request.image)
            if request.end_image and spec.get("last_frame"):
                # Only veo3.1 takes a last frame (position "last", after the first; never alone).
                body["promptImage"] = [{"uri": first, "position": "first"},
                                       {"uri": frame(request.end_image), "position": "last"}]
            else:
                body["promptImage"] = first
            return "/v1/image_to_video", body
        return "/v1/text_to_video", body

    def extra_options(self) -> tuple[str, ...]:
        return ("images",)

    async def upload(self, api: ApiClient, path: str) -> str:
        """An ephemeral Runway upload (``POST /v1/uploads``, then a multipart POST of the file to the
        returned ``uploadUrl``, which gets no API key); returns its ``runway://`` URI."""
        data, mime = image_bytes(path)
        name = Path(path).name
        grant = json_body(await side_request(api, "POST", self.url("/v1/uploads"), what=f"requesting an upload for {name}",
                                             headers={**self.auth_headers(), **self.default_headers()},
                                             json={"filename": name, "type": "ephemeral"}, classify=self.classify))
        await side_request(api, "POST", str(grant["uploadUrl"]), what=f"uploading {name}",
                           data={k: str(v) for k, v in (grant.get("fields") or {}).items()},
                           files={"file": (name, data, mime)})
        return str(grant["runwayUri"])

    async def frame_uris(self, api: ApiClient, request: GenerationRequest) -> dict[str, str]:
        """Uploaded URIs for frames sent as Runway uploads: those over the 5 MB data-URI limit
        (``images = "auto"``, the default), every one (``"upload"``) or none (``"data_uri"``)."""
        how = self.options.get("images", "auto")
        frames = [p for p in (request.image, request.end_image) if p] if request.mode is GenerationMode.IMAGE_TO_VIDEO else []
        return {p: await self.upload(api, p) for p in dict.fromkeys(frames)
                if how == "upload" or (how == "auto" and Path(p).stat().st_size > DATA_URI_LIMIT)}

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        uris = await self.frame_uris(api, request)
        path, body = self.body(request, uris) if uris else self.body(request)
        response = await api.request("POST", self.url(path), json=body)
        return RemoteTask(str(json_body(response)["id"]))

    async def poll(self, api: ApiClient, task: RemoteTask) -> RemoteStatus:
        data = json_body(await api.request("GET", self.url(f"/v1/tasks/{task.id}")))
        status = data.get("status")
        if status in ("PENDING", "THROTTLED"):
            return RemoteStatus("queued", message=status.lower())
        if status == "RUNNING":
            progress = data.get("progress")
            return RemoteStatus("running", percent=round(float(progress) * 100, 1) if progress is not None else None)
        if status == "SUCCEEDED":
            output = data.get("output") or []
            return RemoteStatus("succeeded", percent=100, video_url=output[0] if output else None)
        if status == "CANCELLED":
            return RemoteStatus("cancelled")
        if status == "FAILED":
            code = str(data.get("failureCode") or "")
            reason = data.get("failure") or "the task failed"
            if code.startswith("SAFETY"):
                return RemoteStatus("failed", error=ModerationError(f"runway refused the shot on content grounds: {reason}",
                                                                    code=code))
            return RemoteStatus("failed", error=RemoteError(f"runway: task failed: {reason}{f' ({code})' if code else ''}",
                                                            code=code or None))
        raise RemoteError(f"runway: unknown task status {status!r}", retryable=True)

    async def cancel(self, api: ApiClient, task: RemoteTask) -> bool:
        await api.request("DELETE", self.url(f"/v1/tasks/{task.id}"))
        return True


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(RunwayBackend)
