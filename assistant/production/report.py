"""The run report (``--json``): what a run planned, spent, asked, generated and wrote.

Built from the project (plan, ledger) and the service's activity, the same for
the offline planner and the agent; scrubbed of secrets before it is written.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from shotsmith.atomic import atomic_write_text
from shotsmith.project import Approval
from shotsmith.scrub import scrub_data
from shotsmith.tools.render import LoudnessReached


class ShotReport(BaseModel):
    index: int
    prompt: str
    duration_s: float
    speed: float = 1.0
    clip: str | None
    cached: bool
    footage: bool = False


class OutputReport(BaseModel):
    path: str
    duration_s: float
    size_bytes: int
    width: int
    height: int
    #: with a loudness target: what the mix reached (under it when the true-peak ceiling holds the peaks)
    loudness: LoudnessReached | None = None


class CostReport(BaseModel):
    """Amounts in USD; ``unit`` and ``amount`` give the provider's own unit (Runway: credits)."""

    estimate_usd: float = 0.0
    amount: float = 0.0
    unit: str = "USD"
    spent_usd: float = Field(0.0, description="This project's committed charges, all runs together.")
    spent_this_run_usd: float = 0.0
    max_cost_usd: float | None = None


class RunReport(BaseModel):
    """One run, offline or driven by the LLM agent (which fills the conversation fields too)."""

    brief: str
    planner: str = Field(description="Who planned: the offline planner, or the model, e.g. openai:gpt-4.1-mini.")
    backend: str
    project: str
    plan: dict | None = None
    shots: list[ShotReport] = Field(default_factory=list)
    notices: list[str] = Field(default_factory=list)
    timings_s: dict[str, float] = Field(default_factory=dict)
    cost: CostReport = Field(default_factory=CostReport)
    approvals: list[Approval] = Field(default_factory=list, description="Spending approvals asked in this run.")
    output: OutputReport | None = None
    tool_calls: list[dict] = Field(default_factory=list, description="Agent runs: every tool call, in order.")
    assistant: list[str] = Field(default_factory=list, description="Agent runs: what the assistant said.")
    error: str | None = Field(default=None, description="Why the run failed; None when the output was written.")
    exit_code: int = 0


def write_report(report: RunReport, path: Path) -> None:
    data = scrub_data(json.loads(report.model_dump_json()))
    atomic_write_text(Path(path), json.dumps(data, indent=2, ensure_ascii=False) + "\n")
