"""The Ray executor's settings (``[ray]`` in the config file) and the reachability probe of a cluster address.

Why apart from :mod:`.ray_pool`: nothing here imports ray, so an address given with
``--executor ray`` is checked when the option is read (:func:`~shotsmith.backends.executors.check_executor`),
before any work, and a wrong one is a usage error (exit 2) rather than a failed shot.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shotsmith.errors import InvalidInputError


class RaySettings(BaseModel):
    """``[ray]`` in the config file."""

    model_config = ConfigDict(extra="forbid")

    address: str | None = Field(default=None, description="Cluster to join; default $RAY_ADDRESS, else a local instance.")
    namespace: str = "shotsmith"
    actors: int | None = Field(default=None, ge=1, le=1024, description="Pool size; default one per GPU, "
                                                                         "else the cluster's CPUs / cpus_per_actor.")
    cpus_per_actor: float = Field(default=1.0, gt=0)
    gpus_per_actor: float = Field(default=1.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=10, description="Tries per shot when workers die.")
    shot_timeout_s: float = Field(default=6 * 3600.0, gt=0)
    call_timeout_s: float = Field(default=60.0, gt=0)
    poll_s: float = Field(default=0.2, gt=0, le=10)
    connect_timeout_s: float = Field(default=10.0, gt=0, le=600, description="How long joining a cluster by "
                                     "address may take before it is given up (the address is probed first).")
    keep_results: int = Field(default=32, ge=1)
    detached: bool | None = Field(default=None, description="Workers outlive the driver; default true on a "
                                                            "cluster joined by address, false on a local instance.")


def ray_settings(table: dict[str, Any] | None = None) -> RaySettings:
    try:
        return RaySettings.model_validate(table or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInputError(f"[ray] {'.'.join(map(str, first['loc']))}: {first['msg']}",
                                hint=f"known settings: {', '.join(RaySettings.model_fields)}") from exc


#: The HTTP/2 client preface and an empty SETTINGS frame: a gRPC server (Ray's GCS, the Ray client
#: server) answers them with its own SETTINGS frame at once.
_H2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def probe_address(address: str, timeout_s: float) -> None:
    """Check, within ``timeout_s`` in all, that a gRPC server answers at ``address`` (``host:port`` or
    ``ray://host:port``); a usage error naming the address otherwise.

    Why: ``ray.init`` has no connect timeout; on a wrong address it retries for minutes and floods
    the terminal with its C++ client's log. ``auto`` / ``local`` (no port) are left to Ray."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return
    host = host.strip("[]") or "127.0.0.1"
    deadline = time.monotonic() + timeout_s

    def fail(why: str) -> InvalidInputError:
        return InvalidInputError(f"cannot reach the Ray cluster at {address} within {timeout_s:g} s ({why})",
                                 hint="check RAY_ADDRESS / [ray] address (`ray status` on the head node), "
                                      "or use --executor local")

    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
            sock.sendall(_H2_HELLO)
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            head = sock.recv(9)
    except socket.timeout:
        raise fail("no answer") from None
    except OSError as exc:
        raise fail(exc.strerror or type(exc).__name__) from None
    if len(head) < 9 or head[3] != 0x04:  # the server's first frame must be SETTINGS
        raise fail("it does not speak gRPC: not a Ray head node")


def cluster_address(settings: RaySettings) -> str | None:
    """The address to join: ``[ray] address``, else ``$RAY_ADDRESS``; None starts a local instance."""
    return settings.address or os.environ.get("RAY_ADDRESS") or None
