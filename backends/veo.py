"""Google Veo through the Gemini API (generativelanguage.googleapis.com/v1beta).

Takes the place of OpenAI's Sora, whose video API was shut down on 2026-09-24.

Protocol: header ``x-goog-api-key`` (``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``);
``POST models/{model}:predictLongRunning`` with ``instances[0] = {prompt,
image: {bytesBase64Encoded, mimeType}}`` and ``parameters = {sampleCount,
durationSeconds, aspectRatio, resolution, negativePrompt}`` returns a
long-running operation ``{name}``; ``GET {name}`` until ``done``; the video is
at ``response.generateVideoResponse.generatedSamples[0].video.uri`` and a
safety refusal shows as ``raiMediaFilteredCount`` / ``raiMediaFilteredReasons``
with no sample. Veo 3.1 also takes ``instances[0].lastFrame`` (same shape as
``image``) and up to three ``referenceImages`` of type ``ASSET`` (``STYLE`` is
Vertex-only; references are sent only without a start frame, the combination
being unconfirmed); other models get neither. The video URI is on the API host and needs the key, so (and
only then) the download carries it. Seeds are Vertex-only and the Gemini API
offers no documented cancel, so a cancelled shot stays resumable.

Extending a clip (``video-extend``, Veo 3.1): the same ``predictLongRunning``
with ``instances[0].video = {"uri": ...}``, the URI of the finished operation's
video (read from that operation right before the create); it adds seven
seconds at 720p, is priced like seven seconds of a create, and returns the
whole, longer video.

The default model is Veo 3.1 (``veo-3.1-generate-preview``, the Gemini API's
current Veo); Veo 3.x returns clips with generated audio (on the Gemini API it
cannot be switched off), which the capabilities declare; Veo 2 is silent.
"""

from __future__ import annotations

from typing import ClassVar

import httpx

import shotsmith
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest
from shotsmith.backends.errors import AuthError, ModerationError, RemoteError
from shotsmith.backends.http import ApiClient, parse_retry_after
from shotsmith.backends.remote import RemoteBackend, RemoteStatus, RemoteTask, error_body, image_base64, json_body

MODELS: dict[str, dict] = {
    "veo-2.0-generate-001": {"durations": [5, 6, 7, 8], "resolutions": ["720p"], "audio": False},
    "veo-3.0-generate-001": {"durations": [4, 6, 8], "resolutions": ["720p", "1080p"], "audio": True},
    "veo-3.0-fast-generate-001": {"durations": [4, 6, 8], "resolutions": ["720p", "1080p"], "audio": True},
    "veo-3.1-generate-preview": {"durations": [4, 6, 8], "resolutions": ["720p", "1080p"], "audio": True,
                                 "last_frame": True, "references": 3, "extend": 7},
    "veo-3.1-fast-generate-preview": {"durations": [4, 6, 8], "resolutions": ["720p", "1080p"], "audio": True,
                                      "last_frame": True, "references": 3, "extend": 7},
}
DEFAULT_MODEL = "veo-3.1-generate-preview"
MODERATION_WORDS = ("safety", "violat", "responsible ai", "sensitive", "usage guidelines", "blocked")


class VeoBackend(RemoteBackend):
    name = "veo"
    description = "Google Veo through the Gemini API (key: GEMINI_API_KEY); replaces the retired Sora API."
    model = DEFAULT_MODEL
    key_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    #: The same provider's image backend, which makes this backend's keyframes by default (storyboard-first).
    image_backend: ClassVar[str | None] = "gemini-image"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta"
    default_poll_interval_s = 10.0
    default_concurrency = 2
    #: USD per second of output by model.
    default_prices: ClassVar[dict[str, float]] = {"veo-2.0-generate-001": 0.35, "veo-3.0-generate-001": 0.40,
                                                  "veo-3.0-fast-generate-001": 0.15, "veo-3.1-generate-preview": 0.40,
                                                  "veo-3.1-fast-generate-preview": 0.15}
    pricing_source = "Gemini API pricing (ai.google.dev/gemini-api/docs/pricing), USD per second as of 2026-11"

    def _spec(self) -> dict:
        return MODELS.get(self.model or "", MODELS[DEFAULT_MODEL])

    def capabilities(self) -> Capabilities:
        spec = self._spec()
        modes = [GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO]
        if spec.get("extend"):
            modes.append(GenerationMode.VIDEO_EXTEND)
        return Capabilities(modes=modes, extension_s=[float(spec["extend"])] if spec.get("extend") else None,
                            durations_s=[float(d) for d in spec["durations"]], min_duration_s=min(spec["durations"]),
                            max_duration_s=max(spec["durations"]), aspect_ratios=["16:9", "9:16"],
                            resolutions=spec["resolutions"], fps=[24], max_prompt_chars=4000, supports_seed=False,
                            supports_negative_prompt=True, supports_camera_control=False,
                            generates_audio=bool(spec.get("audio")), supports_end_image=bool(spec.get("last_frame")),
                            max_references=int(spec.get("references", 0)),
                            max_concurrency=self.concurrency, costs_money=True, local=False)

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        model = request.model or self.model or ""
        rate = self.prices.get(model, 0.40)
        return CostEstimate(amount=round(rate * request.duration_s, 3), unit="USD", source=self.pricing_source,
                            detail=f"estimate: ${rate:g}/s for {model}; override with [backends.veo.prices]")

    def extension_source(self, task_id: str, data: dict) -> str | None:
        return task_id or None  # the operation's name: its video's URI is read from it when extending

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        ready, warnings = super().prepare(request)
        if ready.mode is GenerationMode.VIDEO_EXTEND and ready.resolution != "720p":
            label = f"shot {ready.shot_index}: " if ready.shot_index is not None else ""
            warnings.append(f"{label}veo extends videos at 720p only; using 720p")
            ready = ready.model_copy(update={"resolution": "720p"})
        if ready.references and ready.image:
            # Google documents reference images for generating from a prompt; with a start frame (which
            # already shows the cast) the pair is unconfirmed, so only the frame is sent.
            label = f"shot {ready.shot_index}: " if ready.shot_index is not None else ""
            warnings.append(f"{label}veo takes reference images without a start frame only; "
                            f"the start frame is sent, {len(ready.references)} reference image(s) are not")
            ready = ready.model_copy(update={"references": []})
        return ready, warnings

    def auth_headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key().get_secret_value()}

    def download_headers(self, url: str) -> dict[str, str]:
        return self.auth_headers() if self.same_origin(url) else {}

    def classify(self, response: httpx.Response) -> RemoteError:
        status = response.status_code
        body = error_body(response)
        error = body.get("error")
        error = error if isinstance(error, dict) else {"message": error} if error else {}
        message = str(error.get("message") or f"HTTP {status}")
        if status in (401, 403) or error.get("status") in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            return AuthError(f"veo: the Gemini API refused the key (HTTP {status})", status=status,
                             hint="check GEMINI_API_KEY")
        if status == 400 and any(w in message.lower() for w in MODERATION_WORDS):
            return ModerationError(f"veo refused the shot on content grounds: {message}", status=status)
        return RemoteError(f"veo: {message} (HTTP {status}{' ' + str(error['status']) if error.get('status') else ''})",
                           retryable=status in (408, 429, 500, 502, 503, 504), status=status,
                           code=error.get("status"), retry_after_s=parse_retry_after(response.headers))

    def body(self, request: GenerationRequest) -> dict:
        spec = MODELS.get(request.model or self.model or "", self._spec())
        instance: dict = {"prompt": request.prompt}
        if request.mode is GenerationMode.IMAGE_TO_VIDEO:
            assert request.image
            data, mime = image_base64(request.image, max_bytes=20_000_000)
            instance["image"] = {"bytesBase64Encoded": data, "mimeType": mime}
            if request.end_image and spec.get("last_frame"):
                data, mime = image_base64(request.end_image, max_bytes=20_000_000)
                instance["lastFrame"] = {"bytesBase64Encoded": data, "mimeType": mime}
        if request.references and spec.get("references"):
            instance["referenceImages"] = [
                {"image": dict(zip(("bytesBase64Encoded", "mimeType"), image_base64(ref.path, max_bytes=20_000_000))),
                 "referenceType": "ASSET"} for ref in request.references[:spec["references"]]]
        parameters: dict = {"sampleCount": 1, "durationSeconds": int(round(request.duration_s)),
                            "aspectRatio": request.aspect_ratio}
        if len(self._spec()["resolutions"]) > 1:
            parameters["resolution"] = request.resolution
        if request.negative_prompt:
            parameters["negativePrompt"] = request.negative_prompt
        return {"instances": [instance], "parameters": parameters}

    def extend_body(self, request: GenerationRequest, video_uri: str) -> dict:
        parameters: dict = {"sampleCount": 1, "aspectRatio": request.aspect_ratio, "resolution": "720p"}
        if request.negative_prompt:
            parameters["negativePrompt"] = request.negative_prompt
        return {"instances": [{"prompt": request.prompt, "video": {"uri": video_uri}}], "parameters": parameters}

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        model = request.model or self.model
        if request.mode is GenerationMode.VIDEO_EXTEND:
            source = await self.poll(api, RemoteTask(str(request.extend_from)))  # free: reads the finished one
            if source.state != "succeeded" or not source.video_url:
                raise RemoteError(f"veo: operation {request.extend_from} has no finished video to extend",
                                  retryable=False)
            body = self.extend_body(request, source.video_url)
        else:
            body = self.body(request)
        data = json_body(await api.request("POST", self.url(f"models/{model}:predictLongRunning"), json=body))
        return RemoteTask(str(data["name"]))

    async def poll(self, api: ApiClient, task: RemoteTask) -> RemoteStatus:
        data = json_body(await api.request("GET", self.url(task.id)))
        if not data.get("done"):
            return RemoteStatus("running" if data.get("metadata") else "queued")
        if data.get("error"):
            message = str(data["error"].get("message") or "the operation failed")
            if any(w in message.lower() for w in MODERATION_WORDS):
                return RemoteStatus("failed", error=ModerationError(f"veo refused the shot on content grounds: {message}"))
            return RemoteStatus("failed", error=RemoteError(f"veo: generation failed: {message}"))
        result = ((data.get("response") or {}).get("generateVideoResponse")) or {}
        samples = result.get("generatedSamples") or []
        if not samples:
            reasons = "; ".join(result.get("raiMediaFilteredReasons") or []) or "no video was returned"
            if result.get("raiMediaFilteredCount"):
                return RemoteStatus("failed", error=ModerationError(f"veo filtered the video on safety grounds: {reasons}"))
            return RemoteStatus("failed", error=RemoteError(f"veo: {reasons}"))
        return RemoteStatus("succeeded", percent=100, video_url=(samples[0].get("video") or {}).get("uri"))


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(VeoBackend)
