"""Hook specifications: the plugin author's reference. Markers and specs live here together."""

from __future__ import annotations

from collections.abc import Callable

import pluggy

import shotsmith

hookspec = pluggy.HookspecMarker("shotsmith")
hookimpl = shotsmith.hookimpl


@hookspec
def shotsmith_register_backends(register: Callable[[type], None]) -> None:
    """Register video generation backends.

    Call ``register(BackendClass)`` once per backend. ``BackendClass`` subclasses
    :class:`shotsmith.backends.base.Backend`, has a unique ``name`` and can be
    built with no arguments (it reads its keys from the environment or config
    when it is used, not when it is registered, so listing backends never
    needs a key). Registering two backends under one name is an error.
    """


@hookspec
def shotsmith_register_uploaders(register: Callable[[type], None]) -> None:
    """Register uploaders: ways to turn a local image into a URL a provider can fetch.

    Some providers take images only as public URLs (Luma's keyframes and Photon
    references; it has no upload endpoint). Call ``register(UploaderClass)``
    once per uploader; ``UploaderClass`` subclasses
    :class:`shotsmith.backends.uploaders.Uploader`, has a unique ``name``, is
    built from keyword options (``[backends.NAME.upload]`` in the config) and
    implements ``async upload(path, content_type=...) -> url``. A backend picks
    one with its ``uploader`` option; the built-in ``s3`` uploader (presigned
    URLs on any S3-compatible store) is registered this way too.
    """
