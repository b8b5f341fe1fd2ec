"""The base class of cloud backends: submit, poll, cancel, and let the engine do the rest.

A remote generation is three steps with a pause in the middle that can last
minutes: submit (costs money, returns a task id), poll until the task ends,
download the clip. The engine (:mod:`shotsmith.backends.engine`) persists the
task id between the first two, so an adapter only describes the protocol:
:meth:`RemoteBackend.submit`, :meth:`RemoteBackend.poll` and
:meth:`RemoteBackend.cancel`, plus how the provider's errors map onto
:class:`~shotsmith.backends.errors.RemoteError`.

A create is sent at most once unless the adapter makes a repeat safe. A
create whose answer is lost after it was sent (a timeout, a dropped
connection) may have been accepted and billed, so the engine never repeats it
blindly: an adapter that can find the task it created (Kling's
``external_task_id``; an API that lists tasks) implements
:meth:`RemoteBackend.find_created`, and the engine adopts what it finds; for the
others the shot stops with "may have been created" and the record remembers
it, so a rerun does not create again unless the user asks (``resubmit``).

Every wait is bounded by options (documented in ``backends info``):
``request_timeout_s`` (one HTTP exchange), ``timeout_s`` (a task, from submit
to finished), ``poll_outage_s`` (a failing status API), ``download_timeout_s`` and ``min_download_kbs`` (a download, all
attempts together, and the slowest rate accepted), ``retry.max_attempts``.

Keys are read when a backend is *used* (``api_key()``), never when it is
constructed, so ``shotsmith backends list`` works with no key set. They are held
as ``SecretStr`` and only unwrapped inside the auth header callback.
"""

from __future__ import annotations

import asyncio
import base64
import mimetypes
import re
import threading
import time
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from shotsmith.backends.base import Backend, GenerationRequest, GenerationResult, ProgressCallback
from shotsmith.backends.errors import AuthError, RemoteError
from shotsmith.backends.http import ApiClient, RetryPolicy, current_scope, default_classify
from shotsmith.backends.jobs import run_remote_job
from shotsmith.backends.tasks import RemoteState, RemoteStatus, RemoteTask, create_token
from shotsmith.config import Settings, load_settings, secret
from shotsmith.errors import InvalidInputError

# The task data types live in tasks.py (the job runner needs them without importing this module).
__all__ = ["IMAGE_CONTENT_TYPES", "RemoteBackend", "RemoteState", "RemoteStatus", "RemoteTask", "create_token", "error_body",
           "image_base64", "image_bytes", "image_data_uri", "json_body", "reference_tags", "side_request"]

#: Content types accepted for a downloaded still (CDNs often say octet-stream).
IMAGE_CONTENT_TYPES: tuple[str, ...] = ("image/", "application/octet-stream", "binary/octet-stream")


class RemoteBackend(Backend):
    """Subclass for an HTTP API with asynchronous tasks.

    Options (constructor keywords, or ``[backends.NAME]`` in the config file):
    ``base_url``, ``model``, ``api_key`` (tests only; prefer the env variable),
    ``concurrency``, ``poll_interval_s``, ``timeout_s`` (whole task),
    ``request_timeout_s`` (one HTTP exchange), ``poll_outage_s`` (failing
    status calls tolerated), ``download_timeout_s`` and
    ``min_download_kbs`` (a download), ``max_download_mb``, ``prices``
    (overrides of :attr:`default_prices`), ``retry`` (a :class:`RetryPolicy`,
    or a dict of its fields).
    """

    #: Environment variables (or config ``[secrets]`` names) holding the key, first wins.
    key_env: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str] = ""
    default_poll_interval_s: ClassVar[float] = 5.0
    default_concurrency: ClassVar[int] = 2
    #: Pricing table the estimate uses; overridable per install because prices change.
    default_prices: ClassVar[dict[str, float]] = {}
    pricing_source: ClassVar[str] = ""
    max_download_mb: float = 500.0
    #: Content types accepted for the downloaded clip (CDNs often say octet-stream).
    download_content_types: ClassVar[tuple[str, ...]] = ("video/", "application/octet-stream", "binary/octet-stream")
    #: Default bounds (seconds, kB/s); each is an option of the same name.
    default_timeout_s: ClassVar[float] = 1800.0
    default_request_timeout_s: ClassVar[float] = 60.0
    #: How long the status API may keep failing (retried with backoff) before the run gives up on it.
    default_poll_outage_s: ClassVar[float] = 300.0
    default_download_timeout_s: ClassVar[float] = 600.0
    default_min_download_kbs: ClassVar[float] = 32.0
    #: The window over which the minimum download rate is measured.
    download_window_s: ClassVar[float] = 15.0
    #: True when the adapter can find a task whose create answer was lost (see :meth:`find_created`).
    can_find_created: ClassVar[bool] = False
    #: True for APIs that answer the create with the output itself (speech, some image APIs): the engine
    #: then calls :meth:`submit_and_fetch` instead of submit, poll and download.
    synchronous: ClassVar[bool] = False

    def __init__(self, *, base_url: str | None = None, model: str | None = None, api_key: str | SecretStr | None = None,
                 concurrency: int | None = None, poll_interval_s: float | None = None, timeout_s: float | None = None,
                 max_download_mb: float | None = None, prices: dict[str, float] | None = None,
                 retry: RetryPolicy | dict | None = None, settings: Settings | None = None,
                 request_timeout_s: float | None = None, download_timeout_s: float | None = None,
                 min_download_kbs: float | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, **extra: Any) -> None:
        self._settings = settings
        options = dict(self._config_options())
        options.update({k: v for k, v in dict(base_url=base_url, model=model, concurrency=concurrency,
                                                  poll_interval_s=poll_interval_s, timeout_s=timeout_s,
                                                  max_download_mb=max_download_mb, prices=prices, retry=retry,
                                                  request_timeout_s=request_timeout_s,
                                                  download_timeout_s=download_timeout_s,
                                                  min_download_kbs=min_download_kbs,
                                                  **extra).items() if v is not None})
        known = {"base_url", "model", "concurrency", "poll_interval_s", "timeout_s", "max_download_mb", "prices",
                 "retry", "request_timeout_s", "download_timeout_s", "min_download_kbs", "download_window_s",
                 "poll_outage_s",
                 *self.extra_options()}
        unknown = sorted(set(options) - known)
        if unknown:
            raise InvalidInputError(f"backend {self.name}: unknown option(s) {', '.join(unknown)}",
                                    hint=f"known: {', '.join(sorted(known))}")
        self.options = options
        self.base_url = str(options.get("base_url") or self.default_base_url).rstrip("/")
        if options.get("model"):
            self.model = str(options["model"])
        self.concurrency = int(options.get("concurrency") or self.default_concurrency)
        self.poll_interval_s = float(options.get("poll_interval_s") or self.default_poll_interval_s)
        self.timeout_s = float(options.get("timeout_s") or self.default_timeout_s)
        self.request_timeout_s = float(options.get("request_timeout_s") or self.default_request_timeout_s)
        self.poll_outage_s = float(options.get("poll_outage_s") or self.default_poll_outage_s)
        self.download_timeout_s = float(options.get("download_timeout_s") or self.default_download_timeout_s)
        min_kbs = options.get("min_download_kbs")
        self.min_download_kbs = float(self.default_min_download_kbs if min_kbs is None else min_kbs)
        if options.get("download_window_s"):
            self.download_window_s = float(options["download_window_s"])
        self.max_download_mb = float(options.get("max_download_mb") or type(self).max_download_mb)
        self.prices = {**self.default_prices, **{k: float(v) for k, v in (options.get("prices") or {}).items()}}
        raw_retry = options.get("retry")
        self.retry = raw_retry if isinstance(raw_retry, RetryPolicy) else RetryPolicy(**(raw_retry or {}))
        self._explicit_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self._transport = transport

    # -- configuration -------------------------------------------------------------
    def extra_options(self) -> tuple[str, ...]:
        """Adapter-specific option names accepted besides the common ones."""
        return ()

    def _config_options(self) -> dict[str, Any]:
        settings = self._settings or load_settings()
        return dict(settings.backends.get(self.name, {}))

    def api_key(self) -> SecretStr:
        """The key, from the constructor, the environment or the config; a clear error if none."""
        if self._explicit_key is not None and self._explicit_key.get_secret_value():
            return self._explicit_key
        found = secret(*self.key_env, settings=self._settings) if self.key_env else None
        if found is None or not found.get_secret_value():
            raise AuthError(f"no API key for {self.name}",
                            hint=f"set {' or '.join(self.key_env)} in the environment, or under [secrets] in the config file")
        return found

    def key_names(self) -> list[str]:
        """The variables a user must set, for messages and ``backends info`` (alternatives joined by "or")."""
        return [" or ".join(self.key_env)] if self.key_env else []

    def check_keys(self) -> None:
        """Raise AuthError when a needed key is missing (used by the CLI and before a run)."""
        self.api_key()

    def check_ready(self) -> None:
        self.check_keys()

    def secrets(self) -> list[str]:
        """Every secret string that must be scrubbed from messages."""
        try:
            return [self.api_key().get_secret_value()]
        except AuthError:
            return []

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key().get_secret_value()}"}

    def default_headers(self) -> dict[str, str]:
        return {}

    def classify(self, response: httpx.Response) -> RemoteError:
        """Map an error response; adapters override to read the provider's error body."""
        error = default_classify(response, self.name)
        if response.status_code in (401, 403):
            return AuthError(f"{self.name} refused the API key (HTTP {response.status_code})", status=response.status_code,
                             hint=f"check {' or '.join(self.key_env)}")
        return error

    def client(self) -> ApiClient:
        """A client for one run; the engine opens it and closes it."""
        self.api_key()  # fail before anything is sent when no key is configured
        return ApiClient(self.name, auth=self.auth_headers, classify=self.classify, secrets=self.secrets,
                         headers={"Accept": "application/json", "User-Agent": "shotsmith", **self.default_headers()},
                         retry=self.retry, timeout_s=self.request_timeout_s, base_url=self.base_url,
                         transport=self._transport)

    def bounds(self) -> dict[str, str]:
        """Every wait's limit, in words, for ``backends info`` and the docs."""
        retry = self.retry
        return {
            "request timeout": f"{self.request_timeout_s:g} s per HTTP exchange (connect, send, whole answer)",
            "retries": f"{retry.max_attempts} attempts per call, backoff {retry.base_delay_s:g}-{retry.max_delay_s:g} s "
                       f"(Retry-After believed up to {retry.max_retry_after_s:g} s); a create is never repeated "
                       "once it may have been received",
            "task timeout": f"{self.timeout_s:g} s from submit to finished (polls and their retries included); "
                            "the task is then kept and a rerun resumes it",
            "status outage": f"{self.poll_outage_s:g} s of failing status calls (retried with backoff) before the "
                             "run stops polling; the task is kept and a rerun resumes it",
            "download": f"{self.download_timeout_s:g} s in total, at least {self.min_download_kbs:g} kB/s over every "
                        f"{self.download_window_s:g} s, at most {self.max_download_mb:g} MB",
        }

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def download_headers(self, url: str) -> dict[str, str]:
        """Headers for fetching the clip. None by default: never send a key to a CDN host."""
        return {}

    def same_origin(self, url: str) -> bool:
        a, b = urlsplit(url), urlsplit(self.base_url)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    # -- the protocol an adapter implements -------------------------------------------
    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        """Start a generation and return its task; this is the call that costs money."""
        raise NotImplementedError

    async def poll(self, api: ApiClient, task: RemoteTask) -> RemoteStatus:
        """One status check; the engine sleeps ``poll_interval_s`` between calls.

        A finished task's ``video_url`` is where its output is fetched from,
        whatever the kind (clip, image or audio).
        """
        raise NotImplementedError

    async def submit_and_fetch(self, api: ApiClient, request: GenerationRequest, dest: Path) -> RemoteStatus:
        """Synchronous APIs (:attr:`synchronous`): send the create, write its output to ``dest``.

        Return ``RemoteStatus("succeeded", word_timings=...)``, or a failed status
        with its error (a ModerationError for refusals). This is the call that
        costs money; the engine runs it inside a create scope, so the request is
        never repeated once it may have been received.
        """
        raise NotImplementedError

    async def cancel(self, api: ApiClient, task: RemoteTask) -> bool:
        """Cancel the remote task if the API allows; return whether it was cancelled."""
        return False

    async def find_created(self, api: ApiClient, request: GenerationRequest, token: str,
                           sent_at: float) -> RemoteTask | None:
        """Find the task a create whose answer was lost made, if any (only when :attr:`can_find_created`).

        ``token`` is the unique id the engine saved before the create (an adapter
        whose API takes a client-chosen id sends :func:`create_token` in it),
        ``sent_at`` the wall-clock time (``time.time()``) it was sent. Return the
        task to adopt, or ``None`` when the provider shows that nothing was created.
        Raise a :class:`RemoteError` when it cannot tell.
        """
        raise NotImplementedError

    # -- Backend -------------------------------------------------------------------------
    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        """Run one job without a project (the engine normally drives remote backends itself)."""
        async with self.client() as api:
            return await run_remote_job(self, api, request, Path(dest), on_progress=on_progress, cancel=cancel)


def image_bytes(path: str | Path) -> tuple[bytes, str]:
    """Read a start image and its MIME type; a clear error when it is missing or not an image."""
    file = Path(path)
    if not file.is_file():
        raise InvalidInputError(f"start image {file} does not exist")
    mime = mimetypes.guess_type(file.name)[0] or ""
    if not mime.startswith("image/"):
        raise InvalidInputError(f"start image {file} is not a JPEG/PNG/WebP image")
    return file.read_bytes(), mime


def image_data_uri(path: str | Path, *, max_bytes: int | None = None) -> str:
    data, mime = image_bytes(path)
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidInputError(f"start image {path} is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_base64(path: str | Path, *, max_bytes: int | None = None) -> tuple[str, str]:
    """Raw base64 (no ``data:`` prefix) and MIME type, for APIs that want that."""
    data, mime = image_bytes(path)
    if max_bytes is not None and len(data) > max_bytes:
        raise InvalidInputError(f"start image {path} is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    return base64.b64encode(data).decode("ascii"), mime


def error_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of an error response, or ``{}`` when a proxy sent HTML or nothing.

    Lenient where :func:`json_body` is strict: an error must still be classified
    by its status code when its body is unreadable.
    """
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or a retryable error when a proxy sent something else."""
    try:
        data = response.json()
    except ValueError as exc:
        raise RemoteError(f"unexpected non-JSON answer (HTTP {response.status_code})", retryable=True) from exc
    if not isinstance(data, dict):
        raise RemoteError(f"unexpected JSON answer (HTTP {response.status_code})", retryable=True)
    return data


async def side_request(api: ApiClient, method: str, url: str, *, what: str, headers: dict[str, str] | None = None,
                       json: Any = None, content: bytes | None = None, data: dict | None = None,
                       files: dict | None = None, params: dict | None = None, classify=None,
                       attempts: int = 3) -> httpx.Response:
    """A free call made while a create is being prepared: a storage token, an upload of a reference image.

    Why not ``api.request``: inside the engine's create scope every non-GET
    request counts as the (paid) create, so a dropped upload would read as "the
    task may have been created" and a 2xx upload as "the create was accepted".
    These calls cost nothing and repeating them is harmless, so they are sent
    here, outside that bookkeeping: only the ``headers`` given (no API key is
    added: an upload host is usually another host), never following a redirect,
    each attempt bounded by the client's request timeout and the enclosing
    deadline, retried on dropped connections, 429 and 5xx.
    """
    classify = classify or (lambda r: default_classify(r, api.provider))
    deadline = current_scope().deadline
    error: RemoteError | None = None
    for attempt in range(1, attempts + 1):
        budget = api.timeout_s if deadline is None else min(api.timeout_s, deadline - time.monotonic())
        if budget <= 0:
            break
        request = api.client.build_request(method, url, headers=headers or {}, json=json, content=content,
                                           data=data, files=files, params=params)
        try:
            response = await asyncio.wait_for(api.client.send(request, follow_redirects=False), budget)
        except (TimeoutError, asyncio.TimeoutError, httpx.TransportError) as exc:
            error = RemoteError(api.redact(f"{api.provider}: {what} failed ({type(exc).__name__})"), retryable=True)
        else:
            if response.status_code < 300:
                return response
            if response.status_code < 400:
                raise RemoteError(f"{api.provider}: {what} answered HTTP {response.status_code} (redirects are not "
                                  "followed with upload credentials)", status=response.status_code)
            error = classify(response)
            error.message = api.redact(f"{error.message} ({what})")
            error.args = (error.message,)
            if not error.retryable:
                raise error
        if attempt < attempts:
            await asyncio.sleep(api.retry.delay(attempt, error.retry_after_s))
    raise error or RemoteError(f"{api.provider}: {what} ran out of time", retryable=True)


_TAG_CHARS = re.compile(r"[^A-Za-z0-9_]+")


def reference_tags(names: list[str]) -> list[str]:
    """Tags a prompt can cite as ``@Tag`` (Runway's rule: 3-16 of ``[A-Za-z0-9_]``, a letter first), unique.

    ``names`` are each reference's tag, or its file name when it has none; a
    name that is already valid is kept as it is, so ``@Mara`` in the prompt
    still points at the reference tagged ``Mara``.
    """
    tags: list[str] = []
    for name in names:
        tag = _TAG_CHARS.sub("_", name).strip("_")
        if not tag or not tag[0].isalpha():
            tag = f"ref{tag}"
        tag = tag[:16]
        if len(tag) < 3:
            tag = f"{tag}_ref"
        base, n = tag, 1
        while tag.lower() in (t.lower() for t in tags):
            n += 1
            suffix = str(n)
            tag = base[:16 - len(suffix)] + suffix
        tags.append(tag)
    return tags
