"""Crash-safe file writes: write a temporary sibling, fsync, then rename over the target.

A rename within one folder is atomic on POSIX and Windows, so a reader sees either
the old file or the new one, never half of one. Used for project.json and for
every media file shotsmith produces.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from shotsmith.errors import ShotsmithError

#: errno values that say the path itself is unusable (a usage error, exit 2) rather than the system refusing.
_PATH_ERRNOS = {errno.ENOTDIR, errno.EISDIR, errno.ENOENT, errno.ENAMETOOLONG, errno.EEXIST, errno.EINVAL}


class WriteError(ShotsmithError, OSError):
    """An output that cannot be written: one line naming the file the user asked for, never a temporary name.

    Also an :class:`OSError` (``errno``, ``strerror``, ``filename``), so code that
    catches OSError around a write keeps working. Exit code 2 when the path itself
    is unusable (its parent is a file, it is a folder), 1 when the system refuses
    (permission denied, read-only file system, disk full).
    """

    def __init__(self, path: Path, cause: OSError | None = None, *, reason: str | None = None) -> None:
        reason = reason or _reason(Path(path), cause)
        hint = None
        if cause is not None and cause.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            hint = "choose a folder you can write to"
        ShotsmithError.__init__(self, f"cannot write {path}: {reason}", hint=hint)
        self.errno = cause.errno if cause is not None else None
        self.strerror = cause.strerror if cause is not None else reason
        self.filename = str(path)
        self.exit_code = 2 if cause is not None and cause.errno in _PATH_ERRNOS else 1


def _reason(path: Path, cause: OSError | None) -> str:
    if cause is None:
        return "failed"
    # "File exists" / "Not a directory" from mkdir hide the real problem: a file where a folder should be.
    for ancestor in path.parents:
        try:
            if ancestor.exists():
                if not ancestor.is_dir():
                    return f"{ancestor} is a file, not a folder"
                break
        except OSError:
            break
    if cause.errno == errno.EISDIR or (path.is_dir() and cause.errno in (errno.EEXIST, errno.EISDIR, errno.ENOTEMPTY)):
        return "it is a folder"
    return cause.strerror or str(cause)


def check_writable(path: Path, *, folder: bool = False) -> None:
    """Raise :class:`WriteError` now if ``path`` plainly cannot be written, before a long job starts.

    ``path`` is a file to write, or with ``folder=True`` a folder to write files
    into. Looks at the nearest existing folder on the way (the rest is created by
    the write): a file there, or a folder this process may not write into, is
    refused. The write itself still reports anything this cannot foresee.
    """
    path = Path(path)
    if path.is_dir() and not folder:
        raise WriteError(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path)))
    for ancestor in ([path] if folder else []) + list(path.parents):
        try:
            if not ancestor.exists():
                continue
        except OSError:
            continue
        if not ancestor.is_dir():
            raise WriteError(path, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(ancestor)))
        if not os.access(ancestor, os.W_OK | os.X_OK):
            code = errno.EACCES
            with contextlib.suppress(OSError, AttributeError):  # no statvfs on Windows
                if os.statvfs(ancestor).f_flag & getattr(os, "ST_RDONLY", 1):
                    code = errno.EROFS
            raise WriteError(path, PermissionError(code, os.strerror(code), str(ancestor)))
        return


_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where possible (``/proc/self/status`` on Linux).

    Elsewhere ``os.umask`` has to set it to read it; that is done under a lock and
    restored at once (a file created by another thread in between could get mode 0o022's
    complement, which is why Linux avoids it).
    """
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/status", encoding="ascii", errors="replace") as status:
                for line in status:
                    if line.startswith("Umask:"):
                        return int(line.split()[1], 8)
        except (OSError, ValueError, IndexError):
            pass
    with _umask_lock:
        old = os.umask(0o022)
        os.umask(old)
    return old


def _final_mode(path: Path) -> int:
    """Permission bits for a finished file: those of the file it replaces, else what ``open()`` would give."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible (or needed) on every platform.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


#: A temporary file left by a dead process is removed once it is this old (seconds without a write).
STALE_AFTER_S = 120.0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, it is someone else's
        return True
    return True


def remove_stale_temps(path: Path, *, prefix: str, suffix: str) -> list[Path]:
    """Remove the temporary siblings of ``path`` that a killed process left (``kill -9``, a power cut).

    Temporary names carry the writer's pid (``.NAME.<pid>-xxxx.part.mp4``); one is stale
    when that process is gone *and* the file has not been written for
    :data:`STALE_AFTER_S` (the pid may be another machine's or container's). POSIX only.
    """
    if os.name != "posix":
        return []
    pattern = re.compile(re.escape(prefix) + r"(\d+)-[A-Za-z0-9_]+" + re.escape(suffix) + r"\Z")
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    now = time.time()
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or int(match.group(1)) == os.getpid():
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or now - entry.stat().st_mtime < STALE_AFTER_S:
                continue
            if _pid_alive(int(match.group(1))):
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _make_temp(path: Path, *, prefix: str, suffix: str) -> tuple[int, str]:
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(path, prefix=prefix, suffix=suffix)
        return tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}-", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise WriteError(path, exc) from exc


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all or nothing; the file gets the mode a plain ``open()`` would give it."""
    path = Path(path)
    fd, tmp = _make_temp(path, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if hasattr(os, "fchmod"):  # POSIX; Windows has no mode bits worth setting
                os.fchmod(handle.fileno(), _final_mode(path))
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, ShotsmithError):
            raise WriteError(path, exc) from exc
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix, so muxers infer the format).

    On a clean exit the temporary file gets its final mode and is renamed onto
    ``path``; on any error (Ctrl-C and SIGTERM included, see
    :mod:`shotsmith.interrupts`) it is removed and ``path`` is left exactly as it
    was. One left by a killed process is removed by the next write of ``path``
    (:func:`remove_stale_temps`). An OS error on the temporary file or the rename becomes a
    :class:`WriteError` naming ``path``.
    """
    path = Path(path)
    fd, tmp_name = _make_temp(path, prefix=f".{path.stem}.", suffix=f".part{path.suffix}")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
        except OSError as exc:
            if isinstance(exc, ShotsmithError) or exc.filename not in (tmp_name, str(tmp)):
                raise
            raise WriteError(path, exc) from exc
        try:
            if not tmp.exists() or tmp.stat().st_size == 0:
                raise WriteError(path, reason="nothing was written")
            os.chmod(tmp, _final_mode(path))
            os.replace(tmp, path)
        except WriteError:
            raise
        except OSError as exc:
            raise WriteError(path, exc) from exc
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
