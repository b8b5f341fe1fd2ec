"""A scripted run with no conversation: brief -> plan -> generate -> assemble -> render.

This is what ``shotsmith run`` does when no language model is configured, and
the sequence the agent's tools follow when one is. Each stage saves the project,
so a run killed at any point keeps its finished shots and a rerun reuses them
(the engine caches by request hash).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from shotsmith.assistant.events import (AgentEvent, GenerationProgress, Notice, OutputWritten, PlanUpdated,
                                        RenderProgress)
from shotsmith.assistant.planner import plan_brief
from shotsmith.atomic import atomic_write_text
from shotsmith.backends.base import GenerationRequest, ProgressEvent
from shotsmith.backends.engine import ShotOutcome, generate_shots
from shotsmith.backends.registry import get_backend
from shotsmith.brief import ShotPlan
from shotsmith.errors import BackendError, InvalidInputError, PathSafetyError
from shotsmith.formats import RESOLUTIONS, frame_size
from shotsmith.store import ProjectStore
from shotsmith.timeline import ClipRef, Timeline
from shotsmith.tools.render import render_timeline

OUTPUT_SUFFIXES = {".mp4", ".mov", ".m4v", ".mkv"}


class RunOptions(BaseModel):
    brief: str
    output: Path
    project_dir: Path | None = Field(default=None, description="Default: <output without suffix>.shotsmith beside the output.")
    backend: str = "animatic"
    resolution: str = "720p"
    fps: int = Field(default=30, ge=1, le=120)
    seed: int | None = None
    duration_s: float | None = None
    aspect_ratio: str | None = None
    shot_count: int | None = None


class ShotReport(BaseModel):
    index: int
    prompt: str
    duration_s: float
    clip: str | None
    cached: bool
    warnings: list[str] = Field(default_factory=list)
    error: str | None = None


class OutputReport(BaseModel):
    path: str
    duration_s: float
    size_bytes: int
    width: int
    height: int


class RunReport(BaseModel):
    """One scripted run, offline or driven by the LLM agent (which fills the conversation fields too)."""

    brief: str
    planner: str = Field(description="Who planned: the offline planner, or the model, e.g. openai:gpt-4.1-mini.")
    backend: str
    project: str
    plan: dict | None
    shots: list[ShotReport]
    notices: list[str]
    timings_s: dict[str, float]
    cost: dict
    output: OutputReport | None = None
    tool_calls: list[dict] = Field(default_factory=list, description="Agent runs: every tool call, in order.")
    approvals: list[dict] = Field(default_factory=list, description="Spending approvals asked and given.")
    assistant: list[str] = Field(default_factory=list, description="Agent runs: what the assistant said.")
    error: str | None = Field(default=None, description="Why the run failed; None when the output was written.")


def default_project_dir(output: Path) -> Path:
    return output.with_name(output.stem + ".shotsmith")


def check_output_path(output: Path) -> Path:
    """Fail early, before any work, on an output that cannot be written."""
    output = Path(output).expanduser()
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InvalidInputError(f"output {output} must end in one of {', '.join(sorted(OUTPUT_SUFFIXES))}")
    if output.exists() and output.is_dir():
        raise InvalidInputError(f"output {output} is a folder; give a file name such as {output / 'video.mp4'}")
    parent = output.parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InvalidInputError(f"cannot write {output}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK):
        raise InvalidInputError(f"cannot write {output}: {existing} is not writable")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"cannot create the output folder {parent}: {exc.strerror or exc}") from exc
    return output.resolve()


def shot_requests(plan: ShotPlan, *, resolution: str, fps: int, seed: int | None) -> list[GenerationRequest]:
    """One request per shot; each asks for the on-screen time plus the outgoing transition's handle."""
    return [GenerationRequest(prompt=shot.prompt, duration_s=round(shot.duration_s + shot.handle_s, 3),
                              aspect_ratio=shot.aspect_ratio, resolution=resolution, fps=fps, camera=shot.camera,
                              style=shot.style, shot_index=shot.index,
                              seed=None if seed is None else seed + shot.index)
            for shot in plan.shots]


def assemble_timeline(store: ProjectStore, plan: ShotPlan, outcomes: list[ShotOutcome], *, resolution: str,
                      fps: int) -> tuple[Timeline, list[str]]:
    """Lay the generated clips on a timeline in plan order, trimming each to its shot plus handle."""
    from shotsmith.media.probe import probe

    warnings: list[str] = []
    by_index = {o.shot_index: o for o in outcomes}
    clips: list[ClipRef] = []
    for shot in plan.shots:
        outcome = by_index[shot.index]
        assert outcome.clip is not None
        wanted = shot.duration_s + shot.handle_s
        available = probe(outcome.clip).duration_s
        out = min(wanted, available)
        if wanted - available > 1.0 / fps:
            warnings.append(f"shot {shot.index}: the clip is {available:.2f}s, shorter than the {wanted:.2f}s planned")
        clips.append(ClipRef(source=store.relative(outcome.clip), in_s=0.0, out_s=round(out, 6),
                             transition_to_next=shot.transition_to_next, shot_index=shot.index))
    width, height = frame_size(plan.aspect_ratio, resolution)
    previous = store.project.timeline
    timeline = Timeline(clips=clips, titles=previous.titles, audio=previous.audio,
                        output=previous.output.model_copy(update={"width": width, "height": height, "fps": fps}))
    return timeline, warnings


def run_brief(options: RunOptions, *, on_event: Callable[[AgentEvent], None] | None = None,
              cancel: threading.Event | None = None, plan_only: bool = False) -> RunReport:
    """Run a brief end to end and return the report; raises ShotsmithError on failure."""
    emit = on_event or (lambda event: None)
    cancel = cancel or threading.Event()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    if options.resolution not in RESOLUTIONS:
        raise InvalidInputError(f"unknown resolution {options.resolution!r}", hint=f"choose one of {', '.join(RESOLUTIONS)}")
    output = check_output_path(options.output)
    backend = get_backend(options.backend)
    if not plan_only:
        backend.check_ready()  # a missing key or model fails now, before planning and before a project exists

    result = plan_brief(options.brief, duration_s=options.duration_s, aspect_ratio=options.aspect_ratio,
                        shot_count=options.shot_count, fps=options.fps)
    for notice in result.notices:
        emit(Notice(notice, level="warning" if "capped" in notice or "minimum" in notice else "info"))
    emit(PlanUpdated(result.plan.model_dump(mode="json")))
    timings["plan"] = time.perf_counter() - started

    project_dir = (options.project_dir or default_project_dir(output)).expanduser()
    store = ProjectStore.open_or_create(project_dir)
    if output in store.source_paths():
        raise PathSafetyError(f"refusing to overwrite {output}: it is a source file of the project",
                              hint="choose another output name")
    store.project.brief, store.project.plan = result.brief, result.plan
    store.save()
    requests = shot_requests(result.plan, resolution=options.resolution, fps=options.fps, seed=options.seed)
    costs = [backend.estimate_cost(backend.prepare(r)[0]) for r in requests]
    cost = {"amount": round(sum(c.amount for c in costs), 4), "unit": costs[0].unit if costs else "USD",
            "source": costs[0].source if costs else ""}

    report = RunReport(brief=result.brief.text, planner=result.plan.planner, backend=backend.name,
                       project=str(store.root), plan=result.plan.model_dump(mode="json"), shots=[],
                       notices=list(result.notices), timings_s=timings, cost=cost)
    timings = report.timings_s  # pydantic copied the dict; keep filling the report's own
    if plan_only:
        timings["total"] = time.perf_counter() - started
        return report

    def forward(event: ProgressEvent) -> None:
        emit(GenerationProgress(event.shot_index, event.state, event.percent, event.message))

    t0 = time.perf_counter()
    outcomes = asyncio.run(generate_shots(store, backend, requests, on_progress=forward, cancel=cancel))
    timings["generate"] = time.perf_counter() - t0
    shots_by_index = {s.index: s for s in result.plan.shots}
    report.shots = [ShotReport(index=o.shot_index or 0, prompt=shots_by_index[o.shot_index].prompt,
                               duration_s=shots_by_index[o.shot_index].duration_s,
                               clip=store.relative(o.clip) if o.clip else None, cached=o.cached,
                               warnings=o.warnings, error=o.error) for o in outcomes]
    for outcome in outcomes:
        for warning in outcome.warnings:
            emit(Notice(warning, level="warning"))
    failed = [o for o in outcomes if not o.ok]
    if failed:
        detail = "; ".join(f"shot {o.shot_index}: {o.error}" for o in failed)
        raise BackendError(f"{len(failed)} of {len(outcomes)} shots failed to generate ({detail})",
                           hint="finished shots are kept; run again to retry only the failed ones")

    timeline, warnings = assemble_timeline(store, result.plan, outcomes, resolution=options.resolution, fps=options.fps)
    for warning in warnings:
        emit(Notice(warning, level="warning"))
    report.notices += warnings
    store.project.timeline = timeline
    store.save()

    t0 = time.perf_counter()
    total = timeline.duration_s
    rendered = render_timeline(timeline, output, resolve=store.resolve, protected=store.source_paths(),
                               on_progress=lambda s: emit(RenderProgress(s, total)), cancel=cancel)
    timings["render"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    report.output = OutputReport(path=rendered.path, duration_s=rendered.duration_s, size_bytes=rendered.size_bytes,
                                 width=rendered.width, height=rendered.height)
    emit(OutputWritten(rendered.path, rendered.duration_s, rendered.size_bytes))
    return report


def write_report(report: RunReport, path: Path) -> None:
    atomic_write_text(Path(path), report.model_dump_json(indent=2) + "\n")
