"""The project document: brief, plan, timeline and generation records, versioned."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shotsmith.brief import Brief, ShotPlan
from shotsmith.timeline import Timeline

SCHEMA_VERSION = 1

GenerationStatus = Literal["submitted", "running", "downloading", "succeeded", "failed", "cancelled"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class GenerationRecord(BaseModel):
    """One generation of one shot, persisted before polling so a killed run resumes it.

    ``cache_key`` is a hash over (backend, model, request, seed); a record that
    succeeded and whose clip still exists is a cache hit.
    """

    cache_key: str
    backend: str
    model: str | None = None
    shot_index: int | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    remote_task_id: str | None = None
    remote_data: dict[str, str] = Field(default_factory=dict,
                                        description="What the backend needs besides the id to poll the task again (never a key).")
    status: GenerationStatus = "submitted"
    clip: str | None = Field(default=None, description="Project-relative path of the finished clip.")
    error: str | None = None
    cost: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Project(BaseModel):
    schema_version: int = SCHEMA_VERSION
    name: str = "untitled"
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    brief: Brief | None = None
    plan: ShotPlan | None = None
    timeline: Timeline = Field(default_factory=Timeline)
    generations: dict[str, GenerationRecord] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list, description="Absolute paths of files the user gave as inputs; readable, never written.")
