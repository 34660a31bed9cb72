"""Real HTTP servers on 127.0.0.1 speaking the LLM providers' wire formats.

One ``LLMServer`` answers OpenAI chat completions + files + batches, Together
chat completions (same shape) and Anthropic messages + message batches, so the
tests and the perf benchmark drive the official SDK clients end to end. The
reply to a prompt is looked up by its transcript in ``answers``; faults are
injected per request (``faults``, consumed in order) or per transcript
(``fault_for``, every time).
"""

from __future__ import annotations

import email.parser
import json
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
        self.auth_headers: list[str] = []
        self.hold_batches = False
        self.in_flight = 0
        self.max_in_flight = 0
        self.polls_to_complete = 1
        self.echo_key_in_errors = True
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
                  content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _error(self, status: int, message: str, anthropic: bool, headers: dict[str, str] | None = None) -> None:
            kind = {429: "rate_limit_error", 401: "authentication_error"}.get(status, "api_error")
            body = ({"type": "error", "error": {"type": kind, "message": message}} if anthropic
                    else {"error": {"message": message, "type": kind, "code": None}})
            self._send(status, body, headers)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _key(self) -> str:
            auth = self.headers.get("Authorization") or ""
            return self.headers.get("x-api-key") or auth.removeprefix("Bearer ")

        # --------------------------------------------------------- routes
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            with server.lock:
                server.hits[f"POST {self.path}"] += 1
                server.auth_headers.append(self._key())
            raw = self._body()
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
            if fault is not None:
                if fault[0] == "429":
                    return self._error(429, "rate limited", anthropic, {"Retry-After": str(fault[1])})
                if fault[0] == "500":
                    return self._error(500, "internal error", anthropic)
                if fault[0] == "401":
                    echoed = self._key() if server.echo_key_in_errors else "..."
                    return self._error(401, f"Incorrect API key provided: {echoed}", anthropic)
                if fault[0] == "slow":
                    time.sleep(fault[1])
                if fault[0] == "malformed":
                    return self._send(200, b'{"choices": [ this is not json')
            reply = server.answer_for(prompt)
            model = request["model"]
            self._send(200, _anthropic_message(model, prompt, reply) if anthropic
                       else _openai_completion(model, prompt, reply))

        # ------------------------------------------------------ batches
        def _upload(self, raw: bytes) -> None:
            head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
            message = email.parser.BytesParser().parsebytes(head + raw)
            content = next(p.get_payload(decode=True) for p in message.get_payload() if p.get_filename())
            file_id = server.new_id("file")
            server.files[file_id] = content
            self._send(200, {"id": file_id, "object": "file", "bytes": len(content), "created_at": 0,
                             "filename": "input.jsonl", "purpose": "batch", "status": "processed"})

        def _result_for(self, custom_id: str, prompt: str, model: str, anthropic: bool) -> dict[str, Any]:
            fault = server.fault_for.get(server.transcript_of(prompt))
            reply = server.answer_for(prompt)
            if anthropic:
                if fault and fault[0] == "500":
                    return {"custom_id": custom_id, "result": {"type": "errored", "error": {
                        "type": "error", "error": {"type": "api_error", "message": "internal error"}}}}
                return {"custom_id": custom_id,
                        "result": {"type": "succeeded", "message": _anthropic_message(model, prompt, reply)}}
            if fault and fault[0] == "500":
                return {"id": "r", "custom_id": custom_id, "response": {"status_code": 500, "request_id": "r",
                        "body": {"error": {"message": "internal error"}}}, "error": None}
            return {"id": "r", "custom_id": custom_id, "response": {
                "status_code": 200, "request_id": "r", "body": _openai_completion(model, prompt, reply)}, "error": None}

        def _openai_batch_create(self, request: dict[str, Any]) -> None:
            lines = [json.loads(x) for x in server.files[request["input_file_id"]].decode().splitlines() if x]
            results = [self._result_for(x["custom_id"], x["body"]["messages"][-1]["content"], x["body"]["model"],
                                        False) for x in lines]
            batch_id, out_id = server.new_id("batch"), server.new_id("file")
            server.files[out_id] = "\n".join(json.dumps(r) for r in results).encode()
            server.batches[batch_id] = {"polls": 0, "n": len(lines), "output": out_id,
                                        "input": request["input_file_id"]}
            self._send(200, self._poll(batch_id, anthropic=False, count=False))

        def _anthropic_batch_create(self, request: dict[str, Any]) -> None:
            results = [self._result_for(r["custom_id"], r["params"]["messages"][-1]["content"], r["params"]["model"],
                                        True) for r in request["requests"]]
            batch_id = server.new_id("msgbatch")
            server.batches[batch_id] = {"polls": 0, "n": len(results),
                                        "results": "\n".join(json.dumps(r) for r in results).encode()}
            self._send(200, self._poll(batch_id, anthropic=True, count=False))

        def _poll(self, batch_id: str, anthropic: bool, count: bool = True) -> dict[str, Any]:
            batch = server.batches[batch_id]
            if count:
                batch["polls"] += 1
            done = not server.hold_batches and batch["polls"] >= server.polls_to_complete
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
            return {"id": batch_id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
                    "input_file_id": batch["input"], "completion_window": "24h",
                    "status": "completed" if done else "in_progress", "created_at": 0,
                    "output_file_id": batch["output"] if done else None, "error_file_id": None,
                    "request_counts": {"total": batch["n"], "completed": batch["n"] if done else 0, "failed": 0}}

    return Handler
