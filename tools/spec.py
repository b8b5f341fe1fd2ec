"""How an editing tool is declared, so the agent, the CLI and the Python API share it.

A tool is a plain function ``fn(ctx, args) -> result`` whose ``args`` is a
pydantic model (the schema the LLM sees, the CLI fills from options, and the
Python API validates) and whose result is a pydantic model too. Declaring it
with :func:`edit_tool` adds it to :data:`TOOLS`, the one catalogue the agent
turns into LangChain tools.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from shotsmith.store import ProjectStore

ArgsT = TypeVar("ArgsT", bound=BaseModel)


@dataclass
class ToolContext:
    """What every tool call gets besides its arguments."""

    store: ProjectStore | None = None
    on_progress: Callable[[float], None] | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    summary: str
    args: type[BaseModel]
    run: Callable[[ToolContext, Any], BaseModel]

    def __call__(self, ctx: ToolContext, args: BaseModel | dict[str, Any]) -> BaseModel:
        parsed = args if isinstance(args, self.args) else self.args.model_validate(args)
        return self.run(ctx, parsed)


TOOLS: dict[str, ToolSpec] = {}


def edit_tool(name: str, summary: str, args: type[ArgsT]) -> Callable[[Callable[[ToolContext, ArgsT], BaseModel]], Callable[[ToolContext, ArgsT], BaseModel]]:
    """Register ``fn`` as the tool ``name``; ``summary`` is what the agent reads."""

    def decorate(fn: Callable[[ToolContext, ArgsT], BaseModel]) -> Callable[[ToolContext, ArgsT], BaseModel]:
        if name in TOOLS:
            raise ValueError(f"tool {name!r} is declared twice")
        TOOLS[name] = ToolSpec(name=name, summary=summary, args=args, run=fn)
        return fn

    return decorate
