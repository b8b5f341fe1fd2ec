"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, for tests.

Tests queue :class:`Reply` objects; each POST to ``/v1/chat/completions`` takes
the next one and answers it as the real API would: a JSON completion, or, when
the client asks for ``stream: true`` (ChatOpenAI with streaming does), SSE
chunks with the content and tool-call arguments split across several deltas.
A reply can also be an HTTP error (429, 500, a 401 quoting the key back), a
delay longer than the client's timeout, raw (broken) tool-call JSON, a stream
cut off before its ``finish_reason``, or a callable that builds the reply from
the request. Every request body is kept in ``requests`` for assertions
(:func:`tool_surface` measures the tools one request offered).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EXHAUSTED = "(fake server: script exhausted)"


@dataclass
class Reply:
    content: str = ""
    #: (tool name, arguments as a dict, or a raw string for malformed JSON)
    tool_calls: list[tuple[str, dict | str]] = field(default_factory=list)
    status: int = 200
    delay_s: float = 0.0
    error_message: str = "scripted failure"
    #: False: the stream stops after the content/arguments, with no finish_reason and no [DONE].
    finish: bool = True


def call(name: str, args: dict | str | None = None) -> Reply:
    return Reply(tool_calls=[(name, args if args is not None else {})])


def say(text: str) -> Reply:
    return Reply(content=text)


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: deque[Reply | Callable[[dict], Reply]] = deque()
        self.requests: list[dict] = []
        self.exhausted = 0
        self._calls = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, *replies: Reply | Callable[[dict], Reply]) -> None:
        self.script.extend(replies)

    @property
    def remaining(self) -> int:
        return len(self.script)

    def _next(self, body: dict) -> Reply:
        with self._lock:
            self.requests.append(body)
            if not self.script:
                self.exhausted += 1
                return Reply(content=EXHAUSTED)
            reply = self.script.popleft()
        return reply(body) if callable(reply) else reply

    def _call_id(self) -> str:
        with self._lock:
            self._calls += 1
            return f"call_{self._calls:04d}"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                reply = fake._next(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                try:
                    if reply.status != 200:
                        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(reply.status, "server_error")
                        return self._json(reply.status, {"error": {"message": reply.error_message, "type": kind,
                                                                   "code": kind}})
                    calls = [(fake._call_id(), name, args if isinstance(args, str) else json.dumps(args))
                             for name, args in reply.tool_calls]
                    if body.get("stream"):
                        self._stream(body, reply, calls)
                    else:
                        self._json(200, self._completion(body, reply, calls))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def _json(self, status: int, data: dict) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(raw)

            @staticmethod
            def _completion(body: dict, reply: Reply, calls: list) -> dict:
                message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
                if calls:
                    message["tool_calls"] = [{"id": cid, "type": "function", "function": {"name": n, "arguments": a}}
                                             for cid, n, a in calls]
                return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                        "model": body.get("model", "fake"),
                        "choices": [{"index": 0, "message": message,
                                     "finish_reason": "tool_calls" if calls else "stop"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}

            def _stream(self, body: dict, reply: Reply, calls: list) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                        "model": body.get("model", "fake")}

                def send(delta: dict, finish: str | None = None) -> None:
                    chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                send({"role": "assistant", "content": ""})
                text = reply.content
                if text:
                    step = max(1, len(text) // 3)
                    for i in range(0, len(text), step):
                        send({"content": text[i:i + step]})
                for index, (cid, name, args) in enumerate(calls):
                    send({"tool_calls": [{"index": index, "id": cid, "type": "function",
                                          "function": {"name": name, "arguments": ""}}]})
                    half = max(1, len(args) // 2)
                    for i in range(0, len(args), half):
                        send({"tool_calls": [{"index": index, "function": {"arguments": args[i:i + half]}}]})
                if not reply.finish:  # the connection just ends, as a dropped proxy would
                    self.close_connection = True
                    return
                send({}, "tool_calls" if calls else "stop")
                if (body.get("stream_options") or {}).get("include_usage"):
                    usage = {**base, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                                                              "total_tokens": 15}}
                    self.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def tool_results(request: dict) -> list[dict]:
    """The tool messages in a request, newest last (what the agent sent back to the model)."""
    return [m for m in request.get("messages", []) if m.get("role") == "tool"]


def tool_surface(request: dict) -> tuple[int, int]:
    """(tools offered, characters of their JSON in compact form) for one recorded request."""
    tools = request.get("tools") or []
    return len(tools), len(json.dumps(tools, separators=(",", ":")))


def tool_names(request: dict) -> list[str]:
    return [t["function"]["name"] for t in request.get("tools") or []]


def last_tool_result(request: dict) -> str:
    results = tool_results(request)
    return results[-1]["content"] if results else ""
