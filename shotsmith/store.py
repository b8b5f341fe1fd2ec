"""A project on disk: ``project.json`` plus ``assets/``, ``clips/`` and ``renders/``.

Every save is atomic (see :mod:`shotsmith.atomic`). Paths that tools receive are
resolved here, and anything that escapes the folder is refused unless it is a
file the user explicitly gave as input.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pydantic import ValidationError

from shotsmith.atomic import atomic_write_text
from shotsmith.errors import InvalidInputError, PathSafetyError, ProjectError
from shotsmith.history import History, HistoryEntry
from shotsmith.scrub import scrub_known
from shotsmith.project import SCHEMA_VERSION, Project, utcnow

PROJECT_FILE = "project.json"
SUBFOLDERS = ("assets", "clips", "renders")


class ProjectStore:
    """Reads, writes and guards one project folder."""

    def __init__(self, root: Path, project: Project) -> None:
        self.root = Path(root).resolve()
        self.project = project
        self._lock = threading.RLock()
        self._history: History | None = None

    # -- lifecycle -----------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, *, name: str | None = None) -> "ProjectStore":
        root = Path(root)
        if (root / PROJECT_FILE).exists():
            raise ProjectError(f"{root} already holds a project", hint="open it instead, or pick another folder")
        if root.exists() and not root.is_dir():
            raise InvalidInputError(f"{root} exists and is not a folder", hint="pick another project folder")
        existing = root
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise InvalidInputError(f"cannot create project folder {root}: {existing} is a file, not a folder")
        try:
            for sub in SUBFOLDERS:
                (root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"cannot create project folder {root}: {exc.strerror or exc}") from exc
        store = cls(root, Project(name=name or root.resolve().name))
        store.save()
        return store

    @classmethod
    def open(cls, root: Path) -> "ProjectStore":
        root = Path(root)
        path = root / PROJECT_FILE
        if not path.is_file():
            raise InvalidInputError(f"no project at {root} (missing {PROJECT_FILE})",
                                    hint="give the folder of an existing project, or start one with run or chat")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProjectError(f"{path} is unreadable: {exc}") from exc
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != SCHEMA_VERSION:
            raise ProjectError(f"{path} has schema version {version!r}; this shotsmith reads version {SCHEMA_VERSION}")
        try:
            project = Project.model_validate(data)
        except ValidationError as exc:
            raise ProjectError(f"{path} is not a valid project: {exc.error_count()} problem(s), first: {exc.errors()[0]['msg']}") from exc
        for sub in SUBFOLDERS:
            (root / sub).mkdir(exist_ok=True)
        return cls(root, project)

    @classmethod
    def open_or_create(cls, root: Path, *, name: str | None = None) -> "ProjectStore":
        return cls.open(root) if (Path(root) / PROJECT_FILE).exists() else cls.create(root, name=name)

    def save(self) -> None:
        """Write project.json atomically, and record the change in the project's history."""
        with self._lock:
            self.project.sync_cut()  # a planned project's clips always follow its plan
            self.project.updated_at = utcnow()
            # A provider's error text may quote a key: none is ever written into the project.
            atomic_write_text(self.root / PROJECT_FILE, scrub_known(self.project.model_dump_json(indent=2)) + "\n")
            self.history.record(self.project)

    # -- history -------------------------------------------------------------------
    @property
    def history(self) -> History:
        if self._history is None:
            self._history = History(self.root)
        return self._history

    def undo(self, steps: int = 1) -> HistoryEntry:
        """Go back ``steps`` changes (plan, cut, settings); clips and money spent are never rolled back."""
        return self._move(-steps)

    def redo(self, steps: int = 1) -> HistoryEntry:
        return self._move(steps)

    def _move(self, steps: int) -> HistoryEntry:
        with self._lock:
            entry = self.history.move(self.project, steps)
            self.save()
            return entry

    # -- folders -------------------------------------------------------------------
    @property
    def clips_dir(self) -> Path:
        return self.root / "clips"

    @property
    def assets_dir(self) -> Path:
        return self.root / "assets"

    @property
    def renders_dir(self) -> Path:
        return self.root / "renders"

    # -- paths ---------------------------------------------------------------------
    def is_inside(self, path: Path) -> bool:
        try:
            Path(path).resolve().relative_to(self.root)
        except ValueError:
            return False
        return True

    def resolve(self, path: str | Path, *, allow_inputs: bool = True) -> Path:
        """Resolve a project-relative (or absolute) path, refusing escapes.

        Symlinks are resolved first, so a link inside the project that points out
        of it is refused too. Absolute paths outside the project are accepted
        only when the user registered them as inputs.
        """
        raw = Path(path)
        candidate = (raw if raw.is_absolute() else self.root / raw).resolve()
        if self.is_inside(candidate):
            return candidate
        if allow_inputs and str(candidate) in {str(Path(p).resolve()) for p in self.project.inputs}:
            return candidate
        raise PathSafetyError(
            f"path {str(path)!r} is outside the project folder {self.root}",
            hint="copy the file into the project's assets/ or pass it with -i/--input",
        )

    def relative(self, path: Path) -> str:
        """The portable string stored in project.json for a path."""
        resolved = Path(path).resolve()
        if self.is_inside(resolved):
            return resolved.relative_to(self.root).as_posix()
        return str(resolved)

    def add_input(self, path: Path) -> Path:
        """Register a user's file as a read-only input and return its resolved path."""
        resolved = Path(path).expanduser().resolve()
        if str(resolved) not in self.project.inputs and not self.is_inside(resolved):
            self.project.inputs.append(str(resolved))
        return resolved

    def source_paths(self) -> set[Path]:
        """Every media file the project reads, and every kept render (renders/vNNN); outputs must never land on one."""
        paths: set[Path] = {Path(p).resolve() for p in self.project.inputs}
        paths.update((self.root / record.path).resolve() for record in self.project.renders)
        for ref in self.project.timeline.source_refs():
            raw = Path(ref)
            paths.add((raw if raw.is_absolute() else self.root / raw).resolve())
        for record in self.project.generations.values():
            if record.clip:
                paths.add((self.root / record.clip).resolve())
        for folder in (self.assets_dir, self.clips_dir):
            if folder.is_dir():
                paths.update(p.resolve() for p in folder.rglob("*") if p.is_file())
        return paths
