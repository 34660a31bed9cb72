"""``accelerate launch -m erc_bench.cli run SPEC`` end to end: two processes (gloo on CPU, the way
``--multi_gpu`` starts one process per GPU) run the whole recipe; only rank 0 logs to MLflow, writes the
cache and prints; Stage I, the stage the DDP unit test checks weight by weight, gives the single-process
numbers. Later stages train on 2-utterance shards of a 4-conversation batch; their scores may move by one
of 12 test utterances, so they are checked for being logged once, not for equality."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_engine_tracking import _free_port
from test_recipe_end_to_end import SPEC, write_tiny_corpus

ROOT = Path(__file__).resolve().parents[1]
STAGE_ONE = ("stage1-text", "stage1-speech")


def _seed_runs(uri: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tiny-e2e")
    return client.search_runs([experiment.experiment_id], "tags.`erc_bench.run_kind` = 'dataset-seed'")


@pytest.mark.slow
def test_accelerate_launch_runs_the_recipe_once_logged(tmp_path: Path) -> None:
    launcher = shutil.which("accelerate")
    if launcher is None:
        pytest.skip('accelerate is not installed: pip install "erc-bench[distributed]"')
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC.format(manifest=write_tiny_corpus(tmp_path), fusion="co-attention",
                                fusion_params="d_model = 8, heads = 2").replace("seeds = [0, 1]", "seeds = [0]"))
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins"),
                                                       os.environ.get("PYTHONPATH", "")]),
                        "CUDA_VISIBLE_DEVICES": "", "TMPDIR": str(tmp_path)}
    launched = subprocess.run(
        [launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision",
         "no", "--dynamo_backend", "no", "--main_process_ip", "127.0.0.1", "--main_process_port",
         str(_free_port()), "-m", "erc_bench.cli", "run", str(spec), "--cache-dir", str(tmp_path / "ddp-cache"),
         "--tracking-uri", f"sqlite:///{tmp_path / 'ddp.db'}"],
        env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert launched.returncode == 0, launched.stdout[-3000:] + launched.stderr[-3000:]
    assert launched.stdout.count("Logged to MLflow") == 1  # rank 1 computed the same and printed nothing
    single = subprocess.run(
        [sys.executable, "-m", "erc_bench.cli", "run", str(spec), "--cache-dir", str(tmp_path / "one-cache"),
         "--tracking-uri", f"sqlite:///{tmp_path / 'one.db'}"],
        env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert single.returncode == 0, single.stdout[-3000:] + single.stderr[-3000:]

    ddp_runs, one_runs = _seed_runs(f"sqlite:///{tmp_path / 'ddp.db'}"), _seed_runs(f"sqlite:///{tmp_path / 'one.db'}")
    assert len(ddp_runs) == 1 == len(one_runs)  # one dataset-seed run, not one per process
    ddp, one = ddp_runs[0].data.metrics, one_runs[0].data.metrics
    for stage in STAGE_ONE:
        for split in ("validation", "test"):
            assert ddp[f"{stage}/{split}/weighted_f1"] == one[f"{stage}/{split}/weighted_f1"], (stage, split)
    assert {name for name in ddp if name.endswith("/test/weighted_f1")} == \
        {name for name in one if name.endswith("/test/weighted_f1")}
    def entries(cache: Path) -> dict[str, int]:
        """Files per cache namespace (stage keys chain on earlier stages' outputs, so they need not match)."""
        counts: dict[str, int] = {}
        for path in cache.rglob("*"):
            if path.is_file():
                counts[path.relative_to(cache).parts[0]] = counts.get(path.relative_to(cache).parts[0], 0) + 1
        return counts

    assert entries(tmp_path / "ddp-cache") == entries(tmp_path / "one-cache")  # rank 0 wrote each entry once
    assert not list(tmp_path.glob("erc-bench-rank1-*"))  # rank 1's scratch cache is gone when it exits
