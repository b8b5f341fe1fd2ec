"""Drive one cloud image job against a mock the way the job runner does (create once, poll, download).

The create and poll go through :mod:`shotsmith.backends.jobs` itself (its
create-at-most-once and polling rules); the download goes through
:func:`download_clip` and the file is decoded with Pillow, so these tests do
not depend on how the engine stores stills.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from PIL import Image

from shotsmith.backends import jobs
from shotsmith.backends.base import GenerationRequest
from shotsmith.backends.download import download_clip
from shotsmith.backends.http import call_scope
from shotsmith.backends.remote import RemoteBackend, RemoteTask


async def _drive(backend: RemoteBackend, request: GenerationRequest, dest: Path, task: RemoteTask | None):
    ready, warnings = backend.prepare(request)
    async with backend.client() as api:
        if task is None:
            task = await jobs._submit(backend, api, ready, threading.Event(), None, None, None)
        status = await jobs._poll_until_done(backend, api, task, ready, lambda e: None, threading.Event())
        with call_scope(what="downloading"):
            await download_clip(api, status.video_url, dest, auth_for=backend.download_headers,
                                max_bytes=int(backend.max_download_mb * 1e6),
                                content_types=backend.download_content_types)
    with Image.open(dest) as image:
        image.load()  # a truncated file raises here
        return task, image.size, warnings


def make_image(backend: RemoteBackend, request: GenerationRequest, dest: Path, task: RemoteTask | None = None):
    """(task, (width, height), warnings) of one image job; raises what the job raised."""
    return asyncio.run(_drive(backend, request, dest, task))
