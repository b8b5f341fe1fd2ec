"""The typed tools the agent gets: planning and production tools, plus the editing catalogue.

Every tool is a LangChain ``StructuredTool`` whose ``args_schema`` is a
pydantic model, so the model sees a JSON schema and malformed arguments are
rejected by validation before anything runs. The editing tools are generated at
runtime from :data:`shotsmith.tools.spec.TOOLS`, whatever it holds. Each result
is a short JSON string the model can read; failures raise and are turned into
correction messages by the agent's tool-error middleware.
"""

from __future__ import annotations

import importlib
import json
import logging
import pkgutil
import re
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from shotsmith.assistant.path_guard import guard_paths
from shotsmith.assistant.plan_ops import (ShotDraft, check_against_brief, edit_shot, plan_from_drafts, reorder,
                                          set_aspect_ratio, use_footage)
from shotsmith.assistant.planner import plan_brief
from shotsmith.assistant.studio import Studio
from shotsmith.backends.registry import backend_classes
from shotsmith.brief import Brief
from shotsmith.errors import InvalidInputError
from shotsmith.formats import AspectRatio, CameraMove

log = logging.getLogger(__name__)

GENERATE_TOOL = "generate_shots"


# -- argument models -----------------------------------------------------------------------
class PlanShotsArgs(BaseModel):
    """Plan (or re-plan) the whole shot list from the brief."""

    brief: str = Field(min_length=1, description="The user's brief, in their words plus anything agreed since.")
    duration_s: float | None = Field(default=None, gt=0, le=600, description="Total seconds, if the user fixed it.")
    aspect_ratio: AspectRatio | None = Field(default=None, description="16:9, 9:16 (vertical/Reels/TikTok), 1:1, 4:5.")
    shot_count: int | None = Field(default=None, ge=1, le=60, description="Number of shots, if the user fixed it.")
    title: str | None = None
    shots: list[ShotDraft] | None = Field(
        default=None, description="Your shot list. Each shot: subject, action, setting, camera, style, lighting, "
                                  "duration_s; durations must add up to the brief's total within 10%. "
                                  "Leave out to have the built-in planner draft one.")


class EditShotArgs(BaseModel):
    """Change one shot; every other shot stays as it is (and keeps its generated clip)."""

    index: int = Field(ge=1, description="Shot number, 1-based.")
    prompt: str | None = Field(default=None, description="New full prompt.")
    duration_s: float | None = Field(default=None, gt=0, le=120, description="New duration; slower = longer.")
    camera: CameraMove | None = None
    style: str | None = None
    subject: str | None = None
    action: str | None = None
    setting: str | None = None
    lighting: str | None = None
    move_to: int | None = Field(default=None, ge=1, description="New position in the sequence.")


class ReorderArgs(BaseModel):
    """Put the shots in a new order, e.g. [1, 2, 4, 3] swaps the last two of four."""

    order: list[int] = Field(min_length=1, description="Every current shot number exactly once, in the new order.")


class AspectArgs(BaseModel):
    aspect_ratio: AspectRatio = Field(description="16:9, 9:16 (vertical, Reels, TikTok, Shorts), 1:1 or 4:5.")


class FootageArgs(BaseModel):
    """Use one of the user's media files as a shot instead of generating it."""

    path: str = Field(min_length=1, description="File name or project path, e.g. beach.mp4 or assets/beach.mp4.")
    position: str = Field(default="replace", description="'replace' shot `index`, or 'insert' before shot `index`.")
    index: int = Field(default=1, ge=1, description="Shot number; 1 makes it the opener.")
    duration_s: float | None = Field(default=None, gt=0, le=120, description="Seconds to use; default: the shot's.")


class ImportArgs(BaseModel):
    path: str = Field(min_length=1, description="A file inside the project or one the user gave as input.")


class ShotsArgs(BaseModel):
    shots: list[int] | None = Field(default=None, description="Shot numbers; omit for all shots.")
    backend: str | None = Field(default=None, description="Backend name; omit for the session's backend.")


class RenderArgs(BaseModel):
    output: str | None = Field(default=None, description="Output file inside the project (default renders/final.mp4).")


class NoArgs(BaseModel):
    pass


# -- helpers -------------------------------------------------------------------------------
def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def plan_summary(studio: Studio) -> dict:
    plan = studio.plan
    return {"aspect_ratio": plan.aspect_ratio, "total_s": plan.total_duration_s, "planner": plan.planner,
            "shots": [{"index": s.index, "duration_s": s.duration_s, "camera": s.camera.value,
                       "prompt": s.prompt, **({"source": s.source} if s.source else {})} for s in plan.shots]}


def mentioned_media(text: str, media: list[str]) -> list[str]:
    """Media files the brief names ("use my clip beach.mp4")."""
    lowered = text.lower()
    return [m for m in media if re.search(rf"(?<![\w.-]){re.escape(m.rsplit('/', 1)[-1].lower())}(?![\w-])", lowered)]


def _fit_backend(studio: Studio, backend: str | None = None) -> list[str]:
    """Check every shot against the backend's capabilities; snapping is reported, the impossible refused."""
    be = studio.backend(backend)
    plan = studio.plan
    notes: list[str] = []
    for shot in plan.shots:
        if shot.source:
            continue
        _, warnings = be.prepare(studio.request_for(shot, plan))
        notes += warnings
    return notes


class Toolbox:
    """Builds the agent's tools around one Studio (and so one project)."""

    def __init__(self, studio: Studio, *, planner_label: str) -> None:
        self.studio = studio
        self.planner_label = planner_label

    # -- planning ----------------------------------------------------------------------
    def plan_shots(self, args: PlanShotsArgs) -> str:
        studio = self.studio
        read = plan_brief(args.brief, duration_s=args.duration_s, aspect_ratio=args.aspect_ratio,
                          shot_count=args.shot_count, fps=studio.fps)
        fixed_count = args.shot_count is not None or _says_count(args.brief)
        brief = read.brief.model_copy(update={"shot_count": read.brief.shot_count if fixed_count else None})
        media = mentioned_media(args.brief, studio.media_files())
        if args.shots:
            for draft in args.shots:
                if draft.source:
                    draft.source = studio.store.relative(studio.find_media(draft.source))
            plan = plan_from_drafts(args.shots, aspect_ratio=brief.aspect_ratio, planner=self.planner_label,
                                    fps=studio.fps, title=args.title)
            problems = check_against_brief(plan, brief)
            used = {s.source for s in plan.shots if s.source}
            problems += [f"the brief names the user's file {m}; use it as a shot (set that shot's source)"
                         for m in media if m not in used]
            if problems:
                raise InvalidInputError("the plan does not fit the brief: " + "; ".join(problems),
                                        hint="fix the shot list and call plan_shots again")
        else:
            drafted_by = (read.plan.planner if self.planner_label == read.plan.planner
                          else f"{self.planner_label} (draft by the {read.plan.planner})")
            plan = read.plan.model_copy(update={"title": args.title, "planner": drafted_by})
            for i, name in enumerate(media[:len(plan.shots)]):
                plan = use_footage(plan, studio.store.relative(studio.find_media(name)), index=i + 1)
        studio.set_plan(plan, Brief(text=brief.text, duration_s=brief.duration_s, aspect_ratio=brief.aspect_ratio,
                                    shot_count=brief.shot_count, notices=read.notices[1:]))
        notes = _fit_backend(studio)
        return _json({"ok": True, "plan": plan_summary(studio), "backend_notes": notes,
                      "brief": {"duration_s": brief.duration_s, "aspect_ratio": brief.aspect_ratio,
                                "shot_count": brief.shot_count}})

    def edit_shot(self, args: EditShotArgs) -> str:
        plan = edit_shot(self.studio.plan, args.index, prompt=args.prompt, duration_s=args.duration_s,
                         camera=args.camera, style=args.style, subject=args.subject, action=args.action,
                         setting=args.setting, lighting=args.lighting, move_to=args.move_to)
        self.studio.set_plan(plan)
        return _json({"ok": True, "plan": plan_summary(self.studio), "estimate": self.studio.estimate().text})

    def reorder_shots(self, args: ReorderArgs) -> str:
        self.studio.set_plan(reorder(self.studio.plan, args.order))
        return _json({"ok": True, "plan": plan_summary(self.studio), "estimate": self.studio.estimate().text})

    def set_aspect_ratio(self, args: AspectArgs) -> str:
        self.studio.set_plan(set_aspect_ratio(self.studio.plan, args.aspect_ratio))
        if self.studio.store.project.brief is not None:
            brief = self.studio.store.project.brief.model_copy(update={"aspect_ratio": args.aspect_ratio})
            self.studio.set_plan(self.studio.plan, brief)
        return _json({"ok": True, "plan": plan_summary(self.studio), "estimate": self.studio.estimate().text})

    def use_footage(self, args: FootageArgs) -> str:
        from shotsmith.media.probe import probe

        path = self.studio.find_media(args.path)
        info = probe(path, need_video=True)
        duration = args.duration_s
        if duration is not None and duration > info.duration_s:
            raise InvalidInputError(f"{args.path} is only {info.duration_s:.2f} s long")
        if args.position == "insert" and duration is None:
            duration = min(info.duration_s, 3.0)
        plan = use_footage(self.studio.plan, self.studio.store.relative(path), position=args.position,
                           index=args.index, duration_s=duration)
        self.studio.set_plan(plan)
        return _json({"ok": True, "plan": plan_summary(self.studio), "footage_duration_s": info.duration_s})

    def import_footage(self, args: ImportArgs) -> str:
        from shotsmith.media.probe import probe

        path = self.studio.store.resolve(args.path)
        info = probe(path)
        return _json({"ok": True, "path": self.studio.store.relative(path), "duration_s": info.duration_s,
                      "video": bool(info.video), "audio": info.has_audio})

    def list_media(self, args: NoArgs) -> str:
        return _json({"media": self.studio.media_files()})

    def show_plan(self, args: NoArgs) -> str:
        return _json(plan_summary(self.studio))

    # -- backends ----------------------------------------------------------------------
    def list_backends(self, args: NoArgs) -> str:
        rows = []
        for name, cls in sorted(backend_classes().items()):
            try:
                be = cls()
                caps = be.capabilities()
                from shotsmith.backends.base import GenerationRequest

                per_5s = be.estimate_cost(GenerationRequest(prompt="x", duration_s=5.0, resolution=caps.resolutions[0],
                                                            fps=caps.fps[0]))
                rows.append({"name": name, "description": cls.description, "costs_money": caps.costs_money,
                             "local": caps.local, "durations_s": caps.durations_s,
                             "range_s": [caps.min_duration_s, caps.max_duration_s],
                             "aspect_ratios": caps.aspect_ratios, "modes": [m.value for m in caps.modes],
                             "cost_per_5s_shot": f"{per_5s.amount:g} {per_5s.unit}",
                             "selected": name == self.studio.backend_name})
            except Exception as exc:  # a backend that cannot even describe itself (missing key) is listed as such
                rows.append({"name": name, "unavailable": str(exc)[:200]})
        return _json({"backends": rows})

    def estimate_cost(self, args: ShotsArgs) -> str:
        est = self.studio.estimate(args.shots, args.backend)
        return _json({"amount": est.amount, "unit": est.unit, "to_generate": est.shots, "cached": est.cached,
                      "footage": est.footage, "needs_approval": self.studio.needs_approval(est, args.backend),
                      "max_cost": self.studio.max_cost, "summary": est.text})

    def generate_shots(self, args: ShotsArgs) -> str:
        studio = self.studio
        est = studio.estimate(args.shots, args.backend)
        if studio.needs_approval(est, args.backend) and studio.auto_approve:
            studio.ledger.approvals.append({"action": GENERATE_TOOL, "amount": est.amount, "unit": est.unit,
                                            "shots": est.shots, "approved": True, "by": "--yes"})
        result = studio.generate(args.shots, args.backend, approved=True)
        return _json({"ok": True, **result})

    def render_preview(self, args: NoArgs) -> str:
        return _json({"ok": True, **self.studio.render(None, preview=True)})

    def render_final(self, args: RenderArgs) -> str:
        return _json({"ok": True, **self.studio.render(args.output, preview=False)})

    # -- assembly ------------------------------------------------------------------------
    def own_tools(self) -> list[BaseTool]:
        specs: list[tuple[str, str, type[BaseModel], Callable[[Any], str]]] = [
            ("plan_shots", "Plan or re-plan the shot list from the brief (your own shots, or the built-in planner's draft).",
             PlanShotsArgs, self.plan_shots),
            ("show_plan", "Show the current shot plan.", NoArgs, self.show_plan),
            ("edit_shot", "Edit one shot: prompt, duration (slower = longer), camera, style, subject, action, or move it.",
             EditShotArgs, self.edit_shot),
            ("reorder_shots", "Reorder the shots (e.g. swap the last two).", ReorderArgs, self.reorder_shots),
            ("set_aspect_ratio", "Change the aspect ratio of the whole video (vertical 9:16 for Reels/TikTok).",
             AspectArgs, self.set_aspect_ratio),
            ("list_media", "List the user's media files the project may use.", NoArgs, self.list_media),
            ("import_footage", "Check one of the user's media files (inside the project or a given input) and describe it.",
             ImportArgs, self.import_footage),
            ("use_footage", "Use one of the user's clips as a shot (replace a shot, or insert before one; index 1 = opener).",
             FootageArgs, self.use_footage),
            ("list_backends", "List generation backends with capabilities and costs.", NoArgs, self.list_backends),
            ("estimate_cost", "Estimate what generating the shots would cost (cached shots are free).",
             ShotsArgs, self.estimate_cost),
            (GENERATE_TOOL, "Generate the shots that have no clip yet (all, or the numbers given). Shots that did not "
                            "change are reused from the cache. Paid backends ask the user first.",
             ShotsArgs, self.generate_shots),
            ("render_preview", "Render a fast low-resolution preview of the cut to renders/preview.mp4.",
             NoArgs, self.render_preview),
            ("render_final", "Render the final video (default renders/final.mp4, or the output the user gave).",
             RenderArgs, self.render_final),
        ]
        return [_structured(name, summary, model, fn, self.studio) for name, summary, model, fn in specs]

    def catalogue_tools(self, *, taken: set[str]) -> list[BaseTool]:
        from shotsmith.tools.spec import TOOLS, ToolContext

        load_catalogue()
        tools: list[BaseTool] = []
        for spec in sorted(TOOLS.values(), key=lambda s: s.name):
            if spec.name in taken:
                continue

            def run(args: BaseModel, _spec=spec) -> str:
                total = self.studio.store.project.timeline.duration_s
                from shotsmith.assistant.events import RenderProgress

                ctx = ToolContext(store=self.studio.store, cancel=self.studio.cancel,
                                  on_progress=lambda s: self.studio.emit(RenderProgress(s, total)))
                result = _spec(ctx, args)
                return result.model_dump_json() if isinstance(result, BaseModel) else _json(result)

            tools.append(_structured(spec.name, spec.summary, spec.args, run, self.studio))
        return tools

    def tools(self) -> list[BaseTool]:
        own = self.own_tools()
        return own + self.catalogue_tools(taken={t.name for t in own})


def _says_count(text: str) -> bool:
    from shotsmith.assistant.planner import parse_shot_count

    return parse_shot_count(text) is not None


def _structured(name: str, summary: str, model: type[BaseModel], fn: Callable[[Any], str], studio: Studio) -> BaseTool:
    """A StructuredTool that validates into ``model``, guards its paths, then calls ``fn``."""

    def call(**kwargs: Any) -> str:
        args = model.model_validate(kwargs)
        guard_paths(studio.store, args)
        return fn(args)

    return StructuredTool.from_function(func=call, name=name, description=summary, args_schema=model)


_loaded = False


def load_catalogue() -> None:
    """Import every module of ``shotsmith.tools`` so each declares its tools in TOOLS."""
    global _loaded
    if _loaded:
        return
    import shotsmith.tools as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("cli") or info.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"shotsmith.tools.{info.name}")
        except Exception as exc:  # an optional dependency missing: that tool is simply not offered
            log.warning("editing tools in shotsmith.tools.%s unavailable: %s", info.name, exc)
    _loaded = True
