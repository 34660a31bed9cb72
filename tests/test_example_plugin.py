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
labeller = { plugin = "keyword" }
epochs = 2
batch_size = 8
max_items = 16
"""


@pytest.fixture(scope="module")
def example_installed() -> None:
    """pip-install the example package (as a user would) unless this environment already has it."""
    try:
        importlib.import_module("erc_bench_example")
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", str(EXAMPLE)], check=True)
        importlib.invalidate_caches()
    from erc_bench.core import plugin_host as plugins

    plugins.reset_host()
    yield
    plugins.reset_host()


def test_example_plugin_is_listed_with_its_package(cli, example_installed) -> None:
    code, output = cli(["plugins"])
    assert code == 0
    lines = {line.split("│")[2].strip(): line for line in output.splitlines() if line.count("│") >= 5}
    assert "erc-bench-example-plugin" in lines["keyword"] and "labeller" in lines["keyword"]
    assert "erc-bench-example-plugin" in lines["gated"] and "fusion_head" in lines["gated"]


def test_spec_using_the_example_labeller_and_fusion_head_runs(cli, example_installed, tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    manifest = write_tiny_corpus(tmp_path)
    spec = tmp_path / "example.toml"
    text = SPEC.format(manifest=manifest, fusion="gated", fusion_params="d_model = 8")
    spec.write_text(text.replace('name = "tiny-e2e"', 'name = "example-plugin"').replace("seeds = [0, 1]",
                                                                                          "seeds = [0]") + PRETRAIN)
    uri = f"sqlite:///{tmp_path / 'example.db'}"
    code, output = cli(["run", str(spec), "--tracking-uri", uri])
    assert code == 0, output
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("example-plugin")
    runs = {r.data.tags.get("erc_bench.run_kind"): r for r in client.search_runs([experiment.experiment_id])}
    pretrain, seed_run = runs["pretrain"], runs["dataset-seed"]
    assert pretrain.data.params["pretrain.labeller.plugin"] == "keyword"
    assert seed_run.data.params["model.fusion_head.plugin"] == "gated"
    assert seed_run.data.tags["plugin.erc-bench-example-plugin"] == "0.1.0"
    assert 0.0 <= seed_run.data.metrics["stage3-fusion/test/weighted_f1"] <= 1.0
