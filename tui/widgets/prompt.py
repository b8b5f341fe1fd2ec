"""The message input: an ``Input`` that leaves ``?`` to the help key while it is empty.

Textual gives a focused ``Input`` every printable key before any binding, so
a ``?`` binding could never fire while the user is in the input, which is
almost always. An empty input has no use for a leading question mark, so
there it opens the help; in a message being typed it is a question mark.
"""

from __future__ import annotations

from textual.widgets import Input


class PromptInput(Input):
    def check_consume_key(self, key: str, character: str | None) -> bool:
        if character == "?" and not self.value:
            return False
        return super().check_consume_key(key, character)
