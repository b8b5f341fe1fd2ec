"""Spending that fails closed: one policy, approvals bound to what was shown, a ledger that persists.

The rules, all here:

* An estimate counts only shots that will really be sent (cached, bound and
  footage shots are free; a shot whose remote task is already running resumes
  it for nothing more, ``Estimate.resuming``); amounts are kept in USD with the
  provider's unit beside (Runway: 1 credit = 0.01 USD).
* A backend that costs money, runs remotely or ties up a GPU for long needs an
  :class:`~shotsmith.project.Approval` bound to the backend, the exact request
  cache keys and the amount; ``--yes`` records one on the user's behalf.
* ``--max-cost`` (USD) caps the project's total, counted from the ledger in
  ``project.json``, so it holds across restarts and resumes.
* Enforcement sits at the side effect: the job engine calls
  :meth:`LedgerGuard.authorize` right before each create it sends, which
  refuses anything not covered and records the charge *before* the request
  leaves. The checks in the conversation (asking, the estimate shown) are
  courtesy; this is the wall.
* Any error while deciding refuses (a scripted run exits 3) or asks (an
  interactive session); it never lets a create through.
"""

from __future__ import annotations

import math
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from shotsmith.backends.base import USD_PER_UNIT, Backend, GenerationRequest
from shotsmith.errors import ShotsmithError
from shotsmith.project import Approval, Charge
from shotsmith.store import ProjectStore

#: The one float slack used by every comparison against a limit or an approved amount.
SLACK_USD = 1e-9


class SpendingRefusedError(ShotsmithError):
    """Generation would spend money or long GPU time that was not approved; nothing was sent."""

    exit_code = 3


class ApprovalRequiredError(SpendingRefusedError):
    """A scripted run reached paid generation without --yes (or the user said no)."""


class BudgetExceededError(SpendingRefusedError):
    """Generating would take the project's spending past --max-cost; nothing was sent."""


def usd(amount: float, unit: str) -> float:
    return round(amount * USD_PER_UNIT.get(unit, 1.0), 6)


def money(usd_amount: float, amount: float | None = None, unit: str = "USD") -> str:
    """``0.75 USD (75 credits)``: USD first, the provider's unit beside when it differs."""
    # Under a cent (a paid voice line) two significant digits, so a real cost never reads as 0.00.
    places = 1 - math.floor(math.log10(usd_amount)) if 0 < usd_amount < 0.005 else 2
    text = f"{usd_amount:.{places}f} USD"
    if unit != "USD" and amount is not None:
        text += f" ({amount:g} {unit})"
    return text


class ShotCost(BaseModel):
    shot_index: int
    cache_key: str
    amount: float
    unit: str
    usd: float
    backend: str = ""
    kind: Literal["video", "image", "voice"] = "video"


class Resume(BaseModel):
    """A shot whose remote task is already running: the engine polls it to the end, nothing more is paid."""

    shot_index: int
    cache_key: str
    task_id: str
    backend: str


class Estimate(BaseModel):
    """What generating would send and cost; cached, already-bound and footage shots cost nothing.

    One estimate may span two backends — storyboard keyframes on an image
    backend, then the shots on a video backend — and lists them separately;
    an approval of it is recorded per backend.
    """

    backend: str
    to_generate: list[ShotCost] = Field(default_factory=list)
    cached: list[int] = Field(default_factory=list)
    footage: list[int] = Field(default_factory=list)
    unit: str = "USD"
    source: str = ""
    needs_approval: bool = False
    #: Backends (beyond ``backend``) whose work needs approval: the image backend for keyframes.
    approval_backends: list[str] = Field(default_factory=list)
    #: Shots whose task is already running at the provider (``engine.resumable_task``): sent to the engine,
    #: which resumes them, but neither priced nor approved (a create, should the task be gone, asks anew).
    resuming: list[Resume] = Field(default_factory=list)

    def part(self, backend: str) -> "Estimate":
        """The share of this estimate sent to one backend."""
        return self.model_copy(update={"backend": backend,
                                       "to_generate": [c for c in self.to_generate if (c.backend or self.backend) == backend]})

    @property
    def backends(self) -> list[str]:
        seen: list[str] = []
        for cost in self.to_generate:
            name = cost.backend or self.backend
            if name not in seen:
                seen.append(name)
        return seen

    def needs_approval_on(self, backend: str) -> bool:
        return backend in self.approval_backends or (backend == self.backend and self.needs_approval)

    @property
    def shots(self) -> list[int]:
        return [c.shot_index for c in self.to_generate]

    @property
    def cache_keys(self) -> list[str]:
        return [c.cache_key for c in self.to_generate]

    @property
    def amount(self) -> float:
        return round(sum(c.amount for c in self.to_generate), 4)

    @property
    def usd(self) -> float:
        return round(sum(c.usd for c in self.to_generate), 6)

    @property
    def text(self) -> str:
        resumes = "; ".join(f"shot {r.shot_index} resumes task {r.task_id} on {r.backend} (0 more)"
                            for r in self.resuming)
        if not self.to_generate:
            if resumes:
                return resumes + (f"; {len(self.cached)} cached" if self.cached else "")
            return "nothing to generate: every shot is cached or uses footage"
        if len(self.backends) > 1:
            text = "; ".join(self.part(b)._text_one() for b in self.backends) + (
                f"; {len(self.cached)} cached" if self.cached else "")
        else:
            text = self._text_one()
        return f"{text}; {resumes}" if resumes else text

    @property
    def sent(self) -> list[int]:
        """The shots the engine is given: those to generate and those that resume their running task."""
        return self.shots + [r.shot_index for r in self.resuming if r.shot_index not in self.shots]

    def _text_one(self) -> str:
        unit = self.to_generate[0].unit if self.to_generate else self.unit
        if self.usd or unit != "USD":
            cost = f"about {money(self.usd, self.amount, unit)}"
        else:
            cost = "no money, but long GPU time" if self.needs_approval_on(self.backend) else "free (local)"
        kinds = {c.kind for c in self.to_generate}
        what = "keyframe(s)" if kinds == {"image"} else "voice clip(s)" if kinds == {"voice"} else "shot(s)"
        return (f"{len(self.shots)} {what} to generate with {self.backend} ({', '.join(map(str, self.shots))}): "
                f"{cost}" + (f" ({self.source})" if self.source and self.usd else "")
                + (f"; {len(self.cached)} cached" if self.cached else ""))

    def summary(self) -> dict:
        return {"backend": self.backend, "shots": self.shots, "cached": self.cached, "footage": self.footage,
                "usd": self.usd, "amount": self.amount, "unit": self.unit, "needs_approval": self.asks,
                "parts": [{"backend": b, "usd": self.part(b).usd, "shots": self.part(b).shots,
                           "kind": self.part(b).to_generate[0].kind} for b in self.backends],
                "resuming": [r.model_dump() for r in self.resuming], "text": self.text}

    @property
    def asks(self) -> bool:
        """Some of this work needs a yes (money, remote, or long GPU time)."""
        return any(self.needs_approval_on(b) for b in self.backends)


Decision = Literal["free", "covered", "ask"]


class SpendingPolicy:
    """The one place that decides whether generation may spend, for one project."""

    def __init__(self, store: ProjectStore, *, max_cost_usd: float | None = None, auto_approve: bool = False) -> None:
        if max_cost_usd is not None and max_cost_usd < 0:
            raise SpendingRefusedError(f"--max-cost {max_cost_usd:g} is negative")
        self.store = store
        self.max_cost_usd = max_cost_usd
        self.auto_approve = auto_approve

    @property
    def ledger(self):
        return self.store.project.spending

    # -- deciding ----------------------------------------------------------------------
    def check_budget(self, estimate: Estimate) -> None:
        if self.max_cost_usd is None or not estimate.to_generate:
            return
        spent = self.ledger.spent_usd
        if spent + estimate.usd > self.max_cost_usd + SLACK_USD:
            raise BudgetExceededError(
                f"generating would cost about {money(estimate.usd, estimate.amount, estimate.unit)}; with "
                f"{money(spent)} already spent in this project that exceeds --max-cost {self.max_cost_usd:g} USD. "
                "Nothing was generated.",
                hint="raise --max-cost, use fewer or shorter shots, or the free animatic backend")

    def _covering_one(self, estimate: Estimate) -> Approval | None:
        wanted = set(estimate.cache_keys)
        for approval in reversed(self.ledger.approvals):
            if not approval.approved or approval.backend != estimate.backend:
                continue
            if not wanted <= set(approval.cache_keys):
                continue
            left = approval.usd - self.ledger.charged_against(approval.id)
            if estimate.usd <= left + SLACK_USD:
                return approval
        return None

    def covering(self, estimate: Estimate) -> list[Approval] | None:
        """Yeses given for exactly these requests on each backend that needs one, with enough left; else None."""
        found = []
        for backend in estimate.backends:
            if not estimate.needs_approval_on(backend):
                continue
            approval = self._covering_one(estimate.part(backend))
            if approval is None:
                return None
            found.append(approval)
        return found

    def decide(self, estimate: Estimate) -> Decision:
        if not estimate.to_generate or not estimate.asks:
            return "free"
        return "covered" if self.covering(estimate) is not None else "ask"

    def record(self, estimate: Estimate, *, approved: bool, by: Literal["user", "--yes"]) -> list[Approval]:
        """Keep the user's answer (or --yes) in the project: one record per backend that needs one, each bound to
        that backend's requests and amount."""
        records = []
        for backend in estimate.backends or [estimate.backend]:
            if estimate.backends and not estimate.needs_approval_on(backend):
                continue
            part = estimate.part(backend)
            records.append(Approval(id=uuid.uuid4().hex[:12], backend=backend, shots=part.shots,
                                    cache_keys=part.cache_keys, amount=part.amount,
                                    unit=part.to_generate[0].unit if part.to_generate else part.unit,
                                    usd=part.usd, approved=approved, by=by))
        self.ledger.approvals.extend(records)
        self.store.save()
        return records

    def approval_for(self, estimate: Estimate) -> list[Approval]:
        """The approvals to generate under: existing ones, ones recorded for --yes; refuses otherwise."""
        if not estimate.asks or not estimate.to_generate:
            return []
        covering = self.covering(estimate)
        if covering is not None:
            return covering
        if self.auto_approve:
            return self.record(estimate, approved=True, by="--yes")
        raise ApprovalRequiredError(f"generating needs approval: {estimate.text}; nothing was spent",
                                    hint="answer yes when asked, or pass --yes (with --max-cost to cap it)")

    def guard(self, approvals: list[Approval]) -> "LedgerGuard":
        return LedgerGuard(self, approvals)


class LedgerGuard:
    """The job engine's spend guard: the last check before a create leaves, and the ledger entry for it."""

    def __init__(self, policy: SpendingPolicy, approvals: list[Approval]) -> None:
        self.policy = policy
        self.approvals = approvals

    def authorize(self, backend: Backend, request: GenerationRequest, cache_key: str) -> None:
        try:
            caps = backend.capabilities()
            cost = backend.estimate_cost(request)
            cost_usd = usd(cost.amount, cost.unit)
        except Exception as exc:  # deciding failed: refuse, never go
            raise SpendingRefusedError(f"{backend.name}: could not price shot {request.shot_index} "
                                       f"({type(exc).__name__}); nothing was sent") from exc
        approval = next((a for a in self.approvals if a.approved and a.backend == backend.name
                         and cache_key in a.cache_keys), None)
        if caps.needs_approval:
            if approval is None and any(a.backend == backend.name for a in self.approvals):
                raise SpendingRefusedError(f"shot {request.shot_index} changed after it was approved; nothing was "
                                           "sent", hint="ask for approval of the new estimate")
            if approval is None:
                raise SpendingRefusedError(f"shot {request.shot_index} on {backend.name} was not approved; "
                                           "nothing was sent", hint="ask for approval first (or pass --yes)")
            charged = self.policy.ledger.charged_against(approval.id)
            if charged + cost_usd > approval.usd + SLACK_USD:
                raise SpendingRefusedError(f"shot {request.shot_index} would take spending past the approved "
                                           f"{money(approval.usd, approval.amount, approval.unit)}; nothing was sent")
        limit = self.policy.max_cost_usd
        spent = self.policy.ledger.spent_usd
        if limit is not None and spent + cost_usd > limit + SLACK_USD:
            raise BudgetExceededError(f"shot {request.shot_index} would take this project's spending to "
                                      f"{money(spent + cost_usd)}, past --max-cost {limit:g} USD; nothing was sent")
        if cost_usd > 0 or caps.needs_approval:
            self.policy.ledger.charges.append(Charge(
                cache_key=cache_key, backend=backend.name, shot_index=request.shot_index, amount=cost.amount,
                unit=cost.unit, usd=cost_usd, approval_id=approval.id if approval else None))
            self.policy.store.save()  # on disk before the request leaves

    def settle(self, cache_key: str, *, created: bool) -> None:
        if created:
            return
        for charge in reversed(self.policy.ledger.charges):
            if charge.cache_key == cache_key and charge.status == "committed":
                charge.status = "released"
                self.policy.store.save()
                return
