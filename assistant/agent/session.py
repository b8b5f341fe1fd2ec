"""``AgentSession``: the LLM agent behind the one session interface, its conversation kept in the project.

The conversation lives in a LangGraph ``SqliteSaver`` at
``PROJECT/.shotsmith/agent.sqlite`` (one thread per project), checkpointed
after every step. Reopening the project continues it; a pending approval
survives a restart; a run killed mid-step is resumed from its last
checkpoint (the engine's cache makes finished shots free).

Approvals: the agent pauses ``generate_shots`` (see :mod:`.middleware`); the
front end answers with :meth:`respond`, which prices each paused call again
and records the answer in the project's ledger, bound to that estimate. An
estimate that cannot be made is answered with a refusal and records nothing.
Every error text is scrubbed of secrets before it is shown, reported or
checkpointed.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.errors import GraphRecursionError
from langgraph.types import Command

from shotsmith.assistant.agent.build import STEP_LIMIT, build_agent
from shotsmith.assistant.agent.llm import LLMConfig, build_chat_model
from shotsmith.assistant.agent.middleware import ModelServerError, PhaseTools, describe_model_error, estimate_for
from shotsmith.assistant.events import AssistantText, Notice
from shotsmith.assistant.production import ProductionService
from shotsmith.assistant.sessions.base import STATE_DIR, SessionBase
from shotsmith.errors import ProjectError, ShotsmithError
from shotsmith.scrub import scrub, scrub_data

log = logging.getLogger(__name__)

THREAD_ID = "main"
CHECKPOINT_FILE = "agent.sqlite"
#: The checkpoint at which the last turn ended with an error (so a new message does not replay it).
FAILED_FILE = "agent_failed"
RUN_INSTRUCTIONS = ("\n\n(This is a scripted run with nobody to answer questions: plan the shots, generate them, "
                    "then call render with preview false and no output argument to write the video, and stop.)")
PLAN_ONLY_INSTRUCTIONS = ("\n\n(This is a scripted run with nobody to answer questions: plan the shots with "
                          "plan_shots and stop. Do not generate or render.)")
DECLINED = "The user declined the cost. Do not generate; ask what to change instead."


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


class AgentSession(SessionBase):
    """The LLM agent's session; open one through :func:`shotsmith.assistant.open_session`."""

    def __init__(self, service: ProductionService, config: LLMConfig, *, step_limit: int | None = None,
                 model: Any = None) -> None:
        super().__init__(service)
        self.config = config
        self.answering = config.label
        self.step_limit = step_limit or STEP_LIMIT
        folder = self.store.root / STATE_DIR
        try:
            folder.mkdir(exist_ok=True)
            self._conn = sqlite3.connect(str(folder / CHECKPOINT_FILE), check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise ProjectError(f"cannot open the conversation store in {folder}: {exc}") from exc
        self.checkpointer = SqliteSaver(self._conn)
        self._failed_marker = folder / FAILED_FILE
        self._phases = PhaseTools(service)
        self.agent = build_agent(model or build_chat_model(config), service, config, checkpointer=self.checkpointer,
                                 step_limit=self.step_limit, notify=self._notify,
                                 on_approvals=self._note_approvals, phases=self._phases)
        self._graph_config = {"configurable": {"thread_id": THREAD_ID}, "recursion_limit": self.step_limit * 12 + 20}

    def who_text(self) -> str:
        where = f" at {self.config.shown_url}" if self.config.base_url else ""
        return f"Answering: {self.config.label}{where} (LLM agent)"

    @property
    def tool_surface(self) -> list[dict[str, Any]]:
        """Per model call of this session: the phase, how many tools it offered and their JSON size."""
        return [{"phase": phase, "tools": count, "chars": chars} for phase, count, chars in self._phases.offered]

    def _note_approvals(self, ids: list[str]) -> None:
        """Approvals the service recorded during a tool call (--yes); two parallel calls may report one twice."""
        for approval_id in ids:
            if approval_id not in self.approval_ids:
                self.approval_ids.append(approval_id)

    def _notify(self, text: str) -> None:
        self.emit(Notice(scrub(text), level="warning"))

    # -- state -------------------------------------------------------------------------
    def _snapshot(self):
        return self.agent.get_state(self._graph_config)

    def _interrupts(self) -> list:
        return list(getattr(self._snapshot(), "interrupts", ()) or ())

    @property
    def pending_approval(self) -> bool:
        return bool(self._interrupts())

    @property
    def unfinished(self) -> bool:
        """A step is pending: the run was killed mid-step, or ended with an error; :meth:`resume` retries it."""
        snapshot = self._snapshot()
        return bool(snapshot.next) and not getattr(snapshot, "interrupts", ())

    def _checkpoint_id(self) -> str:
        return str(self._snapshot().config.get("configurable", {}).get("checkpoint_id", ""))

    def _ended_with_error(self) -> bool:
        """The pending step is the one that failed in the last turn (the user has seen why)."""
        try:
            return self._failed_marker.read_text(encoding="utf-8").strip() == self._checkpoint_id()
        except OSError:
            return False

    def _mark_failed(self) -> None:
        try:
            self._failed_marker.write_text(self._checkpoint_id(), encoding="utf-8")
        except OSError as exc:
            log.warning("could not note the failed turn: %s", scrub(exc))

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
        self.who_notice()
        if not text.strip():
            raise ShotsmithError("say something: the message is empty")
        if self.pending_approval:
            raise ShotsmithError("an approval is pending; answer it first (yes or no)")
        if self.unfinished and not self._ended_with_error():  # killed mid-step: finish that step first
            self.emit(Notice("The last turn was cut off; finishing it first."))
            self._stream(None)
        self._stream({"messages": [HumanMessage(text)]})

    def _run_brief(self, brief: str, *, produce: bool = True) -> None:
        self._send(brief + (RUN_INSTRUCTIONS if produce else PLAN_ONLY_INSTRUCTIONS))

    def resume(self):
        """Pick up after a restart: ask again for a pending approval, or finish a run that was cut off."""
        return self._drive(self._resume)

    def _resume(self) -> None:
        self.who_notice()
        interrupts = self._interrupts()
        if interrupts:
            for item in interrupts:
                self._ask(item)
            return
        if self.unfinished:
            self.emit(Notice("Resuming the run that was cut off; finished shots are reused."))
            self._stream(None)

    def _ask(self, item: Any) -> None:
        value = item.value if isinstance(item.value, dict) else {}
        try:
            estimate, reason = estimate_for(self.service, value.get("args")), ""
        except Exception as exc:  # the user is still asked; a yes to an unpriced call runs nothing
            estimate, reason = None, describe_model_error(exc)
        self.ask_approval(item.id, value.get("name", "generate_shots"), estimate, reason)

    def _respond(self, approved: bool) -> None:
        interrupts = self._interrupts()
        if not interrupts:
            raise ShotsmithError("there is no pending approval to answer")
        answers: dict[str, dict] = {}
        spending = self.service.spending
        for item in interrupts:
            value = item.value if isinstance(item.value, dict) else {}
            try:
                estimate = estimate_for(self.service, value.get("args"))
            except Exception as exc:  # cannot price it: refuse the call, record nothing
                answers[item.id] = {"type": "reject", "message": (
                    f"Not generated: the cost could not be estimated ({describe_model_error(exc)}). "
                    "Fix the call or tell the user.")}
                continue
            if approved and not estimate.to_generate:
                answers[item.id] = {"type": "approve"}
                continue
            records = spending.record(estimate, approved=approved, by="user")
            self.approval_ids.extend(r.id for r in records)
            answers[item.id] = {"type": "approve"} if approved else {"type": "reject", "message": DECLINED}
        self._stream(Command(resume=answers))

    def _stream(self, payload: Any) -> None:
        started: set[str] = set()
        try:
            for mode, chunk in self.agent.stream(payload, self._graph_config, stream_mode=["messages", "updates"]):
                self.check_cancel()
                if mode == "messages":
                    message, meta = chunk
                    if isinstance(message, AIMessageChunk) and meta.get("langgraph_node") == "model":
                        piece = _text(message.content)
                        if piece:
                            self.emit(AssistantText(piece, delta=True))
                    continue
                for node, update in chunk.items():
                    if node == "__interrupt__":
                        for item in update:
                            self._ask(item)
                        continue
                    for message in _messages(update):
                        self._on_message(node, message, started)
        except GraphRecursionError:
            self._mark_failed()
            raise StepLimitError(f"stopped: the model took more than {self.step_limit} steps without finishing",
                                 hint="rephrase the request or try a stronger model") from None
        except ShotsmithError as exc:
            exc.message = scrub(exc.message)
            self._close_dangling_calls(exc.message)
            self._mark_failed()
            raise
        except Exception as exc:
            import openai

            self._mark_failed()
            if isinstance(exc, openai.APIError | ConnectionError | TimeoutError):
                raise ModelServerError(f"the model server failed: {describe_model_error(exc)}",
                                       hint=f"check {self.config.shown_url or 'the API'} and try again; "
                                            "the conversation is saved") from None
            raise

    def _on_message(self, node: str, message: Any, started: set[str]) -> None:
        if isinstance(message, AIMessage):
            if "ModelCallLimit" in node:
                raise StepLimitError(f"stopped: the model used its {self.step_limit} steps without finishing",
                                     hint="rephrase the request or try a stronger model")
            text = _text(message.content).strip()
            if text:
                self.emit(AssistantText(text, delta=False))
            for call in message.tool_calls:
                if call.get("id") and call["id"] not in started:
                    started.add(call["id"])
                    self.record_tool_start(call["id"], call["name"], scrub_data(call.get("args") or {}))
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
            patches = [ToolMessage(content=f"Stopped: {scrub(reason)}", tool_call_id=c["id"], name=c["name"],
                                   status="error")
                       for c in last.tool_calls if c.get("id") and c["id"] not in answered]
            if patches:
                self.agent.update_state(self._graph_config, {"messages": patches}, as_node="tools")
        except Exception as exc:  # best effort: the error itself is what the user needs to see
            log.warning("could not close the interrupted tool calls: %s", scrub(exc))
