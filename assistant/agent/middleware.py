"""The agent's middleware: what makes a model safe to leave alone with a project.

* :func:`spending_gate` — the HITL ``when`` predicate and description for
  ``generate_shots``. It validates the raw arguments through the tool's own
  args model, asks whenever an estimate cannot be made, and is only a
  courtesy: the production service refuses any create no approval covers.
* :class:`PhaseTools` — offers the tools of the project's phase (plan,
  produce, finish) on each model call, as OpenAI strict schemas.
* :class:`ContextGuard` — keeps the request inside the model's context: old
  tool results are cleared, the oldest turns dropped at a user-message
  boundary, and a server's "context length exceeded" answered by trimming
  harder. It edits only what is sent, never the checkpoint, so a saved
  conversation that once overflowed continues after a restart.
* :class:`ModelRetry` — retries timeouts, dropped connections, 429 and 5xx
  with backoff, says so with a notice each time, and gives up within the
  config's bound; a stream that ended without ``finish_reason`` counts as
  dropped (its tool calls were cut off and are never executed).
* :func:`correct_invalid_tool_calls`, :func:`tool_error_message` — a model's
  mistakes come back to it as corrections it can act on, scrubbed of secrets;
  refused spending and a cancel end the run instead.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from langchain.agents.middleware import AgentMiddleware, AgentState, after_model
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import ValidationError

from shotsmith.assistant.agent.schemas import RESULT_LIMIT, cap, surface_chars
from shotsmith.assistant.agent.tools import GENERATE_TOOL, ShotsArgs
from shotsmith.assistant.production.spending import BudgetExceededError, Estimate, SpendingRefusedError
from shotsmith.cut import derive_cut
from shotsmith.errors import CancelledError, InvalidInputError, ShotsmithError
from shotsmith.scrub import scrub

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from shotsmith.assistant.production import ProductionService

log = logging.getLogger(__name__)

Phase = Literal["plan", "produce", "finish"]
#: Which tools each phase offers (names; the finish tools come from :mod:`.finishing`).
PLAN_TOOLS = ("plan_shots", "show_project", "list_media", "add_cast")
PRODUCE_TOOLS = ("plan_shots", "show_project", "edit_shot", "arrange_shots", "use_footage", "list_media",
                 "add_cast", "set_format", "estimate_cost", GENERATE_TOOL, "render", "storyboard")
FINISH_TOOLS = ("plan_shots", "show_project", "edit_shot", "arrange_shots", "use_footage", "list_media",
                "set_format", "render", "add_title", "add_audio", "add_captions", "add_overlay", "remove_layer",
                "set_output", "export")
PHASE_TOOLS: dict[Phase, tuple[str, ...]] = {"plan": PLAN_TOOLS, "produce": PRODUCE_TOOLS, "finish": FINISH_TOOLS}
#: Characters of conversation (besides the system prompt and tools) sent on one call: about 12k tokens.
CONTEXT_BUDGET_CHARS = 48_000
#: Tool results newer than this many stay whole; older ones are cleared when the budget is tight.
KEEP_TOOL_RESULTS = 6
CLEARED = "[old tool result cleared to save context; call the tool again if you need it]"


# -- spending ------------------------------------------------------------------------------
def generate_args(raw: Any) -> ShotsArgs:
    """The generate tool's raw arguments read exactly as the tool will read them (raises when it would refuse)."""
    return ShotsArgs.model_validate(raw if isinstance(raw, dict) else {"shots": raw})


def estimate_for(service: "ProductionService", raw: Any) -> Estimate:
    return service.estimate(generate_args(raw).shots)


def spending_gate(service: "ProductionService") -> Callable[[Any], bool]:
    """The HITL ``when`` for ``generate_shots``: True = pause and ask the user.

    * arguments the tool would refuse (validation through the same model):
      no pause, the tool answers with the correction and nothing runs;
    * ``--yes``: no pause, the service records the approval (within --max-cost);
    * free, local or already approved: no pause;
    * the backend cannot run (no key) or the budget is exceeded: no pause,
      the tool refuses with the reason;
    * the call names no plan or an unknown shot (``InvalidInputError`` from the
      estimate): no pause; ``service.generate`` starts with the very same
      estimate, so it refuses with the same error before anything is sent, and
      the model reads the correction instead of the user a pointless question;
    * any other error while estimating or deciding: pause (never run unasked).
    """

    def when(request: Any) -> bool:
        try:
            args = generate_args(request.tool_call.get("args"))
        except ValidationError:
            return False
        try:
            if service.spending.auto_approve:
                return False
            try:
                if service.keyframes_to_review(args.shots):
                    return False  # the tool answers with the storyboard to approve; nothing is spent
                estimate = service.estimate(args.shots)
            except InvalidInputError:
                return False
            if service.spending.decide(estimate) != "ask":
                return False
            try:
                service.backend().check_ready()
            except ShotsmithError:
                return False
            try:
                service.spending.check_budget(estimate)
            except BudgetExceededError:
                return False
            return True
        except Exception as exc:  # deciding failed: ask, never run unasked
            log.info("could not estimate a generate_shots call, asking: %s", scrub(exc))
            return True

    return when


def approval_description(service: "ProductionService") -> Callable[..., str]:
    def describe(tool_call: dict, state: Any, runtime: Any) -> str:
        try:
            return f"Generate: {estimate_for(service, tool_call.get('args')).text}"
        except Exception as exc:
            return f"Generate shots (the cost could not be estimated: {scrub(getattr(exc, 'message', exc))})"

    return describe


# -- phases --------------------------------------------------------------------------------
def project_phase(service: "ProductionService") -> Phase:
    """plan: no shot list yet; produce: some shot has no clip; finish: every shot can be shown."""
    if not service.has_plan:
        return "plan"
    return "produce" if derive_cut(service.plan).missing else "finish"


class PhaseTools(AgentMiddleware):
    """Offer only the tools of the project's current phase, as strict schemas.

    ``offered`` keeps (phase, tools, characters of tool JSON) for every model
    call, so a run can report the surface a model was really shown.
    """

    def __init__(self, service: "ProductionService", *, strict: bool = True) -> None:
        super().__init__()
        self.service = service
        self.strict = strict
        self.offered: list[tuple[Phase, int, int]] = []
        self._chars: dict[str, int] = {}

    def select(self, tools: list["BaseTool | dict"]) -> list["BaseTool | dict"]:
        phase = project_phase(self.service)
        by_name = {getattr(t, "name", None): t for t in tools}
        chosen = [by_name[name] for name in PHASE_TOOLS[phase] if name in by_name]
        for tool in chosen:
            if tool.name not in self._chars:
                self._chars[tool.name] = surface_chars([tool]) - 2  # one tool, without the array's brackets
        # The array as sent: the tools, a comma between each, two brackets.
        chars = sum(self._chars[t.name] for t in chosen) + max(0, len(chosen) - 1) + 2
        self.offered.append((phase, len(chosen), chars))
        return chosen

    def wrap_model_call(self, request, handler):
        settings = {**request.model_settings, **({"strict": True} if self.strict else {})}
        return handler(request.override(tools=self.select(list(request.tools)), model_settings=settings))


# -- context -------------------------------------------------------------------------------
def _size(message: BaseMessage) -> int:
    content = message.content if isinstance(message.content, str) else str(message.content)
    calls = getattr(message, "tool_calls", None) or []
    return len(content) + sum(len(str(c.get("args"))) + 40 for c in calls) + 20


def fit_messages(messages: list[BaseMessage], budget: int = CONTEXT_BUDGET_CHARS) -> list[BaseMessage]:
    """``messages`` made to fit ``budget`` characters without breaking a tool call from its result."""
    out = [m.model_copy(update={"content": cap(m.content)}) if isinstance(m, ToolMessage) and isinstance(
        m.content, str) and len(m.content) > RESULT_LIMIT else m for m in messages]
    if sum(map(_size, out)) <= budget:
        return out
    tool_positions = [i for i, m in enumerate(out) if isinstance(m, ToolMessage)]
    for i in tool_positions[:-KEEP_TOOL_RESULTS] if len(tool_positions) > KEEP_TOOL_RESULTS else []:
        out[i] = out[i].model_copy(update={"content": CLEARED})
    if sum(map(_size, out)) <= budget:
        return out
    starts = [i for i, m in enumerate(out) if isinstance(m, HumanMessage)]
    for start in starts[1:]:
        kept = out[start:]
        if sum(map(_size, kept)) <= budget:
            return [HumanMessage("(Earlier conversation was trimmed to fit the context; show_project shows the "
                                 "current state.)"), *kept]
    last = starts[-1] if starts else 0
    kept = out[last:]
    # Even the current turn is too big: clear all but its newest tool results.
    kept_tools = [i for i, m in enumerate(kept) if isinstance(m, ToolMessage)]
    for i in kept_tools[:-2]:
        kept[i] = kept[i].model_copy(update={"content": CLEARED})
    if kept and isinstance(kept[0], HumanMessage) and _size(kept[0]) > budget // 2:
        kept[0] = kept[0].model_copy(update={"content": cap(str(kept[0].content), budget // 2)})
    return kept


def is_context_overflow(exc: BaseException) -> bool:
    text = str(exc).lower()
    code = str(getattr(exc, "code", "") or "").lower()
    return "context_length" in code or any(s in text for s in (
        "context length", "context_length", "maximum context", "context window", "too many tokens",
        "prompt is too long", "reduce the length"))


class ContextGuard(AgentMiddleware):
    """Trim what is sent to fit the context; on an overflow error, trim harder and try again."""

    def __init__(self, budget_chars: int = CONTEXT_BUDGET_CHARS,
                 notify: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.budget = budget_chars
        self.notify = notify or (lambda text: None)

    def wrap_model_call(self, request, handler):
        budget = self.budget
        for attempt in range(3):
            try:
                response = handler(request.override(messages=fit_messages(list(request.messages), budget)))
                self.budget = budget  # a server that overflowed once gets the smaller budget from now on
                return response
            except Exception as exc:
                if not is_context_overflow(exc) or attempt == 2:
                    raise
                budget //= 3
                self.notify("The conversation is longer than the model's context; older parts are summarised "
                            "away and the request is sent again.")
        raise AssertionError("unreachable")


# -- retries -------------------------------------------------------------------------------
class TruncatedReplyError(ShotsmithError):
    """The model's reply stopped without a finish reason: a cut-off stream, never to be executed."""


def is_transient(exc: BaseException) -> bool:
    """Timeouts, connection drops, cut-off streams, 429 and 5xx are worth retrying; a 400 or 401 is not."""
    import httpx
    import openai

    if isinstance(exc, TruncatedReplyError):
        return True
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError | openai.RateLimitError
                  | openai.InternalServerError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in (408, 409, 429)
    return isinstance(exc, TimeoutError | ConnectionError | httpx.TransportError)


def check_finished(response: Any) -> Any:
    """Raise :class:`TruncatedReplyError` for a reply whose stream ended without a finish reason."""
    messages = getattr(response, "result", None) or ([response] if isinstance(response, AIMessage) else [])
    for message in messages:
        if isinstance(message, AIMessage) and not (message.response_metadata or {}).get("finish_reason"):
            raise TruncatedReplyError("the model's reply was cut off (the stream ended without a finish reason)",
                                      hint="nothing from it was executed")
    return response


class ModelRetry(AgentMiddleware):
    """Retry transient model failures with backoff and a notice each time, within ``give_up_after_s``."""

    def __init__(self, *, max_retries: int, initial_delay_s: float, timeout_s: float, give_up_after_s: float,
                 notify: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self.max_retries = max_retries
        self.initial_delay_s = initial_delay_s
        self.timeout_s = timeout_s
        self.give_up_after_s = give_up_after_s
        self.notify = notify or (lambda text: None)
        self.clock, self.sleep = clock, sleep

    def delay(self, attempt: int) -> float:
        return min(30.0, self.initial_delay_s * 2 ** attempt) * random.uniform(0.8, 1.2)

    def wrap_model_call(self, request, handler):
        started = self.clock()
        attempt = 0
        while True:
            try:
                return check_finished(handler(request))
            except Exception as exc:
                if not is_transient(exc):
                    raise
                pause = self.delay(attempt)
                elapsed = self.clock() - started
                # Give up when another attempt could not finish (pause + one full timeout) within the bound.
                if attempt >= self.max_retries or elapsed + pause + self.timeout_s > self.give_up_after_s:
                    raise
                attempt += 1
                self.notify(f"The model server failed ({describe_model_error(exc)}); trying again in "
                            f"{pause:.1f} s (attempt {attempt + 1} of {self.max_retries + 1}).")
                self.sleep(pause)


def describe_model_error(exc: BaseException) -> str:
    """One scrubbed line for a model failure (a gateway may quote the key back)."""
    if isinstance(exc, ShotsmithError):
        return scrub(exc.message)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return scrub(f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__)


class ModelServerError(ShotsmithError):
    """The model server failed (after retries where retrying made sense); the text is scrubbed."""


class ScrubModelErrors(AgentMiddleware):
    """Outermost on the model path: a failure leaves the model node only as scrubbed text.

    LangGraph checkpoints a failed node's error; a gateway quoting the key in a
    401 must not put it in ``agent.sqlite`` (or on screen, or in the report).
    """

    def __init__(self, shown_url: str | None = None) -> None:
        super().__init__()
        self.shown_url = shown_url

    def wrap_model_call(self, request, handler):
        from langgraph.errors import GraphBubbleUp

        try:
            return handler(request)
        except GraphBubbleUp:
            raise
        except ShotsmithError as exc:
            exc.message = scrub(exc.message)
            exc.hint = scrub(exc.hint) if exc.hint else exc.hint
            raise
        except Exception as exc:
            import openai

            if isinstance(exc, openai.APIError | ConnectionError | TimeoutError) or is_transient(exc):
                raise ModelServerError(f"the model server failed: {describe_model_error(exc)}",
                                       hint=f"check {self.shown_url or 'the API'} and try again; the "
                                            "conversation is saved") from None
            log.warning("model call failed: %s", describe_model_error(exc))
            raise ShotsmithError(f"the assistant failed: {describe_model_error(exc)}",
                                 hint="the conversation is saved; try again") from None


# -- corrections ---------------------------------------------------------------------------
def tool_error_message(exc: Exception, request: Any) -> str | None:
    """The correction the model reads when a tool fails; None lets the error end the run."""
    name = request.tool_call.get("name", "tool")
    if isinstance(exc, SpendingRefusedError | CancelledError):
        exc.message = scrub(exc.message)  # it is checkpointed as the run's error
        return None  # refused spending and a cancel end the run: the user decides what next
    if isinstance(exc, ShotsmithError):
        text = f"Error from {name}: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "") + \
            ". Fix the arguments and try again, or tell the user."
        return cap(scrub(text), 1500)
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        return cap(scrub(f"Error from {name}: invalid arguments ({problems}). Fix them and try again."), 1500)
    log.warning("tool %s failed unexpectedly: %s", name, describe_model_error(exc))
    return f"Error from {name}: an internal {type(exc).__name__} occurred. Try another way or tell the user."


@after_model(can_jump_to=["model"], name="CorrectInvalidToolCalls")
def correct_invalid_tool_calls(state: AgentState, runtime: Any) -> dict[str, Any] | None:
    """A reply that only holds unparseable tool calls gets a correction and another turn."""
    last = state["messages"][-1] if state["messages"] else None
    if not isinstance(last, AIMessage) or last.tool_calls or not last.invalid_tool_calls:
        return None
    corrections = []
    for call in last.invalid_tool_calls:
        if not call.get("id"):
            continue
        corrections.append(ToolMessage(
            content=(f"Error: your call to {call.get('name') or 'a tool'} had arguments that are not valid JSON "
                     f"({scrub(call.get('error') or 'unparseable')[:200]}). Send the call again with a JSON object "
                     "matching the tool's schema."),
            tool_call_id=call["id"], name=call.get("name") or "unknown", status="error"))
    if not corrections:
        return None
    return {"messages": corrections, "jump_to": "model"}
