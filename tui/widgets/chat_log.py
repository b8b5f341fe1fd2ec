"""The conversation: user and assistant messages, notices, compact tool-call lines, errors.

Every entry is its own ``Static`` (with ``markup=False``: model and user text
may contain square brackets, which must show as typed, never as styling), so a
streamed assistant message can grow in place and a tool call's line can turn
from "running" into its result without redrawing the whole log.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from shotsmith.tui.format import compact_args, human_size, short, tool_summary

ROLE_LABEL = {"user": "you", "assistant": "assistant"}


class ChatEntry(Static):
    """One entry of the log; its CSS classes say what kind (user, assistant, notice, tool, error, output)."""

    DEFAULT_CSS = "ChatEntry { height: auto; }"


class ChatLog(VerticalScroll):
    """Scrolls to the newest entry as entries arrive."""

    can_focus = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._streaming: ChatEntry | None = None
        self._streamed = ""
        self._tools: dict[str, ChatEntry] = {}

    # -- what the screen calls ---------------------------------------------------------
    def add_message(self, role: str, text: str, *, restored: bool = False) -> ChatEntry:
        """A whole user or assistant message (``restored`` ones come from an earlier session)."""
        classes = f"message {role}" + (" restored" if restored else "")
        return self._add(ChatEntry(self._message_text(role, text), classes=classes, markup=False))

    def add_assistant_text(self, text: str, *, delta: bool) -> None:
        """Streamed fragments grow one entry; the final whole message replaces them."""
        if delta:
            self._streamed += text
            if self._streaming is None:
                self._streaming = self.add_message("assistant", self._streamed)
                self._streaming.add_class("streaming")
            else:
                self._streaming.update(self._message_text("assistant", self._streamed))
                self._scroll_to_end()
            return
        if self._streaming is not None:
            self._streaming.update(self._message_text("assistant", text))
            self._streaming.remove_class("streaming")
            self._streaming, self._streamed = None, ""
            self._scroll_to_end()
        else:
            self.add_message("assistant", text)

    def add_notice(self, text: str, level: str = "info") -> ChatEntry:
        mark = {"warning": "!", "error": "✗"}.get(level, "•")
        return self._add(ChatEntry(f"{mark} {text}", classes=f"notice -{level}", markup=False))

    def add_error(self, message: str, hint: str | None = None, *, level: str = "error") -> ChatEntry:
        body = Text.assemble(("error: " if level == "error" else "", "bold"), message)
        if hint:
            body.append(f"\nhint: {hint}", style="italic")
        return self._add(ChatEntry(body, classes=f"error -{level}", markup=False))

    def tool_started(self, call_id: str, name: str, args: dict[str, Any]) -> None:
        entry = ChatEntry(f"⚙ {name}({compact_args(args)}) …", classes="tool -running", markup=False)
        self._tools[call_id] = entry
        self._add(entry)

    def tool_finished(self, call_id: str, name: str, ok: bool, summary: str) -> None:
        said = tool_summary(summary)
        text = f"{'✓' if ok else '✗'} {name}" + (f": {short(said, 200)}" if said else "")
        entry = self._tools.pop(call_id, None)
        if entry is None:
            entry = self._add(ChatEntry(text, classes="tool", markup=False))
        else:
            entry.update(text)
            entry.remove_class("-running")
        entry.add_class("-ok" if ok else "-failed")

    def add_output(self, path: str, duration_s: float, size_bytes: int) -> ChatEntry:
        text = f"✓ Wrote {path}\n  {duration_s:.1f} s · {human_size(size_bytes)}"
        return self._add(ChatEntry(text, classes="output", markup=False))

    def end_turn(self) -> None:
        """Forget half-streamed text and running tools of a turn that stopped early."""
        if self._streaming is not None:
            self._streaming.remove_class("streaming")
        self._streaming, self._streamed = None, ""
        for entry in self._tools.values():
            entry.remove_class("-running")
            entry.add_class("-failed")
        self._tools.clear()

    @property
    def entries(self) -> list[ChatEntry]:
        return list(self.query(ChatEntry))

    def on_resize(self) -> None:
        # Rewrapped entries change the height: keep the newest one in view.
        self._scroll_to_end()

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def _message_text(role: str, text: str) -> Text:
        return Text.assemble((ROLE_LABEL.get(role, role), "bold"), "\n", text)

    def _add(self, entry: ChatEntry) -> ChatEntry:
        self.mount(entry)
        self._scroll_to_end()
        return entry

    def _scroll_to_end(self) -> None:
        self.call_after_refresh(self.scroll_end, animate=False)
