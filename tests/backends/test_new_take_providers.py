"""A new take through a provider's real protocol (the Kling and Luma mocks): a second create of the same
prompt, nothing sent before it is approved, the take itself never on the wire, and undo free.

The chat and agent paths are in ``tests/assistant/test_new_take.py``; this checks what reaches a provider.
"""

from __future__ import annotations

import pytest

from shotsmith.assistant.production import ApprovalRequiredError, ProductionService, ServiceOptions
from shotsmith.plan_edits import new_take
from tests.backends.test_extend import CASES, creates, start


@pytest.mark.parametrize("name", ["kling", "luma"])
def test_a_new_take_is_a_second_create_of_the_same_prompt_sent_only_once_approved(name, serve, mock_clip, tmp_path,
                                                                                 monkeypatch):
    case = CASES[name]
    mock = start(case, serve, mock_clip, tmp_path, monkeypatch)
    service = ProductionService.open(tmp_path / "p", ServiceOptions(backend=name, keyframes="off", resolution="720p",
                                                                    fps=24, auto_approve=True))
    service.plan_brief("a 5 second shot of a red kite over a beach", shot_count=1)
    assert service.generate().generated == [1]
    [first] = [r.body for r in creates(mock)]
    old = service.plan.shots[0].clip
    spent = service.spending.ledger.spent_usd

    asking = ProductionService.open(tmp_path / "p", ServiceOptions(backend=name, resolution="720p", fps=24))
    asking.edit(lambda p: new_take(p, 1))
    estimate = asking.estimate()
    assert estimate.shots == [1] and estimate.usd > 0
    with pytest.raises(ApprovalRequiredError):
        asking.generate()  # no yes: nothing is sent
    assert len(creates(mock)) == 1 and asking.spending.ledger.spent_usd == spent

    asking.spending.record(estimate, approved=True, by="user")
    assert asking.generate().generated == [1]
    [_, second] = [r.body for r in creates(mock)]
    assert "take" not in second and second["prompt"] == first["prompt"]  # the same prompt; the take stays here
    assert asking.plan.shots[0].bound_clip not in (None, old)
    assert asking.spending.ledger.spent_usd == pytest.approx(spent + estimate.usd)

    asking.store.undo()
    assert asking.plan.shots[0].bound_clip == old
    assert asking.generate().generated == [] and len(creates(mock)) == 2  # the first take, free from the cache
