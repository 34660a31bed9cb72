"""Provider batch APIs (OpenAI Batch, Anthropic Message Batches) over loopback, incl. resume."""

from __future__ import annotations

import pytest
from erc_bench_labellers.batch import BatchPending
from erc_bench_labellers.store import LabelStore
from llm_servers import LLMServer

from erc_bench.core.plugin_host import build

KEY_ENV = "ERC_TEST_LLM_KEY"
PROVIDERS = ["openai", "anthropic"]
CREATE = {"openai": "POST /v1/batches", "anthropic": "POST /v1/messages/batches"}


@pytest.fixture()
def server(monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-loopback-batch-secret-42")
    with LLMServer() as srv:
        srv.answers = {"lovely": "Positive.", "dreadful": '{"sentiment": "negative"}', "hmm": "positive or negative"}
        srv.polls_to_complete = 2
        yield srv


def make(provider: str, server: LLMServer, tmp_path, **params):
    url = server.url + "/v1" if provider == "openai" else server.url
    return build("labeller", provider, {"base_url": url, "api_key_env": KEY_ENV, "mode": "batch",
                                        "cache_path": str(tmp_path / "l.db"), "batch_poll_interval": 0.05,
                                        "retry_base_delay": 0.01, **params})


@pytest.mark.parametrize("provider", PROVIDERS)
def test_batch_labels_every_transcript_and_rerun_sends_nothing(provider, server, tmp_path) -> None:
    server.fault_for["broken"] = ("500",)
    texts = ["lovely", "dreadful", "hmm", "broken", "plain"]
    labeller = make(provider, server, tmp_path, batch_max_requests=3)
    outcomes = labeller.label(texts)
    assert [(o.label, o.status) for o in outcomes] == [
        ("positive", "ok"), ("negative", "ok"), (None, "unparsable"), (None, "failed"), ("neutral", "ok")]
    assert "batch" in outcomes[3].detail
    assert server.hits[CREATE[provider]] == 2  # 5 requests in chunks of 3
    assert server.chat_requests() == 0 and labeller.usage.prompt_tokens > 0
    assert labeller.estimate(texts).requests == 1  # only the failure is left to send
    hits = sum(v for k, v in server.hits.items() if k != "ids")
    rerun = make(provider, server, tmp_path).label(["lovely", "dreadful", "hmm", "plain"])
    assert [o.label for o in rerun] == ["positive", "negative", None, "neutral"]
    assert sum(v for k, v in server.hits.items() if k != "ids") == hits


@pytest.mark.parametrize("provider", PROVIDERS)
def test_interrupted_batch_is_resumed_not_resubmitted(provider, server, tmp_path) -> None:
    server.hold_batches = True
    texts = ["lovely", "dreadful", "plain"]
    with pytest.raises(BatchPending, match="rerun"):
        make(provider, server, tmp_path, batch_max_wait=0.2).label(texts)
    assert server.hits[CREATE[provider]] == 1
    labeller = make(provider, server, tmp_path)
    assert len(LabelStore(tmp_path / "l.db").open_batches(provider, labeller.fingerprint())) == 1
    server.hold_batches = False
    assert [o.label for o in labeller.label(texts)] == ["positive", "negative", "neutral"]
    assert server.hits[CREATE[provider]] == 1  # polled the journalled batch, paid once
    assert LabelStore(tmp_path / "l.db").open_batches(provider, labeller.fingerprint()) == []
