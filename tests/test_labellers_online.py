"""Online labelling through the official SDKs against a real loopback HTTP server."""

from __future__ import annotations

import logging
import time

import pytest
from erc_bench_labellers.llm import AuthenticationFailed
from llm_servers import LLMServer

from erc_bench.core.errors import SecretError
from erc_bench.core.plugin_host import build

KEY_ENV = "ERC_TEST_LLM_KEY"
KEY = "sk-loopback-secret-0123456789"
ODD_ANSWERS = {"great day": "Positive.", "it is tuesday": "I think it is neutral", "awful": "NEGATIVE sentiment",
               "silence": "", "json please": '{"sentiment": "positive"}', "torn": "positive or negative"}
EXPECTED = {"great day": ("positive", "ok"), "it is tuesday": ("neutral", "ok"), "awful": ("negative", "ok"),
            "silence": (None, "unparsable"), "json please": ("positive", "ok"), "torn": (None, "unparsable")}
PROVIDERS = ["openai", "anthropic", "together"]


@pytest.fixture()
def server():
    with LLMServer() as srv:
        srv.answers = dict(ODD_ANSWERS)
        yield srv


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


def base_url(server: LLMServer, provider: str) -> str:
    return server.url + "/v1" if provider == "openai" else server.url


def make(provider: str, server: LLMServer, tmp_path, **params):
    settings = {"base_url": base_url(server, provider), "api_key_env": KEY_ENV, "cache_path": str(tmp_path / "l.db"),
                "retry_base_delay": 0.01, "concurrency": 4, **params}
    return build("labeller", provider, settings)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_odd_answers_parse_and_rerun_sends_nothing(provider, server, tmp_path) -> None:
    texts = list(ODD_ANSWERS) + ["great day"]  # a duplicate is sent once
    labeller = make(provider, server, tmp_path)
    outcomes = labeller.label(texts)
    assert [(o.label, o.status) for o in outcomes] == [EXPECTED[t] for t in texts]
    assert server.chat_requests() == len(ODD_ANSWERS)
    assert labeller.usage.requests == len(ODD_ANSWERS) and labeller.usage.prompt_tokens > 0
    assert set(server.auth_headers) == {KEY}
    rerun = make(provider, server, tmp_path)
    assert [(o.label, o.status) for o in rerun.label(texts)] == [EXPECTED[t] for t in texts]
    assert server.chat_requests() == len(ODD_ANSWERS) and rerun.usage.requests == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retries_on_429_with_retry_after_500_and_malformed_body(provider, server, tmp_path) -> None:
    server.faults = [("429", 1), ("500",), ("malformed",)]
    labeller = make(provider, server, tmp_path, concurrency=1)
    started = time.monotonic()
    outcomes = labeller.label(["great day", "awful"])
    assert time.monotonic() - started >= 1.0  # Retry-After: 1 was honoured
    assert [o.label for o in outcomes] == ["positive", "negative"]
    assert labeller.usage.retries == 3 and server.chat_requests() == 5


def test_slow_response_times_out_and_is_retried(server, tmp_path) -> None:
    server.faults = [("slow", 1.5)]
    labeller = make("openai", server, tmp_path, timeout=0.3, concurrency=1)
    assert [o.label for o in labeller.label(["awful"])] == ["negative"]
    assert labeller.usage.retries == 1


def test_exhausted_retries_end_as_explicit_failures_and_are_retried_next_run(server, tmp_path) -> None:
    server.fault_for["doomed"] = ("500",)
    texts = ["great day", "doomed", "", "awful"]
    outcomes = make("openai", server, tmp_path, max_retries=2).label(texts)
    assert [o.status for o in outcomes] == ["ok", "failed", "failed", "ok"]
    assert "HTTP 500" in outcomes[1].detail and "3 attempt" in outcomes[1].detail
    assert "empty transcript" in outcomes[2].detail
    before = server.chat_requests()
    again = make("openai", server, tmp_path, max_retries=0).label(texts)
    assert server.chat_requests() == before + 1  # only the failure is asked again
    assert again[1].status == "failed" and again[0].label == "positive"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_api_key_never_appears_in_logs_errors_or_params(provider, server, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server.faults = [("401",)]
    labeller = make(provider, server, tmp_path, concurrency=1)
    with pytest.raises(AuthenticationFailed) as refused:
        labeller.label(["awful"])
    assert "401" in str(refused.value) and "***" in str(refused.value)
    assert KEY not in caplog.text and KEY not in str(refused.value)
    assert KEY not in repr(labeller.params) and KEY not in str(labeller.params.model_dump())


def test_missing_key_names_the_variable_and_empty_env_sends_placeholder(server, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(SecretError, match=KEY_ENV):
        make("anthropic", server, tmp_path).label(["awful"])
    local = make("openai", server, tmp_path, api_key_env="")
    assert local.label(["awful"])[0].label == "negative"
    assert server.auth_headers == ["not-needed"]


def test_concurrency_is_bounded_and_dry_run_counts_uncached(server, tmp_path) -> None:
    server.latency = 0.1
    texts = [f"utterance {i}" for i in range(12)]
    labeller = make("openai", server, tmp_path, concurrency=3, model="gpt-3.5-turbo")
    estimate = labeller.estimate(texts)
    assert (estimate.requests, estimate.cached, estimate.transcripts) == (12, 0, 12)
    assert estimate.prompt_tokens > 12 * 10 and estimate.cost_usd is not None and estimate.cost_usd > 0
    assert server.chat_requests() == 0  # a dry run sends nothing
    labeller.label(texts[:6])
    assert server.max_in_flight == 3
    after = labeller.estimate(texts)
    assert (after.requests, after.cached) == (6, 6)
    assert "6 requests" in after.summary()
