"""Shared machinery of the hosted-LLM labellers (openai, anthropic, together).

Params common to all three live in ``LLMParams``; a provider module subclasses
``LLMLabeller`` and supplies the client and the request/response mapping. The
policy - temperature 0, one prompt template, our own retries (the SDK's are
disabled with ``max_retries=0``), bounded concurrency, the SQLite cache - lives
here once. API keys come only from the environment variable named by
``api_key_env``; they are never stored on the params, so a params repr, a log
line or an MLflow param cannot contain one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from erc_bench import LabelOutcome, SecretError
from erc_bench_labellers.base import CachedLabeller, Computed, log
from erc_bench_labellers.batch import run_batches
from erc_bench_labellers.prompting import DEFAULT_PROMPT, Prompt, check_template
from erc_bench_labellers.retry import AuthenticationFailed, RetriesExhausted, RetryPolicy

# AuthenticationFailed: where callers catch it
__all__ = ["AuthenticationFailed", "ClientParams", "LLMLabeller", "LLMParams"]

NO_KEY_PLACEHOLDER = "not-needed"
"""Sent as the key when ``api_key_env = ""``: for local OpenAI-compatible servers (vLLM, Ollama, llama.cpp)."""


class ClientParams(BaseModel):
    """How requests are sent (endpoint, key, online or batch, concurrency, retries, store): shared by the
    hosted-LLM labellers and the ``llm-erc`` system. Secrets are named (``api_key_env``), never given."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(None, description="another endpoint speaking the provider's wire format")
    api_key_env: str = Field("", description="environment variable holding the key; '' = no key (local servers)")
    mode: Literal["online", "batch"] = "online"
    concurrency: int = Field(8, ge=1, le=256)
    max_retries: int = Field(5, ge=0)
    retry_base_delay: float = Field(1.0, ge=0)
    retry_max_delay: float = Field(60.0, gt=0)
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    max_tokens: int = Field(16, ge=1)
    cache_path: str | None = Field(None, description="SQLite label cache; default <cache dir>/labels.sqlite")
    batch_poll_interval: float = Field(30.0, gt=0)
    batch_max_wait: float | None = Field(None, gt=0, description="seconds to wait for a batch; rerun resumes")
    batch_max_requests: int = Field(50_000, ge=1)


class LLMParams(ClientParams):
    """Params shared by the hosted-LLM labellers: the client's, the model and the prompt."""

    model: str
    prompt: str = Field(DEFAULT_PROMPT, description="template containing {transcript}")

    @field_validator("prompt")
    @classmethod
    def _prompt_has_placeholder(cls, value: str) -> str:
        return check_template(value)


class LLMLabeller(CachedLabeller):
    """Online (thread pool) and batch labelling through one provider SDK."""

    Params: ClassVar[type[LLMParams]]
    default_key_env: str = ""
    supports_batch: bool = True

    def __init__(self, params: LLMParams) -> None:
        super().__init__(params)
        self.params: LLMParams = params
        self.batch_billing = params.mode == "batch"
        self._client: Any = None
        self._lock = threading.Lock()

    def label_chunk(self, total: int) -> int:
        """A provider batch takes every text in one submission (one wait); online work uses the engine's chunk."""
        from erc_bench import LABEL_CHUNK

        return max(total, 1) if self.params.mode == "batch" else LABEL_CHUNK

    # ------------------------------------------------------------- secrets
    def _api_key(self) -> str:
        env = self.params.api_key_env
        if env == "":
            return NO_KEY_PLACEHOLDER
        value = os.environ.get(env, "").strip()
        if not value:
            raise SecretError(f"the {self.name} labeller needs an API key: set the environment variable {env} "
                              f"(or point params.api_key_env at another variable)")
        return value

    def check_ready(self) -> None:
        """Fail fast before any expensive step runs: a missing key (SecretError naming the variable) or a
        missing SDK (MissingExtra naming the extra). Building the client sends no request."""
        self.client()

    def retry_policy(self) -> RetryPolicy:
        key = self._api_key()
        return RetryPolicy(self.params.max_retries, self.params.retry_base_delay, self.params.retry_max_delay,
                           secrets=[key] if key != NO_KEY_PLACEHOLDER else [])

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._make_client(self._api_key())
            return self._client

    # ------------------------------------------------------- provider hooks
    def _make_client(self, api_key: str) -> Any:
        raise AttributeError(f"{type(self).__name__} must define _make_client")

    def _request(self, client: Any, prompt: Prompt) -> tuple[str, int, int]:
        """One request: (answer text, prompt tokens, completion tokens); MalformedResponse on a bad body."""
        raise AttributeError(f"{type(self).__name__} must define _request")

    # ---------------------------------------------------------------- flow
    def _compute(self, pending: list[tuple[str, Prompt]]) -> Iterator[Computed]:
        if not pending:
            return
        if self.params.mode == "batch":
            yield from run_batches(self, pending)
            return
        client, policy = self.client(), self.retry_policy()
        stop = threading.Event()
        refused: list[RetriesExhausted] = []
        with ThreadPoolExecutor(max_workers=self.params.concurrency, thread_name_prefix=f"label-{self.name}") as pool:
            futures = {pool.submit(self._label_one, client, policy, prompt, stop): key for key, prompt in pending}
            try:
                for future in as_completed(futures):
                    result = future.result()
                    if isinstance(result, RetriesExhausted):  # auth refused: stop sending, keep what came back
                        refused.append(result)
                    elif result is not None:
                        yield futures[future], *result
            finally:
                for future in futures:
                    future.cancel()
        if refused:
            raise AuthenticationFailed(self._auth_message(refused[0]))

    def _auth_message(self, exc: RetriesExhausted) -> str:
        env = self.params.api_key_env
        where = f"check the key in ${env}" if env else "this server wants a key: set params.api_key_env"
        return f"{self.name} labeller: the provider refused the API key ({exc.reason}); labelling stopped; {where}"

    def _note_retry(self, reason: str) -> None:
        with self._lock:
            self.usage.retries += 1
        log.warning("%s: retrying after %s", self.name, reason)

    def _label_one(self, client: Any, policy: RetryPolicy, prompt: Prompt, stop: threading.Event,
                   ) -> tuple[LabelOutcome, int, int] | RetriesExhausted | None:
        """One request; None when labelling was stopped before it was sent, the error itself on 401/403."""
        if stop.is_set():
            return None
        try:
            raw, p_tok, c_tok = policy.call(lambda: self._request(client, prompt), on_retry=self._note_retry)
        except RetriesExhausted as exc:
            if exc.is_authentication:
                stop.set()  # here, not in the consumer: the next queued request must not start
                return exc
            log.warning("%s: giving up after %d attempt(s): %s", self.name, exc.attempts, exc.reason)
            return LabelOutcome(None, "failed", detail=f"{exc.reason} (after {exc.attempts} attempt(s))"), 0, 0
        with self._lock:
            self.usage.requests += 1
        return self.parse_raw(raw), p_tok, c_tok

    def _account(self, prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:
            super()._account(prompt_tokens, completion_tokens)
