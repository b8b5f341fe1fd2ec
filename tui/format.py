"""Small text helpers the widgets share (sizes, tool arguments, estimates, speeds).

Kept apart from the widgets so that they can be tested without running an app.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from shotsmith.assistant.production.spending import Estimate, money


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


_REASON = re.compile(r'"(?:error|message|reason)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def tool_summary(summary: str) -> str:
    """What to show after a tool's name in the chat: its text, or nothing for a JSON result.

    The agent reports what the tool told the model, which for a successful
    call is a JSON object (often cut off at 500 characters); the plan table and
    the progress panel already show its effect, so the line keeps only an
    error, message or reason it carries. Plain text (errors, other sessions'
    summaries) is shown as it is.
    """
    text = summary.strip()
    if not text.startswith("{"):
        return text
    found = _REASON.search(text)
    if found is None:
        return ""
    try:
        return str(json.loads(f'"{found.group(1)}"'))
    except ValueError:
        return found.group(1)


def estimate_text(estimate: Estimate | None) -> str:
    """What generating costs, as the approval dialog states it.

    USD first with the provider's unit beside (``0.75 USD (75 credits)``), so
    the amount reads the same for every backend; a backend that costs no money
    but long GPU time says so instead of showing ``0.00 USD``.
    """
    if estimate is None:
        return "unavailable"
    if not estimate.to_generate:  # nothing to pay: cached, footage, or resuming a running task (0 more)
        return estimate.text
    if estimate.usd or estimate.unit != "USD":
        return money(estimate.usd, estimate.amount, estimate.unit)
    return "no money, but long GPU time" if estimate.asks else "free (local)"


def speed_text(speed: float) -> str:
    """``0.5`` → ``"0.5x"``, ``2/3`` → ``"0.67x"``; normal speed is ``""`` so that only changed shots stand out."""
    return "" if speed == 1 else f"{round(speed, 2):g}x"


def shown_path(path: str | Path, root: str | Path | None) -> str:
    """``path`` relative to the project folder when it is inside it (``renders/v003.mp4``), else as given."""
    if root is None:
        return str(path)
    try:
        return str(Path(path).relative_to(Path(root)))
    except ValueError:
        return str(path)
