"""Small text helpers the widgets share (sizes, durations, tool arguments, estimates)."""

from __future__ import annotations

import json
from typing import Any


def human_size(size_bytes: int) -> str:
    """``1536000`` → ``"1.5 MB"``; decimal units, as file managers show them."""
    size = float(size_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def short(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    flat = " ".join(str(text).split())
    if width <= 1:
        return flat[:max(width, 0)]
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def compact_args(args: dict[str, Any], width: int = 60) -> str:
    """Tool-call arguments as one short line: ``brief='a 6 second…', index=2``."""
    parts = []
    for key, value in args.items():
        shown = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
        parts.append(f"{key}={shown}")
    return short(", ".join(parts), width)


def estimate_text(amount: float, unit: str) -> str:
    """``0.5, "USD"`` → ``"0.50 USD"``; GPU time and other units keep their own name."""
    return f"{amount:.2f} {unit}" if unit.upper() in ("USD", "EUR", "GBP", "CREDITS") else f"{amount:g} {unit}"
