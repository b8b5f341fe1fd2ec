"""An ffmpeg filter graph built as data, then serialised once.

The renderer never glues filter strings by hand: it adds :class:`Filter` nodes
(a name and ordered options) into :class:`Chain` s that read and write named
pads, and :meth:`FilterGraph.serialise` escapes every option value for both
levels of ffmpeg's graph syntax. Inputs (``-i`` with their per-input options)
live on the graph too, so input indices and pad labels cannot drift apart.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from shotsmith.media.ffmpeg import escape_filter_value

Value = Union[str, int, float, bool, Path]

#: One escaper for the whole project lives in the core; the graph uses it for every option value.
escape_value = escape_filter_value


def unescape_value(escaped: str) -> str:
    """The inverse of :func:`escape_value`, following ffmpeg's ``av_get_token`` (for tests)."""

    def one_level(text: str) -> str:
        out: list[str] = []
        chars = iter(text)
        for c in chars:
            if c == "\\":
                out.append(next(chars, ""))
            elif c == "'":
                for q in chars:
                    if q == "'":
                        break
                    out.append(q)
            else:
                out.append(c)
        return "".join(out)

    return one_level(one_level(escaped))


def fmt(value: Value) -> str:
    """Format a number compactly (no exponent, no trailing zeros)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    return str(value)


@dataclass
class Filter:
    name: str
    options: list[tuple[str | None, Value]] = field(default_factory=list)

    def serialise(self) -> str:
        if not self.options:
            return self.name
        parts = [escape_value(fmt(v)) if k is None else f"{k}={escape_value(fmt(v))}" for k, v in self.options]
        return f"{self.name}=" + ":".join(parts)


def F(name: str, *positional: Value, **options: Value | None) -> Filter:
    """``F("scale", 320, 240, flags="bicubic")`` -> ``scale=320:240:flags=bicubic``; None options are dropped."""
    opts: list[tuple[str | None, Value]] = [(None, v) for v in positional]
    opts += [(k, v) for k, v in options.items() if v is not None]
    return Filter(name, opts)


@dataclass
class Chain:
    inputs: list[str]
    filters: list[Filter]
    outputs: list[str]

    def serialise(self) -> str:
        ins = "".join(f"[{p}]" for p in self.inputs)
        outs = "".join(f"[{p}]" for p in self.outputs)
        body = ",".join(f.serialise() for f in self.filters) or "null"
        return f"{ins}{body}{outs}"


@dataclass
class Input:
    path: str
    options: list[str] = field(default_factory=list)


class FilterGraph:
    """Inputs plus chains; ``label()`` hands out unique pad names."""

    def __init__(self) -> None:
        self.inputs: list[Input] = []
        self.chains: list[Chain] = []
        self._counter = itertools.count()

    def add_input(self, path: str | Path, *options: str) -> int:
        self.inputs.append(Input(str(path), [str(o) for o in options]))
        return len(self.inputs) - 1

    def label(self, hint: str = "s") -> str:
        return f"{hint}{next(self._counter)}"

    def chain(self, inputs: list[str] | str, filters: list[Filter] | Filter, output: str | None = None,
              *, outputs: list[str] | None = None, hint: str = "s") -> str:
        """Add ``[inputs]f1,f2[output]`` and return the (first) output label."""
        ins = [inputs] if isinstance(inputs, str) else list(inputs)
        fs = [filters] if isinstance(filters, Filter) else list(filters)
        outs = outputs or [output or self.label(hint)]
        self.chains.append(Chain(ins, fs, outs))
        return outs[0]

    def sink(self, source: str, *, audio: bool) -> None:
        """Consume a stream that is not needed (every pad of a graph must be connected)."""
        self.chains.append(Chain([source], [F("anullsink" if audio else "nullsink")], []))

    def split(self, source: str, n: int, *, audio: bool = False) -> list[str]:
        outs = [self.label("sp") for _ in range(n)]
        self.chain(source, F("asplit" if audio else "split", n), outputs=outs)
        return outs

    def serialise(self) -> str:
        return ";".join(c.serialise() for c in self.chains)

    def input_args(self) -> list[str]:
        args: list[str] = []
        for inp in self.inputs:
            args += [*inp.options, "-i", inp.path]
        return args
