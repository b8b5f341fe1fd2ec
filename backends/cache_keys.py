"""Cache keys: what makes two generation requests the same picture, wherever the project folder is.

A key hashes the backend, its model and settings (``cache_identity()``) and the request, with every local
file the request carries (start image, end image, references, a local clip to extend) named by its
SHA-256 instead of its absolute path (:func:`key_payload`): replacing the picture behind a file name makes
the shot again, moving or cloning the project folder does not. :func:`legacy_cache_key` is the key as
0.1.0 computed it (paths included), kept so that projects written before still find their records
(:func:`shotsmith.backends.engine.find_record` does the looking up).

A still (an image request) is keyed by what it shows: its ``duration_s`` is left out of the key
(:func:`key_exclusions`), so re-timing a shot, or changing its speed, never buys its storyboard still again.
:func:`timed_cache_key` is the key stills had before (their duration in it), kept as a fallback so the
records filed under it are still found.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath

from shotsmith.backends.base import Backend, GenerationRequest, MediaKind
from shotsmith.project import GenerationRecord

#: Request fields added after cache keys were first issued: left out of a key while at their defaults, so
#: the media kinds did not change (and regenerate, and charge again for) any shot made before them.
LATER_FIELDS = {"end_image": None, "references": [], "voice": None, "language": None, "instructions": None,
                "audio": None, "extend_from": None, "take": None}
#: Request fields that may name a local file (besides each reference's ``path``): keyed by content, see key_payload.
LOCAL_FILE_FIELDS = ("image", "end_image", "extend_from")

__all__ = ["LATER_FIELDS", "LOCAL_FILE_FIELDS", "cache_key", "carried_files", "key_exclusions", "key_payload",
           "legacy_cache_key", "moved_legacy_keys", "recorded_payload", "request_payload", "same_but_files",
           "same_request", "timed_cache_key"]


def key_exclusions(request: GenerationRequest) -> tuple[str, ...]:
    """The request fields a cache key leaves out: the shot's position always, and a still's duration.

    Why: a still has no length. Its request carries the shot's ``duration_s`` (the field is required and a
    backend may read it), but keying a still by it re-bought the storyboard still (a paid image) each time
    the shot was re-timed. Video and speech keep their duration in the key: it changes what they are.
    """
    return ("shot_index", "duration_s") if request.mode.kind is MediaKind.IMAGE else ("shot_index",)


def _file_digest(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def request_payload(request: GenerationRequest, *, exclude: Iterable[str] = ("shot_index",)) -> dict:
    """The request as its cache key sees it: every field, except later fields still at their defaults.

    Compare stored requests (``GenerationRecord.request``) through this too:
    records written before a field existed lack it.
    """
    payload = request.model_dump(mode="json", exclude=set(exclude))
    for name, default in LATER_FIELDS.items():
        if name in payload and payload[name] == default:
            del payload[name]
    return payload


def _local_file(value: object) -> bool:
    """An absolute path of a file on this machine (a URL, a provider's id or handle is none)."""
    return isinstance(value, str) and Path(value).is_absolute() and Path(value).is_file()


def key_payload(request: GenerationRequest, *, exclude: Iterable[str] | None = None) -> dict:
    """The request as its cache key hashes it: :func:`request_payload` without :func:`key_exclusions` (unless
    ``exclude`` says which fields to leave out), with every local file by its content.

    A start image, end image, reference image or local clip to extend is ``{"sha256": …}`` instead of its
    absolute path, so the key says what is sent, not where the project folder happens to be: a project
    moved or cloned to another machine finds its clips instead of paying for them again. A value that is
    not a local file (a provider's URL or handle, a file that does not exist) stays as it is.
    """
    return _key_payload(request, key_exclusions(request) if exclude is None else exclude, _file_digest)


def _key_payload(request: GenerationRequest, exclude: Iterable[str], digest: Callable[[str], str | None]) -> dict:
    return _by_content(request_payload(request, exclude=exclude), lambda path: digest(path)
                       if _local_file(path) else None)


def recorded_payload(record: GenerationRecord, *, exclude: Iterable[str] = ("shot_index",)) -> dict:
    """A record's request as :func:`key_payload` sees a request: what a cached clip was made from compares with
    what a shot asks for now, wherever the project folder is.

    A file is named by the digest kept in the record (``file_sha256``: its content when it was sent), else
    by the file at the recorded path when it is still there (records from before digests were kept).
    """
    payload = json.loads(json.dumps(_stored_payload(record, exclude)))  # the record's own request stays as it is
    return _by_content(payload, lambda path: record.file_sha256.get(path) or (_file_digest(path)
                                                                               if _local_file(path) else None))


def same_request(record: GenerationRecord, request: GenerationRequest, *,
                 exclude: Iterable[str] = ("shot_index",)) -> bool:
    """The record was made from ``request`` (but for the fields in ``exclude``), its files compared by content.

    Everything but the files is compared first (:func:`same_but_files`), so a project's many other records
    cost no file reads.
    """
    if not same_but_files(record, request, exclude=exclude):
        return False
    return recorded_payload(record, exclude=exclude) == key_payload(request, exclude=exclude)


def same_but_files(record: GenerationRecord, request: GenerationRequest, *,
                   exclude: Iterable[str] = ("shot_index",)) -> bool:
    """The record's request equals ``request`` (but for ``exclude``) in everything except which files it
    names: a cheap first sieve, no file is read (each reference keeps its tag, role and weight)."""
    return _files_apart(_stored_payload(record, exclude)) == _files_apart(request_payload(request, exclude=exclude))


def _stored_payload(record: GenerationRecord, exclude: Iterable[str]) -> dict:
    left_out = set(exclude)
    return {k: v for k, v in record.request.items()  # records from before a field existed lack it
            if k not in left_out and not (k in LATER_FIELDS and v == LATER_FIELDS[k])}


def _files_apart(payload: dict) -> dict:
    """``payload`` without its file names (each reference keeps its tag, role and weight)."""
    rest = {k: v for k, v in payload.items() if k not in LOCAL_FILE_FIELDS and k != "references"}
    rest["references"] = [{k: v for k, v in r.items() if k != "path"} if isinstance(r, dict) else r
                          for r in payload.get("references") or []]
    return rest


def carried_files(request: GenerationRequest) -> dict[str, str]:
    """Path -> SHA-256 of each local file the request carries (kept in its record, see recorded_payload)."""
    paths = [getattr(request, name) for name in LOCAL_FILE_FIELDS] + [r.path for r in request.references]
    return {path: digest for path in paths if _local_file(path) and (digest := _file_digest(path))}


def _by_content(payload: dict, digest_of: Callable[[str], str | None]) -> dict:
    """``payload`` with each file field that ``digest_of`` knows replaced by ``{"sha256": …}``."""
    def named(value: object) -> object:
        digest = digest_of(value) if isinstance(value, str) else None
        return {"sha256": digest} if digest else value

    for name in LOCAL_FILE_FIELDS:
        if name in payload:
            payload[name] = named(payload[name])
    for reference in payload.get("references") or []:
        if isinstance(reference, dict) and "path" in reference:
            reference["path"] = named(reference["path"])
    return payload


def _hash_key(backend: Backend, request: GenerationRequest, payload: dict,
              digest: Callable[[str], str | None] = _file_digest) -> str:
    extra: dict = {}
    if request.end_image:
        extra["end_image_sha256"] = digest(request.end_image)
    if request.references:
        extra["references_sha256"] = [digest(r.path) for r in request.references]
    blob = json.dumps({"backend": backend.name, "model": request.model or backend.model,
                       "request": payload, "settings": backend.cache_identity(),
                       "image_sha256": digest(request.image) if request.image else None, **extra},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_key(backend: Backend, request: GenerationRequest) -> str:
    """Hash over (backend, model, request, seed); neither the shot's position nor the project's folder is in it,
    nor a still's duration (:func:`key_exclusions`).

    Every local file the request carries (start image, end image, each
    reference, a local clip to extend) is hashed by its content alone
    (:func:`key_payload`): replacing the picture behind the same file name
    regenerates the shot, and moving the project folder does not. Voice,
    language, instructions and a shot's ``take`` are request fields and so part
    of the key. A request that carries no local file has the same key as under
    :func:`legacy_cache_key`.
    """
    digest = functools.cache(_file_digest)  # each file read once per key
    return _hash_key(backend, request, _key_payload(request, key_exclusions(request), digest), digest)


def timed_cache_key(backend: Backend, request: GenerationRequest) -> str:
    """:func:`cache_key` with the request's ``duration_s`` in it: the key a still had until stills were keyed
    without their duration (for video and speech it is their :func:`cache_key`).

    Why it is kept: stills made before are filed under it, at the duration their shot had then;
    ``engine.find_record`` looks a still up under it, at each duration the project's stills were made at,
    and files the record found under the new key. Like :func:`legacy_cache_key`, keep it until 1.0.
    """
    digest = functools.cache(_file_digest)
    return _hash_key(backend, request, _key_payload(request, ("shot_index",), digest), digest)


def legacy_cache_key(backend: Backend, request: GenerationRequest) -> str:
    """The key as shotsmith 0.1.0 computed it until November 2026: the absolute paths of the files are in it.

    Why it is kept: records in ``project.json`` written before the change are filed under it, and a project
    must not pay again for a clip it has (nor submit a running task twice). ``engine.find_record`` looks a
    request up under it when its :func:`cache_key` finds nothing usable and then files the record under the
    new key. Keep it until shotsmith 1.0, the first release allowed to stop reading projects written by
    0.1.0; it is the exact old algorithm, so do not "fix" it.
    """
    payload = request_payload(request)
    if request.extend_from and Path(request.extend_from).is_absolute() and Path(request.extend_from).is_file():
        payload["extend_from"] = {"sha256": _file_digest(request.extend_from)}
    return _hash_key(backend, request, payload)


def moved_legacy_keys(backend: Backend, request: GenerationRequest, root: Path,
                      records: Iterable[GenerationRecord]) -> list[str]:
    """The legacy keys ``request`` had when the project lived in a folder it has since been moved out of.

    A record written before the key change holds its files' absolute paths from then. The folders the
    project was in are read off those paths (``records``): the part before a tail that names a file in the
    project now. For each, the request's files inside ``root`` are put back under it and the legacy key is
    computed with the digests of the files as they are now: a record found under such a key was made from
    these very bytes at these very project-relative names, so a project moved (or cloned) before it was
    opened by the new code still reuses its clips and resumes its tasks.
    """
    inside = _inside(request, root)
    if not inside:
        return []
    keys = []
    for old_root in sorted(_former_roots(root, records)):
        back = {str(PurePath(old_root, rel)): now for now, rel in inside.items()}
        rebased = request.model_copy(update={
            "image": _rebase(request.image, inside, old_root), "end_image": _rebase(request.end_image, inside, old_root),
            "references": [r.model_copy(update={"path": _rebase(r.path, inside, old_root)}) for r in request.references]})
        digest = functools.cache(lambda path: _file_digest(back.get(path, path)))
        payload = request_payload(rebased)
        if rebased.extend_from and Path(rebased.extend_from).is_absolute() and Path(rebased.extend_from).is_file():
            payload["extend_from"] = {"sha256": digest(rebased.extend_from)}
        keys.append(_hash_key(backend, rebased, payload, digest))
    return keys


def _inside(request: GenerationRequest, root: Path) -> dict[str, PurePath]:
    """The request's start, end and reference images that are files inside ``root``: path -> relative path."""
    found = {}
    for path in [request.image, request.end_image, *(r.path for r in request.references)]:
        if _local_file(path):
            try:
                found[path] = PurePath(path).relative_to(root)  # type: ignore[arg-type]
            except ValueError:
                continue
    return found


def _rebase(path: str | None, inside: dict[str, PurePath], old_root: str) -> str | None:
    return str(PurePath(old_root, inside[path])) if path in inside else path


def _former_roots(root: Path, records: Iterable[GenerationRecord]) -> set[str]:
    """The folders other than ``root`` that the records' files were in (see :func:`moved_legacy_keys`)."""
    paths: set[str] = set()
    for record in records:
        request = record.request
        paths.update(p for p in (request.get("image"), request.get("end_image")) if isinstance(p, str))
        paths.update(r["path"] for r in request.get("references") or [] if isinstance(r, dict)
                     and isinstance(r.get("path"), str))
    roots = {_former_root(str(root), path) for path in paths}
    roots.discard(None)
    return roots  # type: ignore[return-value]


@functools.lru_cache(maxsize=4096)
def _former_root(root: str, path: str) -> str | None:
    """The folder ``path`` was under when its longest tail names a file in ``root`` now; None otherwise."""
    parts = PurePath(path).parts
    if not PurePath(path).is_absolute() or PurePath(path).is_relative_to(root):
        return None
    for i in range(1, len(parts)):
        if (Path(root) / PurePath(*parts[i:])).is_file():
            return str(PurePath(*parts[:i]))
    return None
