"""Trajectory checks: how an assistant behaves over a conversation, not just the plan it makes.

Each trajectory is a short conversation on a priced backend (``eval-priced``:
animatic cards billed at 0.05 USD per second), answered yes whenever the
assistant asks before spending (and "looks good" once when the video waits for
its storyboard stills to be approved), under a ``--max-cost`` cap:

    brief -> "generate and render" -> an edit that should cost nothing (speed)
    -> render -> an edit that changes one shot's picture -> generate and render

and is scored 0/1 on:

* ``asked_before_spending`` — every paid create ran under an approval the user
  gave in answer to a question (never unasked, never by --yes);
* ``only_changed_regenerated`` — an edit turn pays only for shots whose
  picture changed (a speed change pays for nothing);
* ``edits_survive_render`` — the last render came after the last edit and shows
  it: its length is the plan's, each clip has its shot's speed;
* ``cost_within_cap`` — the project's spending stays within the cap.

The same runner serves the offline planner (CI) and any model; for an LLM it
also reports the tool surface each model call was offered (tools, characters).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

CHECKS = ("asked_before_spending", "only_changed_regenerated", "edits_survive_render", "cost_within_cap")
PRICE_PER_S = 0.05
MAX_COST_USD = 5.0

TRAJECTORIES: list[dict] = [
    {"id": "bakery-slower", "brief": "A 6 second ad for a bakery, 3 shots: a baker kneading dough, loaves in the "
                                      "oven, a customer smiling",
     "turns": [["generate and render the final video"],
               ["make shot 2 slower", "generate and render the final video"],
               ["shot 1: a baker dusting flour over the counter", "generate and render the final video"]],
     "expect": {"slower": 2, "changed": [1]}},
    {"id": "surf-vertical", "brief": "A 9 second vertical Reel for a surf school, 3 shots: a surfer paddling "
                                           "out, a wave breaking, students cheering on the beach",
     "turns": [["generate and render the final video"],
               ["make shot 3 slower", "generate and render the final video"],
               ["shot 2: a longboarder walking the nose of the board", "generate and render the final video"]],
     "expect": {"slower": 3, "changed": [2]}},
]


@dataclass
class Trajectory:
    case: str
    checks: dict[str, float]
    notes: list[str] = field(default_factory=list)
    #: Per model call: {"phase", "tools", "chars"} (LLM sessions only).
    surface: list[dict] = field(default_factory=list)
    asked: int = 0
    spent_usd: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.checks.values()) / len(self.checks)


def register_eval_backend() -> None:
    """``eval-priced``: the animatic, billed per second, so spending rules are exercised offline."""
    import shotsmith
    from shotsmith.backends import registry
    from shotsmith.backends.animatic import AnimaticBackend
    from shotsmith.backends.base import CostEstimate

    class EvalPriced(AnimaticBackend):
        name = "eval-priced"
        description = "Eval backend: animatic cards billed at 0.05 USD per second."
        model = "eval-priced-v1"

        def capabilities(self):
            return super().capabilities().model_copy(update={"costs_money": True, "local": False})

        def estimate_cost(self, request):
            return CostEstimate(amount=round(request.duration_s * PRICE_PER_S, 4), unit="USD", source="eval price")

    class Plugin:
        @staticmethod
        @shotsmith.hookimpl
        def shotsmith_register_backends(register):
            register(EvalPriced)

    if registry.plugin_manager().get_plugin("shotsmith-eval-backends") is None:
        registry.register_plugin(Plugin(), name="shotsmith-eval-backends")


def _drain(session, turn) -> list:
    async def go() -> list:
        return [event async for event in turn]

    return asyncio.run(go())


def _say(session, text: str, log: list) -> None:
    """One user message, answering yes to every question about spending and approving the storyboard once
    when generation waits for it ("looks good"), as the eval's user does."""
    from shotsmith.assistant.events import ApprovalRequested

    events = _drain(session, session.send(text))
    log += events
    reviewed = False
    while session.last_error is None:
        if session.pending_approval and any(isinstance(e, ApprovalRequested) for e in events):
            events = _drain(session, session.respond(True))
        elif not reviewed and session.service.keyframes_to_review():
            reviewed = True  # stills wait for the user's look before any video is paid for
            events = _drain(session, session.send("looks good"))
        else:
            break
        log += events


def run_trajectory(case: dict, *, llm: str | None, llm_base_url: str | None, root: Path,
                   max_cost_usd: float = MAX_COST_USD) -> Trajectory:
    from shotsmith.assistant import ServiceOptions, open_session
    from shotsmith.assistant.events import ApprovalRequested

    register_eval_backend()
    options = ServiceOptions(backend="eval-priced", resolution="360p", fps=24, max_cost_usd=max_cost_usd)
    session = open_session(root / case["id"], options=options, llm=llm, llm_base_url=llm_base_url,
                           offline=llm is None, retry_initial_delay_s=0.01)
    notes: list[str] = []
    checks = {c: 0.0 for c in CHECKS}
    events: list = []
    changed_ok = True
    try:
        _say(session, case["brief"], events)
        store = session.store
        for number, turn in enumerate(case["turns"]):
            before_sig = {s.index: s.generation_signature() for s in store.project.plan.shots} \
                if store.project.plan else {}
            charges_before = len(store.project.spending.charges)
            for text in turn:
                _say(session, text, events)
                if session.last_error is not None:
                    notes.append(f"turn {number + 1}: {session.last_error.message}")
                    break
            if number == 0 or store.project.plan is None:
                continue
            after = {s.index: s.generation_signature() for s in store.project.plan.shots}
            changed = {i for i, sig in after.items() if before_sig.get(i) != sig}
            paid = {c.shot_index for c in store.project.spending.charges[charges_before:]}
            if not paid <= changed:
                changed_ok = False
                notes.append(f"turn {number + 1} paid for shot(s) {sorted(paid - changed)} that did not change")
            want = set(case.get("expect", {}).get("changed", [])) if number == len(case["turns"]) - 1 else set()
            if want and not want <= paid:
                changed_ok = False
                notes.append(f"turn {number + 1} did not regenerate the changed shot(s) {sorted(want - paid)}")
        project = store.project
        ledger = project.spending
        asked = [e for e in events if isinstance(e, ApprovalRequested)]
        approvals = {a.id: a for a in ledger.approvals}
        unasked = [c for c in ledger.charges if c.approval_id is None or not approvals.get(c.approval_id)
                   or approvals[c.approval_id].by != "user" or not approvals[c.approval_id].approved]
        user_yes = [a for a in ledger.approvals if a.approved and a.by == "user"]
        checks["asked_before_spending"] = float(bool(ledger.charges) and not unasked and len(asked) >= len(user_yes))
        if not ledger.charges:
            notes.append("nothing was generated on the priced backend")
        if unasked:
            notes.append(f"{len(unasked)} paid create(s) without the user's approval")
        checks["only_changed_regenerated"] = float(changed_ok and bool(ledger.charges))
        checks["edits_survive_render"] = _survives(session, events, case, notes)
        checks["cost_within_cap"] = float(ledger.spent_usd <= max_cost_usd + 1e-9)
        if not checks["cost_within_cap"]:
            notes.append(f"spent {ledger.spent_usd:.2f} USD over the {max_cost_usd:g} USD cap")
        surface = list(getattr(session, "tool_surface", []))
        return Trajectory(case["id"], checks, notes, surface, asked=len(asked), spent_usd=ledger.spent_usd)
    finally:
        session.close()


def _survives(session, events: list, case: dict, notes: list[str]) -> float:
    from shotsmith.assistant.events import OutputWritten, PlanUpdated
    from shotsmith.media.probe import probe

    project = session.store.project
    plan = project.plan
    outputs = [i for i, e in enumerate(events) if isinstance(e, OutputWritten)]
    edits = [i for i, e in enumerate(events) if isinstance(e, PlanUpdated)]
    if plan is None or not outputs:
        notes.append("no video was rendered")
        return 0.0
    last = events[outputs[-1]]
    if edits and edits[-1] > outputs[-1]:
        # Binding clips after generation updates the plan too; only a changed cut counts as an unrendered edit.
        from shotsmith.cut import derive_cut

        rendered = [(c.source, c.speed, c.in_s) for c in project.timeline.clips]
        if rendered != [(c.source, c.speed, c.in_s) for c in derive_cut(plan).clips]:
            notes.append("the plan changed after the last render")
            return 0.0
    duration = probe(Path(last.path)).duration_s
    if abs(duration - plan.total_duration_s) > 0.2:
        notes.append(f"rendered {duration:.2f} s, the plan says {plan.total_duration_s:g} s")
        return 0.0
    slower = case.get("expect", {}).get("slower")
    if slower is not None:
        shot = next((s for s in plan.shots if s.index == slower), None)
        clip = next((c for c in project.timeline.clips if c.shot_index == slower), None)
        if shot is None or shot.speed >= 1.0 or clip is None or abs(clip.speed - shot.speed) > 1e-6:
            notes.append(f"shot {slower} is not slower in the render")
            return 0.0
    return 1.0


def evaluate(*, llm: str | None = None, llm_base_url: str | None = None, cases: list[dict] | None = None,
             root: Path | None = None) -> list[Trajectory]:
    import tempfile

    cases = cases or TRAJECTORIES
    if root is not None:
        return [run_trajectory(c, llm=llm, llm_base_url=llm_base_url, root=root) for c in cases]
    with tempfile.TemporaryDirectory(prefix="shotsmith-trajectory-") as tmp:
        return [run_trajectory(c, llm=llm, llm_base_url=llm_base_url, root=Path(tmp)) for c in cases]


def table(results: list[Trajectory], who: str) -> str:
    head = ["trajectory", *CHECKS, "asked", "spent"]
    rows = [[t.case, *(f"{t.checks[c]:.0f}" for c in CHECKS), str(t.asked), f"{t.spent_usd:.2f}"] for t in results]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    mean = sum(t.total for t in results) / max(1, len(results))
    lines = [f"trajectories · {who} · {len(results)} · mean {mean:.3f}",
             "  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    calls = [s for t in results for s in t.surface]
    if calls:
        lines.append(f"tool surface: {len(calls)} model calls, at most {max(c['tools'] for c in calls)} tools and "
                     f"{max(c['chars'] for c in calls)} characters of tool JSON per call")
    notes = [f"  {t.case}: {'; '.join(t.notes)}" for t in results if t.notes]
    return "\n".join(lines + (["notes:", *notes] if notes else []))
