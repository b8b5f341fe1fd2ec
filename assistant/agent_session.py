"""The LLM-backed ChatSession: the LangChain agent, persisted in the project folder.

The conversation lives in a LangGraph ``SqliteSaver`` at
``PROJECT/.shotsmith/agent.sqlite`` (one thread per project), checkpointed after
every step. Reopening the project continues the conversation; a run killed
mid-step is resumed from its last checkpoint (the interrupted tool call runs
again, and the engine's cache makes already finished shots free).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.errors import GraphRecursionError
from langgraph.types import Command

from shotsmith.assistant.agent import STEP_LIMIT, build_agent
from shotsmith.assistant.events import AssistantText, Notice
from shotsmith.assistant.llm import LLMConfig, build_chat_model
from shotsmith.assistant.session import STATE_DIR, ChatSession, approval_event
from shotsmith.errors import ProjectError, ShotsmithError

log = logging.getLogger(__name__)

THREAD_ID = "main"
CHECKPOINT_FILE = "agent.sqlite"


class StepLimitError(ShotsmithError):
    """The model went round too many times without finishing."""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content
                       if not isinstance(b, dict) or b.get("type") in (None, "text"))
    return ""


def _messages(update: Any) -> list:
    """The messages a node wrote, whatever shape its update has (dict, list of dicts, Overwrite)."""
    if isinstance(update, list | tuple):
        return [m for u in update for m in _messages(u)]
    if isinstance(update, dict):
        messages = update.get("messages")
        messages = getattr(messages, "value", messages)
        return list(messages) if isinstance(messages, list | tuple) else []
    return []


class AgentSession(ChatSession):
    def __init__(self, store, studio, config: LLMConfig, *, step_limit: int | None = None) -> None:
        super().__init__(store, studio)
        self.config = config
        self.answering = config.label
        self.step_limit = step_limit or STEP_LIMIT
        folder = store.root / STATE_DIR
        try:
            folder.mkdir(exist_ok=True)
            self._conn = sqlite3.connect(str(folder / CHECKPOINT_FILE), check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise ProjectError(f"cannot open the conversation store in {folder}: {exc}") from exc
        self.checkpointer = SqliteSaver(self._conn)
        self.agent = build_agent(build_chat_model(config), studio, planner_label=config.label,
                                 checkpointer=self.checkpointer, step_limit=self.step_limit,
                                 retry_initial_delay_s=config.retry_initial_delay_s, max_retries=config.max_retries)
        self._graph_config = {"configurable": {"thread_id": THREAD_ID}, "recursion_limit": self.step_limit * 12 + 20}

    def who_text(self) -> str:
        where = f" at {self.config.shown_url}" if self.config.base_url else ""
        return f"Answering: {self.config.label}{where} (LLM agent)"

    # -- state -------------------------------------------------------------------------
    def _snapshot(self):
        return self.agent.get_state(self._graph_config)

    def _interrupts(self) -> list:
        snapshot = self._snapshot()
        return list(getattr(snapshot, "interrupts", ()) or ())

    @property
    def pending_approval(self) -> bool:
        return bool(self._interrupts())

    @property
    def unfinished(self) -> bool:
        """A run was cut off mid-step (killed or crashed) and can be resumed."""
        snapshot = self._snapshot()
        return bool(snapshot.next) and not getattr(snapshot, "interrupts", ())

    def history(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for message in self._snapshot().values.get("messages", []):
            if isinstance(message, HumanMessage):
                out.append(("user", _text(message.content)))
            elif isinstance(message, AIMessage) and _text(message.content).strip():
                out.append(("assistant", _text(message.content)))
        return out

    def close(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error:
            pass

    # -- turns -------------------------------------------------------------------------
    def _send(self, text: str) -> None:
        self._who_notice()
        if not text.strip():
            raise ShotsmithError("say something: the message is empty")
        if self.pending_approval:
            raise ShotsmithError("an approval is pending; answer it first (yes or no)")
        if "tools" in (self._snapshot().next or ()):
            self.emit(Notice("The last turn was cut off; finishing it first."))
            self._stream(None)
        self._stream({"messages": [HumanMessage(text)]})

    def resume(self):
        """Finish a run that was cut off (the scripted runner calls this after a restart)."""
        return self._drive(self._resume)

    def _resume(self) -> None:
        self._who_notice()
        self.emit(Notice("Resuming the run that was cut off; finished shots are reused."))
        self._stream(None)

    def _respond(self, approved: bool) -> None:
        interrupts = self._interrupts()
        if not interrupts:
            raise ShotsmithError("there is no pending approval to answer")
        answers = {}
        for item in interrupts:
            value = item.value if isinstance(item.value, dict) else {}
            est = self.studio.estimate((value.get("args") or {}).get("shots"), (value.get("args") or {}).get("backend"))
            self.studio.ledger.approvals.append({"action": value.get("name", "generate_shots"), "amount": est.amount,
                                                 "unit": est.unit, "shots": est.shots, "approved": approved,
                                                 "by": "user"})
            answers[item.id] = ({"type": "approve"} if approved else
                                {"type": "reject", "message": "The user declined the cost. Do not generate; ask "
                                                              "what to change instead."})
        self._stream(Command(resume=answers))

    def _stream(self, payload: Any) -> None:
        streamed: list[str] = []
        started: set[str] = set()
        try:
            for mode, chunk in self.agent.stream(payload, self._graph_config, stream_mode=["messages", "updates"]):
                self.check_cancel()
                if mode == "messages":
                    message, meta = chunk
                    if isinstance(message, AIMessageChunk) and meta.get("langgraph_node") == "model":
                        piece = _text(message.content)
                        if piece:
                            streamed.append(piece)
                            self.emit(AssistantText(piece, delta=True))
                    continue
                for node, update in chunk.items():
                    if node == "__interrupt__":
                        for item in update:
                            value = item.value if isinstance(item.value, dict) else {}
                            self.emit(approval_event(self, item.id, value.get("name", "generate_shots"),
                                                     value.get("args") or {}, value.get("description", "")))
                        continue
                    for message in _messages(update):
                        self._on_message(node, message, streamed, started)
        except GraphRecursionError as exc:
            raise StepLimitError(f"stopped: the model took more than {self.step_limit} steps without finishing",
                                 hint="rephrase the request or try a stronger model") from exc
        except ShotsmithError as exc:
            self._close_dangling_calls(exc.message)
            raise
        except Exception as exc:
            import openai

            if isinstance(exc, openai.APIError):
                raise ShotsmithError(f"the model server failed: {type(exc).__name__}: {_short(exc)}",
                                     hint=f"check {self.config.shown_url or 'the API'} and try again; "
                                          "the conversation is saved") from exc
            raise

    def _on_message(self, node: str, message: Any, streamed: list[str], started: set[str]) -> None:
        if isinstance(message, AIMessage):
            text = _text(message.content).strip()
            if "ModelCallLimit" in node:
                raise StepLimitError(f"stopped: the model used its {self.step_limit} steps without finishing",
                                     hint="rephrase the request or try a stronger model")
            if text:
                self.emit(AssistantText(text, delta=False))
            streamed.clear()
            for call in message.tool_calls:
                if call.get("id") and call["id"] not in started:
                    started.add(call["id"])
                    self.record_tool_start(call["id"], call["name"], call.get("args") or {})
        elif isinstance(message, ToolMessage):
            self.record_tool_end(message.tool_call_id, message.name or "", message.status != "error",
                                 _text(message.content))

    def _close_dangling_calls(self, reason: str) -> None:
        """After a run-ending tool error, answer the unanswered calls so the thread stays usable."""
        try:
            snapshot = self._snapshot()
            messages = snapshot.values.get("messages", [])
            answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
            last = next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)
            if last is None:
                return
            patches = [ToolMessage(content=f"Stopped: {reason}", tool_call_id=c["id"], name=c["name"], status="error")
                       for c in last.tool_calls if c.get("id") and c["id"] not in answered]
            if patches:
                self.agent.update_state(self._graph_config, {"messages": patches}, as_node="tools")
        except Exception as exc:  # best effort: the error itself is what the user needs to see
            log.warning("could not close the interrupted tool calls: %s", exc)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text[:200]
