"""The hosted-LLM labellers: OpenAI (and compatible servers), Anthropic, Together.

Each class maps the shared policy in ``llm.LLMLabeller`` onto one official SDK:
its client (built with ``max_retries=0`` so retries are ours), one chat request
at temperature 0, and - for OpenAI and Anthropic - the batch API. SDKs are
imported inside methods so discovering plugins stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from erc_bench import require
from erc_bench_labellers.batch import BatchRow
from erc_bench_labellers.llm import LLMLabeller, LLMParams
from erc_bench_labellers.prompting import Prompt, chat_messages
from erc_bench_labellers.retry import MalformedResponse

_MESSAGE_SHAPE_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError)


def _chat_answer(body: Any) -> tuple[str, int, int]:
    """Answer text and token usage of an OpenAI-style chat completion (object or dict)."""
    get = (lambda o, k: o.get(k)) if isinstance(body, dict) else getattr
    try:
        choices = get(body, "choices")
        message = get(choices[0], "message")
        content = get(message, "content")
        if not isinstance(content, str):
            raise ValueError("no message content")
        usage = get(body, "usage")
        p_tok = int(get(usage, "prompt_tokens") or 0) if usage is not None else 0
        c_tok = int(get(usage, "completion_tokens") or 0) if usage is not None else 0
    except _MESSAGE_SHAPE_ERRORS as exc:
        raise MalformedResponse(f"unexpected chat completion body ({type(exc).__name__})") from None
    return content, p_tok, c_tok


def _checked_call(fn: Any) -> Any:
    """Run an SDK call, turning an undecodable body into MalformedResponse (which is retried)."""
    try:
        return fn()
    except json.JSONDecodeError as exc:
        raise MalformedResponse(f"body is not JSON ({exc.msg})") from None


# --------------------------------------------------------------------------- OpenAI


class OpenAIParams(LLMParams):
    model: str = "gpt-3.5-turbo"
    api_key_env: str = Field("OPENAI_API_KEY", description="'' sends a placeholder key (local servers)")


class OpenAILabeller(LLMLabeller):
    """Chat completions via the ``openai`` SDK; ``base_url`` reaches vLLM, Ollama, llama.cpp servers."""

    name = "openai"
    Params = OpenAIParams

    def _make_client(self, api_key: str) -> Any:
        openai = require("openai", "llm", "the OpenAI labeller")

        return openai.OpenAI(api_key=api_key, base_url=self.params.base_url, timeout=self.params.timeout,
                             max_retries=0)

    def _body(self, prompt: Prompt) -> dict[str, Any]:
        return {"model": self.params.model, "messages": chat_messages(prompt),
                "temperature": 0, "max_tokens": self.params.max_tokens}

    def _request(self, client: Any, prompt: Prompt) -> tuple[str, int, int]:
        return _chat_answer(_checked_call(lambda: client.chat.completions.create(**self._body(prompt))))

    def _batch_submit(self, client: Any, items: list[tuple[str, Prompt]]) -> str:
        lines = [json.dumps({"custom_id": key, "method": "POST", "url": "/v1/chat/completions",
                             "body": self._body(prompt)}) for key, prompt in items]
        upload = client.files.create(file=("erc-bench-labels.jsonl", "\n".join(lines).encode()), purpose="batch")
        batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                      completion_window="24h", metadata={"source": "erc-bench"})
        return str(batch.id)

    def _batch_state(self, client: Any, batch_id: str) -> str:
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("validating", "in_progress", "finalizing"):
            return "running"
        if batch.status == "completed" or (batch.status in ("expired", "cancelled") and batch.output_file_id):
            return "ended"  # an expired batch still delivers what it finished
        return str(batch.status)

    def _batch_results(self, client: Any, batch_id: str) -> Iterator[BatchRow]:
        batch = client.batches.retrieve(batch_id)
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            for line in client.files.content(file_id).text.splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                response = row.get("response") or {}
                if response.get("status_code") == 200:
                    try:
                        yield (row["custom_id"], *_chat_answer(response.get("body") or {}), None)
                    except MalformedResponse as exc:
                        yield row["custom_id"], None, 0, 0, str(exc)
                else:
                    error = row.get("error") or (response.get("body") or {}).get("error") or {}
                    message = error.get("message") if isinstance(error, dict) else str(error)
                    yield row["custom_id"], None, 0, 0, f"HTTP {response.get('status_code')}: {message}"


# ------------------------------------------------------------------------ Anthropic


class AnthropicParams(LLMParams):
    model: str = "claude-haiku-4-5"
    api_key_env: str = "ANTHROPIC_API_KEY"
    batch_max_requests: int = Field(100_000, ge=1)
    send_temperature: bool = Field(True, description="send temperature 0; false for models that reject it")


class AnthropicLabeller(LLMLabeller):
    """Messages API and Message Batches via the ``anthropic`` SDK."""

    name = "anthropic"
    Params = AnthropicParams

    def _make_client(self, api_key: str) -> Any:
        anthropic = require("anthropic", "llm", "the Anthropic labeller")

        return anthropic.Anthropic(api_key=api_key, base_url=self.params.base_url, timeout=self.params.timeout,
                                   max_retries=0)

    def _body(self, prompt: Prompt) -> dict[str, Any]:
        messages = chat_messages(prompt)
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        body: dict[str, Any] = {"model": self.params.model, "max_tokens": self.params.max_tokens,
                                "messages": [m for m in messages if m["role"] != "system"]}
        if system:  # the Messages API takes the system prompt beside the messages, not as one of them
            body["system"] = system
        if self.params.send_temperature:
            body["temperature"] = 0
        return body

    @staticmethod
    def _answer(message: Any) -> tuple[str, int, int]:
        try:
            text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
            return text, int(message.usage.input_tokens or 0), int(message.usage.output_tokens or 0)
        except _MESSAGE_SHAPE_ERRORS as exc:
            raise MalformedResponse(f"unexpected message body ({type(exc).__name__})") from None

    def _request(self, client: Any, prompt: Prompt) -> tuple[str, int, int]:
        body = self._body(prompt)
        extra = {"temperature": body.pop("temperature")} if "temperature" in body else None
        # this SDK version no longer types ``temperature``; the Messages API still accepts it in the body
        return self._answer(_checked_call(lambda: client.messages.create(**body, extra_body=extra)))

    def _batch_submit(self, client: Any, items: list[tuple[str, Prompt]]) -> str:
        requests = [{"custom_id": key, "params": self._body(prompt)} for key, prompt in items]
        return str(client.messages.batches.create(requests=requests).id)

    def _batch_state(self, client: Any, batch_id: str) -> str:
        status = client.messages.batches.retrieve(batch_id).processing_status
        return "ended" if status == "ended" else "running"

    def _batch_results(self, client: Any, batch_id: str) -> Iterator[BatchRow]:
        for row in client.messages.batches.results(batch_id):
            result = row.result
            if result.type == "succeeded":
                try:
                    yield (row.custom_id, *self._answer(result.message), None)
                except MalformedResponse as exc:
                    yield row.custom_id, None, 0, 0, str(exc)
            elif result.type == "errored":
                yield row.custom_id, None, 0, 0, f"errored: {getattr(result.error, 'error', result.error)}"
            else:
                yield row.custom_id, None, 0, 0, f"request {result.type}"


# ------------------------------------------------------------------------- Together


class TogetherParams(LLMParams):
    model: str = Field("meta-llama/Llama-3-8b-chat-hf",
                       description="e.g. meta-llama/Llama-3-8b-chat-hf, mistralai/Mixtral-8x7B-Instruct-v0.1")
    api_key_env: str = "TOGETHER_API_KEY"
    mode: Literal["online"] = "online"


class TogetherLabeller(LLMLabeller):
    """Chat completions via the ``together`` SDK; online only. ``base_url`` is the host (the SDK adds /v1)."""

    name = "together"
    Params = TogetherParams
    supports_batch = False

    def _make_client(self, api_key: str) -> Any:
        together = require("together", "llm", "the Together labeller")

        return together.Together(api_key=api_key, base_url=self.params.base_url, timeout=self.params.timeout,
                                 max_retries=0)

    def _request(self, client: Any, prompt: Prompt) -> tuple[str, int, int]:
        response = _checked_call(lambda: client.chat.completions.create(
            model=self.params.model, messages=chat_messages(prompt), temperature=0,
            max_tokens=self.params.max_tokens))
        return _chat_answer(response)
