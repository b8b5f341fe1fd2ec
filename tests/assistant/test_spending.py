"""Spending fails closed at the side effect: the production service and its ledger, without a model.

The agent's approval flow is tested in the agent tests; here the rules that
hold whoever drives the service: nothing is sent without an approval bound to
exactly those requests, limits count the persisted ledger, estimates leave out
what is cached, and an error while deciding refuses.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shotsmith.assistant.production import ProductionService, ServiceOptions
from shotsmith.assistant.production.spending import (ApprovalRequiredError, BudgetExceededError, SpendingRefusedError,
                                                     money)
from shotsmith.errors import InvalidInputError, ShotsmithError
from shotsmith.plan_edits import edit_shot
from shotsmith.store import ProjectStore
from tests.assistant._test_backends import PricedBackend, register

BRIEF = "a 4 second clip of rain on a window, 2 shots"


@pytest.fixture(autouse=True)
def _backends():
    register()


def service_at(folder, **options) -> ProductionService:
    service = ProductionService.open(folder, ServiceOptions(backend="priced-test", resolution="360p", fps=24, **options))
    if service.store.project.plan is None:
        service.plan_brief(BRIEF)
    return service


def test_nothing_is_sent_without_an_approval(tmp_path):
    service = service_at(tmp_path / "p")
    with pytest.raises(ApprovalRequiredError):
        service.generate()
    assert service.store.project.generations == {}
    assert service.store.project.spending.charges == []


def test_an_approval_covers_exactly_the_requests_it_was_given_for(tmp_path):
    service = service_at(tmp_path / "p")
    estimate = service.estimate()
    service.spending.record(estimate, approved=True, by="user")
    service.edit(lambda plan: edit_shot(plan, 2, prompt="hail bouncing off a car roof, macro, grey light"))
    with pytest.raises(ApprovalRequiredError):
        service.generate()  # shot 2 changed after the yes: that yes does not cover it
    assert service.store.project.generations == {}
    service.spending.record(service.estimate(), approved=True, by="user")
    result = service.generate()
    assert result.generated == [1, 2]
    assert service.store.project.spending.spent_usd == pytest.approx(service.estimate().usd + result.usd)


def test_a_no_is_kept_and_spends_nothing(tmp_path):
    service = service_at(tmp_path / "p")
    service.spending.record(service.estimate(), approved=False, by="user")
    with pytest.raises(ApprovalRequiredError):
        service.generate()
    assert service.store.project.spending.approvals[0].approved is False


def test_the_budget_boundary_is_the_same_everywhere(tmp_path):
    probe = service_at(tmp_path / "probe")
    cost = probe.estimate().usd
    exact = service_at(tmp_path / "exact", max_cost_usd=cost, auto_approve=True)
    assert exact.generate().generated == [1, 2]  # exactly the cap: allowed
    under = service_at(tmp_path / "under", max_cost_usd=cost - 0.001, auto_approve=True)
    with pytest.raises(BudgetExceededError):
        under.generate()
    assert under.store.project.generations == {} and under.store.project.spending.charges == []


def test_the_ledger_survives_a_restart_and_caps_the_total(tmp_path):
    first = service_at(tmp_path / "p", auto_approve=True)
    first.generate()
    spent = first.store.project.spending.spent_usd
    assert spent > 0
    again = ProductionService.open(tmp_path / "p", ServiceOptions(max_cost_usd=spent + 0.05, auto_approve=True))
    assert again.store.project.spending.spent_usd == spent
    again.edit(lambda plan: edit_shot(plan, 1, prompt="fog rolling over a harbour at dawn, wide, cold light"))
    with pytest.raises(BudgetExceededError, match="already spent"):
        again.generate()


def test_estimates_leave_out_cached_shots(tmp_path):
    service = service_at(tmp_path / "p", auto_approve=True)
    service.generate()
    assert service.estimate().to_generate == []
    assert "nothing to generate" in service.estimate().text


def test_usd_is_shown_with_the_provider_unit_beside():
    assert money(0.75, 75, "credits") == "0.75 USD (75 credits)"
    assert money(1.5, 1.5, "USD") == "1.50 USD"


class BrokenPriceBackend(PricedBackend):
    name = "broken-price-test"

    def estimate_cost(self, request):
        raise ValueError("price list unreachable")


def test_an_error_while_pricing_refuses(tmp_path):
    service = service_at(tmp_path / "p", auto_approve=True)
    real = service.backend()
    service.backend = lambda name=None: BrokenPriceBackend()  # the session's backend prices nothing
    with pytest.raises(SpendingRefusedError, match="could not estimate"):
        service.generate()
    service.backend = lambda name=None: real
    assert service.store.project.generations == {}


shot_args = st.one_of(
    st.none(),
    st.lists(st.one_of(st.integers(-5, 10), st.text(max_size=3), st.none(), st.floats(allow_nan=True)), max_size=6),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shots=shot_args)
def test_no_argument_makes_generation_run_without_approval(tmp_path_factory, shots):
    """Whatever a model or a script passes as shot numbers, nothing is generated or charged without a yes."""
    folder = tmp_path_factory.mktemp("prop")
    service = service_at(folder)
    try:
        service.generate(shots)  # type: ignore[arg-type]
    except (ShotsmithError, TypeError, ValueError):
        pass
    reopened = ProjectStore.open(folder)
    assert reopened.project.generations == {}
    assert reopened.project.spending.charges == []
    assert all(not a.approved for a in reopened.project.spending.approvals)
