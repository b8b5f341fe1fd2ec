"""``shotsmith run --llm …``: a scripted run driven by the LLM agent, with a report.

The brief goes to the agent as one message; the runner then answers whatever
it asks for approval (``--yes`` approves, an interactive terminal is asked,
anything else stops the run before spending) and finally checks that the
output file exists. Running again on the same project picks up where a killed
run stopped: an unfinished step is resumed, a pending approval answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from shotsmith.assistant.events import AgentEvent, ApprovalRequested, AssistantText, Notice
from shotsmith.assistant.pipeline import OutputReport, RunReport, ShotReport
from shotsmith.assistant.session import ChatSession
from shotsmith.errors import ShotsmithError

RUN_INSTRUCTIONS = ("\n\n(This is a scripted run with nobody to answer questions: plan the shots, generate them, "
                    "then call render_final with no output argument to write the video, and stop.)")
PLAN_ONLY_INSTRUCTIONS = ("\n\n(This is a scripted run with nobody to answer questions: plan the shots with plan_shots "
                          "and stop. Do not generate or render.)")


class ApprovalNeededError(ShotsmithError):
    """A scripted run reached a paid generation without --yes."""

    exit_code = 3


def run_with_agent(session: ChatSession, brief: str, output: Path, *,
                   on_event: Callable[[AgentEvent], None] | None = None,
                   confirm: Callable[[ApprovalRequested], bool] | None = None, plan_only: bool = False
                   ) -> tuple[RunReport, ShotsmithError | None]:
    """Drive ``session`` through the brief; return the report and the error that stopped it, if any.

    The report is complete either way, so ``--json`` can be written for a failed run too.
    """
    emit = on_event or (lambda event: None)
    started = time.perf_counter()
    report = RunReport(brief=brief, planner=session.answering, backend=session.studio.backend_name,
                       project=str(session.store.root), plan=None, shots=[], notices=[], timings_s={}, cost={})
    output = Path(output).expanduser().resolve()

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

        return asyncio.run(go())

    try:
        if session.pending_approval:
            asked: ApprovalRequested | None = _pending_request(session)
        elif getattr(session, "unfinished", False):
            asked = drain(session.resume())
        else:
            asked = drain(session.send(brief + (PLAN_ONLY_INSTRUCTIONS if plan_only else RUN_INSTRUCTIONS)))
        while asked is not None and session.last_error is None:
            if session.studio.auto_approve:
                approved = True
            elif confirm is not None:
                approved = confirm(asked)
            else:
                raise ApprovalNeededError(
                    f"generation needs approval ({asked.description}); nothing was spent",
                    hint="run again with --yes (and --max-cost to cap it), or answer in `shotsmith chat`")
            asked = drain(session.respond(approved))
            if not approved:
                raise ApprovalNeededError("generation was declined; nothing was spent")
        if session.last_error is not None:
            raise session.last_error
        if plan_only:
            if session.store.project.plan is None:
                raise ShotsmithError("the assistant finished without making a shot plan",
                                     hint="try again or rephrase the brief")
        elif not output.is_file():
            raise ShotsmithError(f"the assistant finished without writing {output}",
                                 hint="see the tool calls in the report; try again or rephrase the brief")
    except ShotsmithError as exc:
        report.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
        _fill(report, session, output, started)
        return report, exc
    _fill(report, session, output, started)
    return report, None


def _pending_request(session: ChatSession) -> ApprovalRequested:
    return ApprovalRequested(request_id="pending", action="generate_shots",
                             description=f"finish the approved-pending generation: {session.studio.estimate().text}",
                             estimate_amount=session.studio.estimate().amount,
                             estimate_unit=session.studio.estimate().unit)


def _fill(report: RunReport, session: ChatSession, output: Path, started: float) -> None:
    """Copy what the session did into the report: plan, shots, tool calls, approvals, costs, output."""
    studio = session.studio
    ledger = studio.ledger
    plan = studio.store.project.plan
    report.plan = plan.model_dump(mode="json") if plan else None
    clips = {c.shot_index: c.source for c in studio.store.project.timeline.clips}
    report.shots = [ShotReport(index=s.index, prompt=s.prompt, duration_s=s.duration_s, clip=clips.get(s.index),
                               cached=s.index in ledger.cached and s.index not in ledger.generated)
                    for s in (plan.shots if plan else [])]
    report.tool_calls = [{k: v for k, v in call.items() if k != "started"} for call in session.tool_calls]
    report.approvals = list(ledger.approvals)
    estimated = round(sum(e["amount"] for e in ledger.estimates[-1:]), 4)
    report.cost = {"amount": estimated, "spent": ledger.spent, "unit": ledger.unit, "max_cost": studio.max_cost,
                   "estimates": ledger.estimates, "generated_shots": ledger.generated, "cached_shots": ledger.cached}
    report.timings_s = {**ledger.timings_s, "total": round(time.perf_counter() - started, 3)}
    written = [o for o in ledger.outputs if Path(o["path"]).resolve() == output]
    if written:
        out = written[-1]
        report.output = OutputReport(path=out["path"], duration_s=out["duration_s"], size_bytes=out["size_bytes"],
                                     width=out["width"], height=out["height"])
