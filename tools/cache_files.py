"""Cache folders kept to a size: the least recently used files go first, never the ones in use.

The segment cache, the preview cache and the proxies each hold files keyed by what
made them; any of them may be removed (the next render makes it again), so a cache is
kept under a byte budget by age of last use (a file's mtime, touched when reused).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


#: Least recently used files beyond this many bytes are removed after a render.
DEFAULT_CACHE_BYTES = 4 << 30


def prune(cache: Path, keep: Iterable[Path] = (), max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
    """Remove the least recently used files (videos, mixed sound) until ``cache`` holds at most ``max_bytes``;
    the files in ``keep`` stay whatever the budget."""
    kept = {Path(p).resolve() for p in keep}
    files = [p for p in (*cache.glob("*.mp4"), *cache.glob("sound-*")) if p.is_file()]
    files.sort(key=lambda p: p.stat().st_mtime)
    total = sum(p.stat().st_size for p in files)
    for path in files:
        if total <= max_bytes:
            break
        if path.resolve() in kept:
            continue
        total -= path.stat().st_size
        path.unlink(missing_ok=True)
