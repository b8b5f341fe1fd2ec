"""Where renders may go: inside the project, or the one file the user named with ``-o``.

Checked before any work starts, so a run whose output cannot be written fails
in a second with one line instead of after minutes of generation, and never
lands on a source file of the project.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from shotsmith.atomic import atomic_output
from shotsmith.errors import InvalidInputError, PathSafetyError
from shotsmith.store import ProjectStore

OUTPUT_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm")
#: A render of a finished cut may also be an animated picture (``render DIR -o loop.gif --preset gif``).
RENDER_SUFFIXES = (*OUTPUT_SUFFIXES, ".gif", ".webp")


def default_project_dir(output: Path) -> Path:
    """``out/ad.mp4`` keeps its project in ``out/ad.shotsmith``."""
    return output.with_name(output.stem + ".shotsmith")


def check_output_path(output: Path) -> Path:
    """Fail early, before any work, on an output that cannot be written; returns it resolved."""
    output = Path(output).expanduser()
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InvalidInputError(f"output {output} must end in one of {', '.join(OUTPUT_SUFFIXES)}")
    if output.is_dir():
        raise InvalidInputError(f"output {output} is a folder; give a file name such as {output / 'video.mp4'}")
    existing = output.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InvalidInputError(f"cannot write {output}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK):
        raise InvalidInputError(f"cannot write {output}: {existing} is not writable")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create the output folder {output.parent}: {exc.strerror or exc}") from exc
    return output.resolve()


def resolve_output(store: ProjectStore, output: str | Path | None, *, preview: bool,
                   allowed: tuple[Path, ...] = ()) -> Path:
    """The file a render writes: ``output`` when allowed, else ``renders/final.mp4`` or ``renders/preview.mp4``.

    With no ``output`` a final render goes to the ``-o`` file of the run when
    there is one. Anything else must be inside the project, and never a file
    the project reads.
    """
    if not output:
        if not preview and allowed:
            output = allowed[0]
        else:
            return store.renders_dir / ("preview.mp4" if preview else "final.mp4")
    raw = Path(output).expanduser()
    candidate = (raw if raw.is_absolute() else store.root / raw).resolve()
    if candidate not in allowed:
        candidate = store.resolve(str(output), allow_inputs=False)
    if candidate.suffix.lower() not in RENDER_SUFFIXES:
        raise InvalidInputError(f"output {str(output)!r} must end in one of {', '.join(RENDER_SUFFIXES)}")
    if candidate in {p.resolve() for p in store.source_paths()}:
        raise PathSafetyError(f"refusing to overwrite {str(output)!r}: it is a source file of the project",
                              hint="choose a new file name under renders/")
    candidate.parent.mkdir(parents=True, exist_ok=True)
    return candidate


#: Files a render writes beside the video (caption sidecars); they travel with it.
SIDECARS = (".srt", ".vtt")


def publish(kept: Path, target: Path) -> None:
    """Give ``target`` the content of the kept version ``kept`` (and its caption sidecars), atomically."""
    if Path(target).resolve() == Path(kept).resolve():
        return
    target = Path(target)
    for suffix in SIDECARS:
        sidecar = Path(kept).with_suffix(suffix)
        if sidecar.is_file():
            _publish_one(sidecar, target.with_suffix(suffix))
        elif _is_earlier_render(target.with_suffix(suffix), Path(kept).parent):
            # This render has no such captions (style off, burn, track): a player would load the stale ones.
            target.with_suffix(suffix).unlink()
    _publish_one(Path(kept), target)


def _is_earlier_render(path: Path, renders: Path) -> bool:
    """Whether ``path`` is a sidecar an earlier render of this project published (so ours to remove)."""
    if not path.is_file():
        return False
    data = path.read_bytes()
    return any(kept.is_file() and kept.read_bytes() == data for kept in renders.glob(f"v[0-9]*{path.suffix}"))


def _publish_one(kept: Path, target: Path) -> None:
    # A copy, not a hard link: the output is the user's file, and a program writing it in place
    # (`cp other.mp4 out.mp4`) would have changed the kept version through the shared inode.
    with atomic_output(target) as tmp_path:
        shutil.copyfile(kept, tmp_path)
