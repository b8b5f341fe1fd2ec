"""One table of the cloud adapters and their mocks, so every fault test runs against each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.backends.backend_mocks.fal import FAL_KEY, FalMock
from tests.backends.backend_mocks.kling import ACCESS_KEY, SECRET_KEY, KlingMock
from tests.backends.backend_mocks.luma import LumaMock
from tests.backends.backend_mocks.runway import RunwayMock
from tests.backends.backend_mocks.veo import GEMINI_KEY, VeoMock

from shotsmith.backends.fal import PikaBackend
from shotsmith.backends.kling import KlingBackend
from shotsmith.backends.luma import LumaBackend
from shotsmith.backends.runway import RunwayBackend
from shotsmith.backends.veo import VeoBackend


@dataclass
class Provider:
    name: str
    mock_cls: type
    backend_cls: type
    #: Environment variables to set (value = the mock's key, or a derived secret).
    env: dict[str, str]
    #: Path appended to the mock URL to form the backend's base_url.
    base_path: str = ""
    remote_cancel: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def secrets(self, mock) -> list[str]:
        return [v for v in self.env.values()]


PROVIDERS: dict[str, Provider] = {
    "runway": Provider("runway", RunwayMock, RunwayBackend, env={"RUNWAYML_API_SECRET": "sk-test-SECRET-0123456789"}),
    "kling": Provider("kling", KlingMock, KlingBackend, env={"KLING_ACCESS_KEY": ACCESS_KEY, "KLING_SECRET_KEY": SECRET_KEY},
                      remote_cancel=False),
    "luma": Provider("luma", LumaMock, LumaBackend, env={"LUMAAI_API_KEY": "luma-test-SECRET-abcdef"},
                     base_path="/dream-machine/v1", extra={"mock_kwargs": {"key": "luma-test-SECRET-abcdef"}}),
    "veo": Provider("veo", VeoMock, VeoBackend, env={"GEMINI_API_KEY": GEMINI_KEY}, base_path="/v1beta",
                    remote_cancel=False, extra={"mock_kwargs": {"key": GEMINI_KEY}}),
    "pika": Provider("pika", FalMock, PikaBackend, env={"FAL_KEY": FAL_KEY}, extra={"mock_kwargs": {"key": FAL_KEY}}),
}
