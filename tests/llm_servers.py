"""Real HTTP servers on 127.0.0.1 speaking the LLM providers' wire formats.

One ``LLMServer`` answers OpenAI chat completions + files + batches, Together
chat completions (same shape) and Anthropic messages + message batches, so the
tests and the perf benchmark drive the official SDK clients end to end. The
reply to a prompt is looked up by its transcript in ``answers``; faults are
injected per request (``faults``, consumed in order) or per transcript
(``fault_for``, every time). ``answered`` counts chat replies written in full,
which is what a client may have been charged for.

Faults: ``("429", seconds)``, ``("429-ms", millis)`` (``retry-after-ms``),
``("429-date", seconds)`` (HTTP-date ``Retry-After``), ``("408",)``, ``("409",)``,
``("500",)``, ``("401",)``, ``("403",)``, ``("slow", seconds)``, ``("malformed",)``
(not JSON), ``("wrong-shape",)`` (JSON without the documented fields),
``("reset",)`` (headers and half a body, then a TCP reset). Batches end as
``batch_end`` says (``completed``, ``expired``, ``cancelled``) after answering
``batch_partial`` requests (None = all); requests a batch did not answer, and
transcripts with a ``("500",)`` fault, come back as ``error_file_id`` rows
(Anthropic: ``errored`` / ``expired`` / ``canceled`` results). With
``required_key`` set, every route answers 401 to any other key.
"""

from __future__ import annotations

import email.parser
import email.utils
import json
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TRANSCRIPT_MARKER = "Transcript: "


class LLMServer:
    def __init__(self, latency: float = 0.0, default_answer: str = "neutral") -> None:
        self.latency = latency
        self.default_answer = default_answer
        self.answers: dict[str, str] = {}
        self.faults: list[tuple[Any, ...]] = []
        self.fault_for: dict[str, tuple[Any, ...]] = {}
        self.hits: Counter[str] = Counter()
        self.models: Counter[str] = Counter()
        self.answered = 0
        self.required_key: str | None = None
        self.batch_end = "completed"
        self.batch_partial: int | None = None
        self.auth_headers: list[str] = []
        self.hold_batches = False
        self.in_flight = 0
        self.max_in_flight = 0
        self.polls_to_complete = 1
        self.echo_key_in_errors = True
        self.requests: list[dict[str, Any]] = []  # every chat request body, in arrival order
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> LLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def chat_requests(self) -> int:
        return self.hits["POST /v1/chat/completions"] + self.hits["POST /v1/messages"]

    # ------------------------------------------------------------- behaviour
    def transcript_of(self, prompt: str) -> str:
        return prompt.split(TRANSCRIPT_MARKER, 1)[-1].strip()

    def answer_for(self, prompt: str) -> str:
        return self.answers.get(self.transcript_of(prompt), self.default_answer)

    def next_fault(self, prompt: str) -> tuple[Any, ...] | None:
        with self.lock:
            if self.faults:
                return self.faults.pop(0)
        return self.fault_for.get(self.transcript_of(prompt))

    def new_id(self, prefix: str) -> str:
        with self.lock:
            self.hits["ids"] += 1
            return f"{prefix}_{self.hits['ids']}"


def _openai_completion(model: str, prompt: str, reply: str) -> dict[str, Any]:
    return {"id": "chatcmpl-loopback", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop",
                         "logprobs": None}],
            "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": max(len(reply.split()), 1),
                      "total_tokens": len(prompt.split()) + max(len(reply.split()), 1)}}


def _anthropic_message(model: str, prompt: str, reply: str) -> dict[str, Any]:
    return {"id": "msg_loopback", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": reply}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": len(prompt.split()), "output_tokens": max(len(reply.split()), 1)}}


def _make_handler(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        # ------------------------------------------------------------ io
        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> bool:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                return True
            except (BrokenPipeError, ConnectionResetError):
                return False

        def _error(self, status: int, message: str, anthropic: bool, headers: dict[str, str] | None = None) -> None:
            kinds = {429: "rate_limit_error", 401: "authentication_error", 403: "permission_error"}
            kind = kinds.get(status, "api_error")
            body = ({"type": "error", "error": {"type": kind, "message": message}} if anthropic
                    else {"error": {"message": message, "type": kind, "code": None}})
            self._send(status, body, headers)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _key(self) -> str:
            auth = self.headers.get("Authorization") or ""
            return self.headers.get("x-api-key") or auth.removeprefix("Bearer ")

        def _refused(self) -> bool:
            """With ``required_key`` set, any other key gets a 401 echoing it (as some providers do)."""
            if server.required_key is None or self._key() == server.required_key:
                return False
            echoed = self._key() if server.echo_key_in_errors else "..."
            self._error(401, f"Incorrect API key provided: {echoed}", self.path.startswith("/v1/messages"))
            return True

        # --------------------------------------------------------- routes
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            with server.lock:
                server.hits[f"POST {self.path}"] += 1
                server.auth_headers.append(self._key())
            raw = self._body()
            if self._refused():
                return None
            if self.path in ("/v1/chat/completions", "/v1/messages"):
                return self._chat(json.loads(raw), anthropic=self.path == "/v1/messages")
            if self.path == "/v1/files":
                return self._upload(raw)
            if self.path == "/v1/batches":
                return self._openai_batch_create(json.loads(raw))
            if self.path == "/v1/messages/batches":
                return self._anthropic_batch_create(json.loads(raw))
            self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_GET(self) -> None:  # noqa: N802
            with server.lock:
                server.hits[f"GET {self.path}"] += 1
            if self._refused():
                return None
            parts = self.path.strip("/").split("/")
            if parts[:2] == ["v1", "files"] and len(parts) == 4:
                return self._send(200, server.files[parts[2]], content_type="application/octet-stream")
            if parts[:2] == ["v1", "batches"] and len(parts) == 3:
                return self._send(200, self._poll(parts[2], anthropic=False))
            if parts[:3] == ["v1", "messages", "batches"] and len(parts) == 4:
                return self._send(200, self._poll(parts[3], anthropic=True))
            if parts[:3] == ["v1", "messages", "batches"] and len(parts) == 5:
                return self._send(200, server.batches[parts[3]]["results"], content_type="application/x-jsonl")
            self._send(404, {"error": {"message": f"no route {self.path}"}})

        def _chat(self, request: dict[str, Any], anthropic: bool) -> None:
            with server.lock:
                server.requests.append(request)
                server.models[str(request.get("model"))] += 1
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                self._chat_reply(request, anthropic)
            finally:
                with server.lock:
                    server.in_flight -= 1

        def _chat_reply(self, request: dict[str, Any], anthropic: bool) -> None:
            prompt = request["messages"][-1]["content"]
            if server.latency:
                time.sleep(server.latency)
            fault = server.next_fault(prompt)
            if fault is not None and self._fault(fault, anthropic):
                return
            reply = server.answer_for(prompt)
            model = request["model"]
            if self._send(200, _anthropic_message(model, prompt, reply) if anthropic
                          else _openai_completion(model, prompt, reply)):
                with server.lock:
                    server.answered += 1

        def _fault(self, fault: tuple[Any, ...], anthropic: bool) -> bool:
            """Act out one fault; True when the request has been answered (or dropped) by it."""
            kind = fault[0]
            if kind == "429":
                self._error(429, "rate limited", anthropic, {"Retry-After": str(fault[1])})
            elif kind == "429-ms":
                self._error(429, "rate limited", anthropic, {"retry-after-ms": str(fault[1])})
            elif kind == "429-date":
                when = email.utils.formatdate(time.time() + fault[1], usegmt=True)
                self._error(429, "rate limited", anthropic, {"Retry-After": when})
            elif kind in ("408", "409", "500", "403"):
                self._error(int(kind), f"fault {kind}", anthropic)
            elif kind == "401":
                echoed = self._key() if server.echo_key_in_errors else "..."
                self._error(401, f"Incorrect API key provided: {echoed}", anthropic)
            elif kind == "malformed":
                self._send(200, b'{"choices": [ this is not json')
            elif kind == "wrong-shape":
                self._send(200, {"result": "positive", "choices": [], "content": None})
            elif kind == "reset":
                self._reset_mid_response()
            elif kind == "slow":
                time.sleep(fault[1])
                return False
            return True

        def _reset_mid_response(self) -> None:
            """Promise a body, send half of it, then abort the connection with a TCP RST."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "400")
            self.end_headers()
            self.wfile.write(b'{"id": "chatcmpl-reset", "choices": [{"index": 0, "mess')
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        # ------------------------------------------------------ batches
        def _upload(self, raw: bytes) -> None:
            head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
            message = email.parser.BytesParser().parsebytes(head + raw)
            content = next(p.get_payload(decode=True) for p in message.get_payload() if p.get_filename())
            file_id = server.new_id("file")
            server.files[file_id] = content
            self._send(200, {"id": file_id, "object": "file", "bytes": len(content), "created_at": 0,
                             "filename": "input.jsonl", "purpose": "batch", "status": "processed"})

        def _batch_rows(self, items: list[tuple[str, str, str]], anthropic: bool) -> tuple[list[Any], list[Any]]:
            """(answered rows, error rows) for ``(custom_id, prompt, model)`` items, per ``batch_end``."""
            ok, errors = [], []
            unanswered = {"expired": "expired", "cancelled": "canceled"}.get(server.batch_end)
            for index, (custom_id, prompt, model) in enumerate(items):
                fault = server.fault_for.get(server.transcript_of(prompt))
                reply = server.answer_for(prompt)
                if unanswered and server.batch_partial is not None and index >= server.batch_partial:
                    if anthropic:
                        errors.append({"custom_id": custom_id, "result": {"type": unanswered}})
                    else:
                        errors.append({"id": "r", "custom_id": custom_id, "response": None, "error": {
                            "code": f"batch_{server.batch_end}", "message": f"request {server.batch_end}"}})
                elif fault and fault[0] == "500":
                    errors.append({"custom_id": custom_id, "result": {"type": "errored", "error": {
                        "type": "error", "error": {"type": "api_error", "message": "internal error"}}}}
                                  if anthropic else
                                  {"id": "r", "custom_id": custom_id, "response": {
                                      "status_code": 500, "request_id": "r",
                                      "body": {"error": {"message": "internal error"}}}, "error": None})
                else:
                    ok.append({"custom_id": custom_id, "result": {
                        "type": "succeeded", "message": _anthropic_message(model, prompt, reply)}} if anthropic else
                        {"id": "r", "custom_id": custom_id, "response": {
                            "status_code": 200, "request_id": "r",
                            "body": _openai_completion(model, prompt, reply)}, "error": None})
            return ok, errors

        def _store_file(self, rows: list[Any]) -> str | None:
            if not rows:
                return None
            file_id = server.new_id("file")
            server.files[file_id] = "\n".join(json.dumps(r) for r in rows).encode()
            return file_id

        def _openai_batch_create(self, request: dict[str, Any]) -> None:
            lines = [json.loads(x) for x in server.files[request["input_file_id"]].decode().splitlines() if x]
            ok, errors = self._batch_rows([(x["custom_id"], x["body"]["messages"][-1]["content"], x["body"]["model"])
                                           for x in lines], anthropic=False)
            batch_id = server.new_id("batch")
            server.batches[batch_id] = {"polls": 0, "n": len(lines), "answered": len(ok),
                                        "output": self._store_file(ok), "errors": self._store_file(errors),
                                        "input": request["input_file_id"]}
            self._send(200, self._poll(batch_id, anthropic=False, count=False))

        def _anthropic_batch_create(self, request: dict[str, Any]) -> None:
            ok, errors = self._batch_rows([(r["custom_id"], r["params"]["messages"][-1]["content"],
                                            r["params"]["model"]) for r in request["requests"]], anthropic=True)
            batch_id = server.new_id("msgbatch")
            server.batches[batch_id] = {"polls": 0, "n": len(ok) + len(errors), "answered": len(ok),
                                        "results": "\n".join(json.dumps(r) for r in ok + errors).encode()}
            self._send(200, self._poll(batch_id, anthropic=True, count=False))

        def _poll(self, batch_id: str, anthropic: bool, count: bool = True) -> dict[str, Any]:
            batch = server.batches[batch_id]
            if count:
                batch["polls"] += 1
            done = not server.hold_batches and batch["polls"] >= server.polls_to_complete
            if done and not batch.get("charged"):
                batch["charged"] = True
                with server.lock:
                    server.answered += batch["answered"]
            if anthropic:
                n = batch["n"]
                return {"id": batch_id, "type": "message_batch",
                        "processing_status": "ended" if done else "in_progress",
                        "request_counts": {"processing": 0 if done else n, "succeeded": n if done else 0,
                                           "errored": 0, "canceled": 0, "expired": 0},
                        "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z",
                        "ended_at": "2026-01-01T00:01:00Z" if done else None, "archived_at": None,
                        "cancel_initiated_at": None,
                        "results_url": f"{server.url}/v1/messages/batches/{batch_id}/results" if done else None}
            status = server.batch_end if done else "in_progress"
            return {"id": batch_id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
                    "input_file_id": batch["input"], "completion_window": "24h", "status": status, "created_at": 0,
                    "output_file_id": batch["output"] if done else None,
                    "error_file_id": batch["errors"] if done else None,
                    "request_counts": {"total": batch["n"], "completed": batch["answered"] if done else 0,
                                       "failed": batch["n"] - batch["answered"] if done else 0}}

    return Handler


class ERCServer(LLMServer):
    """Answers ``llm-erc`` prompts by a rule over the target utterance (either template): the first keyword of
    ``rules`` the target contains gives the answer, a ``garbage`` keyword an unparsable reply, else
    ``default_answer``. ``targets`` counts how often each target was asked."""

    def __init__(self, rules: dict[str, str], garbage: tuple[str, ...] = (), latency: float = 0.0,
                 default_answer: str = "neutral") -> None:
        super().__init__(latency=latency, default_answer=default_answer)
        self.rules, self.garbage = rules, garbage
        self.targets: Counter[str] = Counter()

    def transcript_of(self, prompt: str) -> str:  # the target utterance's text
        for start, end in (('emotional label of <', '> from <'), ('in the utterance "', '". Select')):
            if start in prompt:
                target = prompt.split(start, 1)[1].split(end, 1)[0]
                return target.split(':"', 1)[1][:-1] if start.endswith("<") else target
        return prompt

    def answer_for(self, prompt: str) -> str:
        target = self.transcript_of(prompt)
        with self.lock:
            self.targets[target] += 1
        lowered = target.lower()
        if any(word in lowered for word in self.garbage):
            return "It is hard to say; maybe sad, maybe angry."
        return next((answer for word, answer in self.rules.items() if word in lowered), self.default_answer)
