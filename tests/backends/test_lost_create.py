"""The two "lost create" lookups of the job runner (``backends/jobs.py``), pinned before and after any refactor.

A create is where money is spent, so each way a create can go wrong is pinned here against a scripted
adapter (no HTTP: the adapter's ``submit`` raises what the HTTP client would):

* **a lost answer** - the create was sent and its answer never came back (``AmbiguousCreateError``, or a 2xx
  whose body could not be read): look for the task by the create's token; adopt it when found; send again
  only when the provider shows nothing *and* an attempt is left; otherwise stop, ambiguous.
* **a refused repeat** - a create sent again (after the provider showed nothing) was refused: the first
  one may have arrived late and the refusal be a duplicate-id answer, so look again; adopt it when found;
  when nothing is found the refusal stands as a plain error (nothing was made, the charge is released).

In both, a lookup that fails stops the shot as ambiguous (the charge is kept, a rerun does not create
again). A Hypothesis property then runs random scripts of provider behaviour against an honest provider
model and checks the money rules: at most one task made per shot, never an adopted task that does not
exist, and the charge released only when the provider really holds nothing.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shotsmith.backends import jobs
from shotsmith.backends.base import GenerationRequest
from shotsmith.backends.errors import AmbiguousCreateError, RemoteError
from shotsmith.backends.http import RetryPolicy, current_scope
from shotsmith.backends.tasks import RemoteTask

#: What the provider does with one create. ``made``: a task exists afterwards; the rest: how the answer ends.
OUTCOMES = ("answered", "lost_after_made", "lost_before_made", "unreadable_after_made", "refused")


@dataclass
class Provider:
    """An honest provider: it holds at most what was really made, and a lookup tells the truth (or fails)."""

    submits: list[str]
    lookups: list[str] = field(default_factory=list)  # "honest" (default) or "fail", one per lookup
    tasks: list[RemoteTask] = field(default_factory=list)
    sent: int = 0
    looked: int = 0

    def make(self) -> RemoteTask:
        task = RemoteTask(id=f"task-{len(self.tasks) + 1}")
        self.tasks.append(task)
        return task


class ScriptedBackend:
    """Just what ``jobs._submit``/``_create`` read of a remote backend."""

    name = "scripted"
    request_timeout_s = 1.0

    def __init__(self, provider: Provider, *, can_find_created: bool = True, attempts: int = 3) -> None:
        self.provider = provider
        self.can_find_created = can_find_created
        self.retry = RetryPolicy(max_attempts=attempts, base_delay_s=0.0, max_delay_s=0.0)

    async def submit(self, api, request) -> RemoteTask:
        p = self.provider
        outcome = p.submits[p.sent] if p.sent < len(p.submits) else "answered"
        p.sent += 1
        if outcome == "refused" or (p.tasks and outcome == "answered"):
            # A repeat after the first create landed is refused as a duplicate id, like Kling's external_task_id.
            raise RemoteError(f"{self.name}: 400 refused", status=400)
        if outcome == "answered":
            return p.make()
        if outcome == "lost_after_made":
            p.make()
            raise AmbiguousCreateError(f"{self.name}: the connection dropped after the create was sent")
        if outcome == "lost_before_made":
            raise AmbiguousCreateError(f"{self.name}: the connection dropped after the create was sent")
        p.make()  # unreadable_after_made: a 2xx (the client marks the scope accepted) with a body we cannot read
        current_scope().state["accepted"] = True
        raise RemoteError(f"{self.name}: the answer was not JSON")

    async def find_created(self, api, request, token, sent_at):
        p = self.provider
        how = p.lookups[p.looked] if p.looked < len(p.lookups) else "honest"
        p.looked += 1
        if how == "fail":
            raise RemoteError(f"{self.name}: the task list answered 503", status=503)
        return p.tasks[0] if p.tasks else None


@dataclass
class Outcome:
    task: RemoteTask | None
    error: Exception | None
    settled: list[bool]


def submit(backend: ScriptedBackend) -> Outcome:
    """One ``jobs._submit`` (the spend guard's hooks recorded), as the engine calls it for a new shot."""
    settled: list[bool] = []
    request = GenerationRequest(prompt="a cat on a mat", duration_s=2.0, shot_index=1)
    try:
        task = asyncio.run(jobs._submit(backend, None, request, threading.Event(), None,
                                        lambda token, sent_at: None, settled.append))
        return Outcome(task, None, settled)
    except RemoteError as exc:
        return Outcome(None, exc, settled)


def ambiguous(outcome: Outcome) -> AmbiguousCreateError:
    assert isinstance(outcome.error, AmbiguousCreateError), outcome.error
    assert outcome.error.hint == jobs.AMBIGUOUS_HINT
    assert outcome.settled == [True]  # the charge is kept: the task may exist
    return outcome.error


# -- a lost answer ---------------------------------------------------------------------------------------------

def test_a_lost_answer_without_a_lookup_stops_the_shot():
    provider = Provider(["lost_after_made"])
    error = ambiguous(submit(ScriptedBackend(provider, can_find_created=False)))
    assert provider.sent == 1 and provider.looked == 0
    assert "connection dropped" in error.message


@pytest.mark.parametrize("lost", ["lost_after_made", "unreadable_after_made"])
def test_a_lost_answer_whose_task_is_found_is_adopted(lost):
    provider = Provider([lost])
    outcome = submit(ScriptedBackend(provider))
    assert outcome.error is None and outcome.task is provider.tasks[0]
    assert provider.sent == 1 and provider.looked == 1 and outcome.settled == [True]


def test_a_lost_answer_with_nothing_found_is_sent_again():
    provider = Provider(["lost_before_made", "answered"])
    outcome = submit(ScriptedBackend(provider))
    assert outcome.error is None and outcome.task is provider.tasks[0]
    assert provider.sent == 2 and len(provider.tasks) == 1 and outcome.settled == [True]


def test_a_lost_answer_with_nothing_found_on_the_last_attempt_stops_the_shot():
    provider = Provider(["lost_before_made"] * 2)
    error = ambiguous(submit(ScriptedBackend(provider, attempts=2)))
    assert provider.sent == 2 and provider.looked == 2
    assert "connection dropped" in error.message


def test_a_lost_answer_whose_lookup_fails_stops_the_shot():
    provider = Provider(["lost_after_made"], lookups=["fail"])
    error = ambiguous(submit(ScriptedBackend(provider)))
    assert provider.sent == 1
    assert error.message.endswith("; looking for it failed (scripted: the task list answered 503)")
    assert isinstance(error.__cause__, AmbiguousCreateError)


# -- a refused repeat --------------------------------------------------------------------------------------------

def test_a_refused_first_create_is_a_plain_refusal_and_nothing_is_looked_up():
    provider = Provider(["refused"])
    outcome = submit(ScriptedBackend(provider))
    assert type(outcome.error) is RemoteError and outcome.error.status == 400
    assert provider.looked == 0 and outcome.settled == [False]  # nothing was made: the charge is released


def test_a_refused_repeat_adopts_the_first_create_that_arrived_late():
    provider = Provider(["lost_before_made", "refused"])

    class Late(ScriptedBackend):
        async def find_created(self, api, request, token, sent_at):
            if self.provider.looked == 1:
                self.provider.make()  # the first create lands between the lookup and the repeat
            return await super().find_created(api, request, token, sent_at)

    outcome = submit(Late(provider))
    assert outcome.error is None and outcome.task is provider.tasks[0]
    assert provider.sent == 2 and provider.looked == 2 and len(provider.tasks) == 1 and outcome.settled == [True]


def test_a_refused_repeat_with_nothing_found_is_the_refusal():
    provider = Provider(["lost_before_made", "refused"])
    outcome = submit(ScriptedBackend(provider))
    assert type(outcome.error) is RemoteError and outcome.error.message == "scripted: 400 refused"
    assert provider.sent == 2 and provider.looked == 2
    assert outcome.settled == [False]  # the provider holds nothing: the charge is released


def test_a_refused_repeat_whose_lookup_fails_is_then_handled_as_a_lost_answer():
    """The lookup failed, so whether the first create arrived is unknown: the ambiguity it raises is met by the
    lost-answer handling of the same attempt, which looks once more and sends again only when the provider
    then shows nothing and an attempt is left."""
    provider = Provider(["lost_before_made", "refused"], lookups=["honest", "fail", "honest"])
    outcome = submit(ScriptedBackend(provider, attempts=3))
    assert outcome.error is None and outcome.task is provider.tasks[0]
    assert provider.sent == 3 and provider.looked == 3 and len(provider.tasks) == 1


def test_a_refused_repeat_whose_lookup_fails_on_the_last_attempt_stops_the_shot():
    provider = Provider(["lost_before_made", "refused"], lookups=["honest", "fail", "honest"])
    error = ambiguous(submit(ScriptedBackend(provider, attempts=2)))
    assert error.message == ("scripted: 400 refused; an earlier attempt may have arrived and looking for it failed "
                             "(scripted: the task list answered 503)")
    assert error.status == 400 and provider.sent == 2 and provider.looked == 3


def test_a_refused_repeat_whose_lookups_both_fail_stops_the_shot():
    provider = Provider(["lost_before_made", "refused"], lookups=["honest", "fail", "fail"])
    error = ambiguous(submit(ScriptedBackend(provider, attempts=3)))
    assert error.message == ("scripted: 400 refused; an earlier attempt may have arrived and looking for it failed "
                             "(scripted: the task list answered 503); looking for it failed "
                             "(scripted: the task list answered 503)")
    assert provider.sent == 2 and provider.looked == 3
    assert isinstance(error.__cause__, AmbiguousCreateError) and type(error.__cause__.__cause__) is RemoteError


# -- the money rules over any script -----------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(submits=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=4),
       lookups=st.lists(st.sampled_from(["honest", "honest", "fail"]), max_size=4),
       can_find=st.booleans(), attempts=st.integers(1, 4))
def test_never_two_tasks_never_a_phantom_and_the_charge_released_only_when_nothing_exists(submits, lookups,
                                                                                         can_find, attempts):
    provider = Provider(submits, lookups)
    outcome = submit(ScriptedBackend(provider, can_find_created=can_find, attempts=attempts))
    assert len(provider.tasks) <= 1, "paid twice"
    assert provider.sent <= (attempts if can_find else 1)
    assert outcome.settled in ([True], [False])
    if outcome.task is not None:
        assert outcome.task in provider.tasks and outcome.settled == [True]
    elif isinstance(outcome.error, AmbiguousCreateError):
        assert outcome.settled == [True] and outcome.error.hint == jobs.AMBIGUOUS_HINT
    else:
        assert outcome.settled == [False] and not provider.tasks, "the charge was released for a task that exists"
    if not can_find:
        assert provider.looked == 0
