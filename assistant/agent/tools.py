"""The production tools the model calls: one tool per job, each a thin call into the production service.

Plan, look, edit, place footage, reformat, price, generate, render. Every
edit goes through :mod:`shotsmith.plan_edits` (via ``service.edit``), so it
lands in the plan, the project's one edit model, and survives every later
render. Spending is not decided here: ``generate_shots`` just asks the
service, which refuses anything no approval covers (see
:mod:`.middleware` for how the user is asked).

Arguments are strict models (:class:`~.schemas.StrictArgs`): every field is
described, optional fields are nullable, and choices are enums. Results are
short JSON; long listings are paged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from shotsmith.assistant.agent.path_guard import guard_paths
from shotsmith.assistant.agent.schemas import AgentTool, StrictArgs
from shotsmith.assistant.production.drafting import ShotDraft
from shotsmith.assistant.production.takes import make_new_take
from shotsmith.brief import ShotFit, ShotPlan
from shotsmith.cut import derive_cut
from shotsmith.errors import InvalidInputError
from shotsmith.formats import RESOLUTIONS, AspectRatio, CameraMove, Transition, TransitionKind
from shotsmith.plan_edits import edit_shot, reorder

if TYPE_CHECKING:
    from shotsmith.assistant.production import ProductionService

GENERATE_TOOL = "generate_shots"
#: Shots per page of show_project, files per page of list_media: each page stays well under the result cap.
SHOTS_PER_PAGE = 10
FILES_PER_PAGE = 40
PROMPT_SHOWN = 160
Resolution = Literal["360p", "480p", "540p", "720p", "1080p", "1440p", "2160p"]
assert set(Resolution.__args__) <= set(RESOLUTIONS)  # type: ignore[attr-defined]


# -- arguments ---------------------------------------------------------------------------
class DraftArgs(StrictArgs):
    subject: str = Field(description="Who or what is on screen.")
    action: str = Field(description="What happens.")
    setting: str = Field("", description="Where (may be empty).")
    camera: CameraMove = Field(CameraMove.STATIC, description="Camera move.")
    style: str = Field("", description="Style/mood/grade (may be empty).")
    lighting: str = Field("", description="Lighting (may be empty).")
    duration_s: float = Field(gt=0, le=120, description="Seconds on screen.")
    source: str | None = Field(description="User's media file to show instead of generating.")
    transition: TransitionKind = Field(TransitionKind.CUT, description="Transition into the next shot.")


class PlanShotsArgs(StrictArgs):
    brief: str = Field(min_length=1, description="The brief, plus anything agreed since.")
    duration_s: float | None = Field(gt=0, le=600, description="Total seconds, if fixed.")
    aspect_ratio: AspectRatio | None = Field(description="Frame, if fixed (9:16 = vertical).")
    shot_count: int | None = Field(ge=1, le=60, description="Number of shots, if fixed.")
    shots: list[DraftArgs] | None = Field(description="Your shots (durations sum to the total ±10%); null: "
                                                      "the built-in planner drafts them.")


class PageArgs(StrictArgs):
    page: int | None = Field(ge=1, description="Page (null: 1).")


class EditShotArgs(StrictArgs):
    shot: int = Field(ge=1, description="Shot number.")
    prompt: str | None = Field(description="New whole prompt (else built from the parts).")
    subject: str | None = Field(description="Subject.")
    action: str | None = Field(description="Action.")
    setting: str | None = Field(description="Setting.")
    style: str | None = Field(description="Style/mood.")
    lighting: str | None = Field(description="Lighting.")
    camera: CameraMove | None = Field(description="Camera move.")
    duration_s: float | None = Field(gt=0, le=120, description="Seconds on screen.")
    speed: float | None = Field(ge=0.25, le=4, description="Speed 0.25-4 (0.5 = slow motion).")
    in_s: float | None = Field(ge=0, description="Trim: start this far into the clip.")
    transition: TransitionKind | None = Field(description="Transition into the next shot (continue: the next shot "
                                                          "starts from this one's last frame).")
    volume: float | None = Field(ge=0, le=4, description="Own sound gain (1 = as is).")
    mute: bool | None = Field(description="Mute its own sound.")
    fit: ShotFit | None = Field(description="How it fills the frame.")
    move_to: int | None = Field(ge=1, description="Move to this position.")
    narration: str | None = Field(max_length=500, description="Voice-over line over this shot ('' = silent).")
    new_take: bool | None = Field(description="true: make the shot again as it is (same prompt, new take; "
                                              "alone), then generate_shots.")


class StoryboardArgs(StrictArgs):
    action: Literal["show", "approve", "redo"] = Field(description="show the panels; approve stills; redo one "
                                                                   "still with a change.")
    shots: list[int] | None = Field(description="Shot numbers (redo: one); null: all.")
    change: str | None = Field(max_length=300, description="redo: words added to the prompt, e.g. from a lower angle.")
    camera: CameraMove | None = Field(description="redo: new camera move.")


class ArrangeArgs(StrictArgs):
    order: list[int] | None = Field(description="Each kept shot once, in the new order.")
    remove: list[int] | None = Field(description="Shots to drop.")


class FootageArgs(StrictArgs):
    file: str = Field(min_length=1, description="User's file, e.g. beach.mp4.")
    position: Literal["replace", "insert"] = Field("replace", description="Replace the shot or insert before it.")
    shot: int = Field(ge=1, description="Shot number (1 = opener).")
    duration_s: float | None = Field(gt=0, le=120, description="Seconds to show.")
    in_s: float | None = Field(ge=0, description="Start this far into the file.")


class CastArgs(StrictArgs):
    name: str = Field(min_length=2, max_length=16, description="How the brief names them, e.g. Mara (@mara).")
    files: list[str] = Field(description="The user's reference images of them (project media or given inputs).")
    description: str | None = Field(max_length=500, description="What they look like, in prompt words.")
    kind: Literal["character", "product", "location"] | None = Field(description="null: character.")


class FormatArgs(StrictArgs):
    aspect_ratio: AspectRatio | None = Field(description="New frame.")
    method: Literal["regenerate", "crop", "pad", "blur"] | None = Field(
        description="regenerate shots (costs) or crop/pad/blur the cut (free); "
                                                                    "null: regenerate.")
    resolution: Resolution | None = Field(description="Short side.")


class ShotsArgs(StrictArgs):
    shots: list[int] | None = Field(description="Shot numbers; null: all.")


class RenderArgs(StrictArgs):
    preview: bool = Field(False, description="Quick low-res check instead of the final.")
    output: str | None = Field(description="File; null: the default.")


# -- the tools ---------------------------------------------------------------------------
class ProductionTools:
    """Builds the production tools around one service (and so one project)."""

    def __init__(self, service: "ProductionService", *, planner_label: str,
                 on_approvals: Callable[[list[str]], None] | None = None) -> None:
        self.service = service
        self.planner_label = planner_label
        self.on_approvals = on_approvals or (lambda ids: None)

    # -- looking -------------------------------------------------------------------------
    def plan_view(self, page: int = 1) -> dict[str, Any]:
        plan = self.service.plan
        shots = plan.shots
        start = (page - 1) * SHOTS_PER_PAGE
        if shots and start >= len(shots):
            raise InvalidInputError(f"there is no page {page}; the plan has {len(shots)} shots "
                                    f"({SHOTS_PER_PAGE} per page)")
        rows = [shot_row(s, self._says(s.index)) for s in shots[start:start + SHOTS_PER_PAGE]]
        view: dict[str, Any] = {"aspect_ratio": plan.aspect_ratio, "total_s": plan.total_duration_s,
                                "shot_count": len(shots), "shots": rows}
        if start + SHOTS_PER_PAGE < len(shots):
            view["more"] = f"{len(shots) - start - SHOTS_PER_PAGE} more shots: ask for page {page + 1}"
        return view

    def _says(self, index: int) -> str | None:
        script = self.service.store.project.narration
        line = script.line(index) if script is not None else None
        return line.text if line is not None and line.text else None

    def estimate_text(self) -> str:
        try:
            return self.service.estimate().text
        except Exception as exc:  # the view still shows; generating would say why
            return f"cannot estimate: {type(exc).__name__}: {getattr(exc, 'message', exc)}"

    def show_project(self, args: PageArgs) -> dict[str, Any]:
        service = self.service
        if not service.has_plan:
            return {"plan": None, "backend": service.backend_name, "media_files": len(service.media_files()),
                    "next": "call plan_shots with the brief"}
        view = {"plan": self.plan_view(args.page or 1), "backend": service.backend_name,
                "resolution": service.resolution}
        cut = derive_cut(service.plan)
        timeline = service.store.project.timeline
        view["cut"] = {"missing_clips": cut.missing, "warnings": cut.warnings[:5],
                       "titles": [t.text[:60] for t in timeline.titles],
                       "audio": [f"{a.role}: {a.source}" for a in timeline.audio],
                       "captions": len(timeline.captions), "overlays": [o.source for o in timeline.overlays],
                       "output": {"preset": timeline.output.preset_name, "fit": timeline.output.fit,
                                  "aspect_ratio": service.store.project.production.output_aspect
                                  or service.plan.aspect_ratio}}
        view["estimate"] = self.estimate_text()
        return view

    def list_media(self, args: PageArgs) -> dict[str, Any]:
        files = self.service.media_files()
        page = args.page or 1
        start = (page - 1) * FILES_PER_PAGE
        if files and start >= len(files):
            raise InvalidInputError(f"there is no page {page}; there are {len(files)} files "
                                    f"({FILES_PER_PAGE} per page)")
        out: dict[str, Any] = {"files": [f if len(f) <= 120 else f[:117] + "…" for f in
                                         files[start:start + FILES_PER_PAGE]], "total": len(files)}
        if start + FILES_PER_PAGE < len(files):
            out["more"] = f"{len(files) - start - FILES_PER_PAGE} more: ask for page {page + 1}"
        return out

    # -- planning and editing --------------------------------------------------------------
    def plan_shots(self, args: PlanShotsArgs) -> dict[str, Any]:
        drafts = None
        if args.shots:
            drafts = [ShotDraft(**d.model_dump()) for d in args.shots]
        plan, notices = self.service.plan_brief(args.brief, duration_s=args.duration_s,
                                                aspect_ratio=args.aspect_ratio, shot_count=args.shot_count,
                                                drafts=drafts, planner=self.planner_label)
        return {"ok": True, "plan": self.plan_view(), "notices": notices[:8], "estimate": self.estimate_text()}

    def edit_shot(self, args: EditShotArgs) -> dict[str, Any]:
        if args.new_take:
            return self._new_take(args)
        fields = args.model_dump(exclude={"shot", "transition", "move_to", "narration", "new_take"}, exclude_none=True)
        transition = None
        if args.transition is not None:
            plan = self.service.plan
            length = next((s.duration_s for s in plan.shots if s.index == args.shot), 1.0)
            transition = (Transition.cut() if args.transition is TransitionKind.CUT
                          else Transition(kind=args.transition, duration_s=round(min(0.5, length / 3), 3)))
        if not fields and transition is None and args.move_to is None and args.narration is None:
            raise InvalidInputError("nothing to change: give at least one field")
        fit = None
        if args.narration is not None:  # the voice-over line: the narration script, not the plan
            fit = self.service.edit_narration("line", shot=args.shot, text=args.narration)
        plan = self.service.plan
        if fields or transition is not None or args.move_to is not None:
            plan = self.service.edit(lambda p: edit_shot(p, args.shot, transition=transition, move_to=args.move_to,
                                                         **fields))
        out = self._changed(plan, args.move_to or args.shot)
        if fit:
            out["narration_fit"] = f"too long: {fit}"
        return out

    def _new_take(self, args: EditShotArgs) -> dict[str, Any]:
        """The shot made again as it is (:func:`~shotsmith.assistant.production.takes.make_new_take`): an undo
        step; generate_shots then makes it, priced and approved like any generation."""
        others = sorted(k for k, v in args.model_dump(exclude={"shot", "new_take"}).items() if v is not None)
        if others:
            raise InvalidInputError(f"new_take makes shot {args.shot} again as it is; give it alone, not with "
                                    f"{', '.join(others)}", hint="a changed shot is generated anew anyway")
        plan = make_new_take(self.service, args.shot)
        out = self._changed(plan, args.shot)
        out["next"] = (f"call generate_shots with shots [{args.shot}] to make the new take (the user is asked first "
                       "when it costs); undo brings the previous take back for free")
        return out

    def storyboard(self, args: StoryboardArgs) -> dict[str, Any]:
        """The storyboard review: panels with their approval, approving stills, redoing one still."""
        service = self.service
        if args.action == "approve":
            approved = service.approve_keyframes(args.shots)
            return {"ok": True, "approved": approved, **self._panels()}
        if args.action == "redo":
            if not args.shots or len(args.shots) != 1:
                raise InvalidInputError("redo takes exactly one shot number in shots")
            index = args.shots[0]
            estimate = service.redo_keyframe(index, camera=args.camera, note=args.change)
            if estimate.to_generate and service.spending.decide(estimate) == "ask" and not service.spending.auto_approve:
                return {"ok": True, "still_cost": estimate.text, "next": f"call generate_shots with shots [{index}]: "
                        "the user is asked about this still's cost, it is drawn, and the video waits for approval"}
            service.generate_keyframes([index])
            return {"ok": True, "still_cost": estimate.text if estimate.to_generate else "cached", **self._panels()}
        return {"ok": True, **self._panels()}

    def _panels(self) -> dict[str, Any]:
        shown = self.service.storyboard_panels()
        rows = [{"shot": p.shot, "state": p.state, "still": p.keyframe, "prompt": p.prompt[:80]}
                for p in shown[:SHOTS_PER_PAGE * 2]]
        out: dict[str, Any] = {"panels": rows}
        if any(p.state == "none" for p in shown):
            out["missing"] = "shots without a still get one from generate_shots (asked first when it costs)"
        return out

    def arrange_shots(self, args: ArrangeArgs) -> dict[str, Any]:
        if args.order is None and not args.remove:
            raise InvalidInputError("give a new order, shots to remove, or both")

        def change(plan: ShotPlan) -> ShotPlan:
            order = args.order if args.order is not None else [s.index for s in plan.shots]
            return reorder(plan, order, remove=args.remove)

        return self._changed(self.service.edit(change))

    def use_footage(self, args: FootageArgs) -> dict[str, Any]:
        plan = self.service.add_footage(args.file, position=args.position, index=args.shot,
                                        duration_s=args.duration_s, in_s=args.in_s or 0.0)
        return self._changed(plan, args.shot)

    def add_cast(self, args: CastArgs) -> dict[str, Any]:
        """A person, product or place that must look the same in every shot that names it."""
        from shotsmith.assistant.production.casting import add_member

        paths = [self.service.find_media(name) for name in args.files]
        member = add_member(self.service.store, args.name, paths, description=args.description or "",
                            kind=args.kind or "character")
        plan = self.service.store.project.plan
        return {"ok": True, "name": member.name, "images": len(member.images),
                "in_shots": [s.index for s in plan.shots if member.name in s.cast] if plan else [],
                "note": f"name @{member.name} in a shot's prompt to put them in it"}

    def set_format(self, args: FormatArgs) -> dict[str, Any]:
        """Aspect ratio (regenerated, or reframed for free) and resolution."""
        service = self.service
        store = service.store
        if args.aspect_ratio is None and args.resolution is None:
            raise InvalidInputError("give an aspect ratio, a resolution, or both")
        if args.method is not None and args.aspect_ratio is None:
            raise InvalidInputError(f"method {args.method!r} needs the aspect ratio to reach")
        said = service.set_format(aspect_ratio=args.aspect_ratio, method=args.method or "regenerate",
                                  resolution=args.resolution)
        production = store.project.production
        return {"ok": True, "done": said, "aspect_ratio": production.output_aspect or service.plan.aspect_ratio,
                "resolution": production.resolution, "estimate": self.estimate_text()}

    def _changed(self, plan: ShotPlan, focus: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": True, "total_s": plan.total_duration_s, "shot_count": len(plan.shots)}
        if focus is not None and 1 <= focus <= len(plan.shots):
            out["shot"] = shot_row(plan.shots[focus - 1], self._says(plan.shots[focus - 1].index))
        else:
            out["order"] = [f"{s.index}: {s.prompt[:40]}" for s in plan.shots[:SHOTS_PER_PAGE]]
        out["estimate"] = self.estimate_text()
        return out

    # -- cost, generation, render ------------------------------------------------------------
    def estimate_cost(self, args: ShotsArgs) -> dict[str, Any]:
        service = self.service
        est = service.estimate(args.shots)
        decision = service.spending.decide(est)
        out = {"text": est.text, "usd": est.usd, "amount": est.amount, "unit": est.unit, "to_generate": est.shots,
               "cached": est.cached, "footage": est.footage,
               "approval": {"free": "not needed", "covered": "already given",
                            "ask": "generate_shots will ask the user"}[decision],
               "spent_usd": service.spending.ledger.spent_usd}
        if service.spending.max_cost_usd is not None:
            out["max_cost_usd"] = service.spending.max_cost_usd
        return out

    def generate_shots(self, args: ShotsArgs) -> dict[str, Any]:
        ledger = self.service.spending.ledger
        before = {a.id for a in ledger.approvals}
        try:
            result = self.service.generate(args.shots)
        finally:  # --yes approvals the service recorded belong in the run report
            self.on_approvals([a.id for a in ledger.approvals if a.id not in before])
        out = {"ok": True, **result.summary(), "warnings": result.warnings[:5]}
        if result.review:
            out["next"] = ("show the user the storyboard; when they approve, call storyboard approve (or redo a "
                           "still they want changed), then generate_shots again")
        return out

    def render(self, args: RenderArgs) -> dict[str, Any]:
        done = self.service.render(args.output, preview=args.preview)
        return {"ok": True, **done.summary()}

    def _narration_language(self) -> str:
        """' Write voice-over lines in French (the voice espeak:fr speaks it).' for a voice of one language
        other than English, so the model writes lines the voice can say; '' otherwise (the surface stays small)."""
        from shotsmith.assistant.production.voiceover import language_name, voice_language

        try:
            spoken = voice_language(*self.service.voice_backend())
        except Exception:  # a voice that cannot be made here is reported when it speaks, not in a description
            return ""
        if spoken in (None, "en"):
            return ""
        voice = self.service.store.project.production.voice or "espeak"
        return f" Write voice-over lines in {language_name(spoken)} (the voice {voice} speaks it)."

    # -- assembly ----------------------------------------------------------------------------
    def tools(self) -> list[AgentTool]:
        specs: list[tuple[str, str, type[StrictArgs], Callable[[Any], Any]]] = [
            ("plan_shots", "Plan or re-plan the whole shot list from the brief.", PlanShotsArgs, self.plan_shots),
            ("show_project", "Show the plan, the cut (titles, audio, output) and the cost estimate.", PageArgs,
             self.show_project),
            ("edit_shot", "Change one shot: prompt parts, duration, speed, trim, transition, sound, fit, position, "
                          "voice-over line, or a new take. Other shots keep their clips." + self._narration_language(),
             EditShotArgs, self.edit_shot),
            ("arrange_shots", "Reorder shots and/or remove shots.", ArrangeArgs, self.arrange_shots),
            ("storyboard", "Storyboard stills before video: show, approve (what the user approved), redo one with "
                           "a change.", StoryboardArgs, self.storyboard),
            ("use_footage", "Use one of the user's media files as a shot.", FootageArgs, self.use_footage),
            ("list_media", "List the user's media files (paged).", PageArgs, self.list_media),
            ("add_cast", "Add a cast member (person, product, place) with reference images; shots naming "
                         "@name keep their look.", CastArgs, self.add_cast),
            ("set_format", "Change aspect ratio (regenerate, or crop/pad/blur the cut) and/or resolution.",
             FormatArgs, self.set_format),
            ("estimate_cost", "What generating would cost; cached and footage shots are free.", ShotsArgs,
             self.estimate_cost),
            (GENERATE_TOOL, "Generate the shots that have no clip yet; the user is asked first when it costs.",
             ShotsArgs, self.generate_shots),
            ("render", "Render the cut to a video file.", RenderArgs, self.render),
        ]
        return [guarded_tool(self.service, name, text, model, fn) for name, text, model, fn in specs]


def shot_row(shot, says: str | None = None) -> dict[str, Any]:
    """One shot as the model reads it: short, with only the cut fields that differ from the defaults (and its
    voice-over line, ``says``, when it has one)."""
    prompt = shot.prompt if len(shot.prompt) <= PROMPT_SHOWN else shot.prompt[:PROMPT_SHOWN - 1] + "…"
    row: dict[str, Any] = {"shot": shot.index, "s": shot.duration_s, "prompt": prompt, "camera": shot.camera.value,
                           "clip": bool(shot.source or shot.bound_clip)}
    if shot.source:
        row["footage"] = shot.source
    if shot.speed != 1.0:
        row["speed"] = shot.speed
    if shot.in_s:
        row["in_s"] = shot.in_s
    if shot.transition_to_next.kind is not TransitionKind.CUT:
        row["transition"] = shot.transition_to_next.kind.value
    if shot.mute or shot.volume != 1.0:
        row["sound"] = "muted" if shot.mute else shot.volume
    if shot.fit:
        row["fit"] = shot.fit
    if says:
        row["says"] = says
    if shot.keyframe_state != "none":
        row["still"] = shot.keyframe_state
    if shot.take:
        row["take"] = shot.take + 1
    return row


def guarded_tool(service: "ProductionService", name: str, description: str, model: type[StrictArgs],
                 fn: Callable[[Any], Any]) -> AgentTool:
    """An :class:`AgentTool` whose path arguments are checked against the project before ``fn`` runs."""

    def run(args: StrictArgs) -> Any:
        guard_paths(service.store, args, allowed_outputs=service.allowed_outputs)
        return fn(args)

    return AgentTool(name=name, description=description, args_schema=model, fn=run)
