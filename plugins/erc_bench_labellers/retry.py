"""Retry policy for LLM calls: our own, so it is testable and the same for every SDK.

The SDKs' built-in retries are switched off (``max_retries=0``); this module
retries rate limits (429), server errors (5xx), 408/409, timeouts, dropped
connections and malformed bodies, with exponential backoff, and honours a
``Retry-After`` (or ``retry-after-ms``) header when the server sends one.
Anything else (401, 400, ...) fails at once: retrying would not help.
Error text is passed through ``redact`` so a key echoed by a server never
reaches a log or an exception.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from erc_bench import UserError
from erc_bench import redact_secrets as redact_spec_secrets

T = TypeVar("T")

_RETRY_STATUS = {408, 409, 429}
AUTH_STATUS = {401, 403}
MAX_SERVER_DELAY = 600.0
_TRANSIENT_TYPES = {"APITimeoutError", "APIConnectionError", "ReadTimeout", "ConnectTimeout", "TimeoutException",
                    "RemoteProtocolError"}


class AuthenticationFailed(UserError):
    """The provider refused the key (401/403): labelling stops at once instead of sending every request."""


class MalformedResponse(Exception):
    """The server answered 2xx but the body is not the shape the provider documents."""


class RetriesExhausted(Exception):
    """Every attempt failed; ``reason`` says why (redacted)."""

    def __init__(self, reason: str, attempts: int, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.attempts, self.status = reason, attempts, status

    @property
    def is_authentication(self) -> bool:
        """401/403: the key is wrong or lacks access; every further request would fail the same way."""
        return self.status in AUTH_STATUS


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _retry_after_seconds(headers: object) -> float | None:
    get = getattr(headers, "get", None)
    if get is None:
        return None
    millis = get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000.0, 0.0)
        except ValueError:
            pass
    value = get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


def classify(exc: BaseException) -> tuple[bool, float | None, str]:
    """(retryable, server-requested delay, short reason) for an exception raised by an SDK call."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        delay = _retry_after_seconds(getattr(response, "headers", None))
        message = getattr(exc, "message", None) or str(exc)
        retryable = status in _RETRY_STATUS or status >= 500
        return retryable, delay, f"HTTP {status}: {message}"[:300]
    name = type(exc).__name__
    if isinstance(exc, MalformedResponse) or name == "APIResponseValidationError":
        return True, None, f"malformed response: {exc}"[:300]
    if name in _TRANSIENT_TYPES or isinstance(exc, (TimeoutError, ConnectionError)):
        return True, None, f"{name}: {exc}"[:300]
    return False, None, f"{name}: {exc}"[:300]


@dataclass
class RetryPolicy:
    max_retries: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 0.1
    secrets: list[str] = field(default_factory=list, repr=False)
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, server_delay: float | None) -> float:
        backoff = min(self.base_delay * 2**attempt, self.max_delay)
        backoff *= 1 + random.uniform(0, self.jitter)
        if server_delay is not None:  # the server knows best; cap only absurd values
            return min(server_delay, MAX_SERVER_DELAY)
        return backoff

    def call(self, fn: Callable[[], T], on_retry: Callable[[str], None] | None = None) -> T:
        """Call ``fn`` until it succeeds, a non-retryable error occurs, or retries run out."""
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - classified below; unknown errors fail without retry
                retryable, server_delay, reason = classify(exc)
                reason = redact_spec_secrets(redact(reason, self.secrets))
                if not retryable or attempt >= self.max_retries:
                    status = getattr(exc, "status_code", None)
                    raise RetriesExhausted(reason, attempt + 1, status if isinstance(status, int) else None) from None
                if on_retry is not None:
                    on_retry(reason)
                self.sleep(self.delay(attempt, server_delay))
                attempt += 1
