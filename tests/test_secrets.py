"""A secret that reaches a spec through ``${VAR}`` is used, never written down.

The whole recipe runs in-process (real MLflow store, real label store, the
OpenAI SDK against the loopback server) with the labeller's model set from a
secret-named variable; afterwards no byte of any file under the store, the
cache or the working directory holds the value, and MLflow shows ``${VAR}``.
"""

from __future__ import annotations

import pytest
from llm_servers import LLMServer
from test_pretrain import TINY_BERT, corpus  # noqa: F401 - corpus is a fixture
from test_recipe_end_to_end import write_tiny_corpus

from erc_bench.core import secrets

SECRET = "not-a-known-key-shape-but-secret-4242"
SPEC = """
[benchmark]
name = "secret-test"
seeds = [0]
device = "cpu"

[[datasets]]
plugin = "csv"
params = {{ manifest = "{manifest}" }}

[model]
modalities = ["text"]
context_model = {{ plugin = "none" }}
text_encoder = {{ plugin = "hf-text", params = {text_encoder} }}

[training.stage1]
epochs = 1
batch_size = 8
[training.stage2]
epochs = 1
batch_size = 4

[pretrain]
corpus = {{ plugin = "toy-pretrain-corpus", params = {{ root = "{pool}" }} }}
asr = {{ plugin = "toy-duration-asr" }}
labeller = {{ plugin = "openai", params = {{ base_url = "{url}", api_key_env = "LOOPBACK_KEY" }} }}
epochs = 1
batch_size = 4
"""
SET_MODEL = 'pretrain.labeller.params.model="${OPENAI_API_KEY}"'


@pytest.fixture(autouse=True)
def _fresh_secret_list():
    secrets.forget_all()
    yield
    secrets.forget_all()


def _toml_inline(value: dict) -> str:
    import json

    def render(v):  # noqa: ANN001, ANN202
        return "{ " + ", ".join(f"{k} = {render(x)}" for k, x in v.items()) + " }" if isinstance(v, dict) \
            else json.dumps(v)

    return render(value)


def test_secret_through_var_reaches_the_provider_but_no_file(cli, corpus, tmp_path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("LOOPBACK_KEY", "sk-loopback-not-used-here-000000")
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "cache"
    monkeypatch.setenv("ERC_BENCH_CACHE", str(cache))
    data = tmp_path / "data"
    data.mkdir()
    with LLMServer() as server:
        spec = tmp_path / "spec.toml"
        spec.write_text(SPEC.format(manifest=write_tiny_corpus(data), pool=corpus, url=server.url + "/v1",
                                    text_encoder=_toml_inline(TINY_BERT)))
        uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
        code, output = cli(["run", str(spec), "--set", SET_MODEL, "--tracking-uri", uri])
        assert code == 0, output
        assert server.models == {SECRET: 12}  # the component got the real value
    assert SECRET not in output
    leaks = [str(p) for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == []
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("secret-test")
    params = [r.data.params for r in client.search_runs([experiment.experiment_id])]
    assert any(p.get("pretrain.labeller.params.model") == "${OPENAI_API_KEY}" for p in params)
    import sqlite3

    with sqlite3.connect(cache / "labels.sqlite") as conn:
        assert {m for (m,) in conn.execute("SELECT DISTINCT model FROM labels")} == {"${OPENAI_API_KEY}"}


def test_a_key_shaped_value_through_var_is_refused_by_validate(cli, tmp_path, monkeypatch) -> None:
    from test_engine_spec import BASE

    key = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("ERC_TEST_DATA", str(tmp_path))
    spec = tmp_path / "spec.toml"
    spec.write_text(BASE)
    code, output = cli(["validate", str(spec), "--set", SET_MODEL])
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and key not in output, output
    assert "pretrain.labeller.params.model: the value of ${OPENAI_API_KEY} looks like an API key" in lines[0]


def test_redact_replaces_remembered_values_in_nested_text() -> None:
    secrets.remember("hunter2-secret", "DB_PASSWORD")
    assert secrets.redact_secrets({"a": ["x hunter2-secret y"], "b": 3}) == {"a": ["x ${DB_PASSWORD} y"], "b": 3}
    assert secrets.redact_secrets("plain") == "plain"
