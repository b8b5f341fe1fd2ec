"""The declarative edit plan: a Timeline as readable YAML (or JSON), and back.

The plan uses the Timeline's own field names, leaves out every default, and
writes transitions compactly (``transition: dissolve 0.5``). On reading, a few
conveniences are accepted: times as timecodes (``"00:01:02.500"``), a clip's
``duration_s`` instead of ``out_s``, ``output.preset_name`` to start from an
export preset. Relative media paths resolve against the plan file's folder.
See docs/edit-plans.md.
"""

from __future__ import annotations

import difflib
import json
import os
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from shotsmith.atomic import atomic_write_text
from shotsmith.errors import InvalidInputError
from shotsmith.formats import TransitionKind
from shotsmith.timeline import ClipRef, OutputSettings, Timeline
from shotsmith.tools.editing import require_store
from shotsmith.tools.spec import ToolContext, edit_tool

PLAN_VERSION = 1
SECTIONS = ("output", "clips", "titles", "audio", "overlays", "captions", "caption_settings")
TIME_FIELDS = {
    "clips": ("in_s", "out_s", "duration_s"), "titles": ("start_s", "end_s"), "audio": ("start_s", "in_s", "out_s"),
    "overlays": ("start_s", "end_s", "in_s"), "captions": ("start_s", "end_s"),
}
#: Keys a plan may use besides a model's own fields (the conveniences read in plan_to_timeline).
PLAN_ALIASES: dict[type[BaseModel], tuple[str, ...]] = {ClipRef: ("transition", "duration_s")}
TRANSITION_KEYS = ("kind", "duration_s", "duration")


# -- writing ---------------------------------------------------------------------------------

def _portable(source: str, resolve: Callable[[str], Path], base_dir: Path | None) -> str:
    try:
        path = Path(resolve(source)).resolve()
    except Exception:  # noqa: BLE001 - an unresolvable source is written as it is
        return source
    if base_dir is None:
        return str(path)
    try:
        return Path(os.path.relpath(path, base_dir.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(path)


def timeline_to_plan(timeline: Timeline, *, resolve: Callable[[str], Path] | None = None,
                     base_dir: Path | None = None) -> dict[str, Any]:
    """A plain dict (defaults left out) describing ``timeline``; sources made relative to ``base_dir``."""
    resolve = resolve or (lambda s: Path(s))
    data = timeline.model_dump(mode="json", exclude_defaults=True)
    plan: dict[str, Any] = {"version": PLAN_VERSION}
    for section in SECTIONS:
        if section in data and data[section] not in ({}, []):
            plan[section] = data[section]
    for clip, model in zip(plan.get("clips", []), timeline.clips):
        clip.pop("transition_to_next", None)
        t = model.transition_to_next
        if t.overlap_s:  # a cut, or a continue (a hard cut in the edit), is the default: nothing written
            clip["transition"] = f"{t.kind.value} {t.duration_s:g}"
        clip["in_s"] = model.in_s
        clip["out_s"] = model.out_s
    for section in ("clips", "audio", "overlays"):
        for item in plan.get(section, []):
            item["source"] = _portable(item["source"], resolve, base_dir)
    if "caption_settings" in plan and plan["caption_settings"].get("srt"):
        plan["caption_settings"]["srt"] = _portable(plan["caption_settings"]["srt"], resolve, base_dir)
    return plan


def dump_plan(plan: dict[str, Any], *, as_json: bool = False) -> str:
    if as_json:
        return json.dumps(plan, indent=2, ensure_ascii=False) + "\n"
    header = "# shotsmith edit plan (see docs/edit-plans.md); render with: shotsmith render THIS_FILE -o out.mp4\n"
    return header + yaml.safe_dump(plan, sort_keys=False, allow_unicode=True, width=100)


def save_plan(timeline: Timeline, path: Path, *, resolve: Callable[[str], Path] | None = None) -> Path:
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise InvalidInputError(f"edit plan {path.name!r} should end in .yaml, .yml or .json")
    plan = timeline_to_plan(timeline, resolve=resolve, base_dir=path.parent)
    atomic_write_text(path, dump_plan(plan, as_json=path.suffix.lower() == ".json"))
    return path


# -- reading ---------------------------------------------------------------------------------

def _parse_transition(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, dict):
        for key in value:
            if key not in TRANSITION_KEYS:
                raise InvalidInputError(f"{where}: transition: {unknown_key_message(str(key), TRANSITION_KEYS)}")
        kind = value.get("kind", "cut")
        duration = value.get("duration_s", value.get("duration", 0.5 if kind != "cut" else 0.0))
    elif isinstance(value, str):
        parts = value.split()
        if not parts or len(parts) > 2:
            raise InvalidInputError(f"{where}: transition {value!r} should be like 'dissolve 0.5' or 'cut'")
        kind = parts[0]
        try:
            duration = float(parts[1]) if len(parts) == 2 else (0.0 if kind == "cut" else 0.5)
        except ValueError:
            raise InvalidInputError(f"{where}: transition duration {parts[1]!r} is not a number") from None
    else:
        raise InvalidInputError(f"{where}: transition {value!r} should be like 'dissolve 0.5' or 'cut'")
    kinds = [k.value for k in TransitionKind if k is not TransitionKind.CONTINUE]
    if kind == TransitionKind.CONTINUE.value:
        raise InvalidInputError(f"{where}: 'continue' generates the next shot from this clip's last frame, so it "
                                "belongs to a planned project, not an edit plan", hint="use cut here")
    if kind not in kinds:
        raise InvalidInputError(f"{where}: unknown transition {kind!r}", hint=f"choose one of {', '.join(kinds)}")
    return {"kind": kind, "duration_s": 0.0 if kind == "cut" else duration}


def _times(item: dict[str, Any], fields: tuple[str, ...], fps: float, where: str) -> None:
    from shotsmith.tools.timecode import parse_time

    for key in fields:
        value = item.get(key)
        if isinstance(value, str):
            item[key] = float(parse_time(value, fps=fps, what=f"{where} {key}"))


def plan_to_timeline(plan: Any, *, name: str = "edit plan") -> Timeline:
    """Validate a parsed plan and build the Timeline; every problem is an InvalidInputError naming its place."""
    if not isinstance(plan, dict):
        raise InvalidInputError(f"{name}: expected a mapping with clips, titles, audio... at the top level")
    plan = json.loads(json.dumps(plan, default=str))  # a deep copy of plain data
    version = plan.pop("version", PLAN_VERSION)
    if version != PLAN_VERSION:
        raise InvalidInputError(f"{name}: plan version {version!r} is not supported (this shotsmith reads {PLAN_VERSION})")
    unknown = sorted(set(plan) - set(SECTIONS))
    if unknown:
        raise InvalidInputError(f"{name}: {unknown_key_message(unknown[0], SECTIONS, what='section')}")
    output_data = plan.get("output") or {}
    if not isinstance(output_data, dict):
        raise InvalidInputError(f"{name}: output should be a mapping")
    preset = output_data.get("preset_name")
    try:
        settings = OutputSettings()
        if preset:
            from shotsmith.tools.presets import apply_preset

            settings = apply_preset(settings, str(preset))
        settings = OutputSettings.model_validate({**settings.model_dump(), **output_data})
    except ValidationError as exc:
        raise explain_validation(exc, f"{name}: output", OutputSettings) from None
    plan["output"] = settings.model_dump()
    for section, fields in TIME_FIELDS.items():
        items = plan.get(section) or []
        if not isinstance(items, list):
            raise InvalidInputError(f"{name}: {section} should be a list")
        for n, item in enumerate(items, start=1):
            where = f"{name}: {section} {n}"
            if not isinstance(item, dict):
                raise InvalidInputError(f"{where} should be a mapping")
            _times(item, fields, settings.fps, where)
            if section == "clips":
                if "transition" in item:
                    item["transition_to_next"] = _parse_transition(item.pop("transition"), where)
                if "duration_s" in item:
                    duration = item.pop("duration_s")
                    if "out_s" in item:
                        raise InvalidInputError(f"{where}: give out_s or duration_s, not both")
                    item["out_s"] = float(item.get("in_s", 0.0)) + float(duration)
    try:
        return Timeline.model_validate(plan)
    except ValidationError as exc:
        raise explain_validation(exc, name, Timeline, PLAN_ALIASES) from None


def unknown_key_message(key: str, valid: typing.Iterable[str], *, what: str = "key") -> str:
    """``unknown key 'speeed' (did you mean 'speed'?)``, or the valid keys when none is close."""
    valid = sorted(set(valid))
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    if close:
        return f"unknown {what} {key!r} (did you mean {close[0]!r}?)"
    return f"unknown {what} {key!r} (valid: {', '.join(valid)})"


def _model_of(annotation: Any) -> Any:
    """The pydantic model (or list element / Optional type) inside a field annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _model_of(args[0]) if len(args) == 1 else None
    return annotation


def _model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The model class that holds the last element of ``loc`` (a pydantic error location)."""
    current: Any = root
    for part in loc[:-1]:
        current = _model_of(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if typing.get_origin(current) is list and args else None
        elif isinstance(current, type) and issubclass(current, BaseModel) and part in current.model_fields:
            current = current.model_fields[part].annotation
        else:
            return None
    current = _model_of(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def place(loc: typing.Sequence[Any]) -> str:
    """A pydantic location as users count: ``clips 2 out_s`` (list items from 1)."""
    return " ".join(f"{p + 1}" if isinstance(p, int) else str(p) for p in loc)


def explain_validation(exc: ValidationError, name: str, root: type[BaseModel] | None = None,
                       aliases: dict[type[BaseModel], tuple[str, ...]] | None = None) -> InvalidInputError:
    """One clear line for a pydantic error: the place, and for an unknown key the closest valid one.

    An unknown key is reported first (it is usually why a required field looks missing)."""
    errors = exc.errors()
    extra = [e for e in errors if e.get("type") == "extra_forbidden"]
    first = extra[0] if extra else errors[0]
    loc = tuple(first.get("loc", ()))
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    if extra and loc:
        model = _model_at(root, loc) if root is not None else None
        valid = [*model.model_fields, *(aliases or {}).get(model, ())] if model is not None else []
        where = place(loc[:-1])
        message = unknown_key_message(str(loc[-1]), valid) if valid else f"unknown key {loc[-1]!r}"
        return InvalidInputError(f"{name}: {where + ': ' if where else ''}{message}{more}")
    where = place(loc)
    return InvalidInputError(f"{name}: {where + ': ' if where else ''}{first['msg']}{more}")


def load_plan(path: Path) -> tuple[Timeline, Callable[[str], Path]]:
    """Read an edit plan file; returns the Timeline and a resolver for its (plan-relative) media paths."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"edit plan {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read edit plan {path}: {exc}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"{path.name} is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: "
                                f"{str(exc).splitlines()[0]}") from None
    timeline = plan_to_timeline(data, name=path.name)
    base = path.resolve().parent

    def resolve(source: str) -> Path:
        raw = Path(source).expanduser()
        return (raw if raw.is_absolute() else base / raw).resolve()

    return timeline, resolve


# -- tools -----------------------------------------------------------------------------------

class ExportPlanArgs(BaseModel):
    output: str = Field(default="edit.yaml", description="Plan file inside the project (.yaml, .yml or .json).")


class PlanFileResult(BaseModel):
    path: str
    clips: int
    duration_s: float


@edit_tool("export_edit_plan", "Write the timeline as a readable YAML/JSON edit plan that `shotsmith render` can render.",
           ExportPlanArgs)
def export_edit_plan(ctx: ToolContext, args: ExportPlanArgs) -> PlanFileResult:
    store = require_store(ctx)
    path = store.resolve(args.output, allow_inputs=False)
    if path in store.source_paths():
        from shotsmith.errors import PathSafetyError

        raise PathSafetyError(f"refusing to overwrite the source file {path}")
    timeline = store.project.timeline
    save_plan(timeline, path, resolve=store.resolve)
    return PlanFileResult(path=str(path), clips=len(timeline.clips), duration_s=timeline.duration_s)


class ImportPlanArgs(BaseModel):
    plan: str = Field(description="An edit plan file inside the project; replaces the project's timeline.")


@edit_tool("import_edit_plan", "Replace the project's timeline with the one in a YAML/JSON edit plan file.", ImportPlanArgs)
def import_edit_plan(ctx: ToolContext, args: ImportPlanArgs) -> PlanFileResult:
    from shotsmith.tools.editing import adopt_timeline

    store = require_store(ctx)
    path = store.resolve(args.plan)
    timeline, resolve = load_plan(path)
    for section in (timeline.clips, timeline.audio, timeline.overlays):
        for item in section:
            item.source = store.relative(store.resolve(str(resolve(item.source))))
    result = adopt_timeline(store, timeline, f"timeline replaced from {path.name}")
    return PlanFileResult(path=str(path), clips=result.clips, duration_s=result.duration_s)
