"""The whole recipe on a tiny corpus with tiny models, read back from a real MLflow store."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

WORDS = {"happy": ["what a lovely day", "I am glad", "okay"], "sad": ["this hurts so much", "I miss her", "okay"]}
SPLITS = ["train"] * 8 + ["validation"] * 2 + ["test"] * 2


def write_tiny_corpus(root: Path) -> Path:
    """12 two-label conversations; words are partly ambiguous ("okay"), pitch carries the label."""
    rng = np.random.default_rng(0)
    rows = []
    for c, split in enumerate(SPLITS):
        for p in range(6):
            label = "happy" if (p // 3 + c) % 2 == 0 else "sad"
            text = WORDS[label][int(rng.integers(0, 3))]
            t = np.arange(int(16000 * rng.uniform(0.4, 0.8))) / 16000
            pitch = (220 if label == "happy" else 110) * rng.uniform(0.9, 1.1)
            wave = 0.3 * np.sin(2 * np.pi * pitch * t) + 0.01 * rng.standard_normal(len(t))
            name = f"c{c}_u{p}.wav"
            sf.write(root / name, wave.astype(np.float32), 16000)
            rows.append({"conversation_id": f"c{c}", "utterance_id": f"c{c}_u{p}", "speaker": "AB"[p % 2],
                         "text": text, "audio": name, "label": label, "split": split})
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest


SPEC = """
[benchmark]
name = "tiny-e2e"
seeds = [0, 1]
device = "cpu"

[[datasets]]
plugin = "csv"
params = {{ manifest = "{manifest}" }}

[model]
speech_encoder = {{ plugin = "acoustic-stats" }}
context_model = {{ plugin = "bigru-attention", params = {{ hidden = 8, heads = 2 }} }}
fusion_head = {{ plugin = "{fusion}", params = {{ {fusion_params} }} }}

[model.text_encoder]
plugin = "hf-text"

[model.text_encoder.params]
model = "sentence-transformers/all-MiniLM-L6-v2"
hidden_dim = 8
max_length = 16

[model.text_encoder.params.random_config]
model_type = "bert"
hidden_size = 16
num_hidden_layers = 1
num_attention_heads = 2
intermediate_size = 32

[training.stage1]
epochs = 3
batch_size = 8
[training.stage2]
epochs = 3
batch_size = 4
[training.stage3]
epochs = 3
batch_size = 4
"""



@pytest.fixture
def tiny_spec(tmp_path: Path) -> Path:
    manifest = write_tiny_corpus(tmp_path)
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC.format(manifest=manifest, fusion="co-attention", fusion_params="d_model = 8, heads = 2"))
    return spec


STAGES = ["stage1-text", "stage1-speech", "stage2-text", "stage2-speech", "stage3-fusion"]


def test_run_logs_everything_and_rerun_is_cached(cli, tiny_spec, tmp_path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'e2e.db'}"
    code, output = cli(["run", str(tiny_spec), "--tracking-uri", uri])
    assert code == 0, output
    assert "Audio+Text (Stage III)" in output and "Text (Stage II)" in output and "± " in output

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tiny-e2e")
    parents = client.search_runs([experiment.experiment_id], "tags.`erc_bench.run_kind` = 'dataset-seed'")
    assert sorted(r.data.tags["erc_bench.seed"] for r in parents) == ["0", "1"]
    for parent in parents:
        tags, params, metrics = parent.data.tags, parent.data.params, parent.data.metrics
        assert tags["erc_bench.dataset"] == "csv" and tags["erc_bench.device"] == "cpu"
        assert tags["erc_bench.git_commit"] and tags["plugin.erc-bench"] == "0.1.0" and "torch" in tags
        assert params["model.fusion_head.plugin"] == "co-attention"
        assert params["training.stage1.epochs"] == "3" and params["seed"] == tags["erc_bench.seed"]
        for stage in STAGES:
            for split in ("train", "validation", "test"):
                assert 0.0 <= metrics[f"{stage}/{split}/weighted_f1"] <= 1.0
            assert f"{stage}/test/accuracy" in metrics and f"{stage}/test/f1/happy" in metrics
        spec_artifacts = [a.path for a in client.list_artifacts(parent.info.run_id, "spec")]
        assert spec_artifacts == ["spec/resolved.json", "spec/tiny.toml"]
        children = client.search_runs([experiment.experiment_id],
                                      f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
        assert sorted(c.data.tags["erc_bench.stage"] for c in children) == sorted(STAGES)
        for child in children:
            names = {a.path for a in client.list_artifacts(child.info.run_id)}
            assert {"predictions.csv", "confusion_test.png", "confusion_validation.png"} <= names
            assert child.data.tags["erc_bench.cached"] == "False"
            assert "epoch/validation/weighted_f1" in child.data.metrics  # per-epoch history
    predictions = client.download_artifacts(children[0].info.run_id, "predictions.csv", str(tmp_path))
    rows = list(csv.DictReader(open(predictions)))
    assert {r["split"] for r in rows} == {"train", "validation", "test"} and len(rows) == 72

    # A second run replays every stage from the cache, and logs that it did.
    code, output = cli(["run", str(tiny_spec), "--tracking-uri", uri])
    assert code == 0, output
    reruns = client.search_runs([experiment.experiment_id], "tags.`erc_bench.cached` = 'True'")
    assert len(reruns) == 2 * len(STAGES)

    code, output = cli(["leaderboard", "--tracking-uri", uri, "--experiment", "tiny-e2e", "--format", "csv"])
    assert code == 0 and ",tiny-e2e," in output and ",stage3-fusion,measured,0," in output
    assert sum(",stage3-fusion,measured," in line for line in output.splitlines()) == 2  # replay: no new rows

    seed0, seed1 = sorted(parents, key=lambda r: r.data.tags["erc_bench.seed"])
    code, output = cli(["compare", seed0.info.run_id, seed1.info.run_id, "--tracking-uri", uri,
                         "--resamples", "500"])
    assert code == 0, output
    assert "12 paired utterances" in output and "p = " in output and "95% interval" in output


def test_test_labels_never_reach_model_selection(cli, tmp_path) -> None:
    """Rotate every test label: each stage's selected epoch and validation scores must not move."""
    from mlflow.tracking import MlflowClient

    def stage_runs(corpus_dir: Path, swap_test_labels: bool) -> dict[str, object]:
        corpus_dir.mkdir()
        manifest = write_tiny_corpus(corpus_dir)
        if swap_test_labels:
            rows = list(csv.DictReader(manifest.open()))
            for row in rows:
                if row["split"] == "test":
                    row["label"] = {"happy": "sad", "sad": "happy"}[row["label"]]
            with manifest.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        spec = corpus_dir / "tiny.toml"
        text = SPEC.format(manifest=manifest, fusion="co-attention", fusion_params="d_model = 8, heads = 2")
        spec.write_text(text.replace("seeds = [0, 1]", "seeds = [0]"))
        uri = f"sqlite:///{corpus_dir / 'mlflow.db'}"
        code, output = cli(["run", str(spec), "--tracking-uri", uri])
        assert code == 0, output
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("tiny-e2e")
        runs = client.search_runs([experiment.experiment_id], "tags.`erc_bench.stage` != ''")
        return {r.data.tags["erc_bench.stage"]: r for r in runs}

    original = stage_runs(tmp_path / "original", swap_test_labels=False)
    swapped = stage_runs(tmp_path / "swapped", swap_test_labels=True)
    assert sorted(original) == sorted(STAGES)
    for stage in STAGES:
        a, b = original[stage].data, swapped[stage].data
        assert a.params["best_epoch"] == b.params["best_epoch"], stage
        for metric in ("validation/weighted_f1", "validation/accuracy", "train/weighted_f1"):
            assert a.metrics[metric] == pytest.approx(b.metrics[metric], abs=1e-9), (stage, metric)
        # and the test split really was scored against the rotated labels
        assert a.metrics["test/accuracy"] == pytest.approx(1.0 - b.metrics["test/accuracy"], abs=1e-9), stage


def test_missing_api_key_and_missing_corpus_fail_before_any_work(cli, tiny_spec, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    text = tiny_spec.read_text() + """
[pretrain]
corpus = { plugin = "demo-unlabelled" }
asr = { plugin = "faster-whisper", params = { model = "base" } }
labeller = { plugin = "openai", params = { api_key_env = "OPENAI_API_KEY" } }
"""
    spec = tmp_path / "needs_key.toml"
    spec.write_text(text)
    code, output = cli(["run", str(spec), "--tracking-uri", f"sqlite:///{tmp_path / 'k.db'}"])
    assert code == 2 and "OPENAI_API_KEY" in output and "Traceback" not in output
    assert not (Path(os.environ["ERC_BENCH_CACHE"]) / "transcripts").exists()  # no ASR ran

    missing = tmp_path / "missing.toml"
    missing.write_text(tiny_spec.read_text().replace('plugin = "csv"\nparams = {', 'plugin = "iemocap"\nparams = {')
                       .replace(f'manifest = "{tmp_path / "manifest.csv"}"', f'root = "{tmp_path / "IEMOCAP"}"'))
    code, output = cli(["run", str(missing), "--tracking-uri", f"sqlite:///{tmp_path / 'k.db'}"])
    assert code == 2 and str(tmp_path / "IEMOCAP") in output and "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and lines[1].strip() == "how to obtain it:", output  # one error line,
    assert all(line.startswith("  ") for line in lines[2:]), output  # then the dataset card's how-to-obtain lines
