"""Proxies: each large source once at a preview's size, made in the background as it arrives.

Why: a preview's small frame and fastest encoder leave decoding the sources at full
size as most of its work. On the render bench (ten 1080p sources, 60 s) a first
preview spends over half of its CPU decoding and downscaling them, and every preview
after an edit that touches the whole cut (a grade, the title, the frame) pays it again.
A proxy is a source's picture scaled once to cover the preview frame (fastest x264,
one-second GOPs so an in point is near a keyframe, the timestamps passed through),
kept in ``PROJECT/.shotsmith/proxies/`` under a key of the source's stamp and the
proxy's size.

When: as a clip arrives (a generated shot lands, footage joins the cut, a render
names it), :class:`ProxyMaker` makes its proxy on a background thread, one ffmpeg at a
time, at a low priority (nobody waits on it). A cloud shot takes minutes to generate,
its proxy a fraction of a second, so proxies are ready long before the user asks for a
preview. This is how editors do it (proxy media made on import, used while editing).

How a preview uses them: :func:`proxy_resolver` maps a source to its proxy only when
the proxy is complete (files are written atomically); a source without one is read as
it is. Only the picture changes: the sound is mixed from the sources, so a preview
sounds as the final render does. The graph is the one compiler's; a segment read from
a proxy is keyed by the proxy file (so it never stands in for one read from a source).

A source is proxied only when the proxy saves most of its pixels (the frame it covers
is under half of the source's pixels) and its picture starts at the file's start (a
picture that starts later, or a still, is read as it is: exact timing over speed).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from shotsmith.atomic import atomic_output
from shotsmith.errors import CancelledError, ShotsmithError
from shotsmith.media.ffmpeg import run_ffmpeg
from shotsmith.media.probe import MediaInfo, probe
from shotsmith.timeline import OutputSettings
from shotsmith.tools.cache_files import prune
from shotsmith.tools.render import _is_image, still_info

log = logging.getLogger(__name__)

#: Bump when the way proxies are made changes.
PROXY_VERSION = "proxy-2"
#: A source is proxied when the preview frame needs at most this share of its width (and height).
MAX_SCALE = 0.7
#: Niceness of the ffmpeg that makes a proxy: it yields the CPU to renders and the UI.
NICENESS = 10
#: Least recently used proxies beyond this many bytes are removed (never those of the cut being worked on).
MAX_PROXY_BYTES = 2 << 30


@dataclass(frozen=True)
class ProxySpec:
    """Where a source's proxy lives and how it is made."""

    source: Path
    path: Path
    width: int
    height: int
    gop: int
    duration_s: float


def proxy_spec(source: Path, preview: OutputSettings, folder: Path,
               info: MediaInfo | None = None) -> ProxySpec | None:
    """The proxy ``source`` would have for previews of ``preview``'s size, or None when reading the source
    costs little more (small, a still) or a proxy could move its picture in time (it starts late)."""
    try:
        info = info or still_info(source) or probe(source)
        stat = source.stat()
    except (ShotsmithError, OSError):
        return None
    video = info.video
    if video is None or _is_image(source, info):
        return None
    frame_s = 1 / (video.fps or 30)
    if abs(video.start_s) > frame_s / 2:
        return None
    sw, sh = (video.height, video.width) if video.rotation % 180 else (video.width, video.height)
    factor = max(preview.width / sw, preview.height / sh)  # cover the frame: every fit mode finds its pixels
    if factor > MAX_SCALE:
        return None
    width, height = max(2, round(sw * factor / 2) * 2), max(2, round(sh * factor / 2) * 2)
    payload = [PROXY_VERSION, str(source.resolve()), stat.st_size, stat.st_mtime_ns, width, height]
    key = hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:32]
    return ProxySpec(source=source, path=Path(folder) / f"{key}.mp4", width=width, height=height,
                     gop=max(1, round(video.fps or 30)), duration_s=info.duration_s)


def make_proxy(spec: ProxySpec, *, cancel: threading.Event | None = None) -> Path:
    """Write ``spec``'s proxy (atomically: a half-made proxy is never read) and return its path."""
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(spec.path) as tmp:
        # full decoding (deblocked): a proxy stands in for its source in every later preview; one thread each,
        # the cheapest in CPU, as nobody waits on it
        run_ffmpeg(["-threads", "1", "-i", str(spec.source), "-map", "0:v:0",
                    "-vf", f"scale={spec.width}:{spec.height}:flags=fast_bilinear", "-fps_mode", "passthrough",
                    "-c:v", "libx264", "-threads", "1", "-preset", "ultrafast", "-crf", "20", "-g", str(spec.gop),
                    "-pix_fmt", "yuv420p", "-an", "-sn", "-dn", "-map_metadata", "-1", str(tmp)],
                   duration_s=spec.duration_s, cancel=cancel, niceness=NICENESS,
                   what=f"making a preview proxy of {spec.source.name}")
    return spec.path


def proxy_resolver(resolve: Callable[[str], Path], preview: OutputSettings, folder: Path) -> Callable[[str], Path]:
    """A ``resolve`` that reads a source's proxy when it is ready, else the source (it never makes one)."""
    found: dict[str, Path] = {}

    def picture(ref: str) -> Path:
        if ref not in found:
            source = Path(resolve(ref))
            spec = proxy_spec(source, preview, folder) if source.is_file() else None
            found[ref] = source
            if spec is not None and spec.path.is_file():
                with contextlib.suppress(OSError):
                    os.utime(spec.path)  # recently used: pruning keeps it
                found[ref] = spec.path
        return found[ref]

    return picture


class ProxyMaker:
    """Makes proxies one at a time on a background thread that lives while there is work.

    :meth:`request` returns at once; a source already proxied or queued is skipped. A
    failure is logged and the preview reads the source. At exit the work in hand is
    cancelled (its partial file removed) rather than waited for.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._queue: queue.Queue[ProxySpec] = queue.Queue()
        self._pending: set[Path] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._specs: dict[tuple, ProxySpec | None] = {}
        self._wanted: set[Path] = set()  # the proxies of the cut last asked about: never pruned
        self.made: list[Path] = []
        self.failed: list[tuple[Path, str]] = []
        _makers.add(self)

    def request(self, sources: Iterable[Path], preview: OutputSettings) -> list[Path]:
        """Queue a proxy for each source that needs one and lacks it; returns the proxies queued."""
        queued = []
        specs = [self._spec(Path(source), preview) for source in sources]
        with self._lock:
            self._wanted = {spec.path for spec in specs if spec is not None}
        for spec in specs:
            if spec is None or spec.path.is_file():
                continue
            with self._lock:
                if spec.path in self._pending or self._stop.is_set():
                    continue
                self._pending.add(spec.path)
                self._queue.put(spec)
                queued.append(spec.path)
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._work, name="shotsmith-proxies", daemon=True)
                    self._thread.start()
        return queued

    def _spec(self, source: Path, preview: OutputSettings) -> ProxySpec | None:
        """:func:`proxy_spec`, probed once per version of a file (every edit asks again)."""
        try:
            st = source.stat()
        except OSError:
            return None
        known = (str(source), st.st_size, st.st_mtime_ns, preview.width, preview.height)
        if known not in self._specs:
            self._specs[known] = proxy_spec(source, preview, self.folder)
        return self._specs[known]

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                spec = self._queue.get(timeout=0.2)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            try:
                if not spec.path.is_file():
                    self.made.append(make_proxy(spec, cancel=self._stop))
                    with self._lock:
                        keep = set(self._wanted) | set(self._pending)
                    prune(self.folder, keep=keep, max_bytes=MAX_PROXY_BYTES)
            except CancelledError:
                pass  # the session is ending (its ffmpeg children are stopped): nothing to report
            except Exception as exc:  # noqa: BLE001 - a proxy is an optimisation: the preview reads the source
                if not self._stop.is_set():
                    log.warning("no preview proxy for %s: %s", spec.source.name, exc)
                    self.failed.append((spec.source, str(exc)))
            finally:
                with self._lock:
                    self._pending.discard(spec.path)
                self._queue.task_done()

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Block until the queued proxies are made (True) or ``timeout_s`` passes (False)."""
        done = threading.Event()
        threading.Thread(target=lambda: (self._queue.join(), done.set()), daemon=True).start()
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop: the proxy being made is cancelled (its partial file removed); the queue is dropped."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)


_makers: "weakref.WeakSet[ProxyMaker]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for maker in list(_makers):
        maker.close()
