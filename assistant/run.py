"""A scripted run (``shotsmith run``, the Python API): drive a session through one brief and report.

The same driver serves the offline planner and the LLM agent: it hands the
brief to the session (:meth:`run_brief`), answers whatever the session asks
before spending (``--yes`` never gets asked: the service records it; an
interactive terminal is asked; anything else stops the run with exit 3 and
nothing spent), and checks the output was written. Running again on the same
project picks up where a killed run stopped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from shotsmith.assistant.events import AgentEvent, ApprovalRequested, AssistantText, Notice
from shotsmith.assistant.production.report import CostReport, OutputReport, RunReport, ShotReport
from shotsmith.assistant.production.spending import ApprovalRequiredError
from shotsmith.assistant.sessions.protocol import ChatSessionLike
from shotsmith import interrupts
from shotsmith.errors import ShotsmithError
from shotsmith.scrub import scrub

Confirm = Callable[[ApprovalRequested], bool]
T = TypeVar("T")


def run_turn(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)``, except that a second Ctrl-C cannot cut short the stopping of a turn.

    The first Ctrl-C leaves the loop with the turn still running; closing the loop
    cancels it, and the turn then waits for its worker thread to stop (ffmpeg
    killed, partial files removed). A second Ctrl-C during that wait broke it off,
    and asyncio printed a destroyed task with its traceback after "cancelled". The
    wait now runs inside :func:`~shotsmith.interrupts.deferred`; a third Ctrl-C
    still ends the process at once.
    """
    runner = asyncio.Runner()
    try:
        return runner.run(coroutine)
    except KeyboardInterrupt:
        with interrupts.deferred():
            runner.close()
        raise
    finally:
        runner.close()


def drive_brief(session: ChatSessionLike, brief: str, output: Path | None, *, produce: bool = True,
                on_event: Callable[[AgentEvent], None] | None = None,
                confirm: Confirm | None = None) -> tuple[RunReport, ShotsmithError | None]:
    """Run ``brief`` through ``session``; return the report and the error that stopped the run, if any.

    The report is complete either way, so ``--json`` can be written for a failed run too.
    """
    emit = on_event or (lambda event: None)
    started = time.perf_counter()
    spent_before = session.store.project.spending.spent_usd
    report = RunReport(brief=brief, planner=session.answering, backend=session.service.backend_name,
                       project=str(session.store.root))
    target = Path(output).expanduser().resolve() if output is not None else None

    def drain(turn) -> ApprovalRequested | None:
        async def go() -> ApprovalRequested | None:
            asked = None
            async for event in turn:
                emit(event)
                if isinstance(event, Notice):
                    report.notices.append(event.text)
                elif isinstance(event, AssistantText) and not event.delta:
                    report.assistant.append(event.text)
                elif isinstance(event, ApprovalRequested):
                    asked = event
            return asked

        return run_turn(go())

    try:
        if session.pending_approval or session.unfinished:
            asked = drain(session.resume())
        else:
            asked = drain(session.run_brief(brief, produce=produce))
        while asked is not None and session.last_error is None:
            if confirm is None:
                raise ApprovalRequiredError(f"generation needs approval ({asked.description}); nothing was spent",
                                            hint="run again with --yes (and --max-cost to cap it), or answer in "
                                                 "`shotsmith chat`")
            approved = confirm(asked)
            asked = drain(session.respond(approved))
            if not approved:
                raise ApprovalRequiredError("generation was declined; nothing was spent")
        if session.last_error is not None:
            raise session.last_error
        if not produce:
            if session.store.project.plan is None:
                raise ShotsmithError("the assistant finished without making a shot plan",
                                     hint="try again or rephrase the brief")
        elif target is not None and not target.is_file():
            raise ShotsmithError(f"the assistant finished without writing {target}",
                                 hint="see the tool calls in the report; try again or rephrase the brief")
    except ShotsmithError as exc:
        report.error = scrub(exc.message + (f" ({exc.hint})" if exc.hint else ""))
        report.exit_code = exc.exit_code
        fill_report(report, session, target, started, spent_before)
        return report, exc
    fill_report(report, session, target, started, spent_before)
    return report, None


def fill_report(report: RunReport, session: ChatSessionLike, output: Path | None, started: float,
                spent_before: float) -> None:
    """Copy what the run did into the report: plan, shots, tool calls, approvals, costs, output."""
    service = session.service
    project = session.store.project
    plan = project.plan
    activity = service.activity
    report.backend = service.backend_name
    report.plan = plan.model_dump(mode="json") if plan else None
    report.shots = [ShotReport(index=s.index, prompt=s.prompt, duration_s=s.duration_s, speed=s.speed,
                               clip=s.source or s.bound_clip, footage=bool(s.source),
                               cached=s.index in activity.cached and s.index not in activity.generated)
                    for s in (plan.shots if plan else [])]
    report.tool_calls = [{k: v for k, v in call.items() if k != "started"} for call in getattr(session, "tool_calls", [])]
    asked = set(getattr(session, "approval_ids", []))
    report.approvals = [a for a in project.spending.approvals if a.id in asked]
    last = activity.estimates[-1] if activity.estimates else {}
    report.cost = CostReport(estimate_usd=last.get("usd", 0.0), amount=last.get("amount", 0.0),
                             unit=last.get("unit", "USD"), spent_usd=project.spending.spent_usd,
                             spent_this_run_usd=round(project.spending.spent_usd - spent_before, 6),
                             max_cost_usd=service.spending.max_cost_usd)
    report.timings_s = {**activity.timings_s, "total": round(time.perf_counter() - started, 3)}
    written = [o for o in activity.outputs if output is None or Path(o.path).resolve() == output]
    if written:
        out = written[-1]
        report.output = OutputReport(path=out.path, duration_s=out.duration_s, size_bytes=out.size_bytes,
                                     width=out.width, height=out.height, loudness=out.loudness)
