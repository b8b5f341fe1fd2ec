"""Titles: text burned over the picture with the bundled font (drawtext, textfile, no expansion)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shotsmith.errors import InvalidInputError
from shotsmith.timeline import Title, TitlePosition
from shotsmith.tools.colors import parse_color
from shotsmith.tools.editing import EditResult, commit, require_store
from shotsmith.tools.spec import ToolContext, edit_tool


class AddTitleArgs(BaseModel):
    text: str = Field(min_length=1, max_length=500, description="The words; new lines allowed.")
    start_s: float = Field(default=0.0, ge=0, description="Timeline time the title appears.")
    end_s: float | None = Field(default=None, description="Timeline time it disappears; None: the end.")
    position: TitlePosition = "center"
    x: str | None = Field(default=None, description="Custom x in pixels or an expression such as (w-text_w)/2.")
    y: str | None = None
    size: int = Field(default=0, ge=0, le=400, description="Font size in pixels; 0: chosen from the frame height.")
    color: str = "white"
    box: bool = True
    box_color: str = "black@0.45"
    fade_in_s: float = Field(default=0.3, ge=0, le=10)
    fade_out_s: float = Field(default=0.3, ge=0, le=10)
    bold: bool = True


_POSITION = __import__("re").compile(r"^[\w\s.+\-*/()]{1,120}$")


def validate_title(title: Title, duration_s: float | None) -> None:
    if not title.text.strip():
        raise InvalidInputError("a title needs some text")
    parse_color(title.color, what="title colour")
    parse_color(title.box_color, what="title box colour")
    for name, value in (("x", title.x), ("y", title.y)):
        if value is not None and not _POSITION.match(value):
            raise InvalidInputError(f"title {name} {value!r} is not a number or a simple expression",
                                    hint="use pixels such as 40, or an expression using w, h, text_w, text_h")
    if title.end_s is not None and title.end_s <= title.start_s:
        raise InvalidInputError(f"the title ends ({title.end_s:g}s) before it starts ({title.start_s:g}s)")
    if duration_s is not None and duration_s > 0 and title.start_s >= duration_s:
        raise InvalidInputError(f"the title starts at {title.start_s:g}s, after the end of the timeline ({duration_s:g}s)")


@edit_tool("add_title", "Add a text title or caption over the picture for a time range.", AddTitleArgs)
def add_title(ctx: ToolContext, args: AddTitleArgs) -> EditResult:
    store = require_store(ctx)
    timeline = store.project.timeline.model_copy(deep=True)
    title = Title(**args.model_dump())
    validate_title(title, timeline.duration_s if timeline.clips else None)
    timeline.titles.append(title)
    return commit(store, timeline, f"added title {len(timeline.titles)}: {args.text[:40]!r}")


class RemoveTitleArgs(BaseModel):
    number: int = Field(ge=1, description="Title number, 1 = the first added.")


@edit_tool("remove_title", "Remove a title by its number.", RemoveTitleArgs)
def remove_title(ctx: ToolContext, args: RemoveTitleArgs) -> EditResult:
    store = require_store(ctx)
    timeline = store.project.timeline.model_copy(deep=True)
    if not 1 <= args.number <= len(timeline.titles):
        raise InvalidInputError(f"there is no title {args.number}; the timeline has {len(timeline.titles)}")
    removed = timeline.titles.pop(args.number - 1)
    return commit(store, timeline, f"removed title {args.number}: {removed.text[:40]!r}")
