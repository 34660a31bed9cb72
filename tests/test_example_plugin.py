"""The example third-party package: installed by pip, discovered through the entry point, run from a spec."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from test_recipe_end_to_end import SPEC, write_tiny_corpus

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "erc-bench-example-plugin"

PRETRAIN = """
[pretrain]
corpus = { plugin = "demo-unlabelled" }
asr = { plugin = "faster-whisper", params = { model = "base", beam_size = 1 } }
labeller = { plugin = "example-keyword" }
epochs = 2
batch_size = 8
max_items = 16
"""


@pytest.fixture(scope="module")
def example_installed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """pip-install the example package as a user would, into a folder of its own put on sys.path for these tests
    (the test environment itself is left as it was)."""
    target = tmp_path_factory.mktemp("example-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(EXAMPLE)], check=True)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    from erc_bench.core import plugin_host as plugins

    plugins.reset_host()
    yield
    sys.path.remove(str(target))
    plugins.reset_host()


def test_example_plugin_is_listed_with_its_package(cli, example_installed) -> None:
    code, output = cli(["plugins"])
    assert code == 0
    lines = {line.split("│")[2].strip(): line for line in output.splitlines() if line.count("│") >= 5}
    assert "erc-bench-example-plugin" in lines["example-keyword"] and "labeller" in lines["example-keyword"]
    assert "erc-bench-example-plugin" in lines["example-gated"] and "fusion_head" in lines["example-gated"]


def test_example_components_pass_the_exported_contract_checks(example_installed) -> None:
    from erc_bench import check_component

    check_component("labeller", "example-keyword")
    check_component("fusion_head", "example-gated", {"d_model": 8}, num_labels=7)


def test_spec_using_the_example_labeller_and_fusion_head_runs(cli, example_installed, tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    manifest = write_tiny_corpus(tmp_path)
    spec = tmp_path / "example.toml"
    text = SPEC.format(manifest=manifest, fusion="example-gated", fusion_params="d_model = 8")
    spec.write_text(text.replace('name = "tiny-e2e"', 'name = "example-plugin"').replace("seeds = [0, 1]",
                                                                                          "seeds = [0]") + PRETRAIN)
    uri = f"sqlite:///{tmp_path / 'example.db'}"
    code, output = cli(["run", str(spec), "--tracking-uri", uri])
    assert code == 0, output
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("example-plugin")
    runs = {r.data.tags.get("erc_bench.run_kind"): r for r in client.search_runs([experiment.experiment_id])}
    pretrain, seed_run = runs["pretrain"], runs["dataset-seed"]
    assert pretrain.data.params["pretrain.labeller.plugin"] == "example-keyword"
    assert seed_run.data.params["model.fusion_head.plugin"] == "example-gated"
    # installed from a folder (pip install PATH): its sources are part of its identity
    assert seed_run.data.params["code.model.fusion_head"].startswith("erc-bench-example-plugin 0.1.0 (source ")
    assert seed_run.data.tags["plugin.erc-bench-example-plugin"] == "0.1.0"
    assert 0.0 <= seed_run.data.metrics["stage3-fusion/test/weighted_f1"] <= 1.0


def test_a_speaker_aware_context_model_and_a_whole_system_reach_leaderboard_compare_report_and_predict(
        cli, example_installed, tmp_path) -> None:
    """The contract for the field: a third-party context model that reads speakers, and a third-party system
    that is not staged, each run from a spec, and are treated like MERITS-L by every command that reads runs."""
    import csv

    manifest = write_tiny_corpus(tmp_path)
    uri = f"sqlite:///{tmp_path / 'example.db'}"
    staged = tmp_path / "staged.toml"
    staged.write_text(SPEC.format(manifest=manifest, fusion="concat", fusion_params="hidden = 8")
                      .replace('name = "tiny-e2e"', 'name = "with-speakers"').replace("seeds = [0, 1]", "seeds = [0]")
                      .replace('context_model = { plugin = "bigru-attention", params = { hidden = 8, heads = 2 } }',
                               'context_model = { plugin = "example-speaker-gru", params = { hidden = 8 } }'))
    assert "example-speaker-gru" in staged.read_text()
    system = tmp_path / "system.toml"
    system.write_text(f'[benchmark]\nname = "speaker-majority"\nseeds = [0]\ndevice = "cpu"\n\n[[datasets]]\n'
                      f'plugin = "csv"\nparams = {{ manifest = "{manifest}" }}\n\n'
                      '[system]\nplugin = "example-speaker-majority"\n')
    for spec in (staged, system):
        code, output = cli(["run", str(spec), "--tracking-uri", uri])
        assert code == 0, output
    replay = tmp_path / "replay.json"
    code, output = cli(["run", str(system), "--tracking-uri", uri, "-o", str(replay)])  # replayed from the cache
    assert code == 0, output
    import json

    assert json.loads(replay.read_text())["rows"][0]["replayed_from_cache"] == {"0": True}

    code, board = cli(["leaderboard", "--tracking-uri", uri, "--format", "csv"])
    assert code == 0, board
    rows = list(csv.DictReader(board.splitlines()))
    systems = {(r["system"].split(" @")[0], r["stage"]) for r in rows}
    assert ("speaker-majority", "system") in systems and ("with-speakers", "stage3-fusion") in systems
    assert sum(1 for r in rows if r["system"].startswith("speaker-majority")) == 1  # the replay added no row
    assert {r["uses_speaker_identity"] for r in rows if r["system"] in ("speaker-majority", "with-speakers")} == {"yes"}
    assert all(r["ci_low"] and float(r["ci_low"]) <= float(r["ci_high"]) for r in rows if r["source"] == "measured")

    code, compared = cli(["compare", "speaker-majority", "with-speakers", "--tracking-uri", uri, "--resamples",
                          "200", "--format", "json"])
    assert code == 0, compared
    assert '"n_items"' in compared

    report = tmp_path / "report.html"
    code, output = cli(["report", "--experiment", "speaker-majority", "--tracking-uri", uri, "--out", str(report)])
    assert code == 0, output
    assert "speaker-majority" in report.read_text(encoding="utf-8")
    code, output = cli(["report", "--experiment", "with-speakers", "--tracking-uri", uri, "--out", str(report)])
    assert code == 0, output
    page = report.read_text(encoding="utf-8")
    matrix = page[page.index('id="significance"'):page.index('id="results"')]
    assert "Holm" in matrix and "with-speakers / stage3-fusion" in matrix and "0." in matrix  # p-values of pairs

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    seed_run = client.search_runs([client.get_experiment_by_name("speaker-majority").experiment_id],
                                  "tags.erc_bench.run_kind = 'dataset-seed'")[0]
    assert seed_run.data.params["system.plugin"] == "example-speaker-majority"
    assert seed_run.data.params["code.system"].startswith("erc-bench-example-plugin 0.1.0")
    inputs = tmp_path / "new.csv"
    inputs.write_text("conversation_id,utterance_id,speaker,text\nn1,n1_0,A,hello\nn1,n1_1,B,bye\n")
    out = tmp_path / "predicted.csv"
    code, output = cli(["predict", seed_run.info.run_id, "--input", str(inputs), "--out", str(out),
                        "--tracking-uri", uri])
    assert code == 0, output
    predicted = list(csv.DictReader(out.open()))
    assert [r["utterance_id"] for r in predicted] == ["n1_0", "n1_1"]
    assert all(r["stage"] == "system" and r["predicted"] in ("happy", "sad") for r in predicted)
