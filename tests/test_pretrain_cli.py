"""``erc-bench pretrain --dry-run`` and ``erc-bench label-agreement`` through Typer, on the toy corpus."""

from __future__ import annotations

import typer
from llm_servers import LLMServer
from test_pretrain import SENTENCES, TINY_BERT, corpus  # noqa: F401 - corpus is a fixture
from typer.testing import CliRunner

from erc_bench.cli.pretrain import register

KEY = "sk-cli-test-secret-value-9999"


def _spec(tmp_path, root, server_url: str) -> str:
    encoder = ", ".join(f"{k} = {v!r}" if not isinstance(v, dict) else
                        f"{k} = {{ " + ", ".join(f"{a} = {b!r}" for a, b in v.items()) + " }"
                        for k, v in TINY_BERT.items()).replace("'", '"')
    text = f"""
[benchmark]
name = "cli-pretrain"

[pretrain]
corpus = {{ plugin = "toy-pretrain-corpus", params = {{ root = "{root}" }} }}
asr = {{ plugin = "toy-duration-asr" }}

[pretrain.labeller]
plugin = "openai"
params = {{ base_url = "{server_url}/v1", api_key_env = "CLI_TEST_KEY", cache_path = "{tmp_path / 'labels.db'}" }}

[[datasets]]
plugin = "toy-pretrain-corpus"
params = {{ root = "{root}" }}

[model]
modalities = ["text"]
text_encoder = {{ plugin = "hf-text", params = {{ {encoder} }} }}
"""
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return str(path)


def test_dry_run_then_agreement_table(corpus, tmp_path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("CLI_TEST_KEY", KEY)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    with LLMServer() as server:
        server.answers = {s: ("positive" if v > 5 else "negative" if v < 3 else "neutral") for s, v in SENTENCES}
        spec = _spec(tmp_path, corpus, server.url)
        dry = runner.invoke(app, ["pretrain", spec, "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "12 requests" in dry.output and "estimated cost $" in dry.output and server.chat_requests() == 0
        agreement = runner.invoke(app, ["label-agreement", spec, "--set", "pretrain.labeller.params.concurrency=2"])
        assert agreement.exit_code == 0, agreement.output
        assert "100.00" in agreement.output and "52.98" in agreement.output and "GPT-3.5 Turbo" in agreement.output
        assert server.chat_requests() == 12 and KEY not in agreement.output
        again = runner.invoke(app, ["pretrain", spec, "--dry-run"])
        assert "0 requests (12 of 12 transcripts cached)" in again.output
    monkeypatch.delenv("CLI_TEST_KEY")
    note = runner.invoke(app, ["pretrain", spec, "--dry-run"])
    assert note.exit_code == 0 and "set the environment variable CLI_TEST_KEY" in " ".join(note.output.split())
    missing = runner.invoke(app, ["label-agreement", spec, "--set", "pretrain.labeller.params.model=gpt-4o-mini"])
    assert missing.exit_code != 0 and "CLI_TEST_KEY" in str(missing.exception)
