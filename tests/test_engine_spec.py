"""Spec validation: every mistake is one line naming the file and key path, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from erc_bench.core.errors import SpecError
from erc_bench.core.spec import apply_override, load_spec
from erc_bench.core.spec_kinds import load_any_spec

ROOT = Path(__file__).resolve().parents[1]

BASE = """
[benchmark]
name = "spec-test"
seeds = [0, 1]

[[datasets]]
plugin = "csv"
params = { manifest = "${ERC_TEST_DATA}/manifest.csv" }

[model]
modalities = ["text", "speech"]
text_encoder = { plugin = "hf-text", params = { model = "sentence-transformers/all-MiniLM-L6-v2" } }
speech_encoder = { plugin = "acoustic-stats" }
context_model = { plugin = "bigru-attention" }
fusion_head = { plugin = "co-attention" }

[training.stage1]
epochs = 2

[pretrain]
corpus = { plugin = "demo-unlabelled" }
asr = { plugin = "faster-whisper", params = { model = "base" } }
labeller = { plugin = "openai", params = { api_key_env = "OPENAI_API_KEY" } }
"""



def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_base_spec_is_valid(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ERC_TEST_DATA", str(tmp_path))
    loaded = load_spec(_write(tmp_path, BASE))
    assert loaded.spec.datasets[0].params["manifest"] == f"{tmp_path}/manifest.csv"
    assert loaded.spec.training.stage1.epochs == 2 and loaded.spec.training.stage2.epochs == 50


# (description, edit applied to BASE, expected key path, expected message fragment)
MISTAKES = [
    ("unknown top-level key", BASE + "\n[extra]\nx = 1\n", "extra", "unknown key"),
    ("unknown nested key", BASE.replace("seeds = [0, 1]", "seeds = [0, 1]\nseed = 3"), "benchmark.seed",
     "unknown key"),
    ("missing required key", BASE.replace('name = "spec-test"', ""), "benchmark.name", "required key is missing"),
    ("wrong type", BASE.replace("seeds = [0, 1]", 'seeds = "zero"'), "benchmark.seeds", "list"),
    ("bad literal", BASE.replace("seeds = [0, 1]", 'seeds = [0]\ndevice = "tpu"'), "benchmark.device", "auto"),
    ("unknown plugin with suggestion", BASE.replace('"co-attention"', '"co-atention"'),
     "model.fusion_head.plugin", "did you mean 'co-attention'"),
    ("unknown component param", BASE.replace('{ plugin = "bigru-attention" }',
                                             '{ plugin = "bigru-attention", params = { hiden = 3 } }'),
     "model.context_model.params.hiden", "unknown key"),
    ("bad component param value", BASE.replace('{ plugin = "bigru-attention" }',
                                               '{ plugin = "bigru-attention", params = { hidden = "big" } }'),
     "model.context_model.params.hidden", "integer"),
    ("secret key name", BASE.replace('api_key_env = "OPENAI_API_KEY"', 'api_key = "abc"'),
     "pretrain.labeller.params.api_key", "environment variable"),
    ("secret-looking value", BASE.replace('api_key_env = "OPENAI_API_KEY"',
                                          'api_key_env = "sk-proj-abcdefghijklmnopqrstuvwx"'),
     "pretrain.labeller.params.api_key_env", "looks like an API key"),
    ("invalid TOML", BASE + "\n[benchmark\n", "<root>", "not valid TOML"),
    ("text modality without encoder", BASE.replace(
        'text_encoder = { plugin = "hf-text", params = { model = "sentence-transformers/all-MiniLM-L6-v2" } }', ""),
     "model.text_encoder", "required when 'text'"),
    ("negative epochs", BASE.replace("epochs = 2", "epochs = -1"), "training.stage1.epochs", "greater than"),
    ("asr text without asr", BASE.replace('plugin = "csv"', 'plugin = "csv"\ntext_source = "asr"'),
     "datasets.0.text_source", "needs a [model.asr]"),
    ("unknown dataset", BASE.replace('plugin = "csv"', 'plugin = "iemocapp"'), "datasets.0.plugin",
     "did you mean 'iemocap'"),
    ("negative seed", BASE.replace("seeds = [0, 1]", "seeds = [-1]"), "benchmark.seeds.0", "greater than or equal"),
    ("seed beyond 2**32-1", BASE.replace("seeds = [0, 1]", "seeds = [4294967296]"), "benchmark.seeds.0",
     "less than or equal to 4294967295"),
    ("duplicate seeds", BASE.replace("seeds = [0, 1]", "seeds = [0, 1, 0]"), "benchmark.seeds", "more than once"),
    ("empty name", BASE.replace('name = "spec-test"', 'name = ""'), "benchmark.name", "at least 1 character"),
    ("blank name", BASE.replace('name = "spec-test"', 'name = "   "'), "benchmark.name", "at least 1 character"),
    ("infinite lr", BASE.replace("epochs = 2", "epochs = 2\nlr = inf"), "training.stage1.lr", "finite"),
    ("nan lr", BASE.replace("epochs = 2", "epochs = 2\nlr = nan"), "training.stage1.lr", "finite"),
    ("boolean batch size", BASE.replace("epochs = 2", "epochs = 2\nbatch_size = true"),
     "training.stage1.batch_size", "valid integer"),
    ("float epochs", BASE.replace("epochs = 2", "epochs = 2.5"), "training.stage1.epochs", "valid integer"),
    ("absurd epochs", BASE.replace("epochs = 2", "epochs = 1000000000"), "training.stage1.epochs",
     "less than or equal to 10000"),
    ("absurd pretrain epochs", BASE + "epochs = 99999999\n", "pretrain.epochs", "less than or equal to 10000"),
    ("boolean as string", BASE + 'enabled = "yes"\n', "pretrain.enabled", "valid boolean"),
    ("bad tracking uri scheme", BASE + '\n[tracking]\nuri = "foo://bar"\n', "tracking.uri",
     "unsupported tracking URI scheme 'foo'"),
    ("http uri without host", BASE + '\n[tracking]\nuri = "http://"\n', "tracking.uri", "names no host"),
    ("misspelt section", BASE.replace("[benchmark]", "[benchmrk]"), "benchmrk",
     "unknown key (did you mean 'benchmark'?)"),
    ("misspelt nested key", BASE.replace("seeds = [0, 1]", "seds = [0, 1]"), "benchmark.seds",
     "did you mean 'seeds'?"),
    ("misspelt component param", BASE.replace('{ plugin = "bigru-attention" }',
                                              '{ plugin = "bigru-attention", params = { hiden = 3 } }'),
     "model.context_model.params.hiden", "did you mean 'hidden'?"),
]


@pytest.mark.parametrize("description,text,key_path,fragment", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_is_one_line_naming_file_and_key(cli, description, text, key_path, fragment, tmp_path,
                                                 monkeypatch) -> None:
    monkeypatch.setenv("ERC_TEST_DATA", str(tmp_path))
    path = _write(tmp_path, text)
    code, output = cli(["validate", str(path)])
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert f"{path}: {key_path}:" in lines[0], lines[0]
    assert fragment in lines[0]
    assert "Traceback" not in output


def test_missing_spec_file(cli, tmp_path) -> None:
    code, output = cli(["validate", str(tmp_path / "nope.toml")])
    assert code == 2 and "no such spec file" in output


def test_set_overrides_any_key(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ERC_TEST_DATA", str(tmp_path))
    path = _write(tmp_path, BASE)
    loaded = load_spec(path, ["benchmark.seeds=[3, 4, 5]", "model.context_model.params.hidden=64",
                              "datasets.0.params.manifest=/elsewhere.csv", "benchmark.description=hello world"])
    assert loaded.spec.benchmark.seeds == [3, 4, 5]
    assert loaded.spec.model.context_model.params["hidden"] == 64
    assert loaded.spec.datasets[0].params["manifest"] == "/elsewhere.csv"
    assert loaded.spec.benchmark.description == "hello world"


def test_set_with_bad_path_names_it(tmp_path) -> None:
    raw = {"datasets": [{"plugin": "csv"}]}
    with pytest.raises(SpecError, match="datasets.5.*no item 5"):
        apply_override(raw, "datasets.5.plugin=x", "f.toml")
    with pytest.raises(SpecError, match="key.path=value"):
        apply_override(raw, "datasets", "f.toml")


def test_unset_env_is_noted_by_validate_and_fatal_for_run(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ERC_TEST_DATA", raising=False)
    path = _write(tmp_path, BASE)
    code, output = cli(["validate", str(path)])
    assert code == 0 and "ERC_TEST_DATA" in output
    code, output = cli(["run", str(path)])
    assert code == 2
    assert f"{path}: datasets.0.params.manifest: environment variable ${{ERC_TEST_DATA}} is not set" in output


def test_every_shipped_spec_validates(monkeypatch) -> None:
    monkeypatch.setenv("ERC_DATA", "/data")
    monkeypatch.setenv("CARE_CHECKPOINT", "/care.pt")
    specs = sorted((ROOT / "benchmarks").rglob("*.toml"))
    assert len(specs) >= 25
    kinds = {}
    for spec in specs:
        kind, loaded = load_any_spec(spec)  # CARE pre-training specs are their own kind of file, read the same way
        kinds[kind.name] = kinds.get(kind.name, 0) + 1
        assert loaded.unset_env == [], spec
    assert kinds["care-pretrain"] == 2 and kinds["benchmark"] == len(specs) - 2


def test_validate_names_the_kind_of_every_shipped_spec_and_notes_unset_variables(cli, monkeypatch) -> None:
    """Every file under benchmarks/ (CARE pre-training specs included) passes ``erc-bench validate`` with no
    variable set: an unset ``${VAR}`` is a note there, not an error."""
    for name in ("ERC_DATA", "CARE_CHECKPOINT"):
        monkeypatch.delenv(name, raising=False)
    specs = sorted(p for p in (ROOT / "benchmarks").rglob("*.toml") if "perf" not in p.parts)
    for spec in specs:
        code, output = cli(["validate", str(spec)])
        expected = "care-pretrain" if "[care_pretrain]" in spec.read_text() else "benchmark"
        assert code == 0 and f"OK {spec} ({expected} spec)" in output, output
        if expected == "care-pretrain":
            assert "note: care_pretrain.output: ${CARE_CHECKPOINT} is not set" in output, output


def test_a_plugin_declares_a_kind_of_spec_and_the_engine_loader_reads_it(tmp_path, plugin_host, register_plugin,
                                                                          cli) -> None:
    """The ``erc_bench_register_spec_kinds`` hook: extends, --set, component slots and errors as for benchmarks."""
    from pydantic import BaseModel, ConfigDict

    from erc_bench import ComponentRef, SpecKind, load_kind_spec
    from erc_bench.core.hookspecs import hookimpl

    class Section(BaseModel):
        model_config = ConfigDict(extra="forbid")
        corpus: ComponentRef
        rounds: int = 1

    class Distil(BaseModel):
        model_config = ConfigDict(extra="forbid")
        distil: Section

    register_plugin("distil", erc_bench_register_spec_kinds=hookimpl(
        lambda register: register(SpecKind("distil", "distil", Distil, {"distil.corpus": "dataset"}))))
    base = tmp_path / "base.toml"
    base.write_text('[distil]\ncorpus = { plugin = "demo" }\nrounds = 2\n')
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\n[distil]\nrounds = 3\n')
    loaded = load_kind_spec(child, "distil", ["distil.rounds=4"], plugin_host=plugin_host)
    assert loaded.kind == "distil" and loaded.spec.distil.rounds == 4 and list(loaded.components) == ["distil.corpus"]
    with pytest.raises(SpecError, match=r"child.toml: distil.corpus.plugin: unknown dataset 'demmo'"):
        load_kind_spec(child, "distil", ['distil.corpus.plugin="demmo"'], plugin_host=plugin_host)
    with pytest.raises(SpecError, match=r"distil.roundz: unknown key"):
        load_kind_spec(child, "distil", ["distil.roundz=1"], plugin_host=plugin_host)
    with pytest.raises(SpecError, match=r"a benchmark spec, not a distil spec"):
        load_kind_spec(ROOT / "benchmarks" / "quickstart.toml", "distil", plugin_host=plugin_host)
    both = tmp_path / "both.toml"
    both.write_text(base.read_text() + '[benchmark]\nname = "x"\n')
    with pytest.raises(SpecError, match=r"one kind of file, this one has \[benchmark\] and \[distil\]"):
        load_any_spec(both, plugin_host=plugin_host)


@pytest.mark.parametrize("value", ["0123456789abcdef0123456789abcdef01234567", "a" * 64,
                                   "Transformer baseline 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"])
def test_a_commit_hash_or_digest_in_a_description_is_not_a_key(cli, value, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ERC_TEST_DATA", str(tmp_path))
    path = _write(tmp_path, BASE.replace('seeds = [0, 1]', f'seeds = [0, 1]\ndescription = "{value}"'))
    code, output = cli(["validate", str(path)])
    assert code == 0, output


@pytest.mark.parametrize("key", ["sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "sk-proj-abcdefghijklmnopqrstuvwx",
                                 "hf_abcdefghijklmnopqrstuvwxyz", "ghp_abcdefghijklmnopqrstuvwxyz0123",
                                 "AKIAABCDEFGHIJKLMNOP", "gsk_abcdefghijklmnopqrstuvwxyz"])
def test_known_key_shapes_are_still_refused(cli, key, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ERC_TEST_DATA", str(tmp_path))
    path = _write(tmp_path, BASE.replace('seeds = [0, 1]', f'seeds = [0, 1]\ndescription = "{key}"'))
    code, output = cli(["validate", str(path)])
    assert code == 2 and "benchmark.description: this value looks like an API key" in output
    assert key not in output


@pytest.mark.parametrize("uri, fragment", [("foo://bar", "unsupported tracking URI scheme 'foo'"),
                                           ("sqlite:/relative.db", "sqlite:///"), ("https://", "names no host")])
def test_run_rejects_a_malformed_tracking_uri_before_any_work(cli, uri, fragment, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ERC_TEST_DATA", str(tmp_path))
    code, output = cli(["run", str(_write(tmp_path, BASE)), "--tracking-uri", uri])
    errors = [line for line in output.splitlines() if line.strip()]
    assert code == 2 and len(errors) == 1 and fragment in errors[0] and "Traceback" not in output, output
