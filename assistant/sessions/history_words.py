"""What "undo" and "redo" sound like in a chat: "undo", "undo 2", "undo that", "undo the last 2 changes", "redo it".

Every session answers these itself (``SessionBase._history_command``), before
the model or the offline planner sees the message, so the phrases must be
narrow: a move in the history, said about the last change(s), never about a
shot. "redo 3 with a lower angle" and "redo shot 2" redraw a still, and
"undo shot 1" names a shot the history cannot single out: those fall through
to whoever answers the conversation.
"""

from __future__ import annotations

import re

_COUNTS = {"once": 1, "twice": 2, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_NUMBER = r"\d+|one|two|three|four|five"
_PHRASE = re.compile(
    r"/?(?P<verb>undo|redo)"
    r"(?:\s+(?:"
    r"(?P<steps>\d+)(?:\s+(?:changes?|edits?|steps?|times))?"        # undo 2, undo 2 changes
    r"|(?:that|it|this)"                                               # undo that
    r"|(?:the\s+)?(?:last|previous)\s+(?:(?P<last>" + _NUMBER + r")\s+)?(?:changes?|edits?|steps?)"  # the last 2 changes
    r"|(?P<times>once|twice|(?:" + _NUMBER + r")\s+times)"            # undo twice
    r"))?"
    r"(?:,?\s+please)?")


def history_move(text: str) -> tuple[str, int] | None:
    """``("undo" | "redo", steps)`` when ``text`` asks to move in the project history, else None."""
    said = re.sub(r"^(?:please\s+|can you\s+|could you\s+)", "", text.strip().lower()).rstrip(" .!?")
    match = _PHRASE.fullmatch(said)
    if match is None:
        return None
    count = match.group("steps") or match.group("last") or match.group("times")
    if count is None:
        return match.group("verb"), 1
    word = count.split()[0]
    steps = int(word) if word.isdigit() else _COUNTS[word]
    return match.group("verb"), steps
