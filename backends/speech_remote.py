"""Cloud voices on the remote-task engine: a synchronous speech API fitted to create / poll / download.

Speech APIs (OpenAI ``/v1/audio/speech``, ElevenLabs ``/with-timestamps``)
answer the one POST with the audio itself: there is no task to poll. They are
still driven by the job engine's remote path, because that is where the money
rules live:

* **create** = the POST that returns the audio. The engine saves a token and the
  time *before* sending it and the task id right after, so a create whose
  answer is lost (a dropped connection, a timeout after sending) is never
  repeated blindly: the shot stops with "may have been created" and a rerun
  does not pay again unless asked (``--resubmit``). A 429 or a 500/502/503 on
  the POST proves nothing was made and is retried with backoff (Retry-After
  honoured), exactly as for the video adapters.
* the audio (and its word timings) is written to a **spool** folder as soon as
  it arrives, under the task id (the provider's request id), so a run killed
  between receiving it and filing it in ``clips/`` loses nothing: the rerun
  resumes the task, and its "poll" finds the spooled audio.
* **poll** answers at once: succeeded (the spool has it) or failed (the audio
  was received by a run whose spool was since removed; the provider keeps no
  copy we can fetch, so the rerun creates it again).
* **download** reads the spooled file through the same client (a transport
  that serves one reserved host, ``shotsmith-spool.invalid``, from the spool
  folder), so the engine's checks (size cap, content type, decodes end to end)
  apply to speech as to video.

The spool is ``$XDG_CACHE_HOME/shotsmith/voice-spool`` (option ``spool_dir``);
files older than a week are removed on the next create.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import ClassVar

import httpx

from shotsmith.backends.base import (GenerationRequest, GenerationResult, MediaKind, ProgressCallback, ProgressEvent,
                                     WordTiming)
from shotsmith.backends.errors import RemoteError
from shotsmith.backends.http import ApiClient, call_scope
from shotsmith.backends.remote import RemoteBackend, RemoteStatus, RemoteTask
from shotsmith.backends.tasks import create_token
from shotsmith.backends.voice import voice_result
from shotsmith.errors import CancelledError, InvalidInputError

SPOOL_HOST = "shotsmith-spool.invalid"
SPOOL_MAX_AGE_S = 7 * 24 * 3600
AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac", ".opus": "audio/ogg",
               ".aac": "audio/aac", ".pcm": "audio/L16"}


def default_spool_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "shotsmith" / "voice-spool"


class SpoolTransport(httpx.AsyncBaseTransport):
    """Serves ``http://shotsmith-spool.invalid/<file>`` from the spool folder; everything else goes on."""

    def __init__(self, spool: Path, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.spool = spool
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != SPOOL_HOST:
            return await self.inner.handle_async_request(request)
        name = Path(request.url.path).name
        file = self.spool / name
        if not name or not file.is_file():
            return httpx.Response(404, content=b"not in the spool", request=request)
        data = file.read_bytes()
        return httpx.Response(200, content=data, request=request,
                              headers={"Content-Type": AUDIO_TYPES.get(file.suffix, "application/octet-stream"),
                                       "Content-Length": str(len(data))})

    async def aclose(self) -> None:
        await self.inner.aclose()


class SpeechRemoteBackend(RemoteBackend):
    """Base of the synchronous cloud voices; an adapter implements :meth:`speak`.

    Options besides the common ones: ``voice`` (the default voice), ``spool_dir``.
    """

    default_poll_interval_s = 0.05
    default_concurrency = 2
    download_content_types: ClassVar[tuple[str, ...]] = ("audio/", "application/octet-stream")
    max_download_mb = 100.0
    #: Voices offered (first = default); adapters set it.
    voices: ClassVar[list[str]] = []

    def extra_options(self) -> tuple[str, ...]:
        return ("voice", "spool_dir")

    @property
    def default_voice(self) -> str:
        return str(self.options.get("voice") or self.voices[0])

    @property
    def spool(self) -> Path:
        return Path(self.options.get("spool_dir") or default_spool_dir())

    def client(self) -> ApiClient:
        """The usual client, whose transport also serves the spool host (downloads of received audio)."""
        self.api_key()
        return ApiClient(self.name, auth=self.auth_headers, classify=self.classify, secrets=self.secrets,
                         headers={"Accept": "application/json", "User-Agent": "shotsmith", **self.default_headers()},
                         retry=self.retry, timeout_s=self.request_timeout_s, base_url=self.base_url,
                         transport=SpoolTransport(self.spool, self._transport))

    def voice_for(self, request: GenerationRequest) -> str:
        return request.voice or self.default_voice

    def prepare(self, request: GenerationRequest) -> tuple[GenerationRequest, list[str]]:
        """The base checks, then the voice: a listed one (the base's rule), or any id where the provider has custom voices."""
        if self.allows_custom_voices():
            voice = self.voice_for(request)
            ready, warnings = super().prepare(request.model_copy(update={"voice": None}))
            return ready.model_copy(update={"voice": voice}), warnings
        ready, warnings = super().prepare(request)
        ready = ready.model_copy(update={"voice": self.voice_for(ready)})
        self.check_voice(ready.voice or "")
        return ready, warnings

    # -- the one call an adapter implements -------------------------------------------------
    async def speak(self, api: ApiClient, request: GenerationRequest) -> tuple[bytes, str, list[WordTiming] | None, str | None]:
        """Send the create; return (audio bytes, file suffix, word timings or None, the provider's request id)."""
        raise NotImplementedError

    def timings_for(self, request: GenerationRequest, audio: Path) -> list[WordTiming] | None:
        """Word timings when the provider gave none (``None``: captions get none)."""
        return None

    # -- create / poll / download ------------------------------------------------------------
    def _spooled(self, task_id: str) -> Path | None:
        for suffix in AUDIO_TYPES:
            file = self.spool / f"{task_id}{suffix}"
            if file.is_file():
                return file
        return None

    def _clean_spool(self) -> None:
        cutoff = time.time() - SPOOL_MAX_AGE_S
        for file in self.spool.glob("*"):
            try:
                if file.stat().st_mtime < cutoff:
                    file.unlink()
            except OSError:
                continue

    async def submit(self, api: ApiClient, request: GenerationRequest) -> RemoteTask:
        audio, suffix, timings, request_id = await self.speak(api, request)
        if not audio:
            raise RemoteError(f"{self.name}: the answer carried no audio", retryable=True)
        task_id = _safe_id(request_id or create_token() or uuid.uuid4().hex)
        self.spool.mkdir(parents=True, exist_ok=True)
        self._clean_spool()
        file = self.spool / f"{task_id}{suffix}"
        tmp = file.with_name(f".{file.name}.part")
        tmp.write_bytes(audio)
        os.replace(tmp, file)
        estimated = False
        if timings is None:
            timings = self.timings_for(request, file)
            estimated = timings is not None
        if timings is not None:
            (self.spool / f"{task_id}.words.json").write_text(json.dumps(
                {"estimated": estimated, "words": [t.model_dump() for t in timings]}), encoding="utf-8")
        return RemoteTask(task_id, {"spool": file.name})

    async def poll(self, api: ApiClient, task: RemoteTask) -> RemoteStatus:
        file = self._spooled(task.id)
        if file is None:
            return RemoteStatus("failed", error=RemoteError(
                f"{self.name}: the audio of request {task.id} was received but is no longer in the spool "
                f"({self.spool}); the provider keeps no copy to fetch", hint="run again to synthesise it again"))
        return RemoteStatus("succeeded", percent=100, video_url=f"http://{SPOOL_HOST}/{file.name}")

    def word_timings(self, task_id: str) -> tuple[list[WordTiming] | None, bool]:
        """(the spooled word timings of a task, whether they are an estimate)."""
        file = self.spool / f"{task_id}.words.json"
        if not file.is_file():
            return None, False
        data = json.loads(file.read_text(encoding="utf-8"))
        return [WordTiming(**w) for w in data["words"]], bool(data.get("estimated"))

    def result_for(self, task: RemoteTask, dest: Path) -> GenerationResult:
        """The voice result of a downloaded task: its duration and word timings (for the engine)."""
        timings, estimated = self.word_timings(task.id)
        warnings = [f"{self.name} returns no word timings: caption times are estimated from the audio "
                    "(docs/voice.md)"] if estimated else []
        return voice_result(dest, word_timings=timings, cost=None, remote_task_id=task.id, warnings=warnings)

    async def generate(self, request: GenerationRequest, dest: Path, *, on_progress: ProgressCallback,
                       cancel: threading.Event) -> GenerationResult:
        """One synthesis without a project: the same create (sent at most once), then the spooled audio."""
        if cancel.is_set():
            raise CancelledError("speech synthesis was cancelled before it was sent")
        async with self.client() as api:
            deadline = time.monotonic() + (self.request_timeout_s + self.retry.max_delay_s) * self.retry.max_attempts
            with call_scope(deadline=deadline, create=True, what="synthesising speech"):
                task = await self.submit(api, request)
        on_progress(ProgressEvent(shot_index=request.shot_index, state="downloading"))
        file = self._spooled(task.id)
        assert file is not None
        Path(dest).write_bytes(file.read_bytes())
        result = self.result_for(task, Path(dest))
        return result.model_copy(update={"cost": self.estimate_cost(request), "kind": MediaKind.VOICE})

    def check_voice(self, voice: str) -> None:
        if self.voices and voice not in self.voices and not self.allows_custom_voices():
            raise InvalidInputError(f"{self.name} has no voice {voice!r}", hint=f"voices: {', '.join(self.voices)}")

    def allows_custom_voices(self) -> bool:
        return False


def _safe_id(value: str) -> str:
    cleaned = "".join(ch for ch in value if ch.isalnum() or ch in "-_")[:80]
    return cleaned or uuid.uuid4().hex
