"""Review of issue 11's versions and undo, driven as a user would: each test is a defect found by hand, fixed.

Projects here use the default output settings (720p, 24 fps) where it matters: a
timeline left at its defaults is what exposed the no-op history entry.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shotsmith.assistant import ServiceOptions
from shotsmith.assistant.production import ProductionService

REPO = Path(__file__).resolve().parents[2]


def shotsmith(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "shotsmith", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture
def planned(tmp_path) -> ProductionService:
    """A planned and generated project at the default output settings (its timeline is all defaults until bound)."""
    service = ProductionService.open(tmp_path / "p", ServiceOptions())
    service.plan_brief("a 4 second ad for a bakery, 2 shots")
    service.generate()
    return service


def test_generating_a_default_size_project_adds_no_entry_so_the_first_undo_undoes_the_plan(planned):
    # Found: `shotsmith run` at 720p left ['project created', 'plan made (4 shots)', 'changed']: binding the
    # clips filled a timeline that had been all defaults, which counted as a change, so the first
    # `undo` after a run changed nothing the user could see.
    labels = [e.label for e in planned.store.history.index.entries]
    assert labels == ["project created", "plan made (2 shots)"]
    planned.store.undo()
    assert planned.store.project.plan is None
