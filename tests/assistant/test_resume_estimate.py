"""A shot whose remote task is already running is estimated at nothing more, and only when it really resumes.

The estimate used to price such a shot at the full create (and ask for it) although the engine only polls the
task it left running. Now ``Estimate.resuming`` lists it ("shot 1 resumes task … (0 more)") through the engine's
own rule (``engine.resumable_task``), and the wave hands it to the engine, which resumes it. Money still fails
closed: when the provider no longer has the task (deleted or expired: a 404; cancelled there), the engine's new
create goes to the spend guard like any other; a resume was approved for nothing, so it is refused in one line,
the record stops resuming, and the next estimate prices (and asks for) the create; with that approval exactly one
create is sent. On the Runway mock (127.0.0.1, its real task protocol).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shotsmith.assistant.events import GenerationProgress
from shotsmith.assistant.production import ProductionService, ServiceOptions
from shotsmith.assistant.production.spending import SpendingRefusedError
from tests.backends.conftest import mock_clip, serve  # noqa: F401  (fixtures)
from tests.backends.test_cache_key_portable import creates, runway  # noqa: F401  (fixture)

BRIEF = "a 5 second shot of a barista pouring latte art in a small cafe"


def open_service(root: Path, *, yes: bool, emit=None) -> ProductionService:
    return ProductionService.open(root, ServiceOptions(backend="runway", resolution="720p", fps=24, keyframes="off",
                                                       auto_approve=yes), emit=emit)


class Crash(Exception):
    pass


def killed_while_its_task_runs(root: Path, mock) -> str:
    """The first run is approved (--yes), sends the create, and dies while the task runs; returns the task id."""
    open_service(root, yes=True).plan_brief(BRIEF, shot_count=1)
    mock.latency = 30.0

    def crash(event) -> None:
        if isinstance(event, GenerationProgress) and event.state == "submitted":
            raise Crash("the process died")

    with pytest.raises(Exception):
        open_service(root, yes=True, emit=crash).generate()
    assert len(creates(mock)) == 1
    (record,) = open_service(root, yes=False).store.project.generations.values()
    assert record.remote_task_id and record.status in ("submitted", "running")
    return record.remote_task_id


def test_a_running_task_is_estimated_at_nothing_more_and_resumed_without_a_create(runway, tmp_path):  # noqa: F811
    root = tmp_path / "p"
    task = killed_while_its_task_runs(root, runway)
    service = open_service(root, yes=False)  # no --yes: a resume needs no approval
    charges = len(service.store.project.spending.charges)

    estimate = service.estimate()
    assert estimate.to_generate == [] and estimate.usd == 0
    assert [(r.shot_index, r.task_id) for r in estimate.resuming] == [(1, task)]
    assert f"shot 1 resumes task {task}" in estimate.text and "0 more" in estimate.text, estimate.text
    assert service.spending.decide(estimate) == "free"
    from shotsmith.tui.format import estimate_text

    assert f"resumes task {task}" in estimate_text(estimate)  # the TUI's cost line says so too

    for t in runway.tasks.values():
        t.created -= 60  # the provider finished it meanwhile
    result = service.generate()
    assert result.generated == [1] and result.usd == 0  # paid when it was created, not now
    assert len(creates(runway)) == 1, "the running task was created a second time"
    ledger = service.store.project.spending
    assert len(ledger.charges) == charges and all(a.usd > 0 for a in ledger.approvals)
    assert service.plan.shots[0].bound_clip and (root / service.plan.shots[0].bound_clip).is_file()


@pytest.mark.parametrize("gone", ["deleted", "cancelled"])
def test_a_task_gone_at_the_provider_is_not_created_again_without_an_approval_of_its_own(runway, tmp_path,  # noqa: F811
                                                                                         gone):
    root = tmp_path / "p"
    task = killed_while_its_task_runs(root, runway)
    if gone == "deleted":
        runway.tasks.clear()  # expired or deleted: the status call answers 404
    else:
        runway.tasks[task].cancelled = True
    service = open_service(root, yes=True)  # even --yes: it approved a resume, for nothing
    estimate = service.estimate()
    assert estimate.to_generate == [] and f"resumes task {task}" in estimate.text

    with pytest.raises(SpendingRefusedError) as refused:
        service.generate()
    line = str(refused.value)
    assert "\n" not in line and f"task {task}" in line and "gone" in line and "nothing was sent" in line, line
    assert refused.value.exit_code == 3
    assert len(creates(runway)) == 1, "a new task was created on an approval for nothing"
    ledger = service.store.project.spending
    assert all(a.usd > 0 for a in ledger.approvals), "an approval for 0 was recorded"
    charged = [c for c in ledger.charges if c.status == "committed"]
    assert len(charged) == 1  # the first create only

    # The record no longer resumes: the create is priced, and asked for, like any other.
    asking = open_service(root, yes=False)
    estimate = asking.estimate()
    assert estimate.resuming == [] and estimate.shots == [1] and estimate.usd > 0, estimate.text
    assert asking.spending.decide(estimate) == "ask"
    with pytest.raises(SpendingRefusedError):
        asking.generate()  # no --yes, no answer: nothing is sent
    assert len(creates(runway)) == 1

    runway.latency = 0.0
    approved = open_service(root, yes=True)
    result = approved.generate()
    assert result.generated == [1] and result.usd == pytest.approx(estimate.usd)
    assert len(creates(runway)) == 2, "exactly one new create, under its own approval"
    assert approved.plan.shots[0].bound_clip


def test_a_task_that_failed_at_the_provider_is_not_created_again_on_the_resume(runway, tmp_path):  # noqa: F811
    """The provider's final word (the task failed) ends the shot with its cause; the create that makes it again
    is priced and approved on its own, like any other."""
    from shotsmith.errors import ShotsmithError

    root = tmp_path / "p"
    task = killed_while_its_task_runs(root, runway)
    runway.tasks[task].fail = True
    runway.latency = 0.0
    runway.tasks[task].created -= 60
    service = open_service(root, yes=True)
    assert f"resumes task {task}" in service.estimate().text
    with pytest.raises(ShotsmithError) as failed:
        service.generate()
    assert "failed" in str(failed.value) and "\n" not in str(failed.value)
    assert len(creates(runway)) == 1 and all(a.usd > 0 for a in service.store.project.spending.approvals)

    estimate = open_service(root, yes=False).estimate()
    assert estimate.resuming == [] and estimate.shots == [1] and estimate.usd > 0, estimate.text
    assert open_service(root, yes=True).generate().generated == [1]
    assert len(creates(runway)) == 2


def test_a_plan_with_one_shot_resuming_and_one_to_create_asks_only_for_the_create(runway, tmp_path):  # noqa: F811
    root = tmp_path / "p"
    open_service(root, yes=True).plan_brief("a 10 second ad for a cafe: latte art, then a smiling barista, 2 shots",
                                            shot_count=2)
    runway.latency = 30.0

    def crash(event) -> None:
        if isinstance(event, GenerationProgress) and event.state == "submitted":
            raise Crash("the process died")

    with pytest.raises(Exception):
        open_service(root, yes=True, emit=crash).generate([1])
    (running,) = open_service(root, yes=False).store.project.generations.values()
    service = open_service(root, yes=False)
    estimate = service.estimate()
    assert estimate.shots == [2] and [r.shot_index for r in estimate.resuming] == [1]
    assert f"shot 1 resumes task {running.remote_task_id} on runway (0 more)" in estimate.text
    assert estimate.text.startswith("1 shot(s) to generate with runway (2): about "), estimate.text
    price = estimate.usd
    assert service.spending.decide(estimate) == "ask"

    runway.latency = 0.0
    for t in runway.tasks.values():
        t.created -= 60
    approved = open_service(root, yes=True)
    result = approved.generate()
    assert sorted(result.generated) == [1, 2] and result.usd == pytest.approx(price)  # shot 1 was paid before
    assert len(creates(runway)) == 2  # shot 1's create, then shot 2's: shot 1 was not created again
    newest = approved.store.project.spending.approvals[-1]
    assert newest.shots == [2] and newest.usd == pytest.approx(price)


def test_a_storyboard_still_whose_task_runs_is_resumed_not_bought_again(runway, tmp_path):  # noqa: F811
    """runway-image stills are tasks too: one left running is estimated at nothing more and resumed."""
    root = tmp_path / "p"

    def options(yes: bool) -> ServiceOptions:
        return ServiceOptions(backend="runway", resolution="720p", fps=24, auto_approve=yes)

    ProductionService.open(root, options(True)).plan_brief(BRIEF, shot_count=1)
    runway.latency = 30.0

    def crash(event) -> None:
        if isinstance(event, GenerationProgress) and event.kind == "still" and event.state == "submitted":
            raise Crash("the process died")

    with pytest.raises(Exception):
        ProductionService.open(root, options(True), emit=crash).generate_keyframes()
    stills = lambda: [r for r in creates(runway) if r.path == "/v1/text_to_image"]  # noqa: E731
    assert len(stills()) == 1
    service = ProductionService.open(root, options(False))
    (record,) = service.store.project.generations.values()
    estimate = service.estimate()
    assert estimate.backend == "runway-image" and estimate.to_generate == [], estimate.text
    assert f"shot 1 resumes task {record.remote_task_id} on runway-image (0 more)" in estimate.text
    assert service.spending.decide(estimate) == "free"

    runway.latency = 0.0
    for t in runway.tasks.values():
        t.created -= 60
    result = service.generate_keyframes()
    assert result.keyframes == [1] and result.usd == 0 and len(stills()) == 1
    assert service.plan.shots[0].bound_keyframe
