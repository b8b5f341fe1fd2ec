"""What the assistant does to a project: plan, estimate, generate, assemble, render.

One ``Studio`` per conversation. The LLM tools and the offline session both
call it, so spending rules, caching and path safety are the same whoever
answers. Each step saves the project, so a crash loses no finished work.

Unchanged shots are never regenerated: a shot's clip is found by its request's
cache key, or failing that, reused from any finished generation of the same
prompt, look and shape that is at least as long (it is trimmed on the
timeline). Reordering, swapping or re-timing a transition therefore costs
nothing; changing a prompt or lengthening a shot regenerates that shot alone.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shotsmith.assistant.events import (AgentEvent, GenerationProgress, Notice, OutputWritten, PlanUpdated,
                                        RenderProgress)
from shotsmith.backends.base import Backend, GenerationRequest, ProgressEvent
from shotsmith.backends.engine import cache_key, generate_shots
from shotsmith.backends.registry import get_backend
from shotsmith.brief import Brief, Shot, ShotPlan
from shotsmith.errors import BackendError, InvalidInputError, PathSafetyError, ShotsmithError
from shotsmith.formats import RESOLUTIONS, Transition, frame_size
from shotsmith.store import ProjectStore
from shotsmith.timeline import ClipRef, Timeline

OUTPUT_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv", ".webm"}


class BudgetExceededError(ShotsmithError):
    """Generating would spend more than ``--max-cost`` allows; nothing was generated."""

    exit_code = 3


class ApprovalDeclinedError(ShotsmithError):
    """Spending needs approval and none was given (a scripted run without ``--yes``)."""

    exit_code = 3


@dataclass
class Estimate:
    amount: float
    unit: str
    shots: list[int]
    cached: list[int]
    footage: list[int]
    source: str = ""

    @property
    def text(self) -> str:
        if not self.shots:
            return "nothing to generate: every shot is cached or uses footage"
        return (f"{len(self.shots)} shot(s) to generate ({', '.join(map(str, self.shots))}): about "
                f"{self.amount:.2f} {self.unit}" + (f" ({self.source})" if self.source else "")
                + (f"; {len(self.cached)} cached" if self.cached else ""))


@dataclass
class Ledger:
    """What was spent and approved in this conversation; goes into the run report."""

    spent: float = 0.0
    unit: str = "USD"
    estimates: list[dict] = field(default_factory=list)
    approvals: list[dict] = field(default_factory=list)
    generated: list[int] = field(default_factory=list)
    cached: list[int] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)

    def time(self, key: str, seconds: float) -> None:
        self.timings_s[key] = round(self.timings_s.get(key, 0.0) + seconds, 3)


class Studio:
    def __init__(self, store: ProjectStore, *, backend: str = "animatic", resolution: str = "720p", fps: int = 30,
                 emit: Callable[[AgentEvent], None] | None = None, cancel: threading.Event | None = None,
                 auto_approve: bool = False, max_cost: float | None = None,
                 allowed_outputs: tuple[Path, ...] = ()) -> None:
        if resolution not in RESOLUTIONS:
            raise InvalidInputError(f"unknown resolution {resolution!r}", hint=f"choose one of {', '.join(RESOLUTIONS)}")
        self.store = store
        self.backend_name = backend
        get_backend(backend)  # fail early on an unknown name
        self.resolution = resolution
        self.fps = fps
        self.emit = emit or (lambda event: None)
        self.cancel = cancel or threading.Event()
        self.auto_approve = auto_approve
        self.max_cost = max_cost
        self.allowed_outputs = tuple(Path(p).expanduser().resolve() for p in allowed_outputs)
        self.ledger = Ledger()
        #: Where render_final writes when no output is named (the -o of a scripted run).
        self.default_output: Path | None = None
        # A model may ask for two generations in one reply and the tool node runs them in parallel:
        # one at a time keeps the budget check and the project's records consistent.
        self._work = threading.Lock()

    # -- plan --------------------------------------------------------------------------
    @property
    def plan(self) -> ShotPlan:
        if self.store.project.plan is None:
            raise InvalidInputError("there is no shot plan yet", hint="plan the shots from the brief first (plan_shots)")
        return self.store.project.plan

    def set_plan(self, plan: ShotPlan, brief: Brief | None = None) -> ShotPlan:
        for shot in plan.shots:
            if shot.source:
                self.store.resolve(shot.source)  # footage must stay inside the project or be an input
        if brief is not None:
            self.store.project.brief = brief
        self.store.project.plan = plan
        self.store.save()
        self.emit(PlanUpdated(plan.model_dump(mode="json")))
        return plan

    def backend(self, name: str | None = None) -> Backend:
        return get_backend(name or self.backend_name)

    # -- requests and clips ------------------------------------------------------------
    def request_for(self, shot: Shot, plan: ShotPlan) -> GenerationRequest:
        handle = shot.handle_s if shot.index != plan.shots[-1].index else 0.0
        return GenerationRequest(prompt=shot.prompt, duration_s=round(shot.duration_s + handle, 3),
                                 aspect_ratio=plan.aspect_ratio, resolution=self.resolution, fps=self.fps,
                                 camera=shot.camera, style=shot.style, shot_index=shot.index)

    def _reusable_clip(self, backend: Backend, request: GenerationRequest, min_duration_s: float | None = None) -> Path | None:
        """A finished clip for this request, or one of the same shot generated at another length.

        A longer clip is trimmed on the timeline. One shorter than the request
        but at least ``min_duration_s`` (the shot without its transition handle)
        is used too; the transition into the next shot is shortened to fit.
        """
        ready, _ = backend.prepare(request)
        key = cache_key(backend, ready)
        generations = self.store.project.generations
        record = generations.get(key)
        if record and record.status == "succeeded" and record.clip and (self.store.root / record.clip).is_file():
            return self.store.root / record.clip
        wanted = ready.model_dump(mode="json", exclude={"shot_index", "duration_s", "seed"})
        floor = ready.duration_s if min_duration_s is None else min(min_duration_s, ready.duration_s)
        candidates: list[tuple[float, Path]] = []
        for record in generations.values():
            if record.status != "succeeded" or not record.clip or record.backend != backend.name:
                continue
            other = dict(record.request)
            length = float(other.pop("duration_s", 0.0))
            other.pop("shot_index", None), other.pop("seed", None)
            if other == wanted and length + 1e-6 >= floor and (self.store.root / record.clip).is_file():
                candidates.append((length, self.store.root / record.clip))
        if not candidates:
            return None
        long_enough = [c for c in candidates if c[0] + 1e-6 >= ready.duration_s]
        return (min(long_enough) if long_enough else max(candidates))[1]

    def _select(self, shots: list[int] | None) -> list[Shot]:
        plan = self.plan
        if not shots:
            return list(plan.shots)
        known = {s.index: s for s in plan.shots}
        missing = [i for i in shots if i not in known]
        if missing:
            raise InvalidInputError(f"no shot {', '.join(map(str, missing))}; the plan has shots 1-{len(plan.shots)}")
        return [known[i] for i in sorted(set(shots))]

    def estimate(self, shots: list[int] | None = None, backend: str | None = None) -> Estimate:
        be = self.backend(backend)
        plan = self.plan
        todo, cached, footage, costs = [], [], [], []
        for shot in self._select(shots):
            if shot.source:
                footage.append(shot.index)
                continue
            request = self.request_for(shot, plan)
            if self._reusable_clip(be, request, shot.duration_s) is not None:
                cached.append(shot.index)
                continue
            ready, _ = be.prepare(request)
            costs.append(be.estimate_cost(ready))
            todo.append(shot.index)
        unit = costs[0].unit if costs else "USD"
        return Estimate(amount=round(sum(c.amount for c in costs), 4), unit=unit, shots=todo, cached=cached,
                        footage=footage, source=costs[0].source if costs else "")

    def needs_approval(self, estimate: Estimate, backend: str | None = None) -> bool:
        """Money or long remote/GPU time needs a yes; the free, local animatic never does."""
        if not estimate.shots:
            return False
        return estimate.amount > 0 or self.backend(backend).capabilities().needs_approval

    def check_budget(self, estimate: Estimate) -> None:
        if self.max_cost is not None and self.ledger.spent + estimate.amount > self.max_cost + 1e-9:
            raise BudgetExceededError(
                f"generating would cost about {estimate.amount:.2f} {estimate.unit} "
                f"(spent so far {self.ledger.spent:.2f}); that exceeds --max-cost {self.max_cost:g}. Nothing was generated.",
                hint="raise --max-cost, use fewer or shorter shots, or the free animatic backend")

    # -- generate ----------------------------------------------------------------------
    def generate(self, shots: list[int] | None = None, backend: str | None = None, *, approved: bool = False) -> dict:
        """Generate the selected shots that have no clip yet; approval and budget are checked first."""
        with self._work:
            return self._generate(shots, backend, approved=approved)

    def ensure_ready(self, backend: str | None = None) -> None:
        """Fail now if the backend cannot run (missing key or model), before anyone is asked to approve."""
        self.backend(backend).check_ready()

    def _generate(self, shots: list[int] | None, backend: str | None, *, approved: bool) -> dict:
        be = self.backend(backend)
        estimate = self.estimate(shots, backend)
        if estimate.shots:
            be.check_ready()
        self.ledger.estimates.append({"amount": estimate.amount, "unit": estimate.unit, "shots": estimate.shots,
                                      "backend": be.name})
        self.check_budget(estimate)
        if self.needs_approval(estimate, backend) and not (approved or self.auto_approve):
            raise ApprovalDeclinedError(f"generating costs {estimate.text}; it needs approval",
                                        hint="answer yes when asked, or pass --yes to a scripted run")
        plan = self.plan
        chosen = [s for s in self._select(shots) if s.index in estimate.shots]
        requests = [self.request_for(s, plan) for s in chosen]
        for index in estimate.cached:
            self.emit(GenerationProgress(index, "cached", 100.0))
        t0 = time.perf_counter()
        outcomes = []
        if requests:
            def forward(event: ProgressEvent) -> None:
                self.emit(GenerationProgress(event.shot_index, event.state, event.percent, event.message))

            outcomes = asyncio.run(generate_shots(self.store, be, requests, on_progress=forward, cancel=self.cancel))
        self.ledger.time("generate", time.perf_counter() - t0)
        failed = [o for o in outcomes if not o.ok]
        done = [o for o in outcomes if o.ok and not o.cached]
        spent = sum(be.estimate_cost(o.request).amount for o in done)
        self.ledger.spent = round(self.ledger.spent + spent, 4)
        self.ledger.unit = estimate.unit
        self.ledger.generated += [o.shot_index for o in done]
        self.ledger.cached += estimate.cached + [o.shot_index for o in outcomes if o.cached]
        for outcome in outcomes:
            for warning in outcome.warnings:
                self.emit(Notice(warning, level="warning"))
        if failed:
            detail = "; ".join(f"shot {o.shot_index}: {o.error}" for o in failed)
            raise BackendError(f"{len(failed)} of {len(outcomes)} shots failed ({detail})",
                               hint="finished shots are kept; rephrase the failed prompts or generate them again")
        return {"generated": [o.shot_index for o in done], "cached": sorted(set(estimate.cached)
                                                                             | {o.shot_index for o in outcomes if o.cached}),
                "footage": estimate.footage, "cost": round(spent, 4), "unit": estimate.unit, "backend": be.name}

    # -- assemble and render -----------------------------------------------------------
    def assemble(self, backend: str | None = None) -> tuple[Timeline, list[str]]:
        """Lay every shot's clip (generated or footage) on the timeline in plan order."""
        from shotsmith.media.probe import probe

        be = self.backend(backend)
        plan = self.plan
        clips, warnings, missing = [], [], []
        for shot in plan.shots:
            handle = shot.handle_s if shot is not plan.shots[-1] else 0.0
            wanted = shot.duration_s + handle
            if shot.source:
                path = self.store.resolve(shot.source)
            else:
                path = self._reusable_clip(be, self.request_for(shot, plan), shot.duration_s)
                if path is None:
                    missing.append(shot.index)
                    continue
            available = probe(path).duration_s
            out = min(wanted, available)
            transition = shot.transition_to_next
            if handle and available < wanted - 1e-3:
                spare = max(0.0, round(available - shot.duration_s, 3))
                transition = (transition.model_copy(update={"duration_s": spare}) if spare >= 0.1
                              else Transition.cut())
                warnings.append(f"shot {shot.index}: transition shortened to {spare:.2f}s to reuse its clip")
            elif wanted - available > 1.0 / self.fps:
                warnings.append(f"shot {shot.index}: the clip is {available:.2f}s, shorter than the {wanted:.2f}s planned")
            clips.append(ClipRef(source=self.store.relative(path), in_s=0.0, out_s=round(out, 6),
                                 transition_to_next=transition, shot_index=shot.index))
        if missing:
            raise InvalidInputError(f"shot(s) {', '.join(map(str, missing))} have no clip yet",
                                    hint="generate them first (generate_shots)")
        width, height = frame_size(plan.aspect_ratio, self.resolution)
        previous = self.store.project.timeline
        timeline = previous.model_copy(update={
            "clips": clips, "output": previous.output.model_copy(update={"width": width, "height": height, "fps": self.fps})})
        self.store.project.timeline = timeline
        self.store.save()
        return timeline, warnings

    def resolve_output(self, output: str | None, *, preview: bool) -> Path:
        """An output path inside the project (or the one the user gave on the command line)."""
        if not output:
            if not preview and self.default_output is not None:
                output = str(self.default_output)
            else:
                return self.store.renders_dir / ("preview.mp4" if preview else "final.mp4")
        raw = Path(output).expanduser()
        candidate = (raw if raw.is_absolute() else self.store.root / raw).resolve()
        if candidate not in self.allowed_outputs:
            candidate = self.store.resolve(output, allow_inputs=False)
        if candidate.suffix.lower() not in OUTPUT_SUFFIXES:
            raise InvalidInputError(f"output {output!r} must end in one of {', '.join(sorted(OUTPUT_SUFFIXES))}")
        if candidate in {p.resolve() for p in self.store.source_paths()}:
            raise PathSafetyError(f"refusing to overwrite {output!r}: it is a source file of the project",
                                  hint="choose a new file name under renders/")
        candidate.parent.mkdir(parents=True, exist_ok=True)
        return candidate

    def render(self, output: str | None = None, *, preview: bool = False, backend: str | None = None) -> dict:
        with self._work:
            return self._render(output, preview=preview, backend=backend)

    def _render(self, output: str | None, *, preview: bool, backend: str | None) -> dict:
        from shotsmith.tools.render import render_timeline

        target = self.resolve_output(output, preview=preview)
        timeline, warnings = self.assemble(backend)
        for warning in warnings:
            self.emit(Notice(warning, level="warning"))
        total = timeline.duration_s
        t0 = time.perf_counter()
        rendered = render_timeline(timeline, target, resolve=self.store.resolve, protected=self.store.source_paths(),
                                   on_progress=lambda s: self.emit(RenderProgress(s, total)), cancel=self.cancel,
                                   preview=preview)
        self.ledger.time("render_preview" if preview else "render", time.perf_counter() - t0)
        result = {"path": rendered.path, "duration_s": rendered.duration_s, "size_bytes": rendered.size_bytes,
                  "width": rendered.width, "height": rendered.height, "preview": preview}
        self.ledger.outputs.append(result)
        self.emit(OutputWritten(rendered.path, rendered.duration_s, rendered.size_bytes))
        return result

    # -- footage -----------------------------------------------------------------------
    def media_files(self) -> list[str]:
        """Files the assistant may use: the project's assets/ and the user's registered inputs."""
        found = [self.store.relative(p) for p in sorted(self.store.assets_dir.rglob("*")) if p.is_file()]
        return found + [p for p in self.store.project.inputs if p not in found]

    def find_media(self, name: str) -> Path:
        """Resolve a name the user said ("beach.mp4") to an allowed file, refusing anything else."""
        try:
            path = self.store.resolve(name)
            if path.is_file():
                return path
        except PathSafetyError:
            if "/" in name or "\\" in name or name.startswith(".."):
                raise
        matches = [m for m in self.media_files() if Path(m).name == Path(name).name]
        if len(matches) == 1:
            return self.store.resolve(matches[0])
        if not matches:
            raise InvalidInputError(f"no media file named {name!r} in the project",
                                    hint=f"available: {', '.join(self.media_files()) or 'none'}; "
                                         "copy the file into the project's assets/ or pass it as an input")
        raise InvalidInputError(f"{name!r} is ambiguous: {', '.join(matches)}")
