"""``shotsmith plugin new NAME --kind video|image|voice [--remote]``: a backend plugin package to start from.

Why a generator rather than "copy the example": a first plugin is mostly
packaging (the entry point, the test extra, the conformance fixture, a mock
of the API for a cloud backend), and every piece of it is easy to get subtly
wrong. The generated package installs and passes its own tests before its
author changes a line, so each later change is checked against a green start.

Templates are plain files under ``backends/templates/plugin/`` (package data),
rendered with :class:`string.Template` (``$name``; ``$$`` is a literal dollar),
so they can be read and diffed like the code they produce. The example plugin
in ``examples/plugin-backend`` has the shape generated here (a test compares them).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from shotsmith.errors import InvalidInputError, ShotsmithError

KINDS = ("video", "image", "voice")
NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MAX_NAME = 32

DESCRIPTIONS = {
    ("video", False): "Test-pattern clips rendered locally with ffmpeg (a starting point). Local, free.",
    ("image", False): "Stills drawn locally with Pillow from the prompt (a starting point). Local, free.",
    ("voice", False): "Speech as one tone per word, with exact word timings (a starting point). Local, free.",
    ("video", True): "Clips from a cloud task API (create, poll, download). Needs an API key.",
    ("image", True): "Stills from a cloud task API (create, poll, download). Needs an API key.",
    ("voice", True): "Speech from a cloud task API (create, poll, download). Needs an API key.",
}

#: Remote adapters: capabilities and pricing per kind (the mock accepts all of them).
REMOTE = {
    "video": dict(
        capabilities="Capabilities(modes=[GenerationMode.TEXT_TO_VIDEO], min_duration_s=1.0, max_duration_s=10.0,\n"
                     "                            aspect_ratios=[\"16:9\", \"9:16\", \"1:1\"], resolutions=[\"360p\", \"720p\"],\n"
                     "                            max_prompt_chars=1000, supports_seed=True, max_concurrency=4,\n"
                     "                            costs_money=True, local=False)",
        price_key="per_second", price="0.05", cost_expression='round(self.prices["per_second"] * request.duration_s, 4)'),
    "image": dict(
        capabilities="Capabilities(modes=[GenerationMode.TEXT_TO_IMAGE], aspect_ratios=[\"16:9\", \"9:16\", \"1:1\"],\n"
                     "                            resolutions=[\"360p\", \"720p\", \"1080p\"], max_prompt_chars=1000,\n"
                     "                            supports_seed=True, max_concurrency=4, costs_money=True, local=False)",
        price_key="per_image", price="0.02", cost_expression='self.prices["per_image"]'),
    "voice": dict(
        capabilities="Capabilities(modes=[GenerationMode.TEXT_TO_SPEECH], voices=[\"narrator\", \"bright\"],\n"
                     "                            languages=[\"en\"], max_prompt_chars=4000, max_concurrency=4,\n"
                     "                            costs_money=True, local=False)",
        price_key="per_1k_chars", price="0.015",
        cost_expression='round(self.prices["per_1k_chars"] * max(1, len(request.prompt)) / 1000, 6)'),
}

TRY_IT = {
    "video": 'shotsmith run "a 6 second test" --backend {name} -o test.mp4   # use it',
    "image": 'shotsmith storyboard "a 6 second test" -p board --image-backend {name} -o board.png   # use it',
    "voice": "# shotsmith uses voice backends for voice-over and scratch narration",
}


class ScaffoldError(ShotsmithError):
    """The package cannot be written (the folder exists, or the name is not usable)."""

    exit_code = 2


@dataclass(frozen=True)
class PluginSpec:
    """What to generate: the backend's name (as users type it), its kind, local or remote."""

    name: str
    kind: str = "video"
    remote: bool = False

    @property
    def dist(self) -> str:
        return f"shotsmith-{self.name}"

    @property
    def module(self) -> str:
        return f"shotsmith_{self.name.replace('-', '_')}"

    @property
    def cls(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-")) + "Backend"

    @property
    def key_env(self) -> str:
        return f"{self.name.upper().replace('-', '_')}_API_KEY"


def check_name(raw: str) -> str:
    """The backend name for ``raw`` (``shotsmith-lavfi`` -> ``lavfi``), or one clear line saying why not."""
    name = raw.strip()
    for prefix in ("shotsmith-", "shotsmith_"):
        if name.lower().startswith(prefix):
            name = name[len(prefix):]
    if not NAME_RE.fullmatch(name) or len(name) > MAX_NAME:
        raise InvalidInputError(f"{raw!r} is not a usable backend name: use lower-case letters, digits and single "
                                f"hyphens, starting with a letter, at most {MAX_NAME} characters (e.g. lavfi, my-cloud)")
    return name


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInputError(f"--kind {kind!r} is not a kind of backend; choose one of {', '.join(KINDS)}")
    return kind


def _template(name: str) -> str:
    return (resources.files("shotsmith.backends") / "templates" / "plugin" / name).read_text(encoding="utf-8")


def _values(spec: PluginSpec) -> dict[str, str]:
    values = dict(name=spec.name, dist=spec.dist, module=spec.module, cls=spec.cls, kind=spec.kind,
                  description=DESCRIPTIONS[spec.kind, spec.remote], shotsmith_version="0.1", key_env=spec.key_env,
                  remote_flag=" --remote" if spec.remote else "", try_it=TRY_IT[spec.kind].format(name=spec.name))
    if spec.remote:
        values.update(REMOTE[spec.kind])
        values["step_one"] = ("Rewrite `submit`, `poll`, `cancel` and `classify` in `backend.py` for your "
                              "provider's API, and the mock in `tests/conftest.py` to speak it too.")
        values["pytest_extra"] = " against the mock, and fault drills"
        values["keys_line"] = (f"\nThe key is read from `{spec.key_env}` (or `[secrets]` in shotsmith's config) when "
                               "the backend is used, never when it is listed.\n")
    else:
        values["step_one"] = "Replace the stub render in `generate()` (`backend.py`) with your model."
        values["pytest_extra"] = ""
        values["keys_line"] = ""
    return values


def render_plugin(spec: PluginSpec) -> dict[str, str]:
    """Relative path -> file text for the whole package."""
    values = _values(spec)
    src = f"src/{spec.module}"
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"{src}/__init__.py": "__init__.py.tmpl",
        f"{src}/backend.py": "backend_remote.py.tmpl" if spec.remote else f"backend_{spec.kind}.py.tmpl",
        f"tests/test_{spec.module.removeprefix('shotsmith_')}.py": "test_remote.py.tmpl" if spec.remote
        else "test_local.py.tmpl",
    }
    if spec.remote:
        files["tests/conftest.py"] = "conftest_remote.py.tmpl"
    return {path: Template(_template(template)).substitute(values) for path, template in files.items()}


def write_plugin(spec: PluginSpec, parent: Path) -> Path:
    """Write the package to ``parent/shotsmith-NAME``; refuse to touch a folder that already exists.

    The files are written to a temporary folder beside the target and renamed
    into place, so a failure never leaves half a package behind.
    """
    parent = Path(parent)
    target = parent / spec.dist
    if target.exists() or target.is_symlink():
        raise ScaffoldError(f"{target} already exists; choose another --dir or name (nothing was overwritten)")
    if not parent.is_dir():
        raise ScaffoldError(f"{parent} is not a folder")
    files = render_plugin(spec)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.dist}-", dir=parent))
    try:
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        os.chmod(staging, 0o777 & ~_umask())
        try:
            staging.rename(target)
        except OSError as exc:  # created meanwhile, or a cross-device surprise
            raise ScaffoldError(f"cannot create {target}: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_not_builtin(name: str) -> None:
    """A plugin may not reuse a built-in backend's name (registering it would be an error)."""
    from shotsmith.backends.registry import backend_sources

    if backend_sources().get(name) == "built-in":
        raise InvalidInputError(f"{name!r} is the name of a built-in backend; choose another name")
