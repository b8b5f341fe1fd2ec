"""Test-only backends, registered in code through the same pluggy hook as real ones.

``priced-test`` renders like the animatic but declares that it costs money
(0.10 USD per second), so the spending rules (approval, ``--max-cost``) can be
tested offline. ``slow-test`` is free but sleeps per shot, so a test can kill a
run between two finished shots.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

import shotsmith
from shotsmith.backends.animatic import AnimaticBackend
from shotsmith.backends.base import (Backend, Capabilities, CostEstimate, GenerationMode, GenerationResult,
                                     MediaKind)

PRICE_PER_S = 0.10


class PricedBackend(AnimaticBackend):
    name = "priced-test"
    description = "Test backend: animatic cards billed at 0.10 USD per second."
    model = "priced-test-v1"

    def capabilities(self) -> Capabilities:
        caps = super().capabilities()
        # Text-to-video only, like most paid APIs' default models: no storyboard stills before its shots
        # (the storyboard path has its own test backend, i2v-test).
        return caps.model_copy(update={"costs_money": True, "local": False, "max_concurrency": 1,
                                       "modes": [GenerationMode.TEXT_TO_VIDEO]})

    def estimate_cost(self, request) -> CostEstimate:
        return CostEstimate(amount=round(request.duration_s * PRICE_PER_S, 4), unit="USD",
                            source="test price list")


class SlowBackend(AnimaticBackend):
    name = "slow-test"
    description = "Test backend: free animatic cards, one at a time, with a pause per shot."
    model = "slow-test-v1"

    def capabilities(self) -> Capabilities:
        return super().capabilities().model_copy(update={"max_concurrency": 1, "modes": [GenerationMode.TEXT_TO_VIDEO]})

    async def generate(self, request, dest, *, on_progress, cancel):
        await asyncio.sleep(float(os.environ.get("SHOTSMITH_TEST_SLOW_S", "2.0")))
        return await super().generate(request, dest, on_progress=on_progress, cancel=cancel)


class GpuBackend(AnimaticBackend):
    name = "gpu-test"
    description = "Test backend: free, local, but declares long GPU time per shot (like diffusers)."
    model = "gpu-test-v1"

    def capabilities(self) -> Capabilities:
        return super().capabilities().model_copy(update={"long_running": True, "max_concurrency": 1,
                                                         "modes": [GenerationMode.TEXT_TO_VIDEO]})


class KeyedBackend(PricedBackend):
    name = "keyed-test"
    description = "Test backend: priced like priced-test, but its API key is never set."
    model = "keyed-test-v1"

    def check_ready(self) -> None:
        from shotsmith.errors import BackendError

        raise BackendError("no API key for keyed-test", hint="set KEYED_TEST_KEY")


class EnvKeyBackend(PricedBackend):
    """Priced, and ready only when ``ENVKEY_TEST_KEY`` is set (like a cloud backend's API key)."""

    name = "envkey-test"
    description = "Test backend: priced like priced-test, ready only when ENVKEY_TEST_KEY is set."
    model = "envkey-test-v1"

    def check_ready(self) -> None:
        from shotsmith.errors import BackendError

        if not os.environ.get("ENVKEY_TEST_KEY"):
            raise BackendError("no API key for envkey-test", hint="set ENVKEY_TEST_KEY")


class StillBackend(Backend):
    """Priced stills (0.01 USD each) in a colour taken from the prompt; remembers every request it got."""

    name = "still-test"
    description = "Test backend: priced storyboard stills with references."
    model = "still-test-v1"
    requests: list = []

    def capabilities(self) -> Capabilities:
        return Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE, GenerationMode.REFERENCE_TO_IMAGE],
                            resolutions=["360p", "480p", "720p"], fps=[24, 25, 30], max_references=3,
                            max_concurrency=2, costs_money=True, local=False)

    def estimate_cost(self, request) -> CostEstimate:
        return CostEstimate(amount=0.01, unit="USD", source="test price list")

    async def generate(self, request, dest, *, on_progress, cancel) -> GenerationResult:
        from PIL import Image

        from shotsmith.formats import frame_size

        type(self).requests.append(request)
        width, height = frame_size(request.aspect_ratio, request.resolution)
        digest = hashlib.sha256(request.prompt.encode()).digest()
        Image.new("RGB", (width, height), tuple(digest[:3])).save(dest, format="PNG")
        return GenerationResult(path=str(dest), duration_s=0.0, width=width, height=height, kind=MediaKind.IMAGE)


class WarningStillBackend(StillBackend):
    """Priced stills like still-test, but every still comes back with a warning (as diffusers-image's "prompt
    cut short") whose text quotes a key-shaped token, so the service must show it scrubbed."""

    name = "warn-still-test"
    description = "Test backend: priced stills that each come back with a warning."
    model = "warn-still-test-v1"
    requests: list = []
    WARNING = "prompt cut short at 77 tokens (sent with key=sk-live-abcdef123456)"

    async def generate(self, request, dest, *, on_progress, cancel) -> GenerationResult:
        result = await super().generate(request, dest, on_progress=on_progress, cancel=cancel)
        return result.model_copy(update={"warnings": [self.WARNING]})


class PlainStillBackend(StillBackend):
    """Priced stills that take no reference images (a redo of one just redraws it)."""

    name = "plain-still-test"
    description = "Test backend: priced stills without references."
    model = "plain-still-test-v1"
    requests: list = []

    def capabilities(self) -> Capabilities:
        return super().capabilities().model_copy(update={"modes": [GenerationMode.TEXT_TO_IMAGE],
                                                         "max_references": 0})


class ImageToVideoBackend(PricedBackend):
    """Priced like priced-test, animates a start (and end) image; remembers every request it got."""

    name = "i2v-test"
    description = "Test backend: priced animatic cards that take a first and last frame."
    model = "i2v-test-v1"
    requests: list = []

    def capabilities(self) -> Capabilities:
        return super().capabilities().model_copy(update={
            "modes": [GenerationMode.TEXT_TO_VIDEO, GenerationMode.IMAGE_TO_VIDEO], "supports_end_image": True})

    async def generate(self, request, dest, *, on_progress, cancel):
        type(self).requests.append(request)
        return await super().generate(request, dest, on_progress=on_progress, cancel=cancel)


class _Plugin:
    @staticmethod
    @shotsmith.hookimpl
    def shotsmith_register_backends(register):
        register(PricedBackend)
        register(SlowBackend)
        register(GpuBackend)
        register(KeyedBackend)
        register(EnvKeyBackend)
        register(StillBackend)
        register(WarningStillBackend)
        register(PlainStillBackend)
        register(ImageToVideoBackend)


def register() -> None:
    from shotsmith.backends import registry

    if registry.plugin_manager().get_plugin("shotsmith-test-backends") is None:
        registry.register_plugin(_Plugin(), name="shotsmith-test-backends")
