"""Uploaders: turn a local image into a URL a provider can fetch, for APIs that take images only as URLs.

Luma has no upload endpoint: its keyframes (``keyframes.frame0/frame1``) and
Photon references must be publicly fetchable URLs. Providers with their own
storage use it (Runway uploads, fal storage); the others use an uploader
chosen with the backend's ``uploader`` option and configured under
``[backends.NAME.upload]``. Plugins add uploaders through the
``shotsmith_register_uploaders`` hook.

Built in: ``s3``, any S3-compatible store (AWS, R2, MinIO, Backblaze...). The
object is PUT through a presigned URL and the provider gets a presigned GET
URL that expires (``expires_s``, default one hour): the bucket can stay
private and no key ever leaves this machine. Presigning uses ``boto3``
(``pip install 'shotsmith[s3]'``); nothing else of AWS is called. Settings,
from the upload options or else the environment:

=================  =====================================================
``bucket``         ``SHOTSMITH_S3_BUCKET`` (required)
``endpoint``       ``SHOTSMITH_S3_ENDPOINT`` (omit for AWS)
``region``         ``SHOTSMITH_S3_REGION`` (default us-east-1)
``prefix``         ``SHOTSMITH_S3_PREFIX`` (default ``shotsmith/``)
keys               ``SHOTSMITH_S3_ACCESS_KEY_ID`` / ``SHOTSMITH_S3_SECRET_ACCESS_KEY``,
                   else ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``
=================  =====================================================

Objects are named by content (``prefix/sha256[:16]/file name``), so uploading
the same keyframe twice writes the same object.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import httpx

import shotsmith
from shotsmith.backends.errors import AuthError, RemoteError
from shotsmith.config import Settings, secret
from shotsmith.errors import InvalidInputError


class Uploader(ABC):
    """Subclass, set ``name``, implement :meth:`upload`; register through ``shotsmith_register_uploaders``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def __init__(self, settings: Settings | None = None, **options: Any) -> None:
        self.settings = settings
        self.options = options

    def check_ready(self) -> None:
        """Raise a ShotsmithError when the uploader is not configured (called before any spend)."""

    def secrets(self) -> list[str]:
        """Strings to scrub from messages (keys)."""
        return []

    @abstractmethod
    async def upload(self, path: Path, *, content_type: str, timeout_s: float = 60.0) -> str:
        """Store the file and return a URL the provider can GET (for at least the length of a generation)."""


class S3Uploader(Uploader):
    name = "s3"
    description = "Any S3-compatible store; presigned PUT to upload, presigned GET URL for the provider."

    def _option(self, key: str, env: str, default: str | None = None) -> str | None:
        value = self.options.get(key)
        return str(value) if value else (os.environ.get(env) or default)

    @property
    def bucket(self) -> str | None:
        return self._option("bucket", "SHOTSMITH_S3_BUCKET")

    def _keys(self) -> tuple[str, str]:
        key_id = secret("SHOTSMITH_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID", settings=self.settings)
        key = secret("SHOTSMITH_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", settings=self.settings)
        if key_id is None or key is None:
            raise AuthError("no S3 keys for the s3 uploader",
                            hint="set SHOTSMITH_S3_ACCESS_KEY_ID and SHOTSMITH_S3_SECRET_ACCESS_KEY "
                                 "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
        return key_id.get_secret_value(), key.get_secret_value()

    def check_ready(self) -> None:
        if not self.bucket:
            raise InvalidInputError("the s3 uploader has no bucket",
                                    hint="set SHOTSMITH_S3_BUCKET, or bucket under [backends.NAME.upload]")
        self._keys()
        self._client()

    def secrets(self) -> list[str]:
        try:
            return [self._keys()[1]]
        except AuthError:
            return []

    def _client(self):
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:
            raise InvalidInputError("the s3 uploader needs boto3", hint="pip install 'shotsmith[s3]'") from exc
        key_id, key = self._keys()
        return boto3.client("s3", endpoint_url=self._option("endpoint", "SHOTSMITH_S3_ENDPOINT"),
                            region_name=self._option("region", "SHOTSMITH_S3_REGION", "us-east-1"),
                            aws_access_key_id=key_id, aws_secret_access_key=key,
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))

    def object_key(self, path: Path, data: bytes) -> str:
        prefix = self._option("prefix", "SHOTSMITH_S3_PREFIX", "shotsmith/") or ""
        return f"{prefix}{hashlib.sha256(data).hexdigest()[:16]}/{path.name}"

    async def upload(self, path: Path, *, content_type: str, timeout_s: float = 60.0) -> str:
        self.check_ready()
        data = Path(path).read_bytes()
        client = self._client()
        params = {"Bucket": self.bucket, "Key": self.object_key(Path(path), data)}
        expires = int(self.options.get("expires_s") or 3600)
        put_url = client.generate_presigned_url("put_object", Params={**params, "ContentType": content_type},
                                                ExpiresIn=600)
        try:
            async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as http:
                response = await asyncio.wait_for(
                    http.put(put_url, content=data, headers={"Content-Type": content_type}), timeout_s)
        except (httpx.TransportError, TimeoutError, asyncio.TimeoutError) as exc:
            raise RemoteError(f"s3 uploader: uploading {Path(path).name} failed ({type(exc).__name__})",
                              retryable=True) from exc
        if response.status_code >= 300:
            raise RemoteError(f"s3 uploader: uploading {Path(path).name} answered HTTP {response.status_code}",
                              status=response.status_code, retryable=response.status_code >= 500,
                              hint="check the bucket, its region and the keys' permission to put objects")
        return client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)


@shotsmith.hookimpl
def shotsmith_register_uploaders(register):
    register(S3Uploader)


def uploader_classes() -> dict[str, type[Uploader]]:
    """Every registered uploader by name (built-in and plugins)."""
    from shotsmith.backends.registry import plugin_manager

    found: dict[str, type[Uploader]] = {}
    for impl in plugin_manager().hook.shotsmith_register_uploaders.get_hookimpls():
        def register(cls: type, _plugin: str = impl.plugin_name) -> None:
            if not (isinstance(cls, type) and issubclass(cls, Uploader)):
                raise TypeError(f"plugin {_plugin} registered {cls!r}, which is not an Uploader subclass")
            if cls.name in found and found[cls.name] is not cls:
                raise InvalidInputError(f"uploader name {cls.name!r} is registered twice")
            found[cls.name] = cls
        impl.function(register=register)
    return found


def uploader_for(options: dict[str, Any], settings: Settings | None = None) -> Uploader | None:
    """The uploader a backend's options choose (``uploader`` and ``upload``), or ``s3`` when its bucket is set."""
    name = options.get("uploader") or ("s3" if os.environ.get("SHOTSMITH_S3_BUCKET") else None)
    if not name:
        return None
    classes = uploader_classes()
    if name not in classes:
        raise InvalidInputError(f"unknown uploader {name!r}", hint=f"installed: {', '.join(sorted(classes)) or 'none'}")
    return classes[name](settings=settings, **dict(options.get("upload") or {}))


def guess_type(path: str | Path) -> str:
    return mimetypes.guess_type(str(path))[0] or "application/octet-stream"
