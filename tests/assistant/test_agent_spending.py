"""Spending fails closed in the agent, whatever the model sends.

The property (hypothesis): for arbitrary ``generate_shots`` arguments —
numbers as strings, negatives, huge lists, nulls, wrong types, duplicates,
unknown keys — on a priced backend and without ``--yes``, no create reaches
the backend unless the user approved, and then only for the requests the
approval was bound to. The calls go through the real agent graph (HITL
middleware, tool node, production service, job engine); only the chat model
is scripted in process, so each example is cheap.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from shotsmith.assistant.events import ApprovalRequested
from tests.assistant._assistant_helpers import collect
from tests.assistant._test_backends import PricedBackend

BRIEF = "A 6 second ad for a bakery, 3 shots: a baker, an oven, a customer"


class ScriptedModel(BaseChatModel):
    """A chat model answering from a list (then "done"); enough for create_agent."""

    replies: list = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        message = self.replies.pop(0) if self.replies else AIMessage("done", response_metadata={"finish_reason": "stop"})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(self, tools, **kwargs):
        return self


def generate_call(args: dict, n: int = 1) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": "generate_shots", "args": args, "id": f"call_{i}"} for i in range(n)],
                     response_metadata={"finish_reason": "tool_calls"})


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                      st.text(max_size=6))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=5)
                          | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=12)
shot_numbers = st.one_of(
    json_value,
    st.lists(st.one_of(st.integers(-3, 6), st.sampled_from(["1", "2", "3", "-1", "0", "3.0", " 2", "x"]), st.none(),
                       st.floats(-2, 5)), max_size=30),
    st.lists(st.integers(1, 3), min_size=200, max_size=2000),  # huge, with duplicates
)
generate_args = st.fixed_dictionaries({}, optional={"shots": shot_numbers, "backend": json_value,
                                                    "approved": json_value, "yes": json_value})


@pytest.fixture
def creates(monkeypatch, test_backends):
    """Every create that reaches the priced backend, by shot index."""
    sent: list[int] = []
    original = PricedBackend.generate

    async def counting(self, request, dest, **kwargs):
        sent.append(request.shot_index)
        return await original(self, request, dest, **kwargs)

    monkeypatch.setattr(PricedBackend, "generate", counting)
    return sent


def open_session(root: Path, replies: list[AIMessage]):
    from shotsmith.assistant.agent import AgentSession, resolve_llm
    from shotsmith.assistant.production import ProductionService, ServiceOptions

    service = ProductionService.open(root, ServiceOptions(backend="priced-test", resolution="360p", fps=24))
    service.plan_brief(BRIEF)
    config = resolve_llm("openai:scripted", "http://127.0.0.1:9/v1")
    return AgentSession(service, config, model=ScriptedModel(replies=replies))


def check_ledger(session, creates: list[int]) -> None:
    ledger = session.store.project.spending
    approved = {a.id: a for a in ledger.approvals if a.approved}
    if not approved:
        assert creates == [], "a create went out with no approval recorded"
        assert ledger.charges == []
        return
    for charge in ledger.charges:
        assert charge.approval_id in approved, charge
        assert charge.cache_key in approved[charge.approval_id].cache_keys, charge
    assert len(creates) <= len(ledger.charges)
    assert all(a.by == "user" for a in ledger.approvals)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=generate_args, calls=st.integers(1, 2), answer=st.sampled_from([None, True, False]))
def test_no_create_without_an_approval_whatever_the_arguments(creates, args, calls, answer):
    creates.clear()
    with tempfile.TemporaryDirectory() as tmp:
        session = open_session(Path(tmp) / "p", [generate_call(args, calls)])
        try:
            events = collect(session.send("generate them"))
            asked = [e for e in events if isinstance(e, ApprovalRequested)]
            assert creates == [], "nothing is sent before the user answers"
            if session.pending_approval:
                assert asked, "a pause is always shown to the user"
                if answer is not None:
                    collect(session.respond(answer))
            check_ledger(session, creates)
            if answer is not True:
                assert creates == []
        finally:
            session.close()


def test_string_shot_numbers_are_asked_about_not_waved_through(creates, tmp_path):
    """The slip that spent money unasked: ``"shots": ["1","2","3"]`` pauses for approval like [1, 2, 3]."""
    session = open_session(tmp_path / "p", [generate_call({"shots": ["1", "2", "3"]})])
    events = collect(session.send("generate them"))
    [asked] = [e for e in events if isinstance(e, ApprovalRequested)]
    assert asked.shots == [1, 2, 3] and asked.estimate_usd > 0
    assert creates == []
    collect(session.respond(True))
    assert sorted(creates) == [1, 2, 3]
    [approval] = session.store.project.spending.approvals
    assert approval.approved and approval.by == "user" and approval.shots == [1, 2, 3]
    assert session.approval_ids == [approval.id]
    session.close()


def test_an_estimate_that_fails_means_ask_and_a_yes_then_runs_nothing(creates, tmp_path, monkeypatch):
    session = open_session(tmp_path / "p", [generate_call({"shots": [1]})])
    monkeypatch.setattr(PricedBackend, "estimate_cost", lambda self, request: 1 / 0)
    events = collect(session.send("generate shot 1"))
    [asked] = [e for e in events if isinstance(e, ApprovalRequested)]
    assert asked.estimate is None and "could not be estimated" in asked.description
    collect(session.respond(True))
    assert creates == [] and session.store.project.spending.approvals == []
    assert session.tool_calls[-1]["ok"] is False and "could not be estimated" in session.tool_calls[-1]["summary"]
    session.close()


def test_the_gate_itself(tmp_path, test_backends):
    """The HITL predicate, on its own: ask on doubt, never on a call the tool would refuse anyway."""
    from shotsmith.assistant.agent.middleware import spending_gate
    from shotsmith.assistant.production import ProductionService, ServiceOptions

    service = ProductionService.open(tmp_path / "p", ServiceOptions(backend="priced-test", resolution="360p"))
    call = SimpleNamespace(tool_call={"name": "generate_shots", "args": {}})
    assert not spending_gate(service)(call), "no plan yet: the tool says so, nothing can be sent"
    service.plan_brief(BRIEF)
    when = spending_gate(service)

    def asks(args) -> bool:
        return when(SimpleNamespace(tool_call={"name": "generate_shots", "args": args}))

    assert asks({}) and asks({"shots": None}) and asks({"shots": ["2"]}) and asks({"shots": [1, 1, 1]})
    assert not asks({"shots": [9]}) and not asks({"shots": [-1]}), \
        "no shot 9: generate() starts with the same estimate and refuses before anything is sent"
    assert not asks({"shots": "all"}), "arguments the tool refuses: the tool answers with the correction"
    assert not asks({"shots": [1], "surprise": True})
    service.spending.auto_approve = True
    assert not asks({}), "--yes: the service records the approval itself"
    service.spending.auto_approve = False
    service.spending.max_cost_usd = 0.01
    assert not asks({}), "over the budget: the tool refuses with the reason (exit 3 in a scripted run)"

    keyless = ProductionService.open(tmp_path / "k", ServiceOptions(backend="keyed-test", resolution="360p"))
    keyless.plan_brief(BRIEF)
    assert not spending_gate(keyless)(SimpleNamespace(tool_call={"name": "generate_shots", "args": {}})), \
        "a backend that cannot run is reported by the tool, before any approval is asked"
