"""Tools as a model sees them: OpenAI strict JSON schemas, compact, with every field described.

A pydantic args model stays the one truth (validation, the HITL predicate, the
tests); :func:`strict_schema` turns it into what goes over the wire: no
``title``/``default`` noise, ``$ref``s inlined, every property required with a
nullable type where the model may leave it out, ``additionalProperties:
false`` at every level and ``null`` inside nullable enums. That is the shape
OpenAI's strict mode accepts, and it is small, which is what local models
with 8-32k contexts need. :class:`AgentTool` serves that schema while
validating calls through the pydantic model (so ``"2"`` for a shot number is
still read as 2, and ``"two"`` is refused with a correction).

Every result is capped (:func:`cap`): a huge listing must never be what kills
a conversation.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, get_args

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

from shotsmith.scrub import scrub

#: The most characters of one tool result the model reads.
RESULT_LIMIT = 4000
#: JSON-schema keywords worth their bytes on every call. Ranges are left to the descriptions and to
#: validation (a call out of range comes back with a correction), which keeps the surface small.
_KEEP = {"type", "description", "enum", "items", "properties", "required", "additionalProperties", "anyOf"}


class StrictArgs(BaseModel):
    """Base of every agent tool's arguments: unknown fields are refused (strict mode sends none).

    On the wire every field is required (strict mode); a model on a server
    without strict mode may still leave one out: a nullable field then reads as
    null, and a field with a default takes it, rather than failing the call.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _missing_nullable_is_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            missing = {name: None for name, field in cls.model_fields.items()
                       if name not in data and _nullable(field.annotation)}
            if missing:
                return {**data, **missing}
        return data


def _nullable(annotation: Any) -> bool:
    return type(None) in get_args(annotation)


class SchemaError(ValueError):
    """An args model that cannot be expressed as a strict schema (a bug in a tool's declaration)."""


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAI strict JSON schema for ``model`` (see the module docstring)."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})
    schema = _clean(_inline(raw, defs), where=model.__name__)
    schema.pop("description", None)  # the tool's own description says it
    return schema


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
            extra = {k: v for k, v in node.items() if k != "$ref"}
            if "description" in extra:
                target.pop("description", None)
            return _inline({**target, **extra}, defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _clean(node: dict[str, Any], *, where: str) -> dict[str, Any]:
    node = dict(node)
    if "allOf" in node and len(node["allOf"]) == 1:  # pydantic's wrapper for a described reference
        node = {**node.pop("allOf")[0], **node}
    if "anyOf" in node:
        node = _merge_nullable(node, where=where)
    if "const" in node:
        node["enum"] = [node.pop("const")]
    out = {k: v for k, v in node.items() if k in _KEEP}
    if "properties" in out:
        props = {name: _clean(sub, where=f"{where}.{name}") for name, sub in out["properties"].items()}
        out["properties"] = props
        out["required"] = list(props)
        out["additionalProperties"] = False
        out["type"] = "object"
    if "items" in out:
        out["items"] = _clean(out["items"], where=f"{where}[]")
    if "anyOf" in out:
        out["anyOf"] = [_clean(sub, where=where) for sub in out["anyOf"]]
    if out.get("type") == "object" and "properties" not in out:
        raise SchemaError(f"{where}: free-form objects cannot be strict")
    return out


def _merge_nullable(node: dict[str, Any], *, where: str) -> dict[str, Any]:
    """``anyOf: [X, null]`` -> X with ``type: [X, "null"]`` (and null in its enum)."""
    options = node["anyOf"]
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    non_null = [o for o in options if o.get("type") != "null"]
    if len(non_null) != 1 or len(options) != 2:
        return node  # a real union: kept as anyOf (each branch cleaned)
    inner = dict(non_null[0])
    kind = inner.get("type")
    if kind is None and "enum" in inner:
        kind = "string"
    if kind is None or isinstance(kind, list):
        raise SchemaError(f"{where}: nullable field without a simple type")
    inner["type"] = [kind, "null"]
    if "enum" in inner:
        inner["enum"] = [*inner["enum"], None]
    if "description" in rest:
        inner["description"] = rest["description"]
    return inner


def tool_json(tool: BaseTool) -> dict[str, Any]:
    """The tool exactly as the OpenAI client sends it (for measuring the surface)."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    return convert_to_openai_tool(tool, strict=True)


def surface_chars(tools: list[BaseTool]) -> int:
    """Characters of the ``tools`` array one model call carries (compact JSON)."""
    return len(json.dumps([tool_json(t) for t in tools], separators=(",", ":")))


def cap(text: str, limit: int = RESULT_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    note = f" … [{len(text) - limit} more characters cut; ask for less, or for the next page where the tool has one]"
    return text[:max(0, limit - len(note))] + note


def as_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))


class AgentTool(BaseTool):
    """A tool the model calls: strict schema out, pydantic validation in, capped JSON text back."""

    args_schema: type[BaseModel]
    _fn: Callable[[Any], Any] = PrivateAttr()
    _schema: dict[str, Any] = PrivateAttr()

    def __init__(self, *, name: str, description: str, args_schema: type[BaseModel], fn: Callable[[Any], Any]) -> None:
        super().__init__(name=name, description=description, args_schema=args_schema)
        self._fn = fn
        self._schema = strict_schema(args_schema)

    @property
    def tool_call_schema(self) -> dict[str, Any]:  # type: ignore[override]
        return copy.deepcopy(self._schema)

    def _run(self, *args: Any, **kwargs: Any) -> str:
        kwargs.pop("run_manager", None)
        parsed = self.args_schema.model_validate(kwargs)
        result = self._fn(parsed)
        # What a tool returns is shown to the model and checkpointed: scrubbed, then capped.
        return cap(scrub(result if isinstance(result, str) else as_json(result)))
