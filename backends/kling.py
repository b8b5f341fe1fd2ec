"""Kling AI: text- and image-to-video, authenticated with a JWT signed from two keys.

Protocol: a JWT (HS256; ``iss`` = access key, ``exp`` = now + 30 min, ``nbf`` =
now - 5 s) signed with the secret key goes in ``Authorization: Bearer``; it is
re-signed before it expires and whenever the API answers code 1004 (token
expired). ``POST /v1/videos/text2video`` or ``/image2video`` with snake_case
fields (``duration`` is the *string* "5" or "10"; images are raw base64 without
a ``data:`` prefix); ``GET /v1/videos/{kind}/{task_id}``. Every answer is an
envelope ``{code, message, request_id, data}`` with code 0 for success.

The host moved to regional domains (``api-singapore.klingai.com`` outside
China), so ``base_url`` is an option; ``auth_mode = "api_key"`` sends a single
``KLING_API_KEY`` as the bearer token for accounts issued one (unconfirmed
upstream, hence optional). Kling has no cancel endpoint: a cancelled shot's
task stays recorded so a rerun resumes it rather than paying twice.

Creates carry ``external_task_id`` (a unique id the engine saved before
sending), and the single-task GET accepts it in place of ``task_id``: when a
create's answer is lost, :meth:`KlingBackend.find_created` looks the task up
by it and the engine adopts it, or sends the create again when Kling shows
nothing under that id.

Models (Kling's API reference): text-to-video is offered by ``kling-v1``,
``kling-v1-6``, ``kling-v2-master``, ``kling-v2-1-master``,
``kling-v2-5-turbo`` and ``kling-v2-6``; image-to-video also by ``kling-v1-5``
and ``kling-v2-1``. Camera control is honoured only by ``kling-v1``
(text-to-video, std, 5 s) and ``kling-v1-5`` (image-to-video, pro, 5 s); for
other models a camera move is dropped with a warning instead of being sent
to be ignored.

Last frames: ``image_tail`` (raw base64, like ``image``) on ``kling-v1``,
``-v1-5``, ``-v1-6``, ``-v2-1``, ``-v2-5-turbo`` and ``-v2-6``, in pro mode
(``kling-v1`` also std at 5 s), never with camera control; the master models
take none, and the end frame is dropped with a warning. Reference images are
not sent: Kling takes them only through ``/v1/videos/multi-image2video``
(``kling-v1-6`` only, up to four ``image_list`` entries and no start frame),
which would be a reference-to-video mode the backend contract does not have;
a cast's references reach Kling's shots through their keyframes instead.

Extending a clip (``video-extend``, models ``kling-v1``, ``-v1-5``, ``-v1-6``):
``POST /v1/videos/video-extend`` with ``video_id`` (the *video* id of a finished
task, read from that task's ``task_result.videos[0].id`` right before the
create), ``prompt`` and optionally ``negative_prompt``/``cfg_scale``; poll
``GET /v1/videos/video-extend/{task_id}``. One extension adds about five
seconds and is priced like a five-second create; the result is the whole,
longer video. The endpoint documents no ``external_task_id``, so a lost
extend create cannot be looked up: the shot stops as "may have been created"
rather than paying twice.
"""

from __future__ import annotations

import time
from typing import ClassVar

import httpx
import jwt
from pydantic import SecretStr

import shotsmith
from shotsmith.backends.base import Capabilities, CostEstimate, GenerationMode, GenerationRequest
from shotsmith.backends.errors import AuthError, ModerationError, RemoteError
from shotsmith.backends.http import ApiClient, parse_retry_after
from shotsmith.backends.remote import (RemoteBackend, RemoteStatus, RemoteTask, create_token, error_body, image_base64,
                                       json_body)
from shotsmith.config import secret
from shotsmith.formats import CameraMove

TOKEN_LIFETIME_S = 1800
#: Our camera moves -> Kling "simple" camera control (exactly one non-zero axis, -10..10).
CAMERA = {CameraMove.ZOOM_IN: ("zoom", 5), CameraMove.ZOOM_OUT: ("zoom", -5), CameraMove.PAN_LEFT: ("pan", -5),
          CameraMove.PAN_RIGHT: ("pan", 5), CameraMove.TILT_UP: ("tilt", 5), CameraMove.TILT_DOWN: ("tilt", -5)}
RETRYABLE_CODES = {1302, 1303, 5000, 5001, 5002}
TEXT_TO_VIDEO_MODELS = {"kling-v1", "kling-v1-6", "kling-v2-master", "kling-v2-1-master", "kling-v2-5-turbo",
                        "kling-v2-6"}
IMAGE_TO_VIDEO_MODELS = TEXT_TO_VIDEO_MODELS | {"kling-v1-5", "kling-v2-1"}
#: model -> (kind, mode, duration) where camera_control is honoured (Kling's capability map).
#: Models that take a last frame (``image_tail``), in pro mode; kling-v1 also in std at 5 s (copies of the docs).
TAIL_MODELS = {"kling-v1", "kling-v1-5", "kling-v1-6", "kling-v2-1", "kling-v2-5-turbo", "kling-v2-6"}
CAMERA_CONTROL = {"kling-v1": ("text2video", "std", "5"), "kling-v1-5": ("image2video", "pro", "5")}
#: Models whose videos ``/v1/videos/video-extend`` extends (Kling's capability map).
EXTEND_MODELS = {"kling-v1", "kling-v1-5", "kling-v1-6"}
#: What the create endpoint of each video kind is called in a task's ``kind``.
KINDS = ("text2video", "image2video", "video-extend")


class KlingBackend(RemoteBackend):
    name = "kling"
    description = "Kling AI video (JWT from KLING_ACCESS_KEY + KLING_SECRET_KEY); 720p std or 1080p pro mode."
    model = "kling-v2-5-turbo"
    can_find_created = True
    key_env = ("KLING_ACCESS_KEY",)
    default_base_url = "https://api-singapore.klingai.com"
    default_poll_interval_s = 5.0
    default_concurrency = 3
    #: USD per 5 seconds by mode.
    default_prices: ClassVar[dict[str, float]] = {"std": 0.28, "pro": 0.49}
    #: No Kling image backend yet (Kling's own image API is not built): keyframes come from elsewhere.
    image_backend: ClassVar[str | None] = None
    pricing_source = "Kling AI API pricing (klingai.com/global/dev/pricing), USD per 5 s by mode as of 2026-11"

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.auth_mode = str(self.options.get("auth_mode", "jwt"))
        self._token: SecretStr | None = None
        self._token_expires = 0.0

    def extra_options(self) -> tuple[str, ...]:
        return ("auth_mode",)

    def capabilities(self) -> Capabilities:
        model = self.model or ""
        modes = [m for m, names in ((GenerationMode.TEXT_TO_VIDEO, TEXT_TO_VIDEO_MODELS),
                                    (GenerationMode.IMAGE_TO_VIDEO, IMAGE_TO_VIDEO_MODELS),
                                    (GenerationMode.VIDEO_EXTEND, EXTEND_MODELS)) if model in names]
        return Capabilities(modes=modes or [GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO],
                            durations_s=[5.0, 10.0], extension_s=[5.0],
                            min_duration_s=5, max_duration_s=10, aspect_ratios=["16:9", "9:16", "1:1"],
                            resolutions=["720p", "1080p"], fps=[24, 30], max_prompt_chars=2500, supports_seed=False,
                            supports_negative_prompt=True, supports_camera_control=model in CAMERA_CONTROL,
                            supports_end_image=model in TAIL_MODELS,
                            max_concurrency=self.concurrency, costs_money=True, local=False)

    def camera_honoured(self, request: GenerationRequest) -> bool:
        """Whether Kling honours camera_control for this request's model, kind, mode and duration."""
        where = CAMERA_CONTROL.get(request.model or self.model or "")
        kind = "image2video" if request.mode is GenerationMode.IMAGE_TO_VIDEO else "text2video"
        return where == (kind, self._mode(request), str(int(round(request.duration_s))))

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        ready, warnings = super().prepare(request)
        label = f"shot {ready.shot_index}: " if ready.shot_index is not None else ""
        model = ready.model or self.model or ""
        if ready.end_image and ready.mode is GenerationMode.IMAGE_TO_VIDEO:
            if model not in TAIL_MODELS:
                warnings.append(f"{label}kling {model} takes no last frame; only the first frame is sent")
                ready = ready.model_copy(update={"end_image": None})
            else:
                if ready.resolution != "1080p" and not (model == "kling-v1" and round(ready.duration_s) == 5):
                    warnings.append(f"{label}kling takes a last frame in pro mode only; using 1080p (pro)")
                    ready = ready.model_copy(update={"resolution": "1080p"})
                if ready.camera in CAMERA:
                    warnings.append(f"{label}kling cannot combine a last frame with camera control; "
                                    "the camera move is left to the prompt")
                    ready = ready.model_copy(update={"camera": CameraMove.STATIC})
        if ready.camera in CAMERA and not self.camera_honoured(ready):
            label = f"shot {ready.shot_index}: " if ready.shot_index is not None else ""
            model = ready.model or self.model
            warnings.append(f"{label}kling {model} does not honour camera control here (only kling-v1 text-to-video "
                            f"std 5 s and kling-v1-5 image-to-video pro 5 s do); the camera move is left to the prompt")
            ready = ready.model_copy(update={"camera": CameraMove.STATIC})
        return ready, warnings

    def estimate_cost(self, request: GenerationRequest) -> CostEstimate:
        mode = self._mode(request)
        rate = self.prices.get(mode, 0.28)
        return CostEstimate(amount=round(rate * request.duration_s / 5, 3), unit="USD", source=self.pricing_source,
                            detail=f"estimate: ${rate:g} per 5 s in {mode} mode; override with [backends.kling.prices]")

    def extension_source(self, task_id: str, data: dict) -> str | None:
        kind = str(data.get("kind") or "text2video")
        return f"{kind}/{task_id}" if task_id and kind in KINDS else None

    @staticmethod
    def _mode(request: GenerationRequest) -> str:
        return "pro" if request.resolution == "1080p" else "std"

    # -- auth ------------------------------------------------------------------------
    def api_key(self) -> SecretStr:
        if self.auth_mode == "api_key":
            found = self._explicit_key or secret("KLING_API_KEY", settings=self._settings)
            if not found or not found.get_secret_value():
                raise AuthError("no API key for kling", hint="set KLING_API_KEY (auth_mode = \"api_key\")")
            return found
        return super().api_key()

    def secret_key(self) -> SecretStr:
        found = secret("KLING_SECRET_KEY", settings=self._settings)
        if found is None or not found.get_secret_value():
            raise AuthError("no secret key for kling", hint="set KLING_SECRET_KEY (and KLING_ACCESS_KEY)")
        return found

    def key_names(self) -> list[str]:
        return ["KLING_API_KEY"] if self.auth_mode == "api_key" else ["KLING_ACCESS_KEY", "KLING_SECRET_KEY"]

    def check_keys(self) -> None:
        self.api_key()
        if self.auth_mode != "api_key":
            self.secret_key()

    def token(self) -> str:
        """A JWT valid for another minute at least; re-signed when older."""
        if self._token is None or time.time() > self._token_expires - 60:
            now = int(time.time())
            self._token = SecretStr(jwt.encode({"iss": self.api_key().get_secret_value(), "exp": now + TOKEN_LIFETIME_S,
                                                "nbf": now - 5}, self.secret_key().get_secret_value(), algorithm="HS256",
                                               headers={"alg": "HS256", "typ": "JWT"}))
            self._token_expires = now + TOKEN_LIFETIME_S
        return self._token.get_secret_value()

    def auth_headers(self) -> dict[str, str]:
        if self.auth_mode == "api_key":
            return {"Authorization": f"Bearer {self.api_key().get_secret_value()}"}
        return {"Authorization": f"Bearer {self.token()}"}

    def client(self) -> ApiClient:
        if self.auth_mode != "api_key":
            self.secret_key()
        return super().client()

    def secrets(self) -> list[str]:
        values = super().secrets()
        if self.auth_mode != "api_key":
            try:
                values.append(self.secret_key().get_secret_value())
            except AuthError:
                pass
            if self._token:
                values.append(self._token.get_secret_value())
        return values

    # -- errors ----------------------------------------------------------------------
    def classify(self, response: httpx.Response) -> RemoteError:
        status = response.status_code
        body = error_body(response)
        code = body.get("code")
        message = body.get("message", "")
        text = f"kling: {message or 'HTTP ' + str(status)} (code {code}, HTTP {status})"
        if code == 1004:  # token expired: sign a new one and try again
            self._token = None
            return RemoteError(text, retryable=True, status=status, code="1004")
        if status == 401 or code in (1000, 1001, 1002, 1003):
            return AuthError(f"kling refused the credentials (code {code})", status=status, code=str(code),
                             hint="check KLING_ACCESS_KEY and KLING_SECRET_KEY")
        if code == 1301:
            return ModerationError(f"kling refused the shot on content grounds: {message}", status=status, code="1301")
        if code == 1102:
            return RemoteError(text, retryable=False, status=status, code="1102", hint="top up Kling credits")
        retryable = code in RETRYABLE_CODES or status in (429, 500, 502, 503, 504)
        return RemoteError(text, retryable=retryable, status=status, code=str(code) if code is not None else None,
                           retry_after_s=parse_retry_after(response.headers))

    @staticmethod
    def _data(response: httpx.Response) -> dict:
        body = json_body(response)
        if body.get("code") not in (0, None):
            raise RemoteError(f"kling: {body.get('message')} (code {body.get('code')})", retryable=False)
        data = body.get("data")
        if not isinstance(data, dict):
            raise RemoteError("kling: answer without data", retryable=True)
        return data

    # -- protocol ----------------------------------------------------------------------
    def body(self, request: GenerationRequest) -> tuple[str, dict]:
        kind = "image2video" if request.mode is GenerationMode.IMAGE_TO_VIDEO else "text2video"
        body: dict = {"model_name": request.model or self.model, "prompt": request.prompt,
                      "mode": self._mode(request), "duration": str(int(round(request.duration_s)))}
        if kind == "text2video":
            body["aspect_ratio"] = request.aspect_ratio
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        if (request.model or self.model or "").startswith("kling-v1"):
            body["cfg_scale"] = 0.5
        token = create_token()
        if token:
            body["external_task_id"] = token
        if request.camera in CAMERA and self.camera_honoured(request):
            axis, value = CAMERA[request.camera]
            config = {k: 0 for k in ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")}
            config[axis] = value
            body["camera_control"] = {"type": "simple", "config": config}
        if kind == "image2video":
            assert request.image
            body["image"], _ = image_base64(request.image, max_bytes=10_000_000)
            if request.end_image and (request.model or self.model) in TAIL_MODELS:
                body["image_tail"], _ = image_base64(request.end_image, max_bytes=10_000_000)
                body.pop("camera_control", None)  # exclusive with a tail frame
        return kind, body

    def extend_body(self, request: GenerationRequest, video_id: str) -> dict:
        body: dict = {"video_id": video_id, "prompt": request.prompt}
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt
        if (request.model or self.model or "").startswith("kling-v1"):
            body["cfg_scale"] = 0.5
        return body

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        if request.mode is GenerationMode.VIDEO_EXTEND:
            # The extension names the video, not the task: read its id from the finished task (free).
            kind, _, task_id = str(request.extend_from).partition("/")
            if kind not in KINDS or not task_id:
                raise RemoteError(f"kling: cannot extend {request.extend_from!r} (not a kling task)", retryable=False)
            source = self._data(await api.request("GET", self.url(f"/v1/videos/{kind}/{task_id}")))
            videos = (source.get("task_result") or {}).get("videos") or []
            if not videos or not videos[0].get("id"):
                raise RemoteError(f"kling: task {task_id} has no finished video to extend", retryable=False)
            data = self._data(await api.request("POST", self.url("/v1/videos/video-extend"),
                                                json=self.extend_body(request, str(videos[0]["id"]))))
            return RemoteTask(str(data["task_id"]), {"kind": "video-extend"})
        kind, body = self.body(request)
        data = self._data(await api.request("POST", self.url(f"/v1/videos/{kind}"), json=body))
        return RemoteTask(str(data["task_id"]), {"kind": kind})

    async def find_created(self, api: ApiClient, request: GenerationRequest, token: str,
                           sent_at: float) -> RemoteTask | None:
        """The task created with ``external_task_id = token``, or None when Kling has none."""
        if request.mode is GenerationMode.VIDEO_EXTEND:
            raise RemoteError("kling: a video-extend create takes no external_task_id, so a lost one cannot be "
                              "looked up")
        kind = "image2video" if request.mode is GenerationMode.IMAGE_TO_VIDEO else "text2video"
        try:
            data = self._data(await api.request("GET", self.url(f"/v1/videos/{kind}/{token}")))
        except RemoteError as exc:
            if exc.status == 404 or exc.code == "1203":
                return None
            raise
        return RemoteTask(str(data["task_id"]), {"kind": kind})

    async def poll(self, api: ApiClient, task: RemoteTask) -> RemoteStatus:
        kind = task.data.get("kind", "text2video")
        data = self._data(await api.request("GET", self.url(f"/v1/videos/{kind}/{task.id}")))
        status = data.get("task_status")
        if status == "submitted":
            return RemoteStatus("queued")
        if status == "processing":
            return RemoteStatus("running")
        if status == "succeed":
            videos = (data.get("task_result") or {}).get("videos") or []
            return RemoteStatus("succeeded", percent=100, video_url=videos[0].get("url") if videos else None)
        if status == "failed":
            reason = data.get("task_status_msg") or "the task failed"
            lowered = reason.lower()
            if any(w in lowered for w in ("risk", "sensitive", "content security", "moderation")):
                return RemoteStatus("failed", error=ModerationError(f"kling refused the shot on content grounds: {reason}"))
            return RemoteStatus("failed", error=RemoteError(f"kling: task failed: {reason}"))
        raise RemoteError(f"kling: unknown task status {status!r}", retryable=True)


@shotsmith.hookimpl
def shotsmith_register_backends(register):
    register(KlingBackend)
