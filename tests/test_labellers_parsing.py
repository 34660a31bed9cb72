"""Answer parsing, prompt rendering, retry policy and the SQLite label store (no network)."""

from __future__ import annotations

import threading

import pytest
from erc_bench_labellers.prompting import DEFAULT_PROMPT, check_template, parse_answer, render_prompt
from erc_bench_labellers.retry import MalformedResponse, RetriesExhausted, RetryPolicy
from erc_bench_labellers.store import LabelStore, label_key

from erc_bench.core.interfaces import LabelOutcome


@pytest.mark.parametrize("answer, label", [
    ("positive", "positive"), ("Positive.", "positive"), ("I think it is neutral", "neutral"),
    ("NEGATIVE sentiment", "negative"), ('{"sentiment": "positive"}', "positive"),
    ('```json\n{"Label": "Negative"}\n```', "negative"), ("  neutral!\n", "neutral"),
])
def test_answers_with_one_label_parse(answer: str, label: str) -> None:
    assert parse_answer(answer) == LabelOutcome(label, "ok", raw=answer.strip())


@pytest.mark.parametrize("answer", ["", "   ", "positive or negative", "I cannot tell", "positively",
                                    '{"sentiment": "mixed"}', "Positive, negative and neutral"])
def test_answers_without_a_single_label_are_unparsable(answer: str) -> None:
    outcome = parse_answer(answer)
    assert outcome.status == "unparsable" and outcome.label is None and outcome.detail


def test_prompt_template_needs_placeholder_and_keeps_braces() -> None:
    with pytest.raises(ValueError, match="transcript"):
        check_template("Classify this.")
    assert render_prompt('Reply as {"sentiment": x}. {transcript}', " hi ") == 'Reply as {"sentiment": x}. hi'
    assert "exactly one word" in DEFAULT_PROMPT and "{transcript}" in DEFAULT_PROMPT


class _Status(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"status {status}")
        self.status_code = status
        self.response = type("R", (), {"headers": headers or {}})()


def test_retry_policy_backs_off_exponentially_and_honours_retry_after() -> None:
    slept: list[float] = []
    errors = iter([_Status(500), _Status(503), _Status(429, {"retry-after": "7"}), MalformedResponse("x")])

    def flaky() -> str:
        err = next(errors, None)
        if err is not None:
            raise err
        return "ok"

    policy = RetryPolicy(max_retries=5, base_delay=0.5, jitter=0.0, sleep=slept.append)
    assert policy.call(flaky) == "ok"
    assert slept == [0.5, 1.0, 7.0, 4.0]


def test_retry_policy_gives_up_on_client_errors_and_redacts() -> None:
    policy = RetryPolicy(max_retries=3, secrets=["sk-secret-123"], sleep=lambda s: None)

    def unauthorised() -> None:
        raise _Status(401)

    with pytest.raises(RetriesExhausted) as info:
        policy.call(unauthorised)
    assert info.value.attempts == 1
    policy_exhaust = RetryPolicy(max_retries=2, sleep=lambda s: None, secrets=["sk-secret-123"])

    def leaky() -> None:
        raise TimeoutError("timed out for key sk-secret-123")

    with pytest.raises(RetriesExhausted) as info:
        policy_exhaust.call(leaky)
    assert info.value.attempts == 3 and "sk-secret-123" not in info.value.reason and "***" in info.value.reason


def test_label_store_round_trip_skips_failures_and_survives_concurrent_writers(tmp_path) -> None:
    path = tmp_path / "labels.sqlite"
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            store = LabelStore(path)
            for i in range(50):
                ok = LabelOutcome("positive", "ok", "positive")
                rows = [(label_key("p", "m", "t", f"{worker}-{i}-{j}"), ok, 3, 1) for j in range(5)]
                store.put_many("p", "m", rows)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    store = LabelStore(path)
    keys = [label_key("p", "m", "t", f"{w}-{i}-{j}") for w in range(4) for i in range(50) for j in range(5)]
    assert len(store.get_many(keys)) == 1000
    failed = label_key("p", "m", "t", "failed")
    store.put_many("p", "m", [(failed, LabelOutcome(None, "failed", detail="HTTP 500"), 0, 0)])
    assert store.get_many([failed]) == {}
    store.add_batch("b1", "openai", "scope", 3)
    assert store.open_batches("openai", "scope") == ["b1"]
    store.close_batch("b1")
    assert store.open_batches("openai", "scope") == []


def test_discovering_labellers_imports_no_sdk_or_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, erc_bench_labellers.hooks; "
            "print([m for m in ('torch', 'transformers', 'openai', 'anthropic', 'together', 'vaderSentiment') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
