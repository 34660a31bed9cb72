"""Leaderboard identity: one row per system configuration and dataset, newest finished run per seed,
run ids carried, sorted by score, any of the four metrics; checked on real runs in a real MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_recipe_end_to_end import SPEC, write_tiny_corpus

from erc_bench.core.spec import load_spec
from erc_bench.tracking.identity import dataset_identity, system_digest
from erc_bench.tracking.run_log import resolved_spec


def _spec(tmp_path: Path) -> Path:
    manifest = write_tiny_corpus(tmp_path)
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC.format(manifest=manifest, fusion="co-attention", fusion_params="d_model = 8, heads = 2"))
    return spec


def test_digest_follows_the_resolved_configuration(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    base = system_digest(resolved_spec(load_spec(spec)))
    explicit_default = load_spec(spec, ["training.stage3.lr=1e-4", "model.fusion_head.params.dropout=0.1"])
    assert system_digest(resolved_spec(explicit_default)) == base  # a default written out is the same system
    for override in ("training.stage3.epochs=1", "model.fusion_head.params.dropout=0.3",
                     "model.context_model.params.hidden=16"):
        assert system_digest(resolved_spec(load_spec(spec, [override]))) != base, override
    resolved = resolved_spec(load_spec(spec))
    resolved["datasets"][0]["text_source"] = "asr"  # ASR transcripts instead of reference text: another system
    assert system_digest(resolved) != base
    for override in ("benchmark.seeds=[5]", 'benchmark.description="x"', 'tracking.experiment="other"'):
        assert system_digest(resolved_spec(load_spec(spec, [override]))) == base, override


def test_dataset_identity_counts_fold_classes_and_corpus_name() -> None:
    defaults = {"root": None, "fold": "paper", "audio": "auto", "label_file": "label.csv"}
    key, label = dataset_identity("mosi", {"root": "/data/CMU-MOSI", "fold": "paper", "audio": "auto",
                                           "label_file": "label.csv"}, defaults)
    assert label == "mosi"
    assert dataset_identity("mosi", {"root": "/home/me/CMU-MOSI", "fold": "paper", "audio": "auto",
                                     "label_file": "label.csv"}, defaults)[0] == key  # same corpus elsewhere
    other_fold = dataset_identity("mosi", {"root": "/data/CMU-MOSI", "fold": "52-10-31", "audio": "auto",
                                           "label_file": "label.csv"}, defaults)
    assert other_fold[0] != key and other_fold[1] == "mosi [fold=52-10-31]"
    assert dataset_identity("mosi", {"root": "/data/MOSI-v2", "fold": "paper", "audio": "auto",
                                     "label_file": "label.csv"}, defaults)[0] != key
    assert dataset_identity("csv", {"manifest": "/x/my_corpus.csv"}, {})[1] == "csv [manifest=my_corpus.csv]"


@pytest.mark.slow
def test_two_configurations_two_rows_and_a_rerun_replaces(cli, tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    uri = f"sqlite:///{tmp_path / 'lb.db'}"
    for extra in ([], [], ["--set", "training.stage3.epochs=1", "--set", "training.stage3.lr=0.05"]):
        code, output = cli(["run", str(spec), "--tracking-uri", uri, *extra])
        assert code == 0, output

    code, output = cli(["leaderboard", "--tracking-uri", uri, "--format", "json"])
    assert code == 0, output
    rows = [r for r in json.loads(output) if r["source"] == "measured" and r["stage"] == "stage3-fusion"]
    assert len(rows) == 2  # two configurations; the identical rerun replaced its first run, no third row
    assert len({r["config_digest"] for r in rows}) == 2
    assert all(set(r["seeds"]) == {"0", "1"} and len(set(r["run_ids"].values())) == 2 for r in rows)
    assert rows[0]["mean"] >= rows[1]["mean"]  # sorted by score within the dataset

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    for row in rows:  # each row's numbers are its own runs' numbers, and the newest runs of that config
        for seed, run_id in row["run_ids"].items():
            run = client.get_run(run_id)
            assert run.data.tags["erc_bench.system_digest"] == row["config_digest"]
            assert 100 * run.data.metrics["stage3-fusion/test/weighted_f1"] == pytest.approx(row["seeds"][seed],
                                                                                              abs=0.006)
    base = system_digest(resolved_spec(load_spec(spec)))
    experiment = client.get_experiment_by_name("tiny-e2e")
    base_runs = client.search_runs([experiment.experiment_id], "tags.`erc_bench.run_kind` = 'dataset-seed' and "
                                   f"tags.`erc_bench.system_digest` = '{base}'")
    assert len(base_runs) == 4  # the base configuration ran twice (the second a replay from the cache) ...
    newest = {r.data.tags["erc_bench.seed"]: r.info.run_id for r in sorted(base_runs, key=lambda r: r.info.start_time)}
    assert [r["run_ids"] for r in rows if r["config_digest"] == base] == [newest]  # ... and shows once, newest

    code, table = cli(["leaderboard", "--tracking-uri", uri, "--format", "markdown"])
    assert "more than one configuration" in table and f"tiny-e2e @{rows[0]['config_digest'][:8]}" in table
    code, csv_text = cli(["leaderboard", "--tracking-uri", uri, "--format", "csv", "--metric", "ua"])
    assert code == 0 and csv_text.splitlines()[0].split(",")[7] == "ua"
    assert rows[0]["run_ids"]["0"] in csv_text or rows[1]["run_ids"]["0"] in csv_text
    code, output = cli(["leaderboard", "--tracking-uri", uri, "--metric", "recall"])
    assert code == 2 and "--metric" in output and "Traceback" not in output
