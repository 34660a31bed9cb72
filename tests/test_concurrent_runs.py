"""Several `erc-bench run` processes at once on a fresh MLflow store, and a run stopped by SIGTERM.

Real subprocesses of the real CLI on a tiny speech-only spec: the store's first
set-up and the experiment's creation race for real, and SIGTERM arrives in the
middle of training, as it does from ``kill``, ``timeout`` or a batch scheduler.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_recipe_end_to_end import write_tiny_corpus

SPEC = """
[benchmark]
name = "{name}"
seeds = [0]
device = "cpu"

[[datasets]]
plugin = "csv"
params = {{ manifest = "{manifest}" }}

[model]
modalities = ["speech"]
speech_encoder = {{ plugin = "acoustic-stats" }}
context_model = {{ plugin = "none" }}

[training.stage1]
epochs = {epochs}
batch_size = 8
[training.stage2]
epochs = {epochs}
batch_size = 4
"""
ENTRY = "from erc_bench.cli import main; main()"


def _spawn(spec: Path, uri: str, cache: Path, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "ERC_BENCH_CACHE": str(cache),
           "COLUMNS": "200"}
    env.pop("ERC_BENCH_TRACKING_URI", None)
    return subprocess.Popen([sys.executable, "-c", ENTRY, "run", str(spec), "--tracking-uri", uri], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _statuses(db: Path) -> list[tuple[str, str]]:
    """(run name, status) of every run, read straight from the store's tables."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT name, status FROM runs").fetchall()


@pytest.mark.slow
def test_four_concurrent_runs_on_a_fresh_store_all_finish_and_each_is_recorded_once(tmp_path) -> None:
    manifest = write_tiny_corpus(tmp_path)
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC.format(name="tiny-concurrent", manifest=manifest, epochs=1))
    db = tmp_path / "fresh" / "mlflow.db"  # not even the folder exists yet
    runs = [_spawn(spec, f"sqlite:///{db}", tmp_path / "cache", tmp_path) for _ in range(4)]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, "\n\n".join(o[-3000:] for o in outputs)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    experiments = [e for e in client.search_experiments() if e.name == "tiny-concurrent"]
    assert len(experiments) == 1
    parents = client.search_runs([experiments[0].experiment_id], "tags.`erc_bench.run_kind` = 'dataset-seed'")
    assert len(parents) == 4 and {r.info.status for r in parents} == {"FINISHED"}
    assert len({r.info.run_id for r in parents}) == 4
    assert all(status == "FINISHED" for _, status in _statuses(db))


@pytest.mark.slow
def test_sigterm_mid_run_closes_its_mlflow_runs_as_killed_and_exits_143(tmp_path) -> None:
    manifest = write_tiny_corpus(tmp_path)
    spec = tmp_path / "long.toml"
    spec.write_text(SPEC.format(name="tiny-sigterm", manifest=manifest, epochs=5000))
    db = tmp_path / "store" / "mlflow.db"
    run = _spawn(spec, f"sqlite:///{db}", tmp_path / "cache", tmp_path)
    try:
        deadline = time.monotonic() + 600
        while not (db.exists() and any(status == "RUNNING" for _, status in _safe_statuses(db))):
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()[0][-3000:]
            time.sleep(0.2)
        time.sleep(3)  # into the 5000 epochs of Stage I (its nested run is opened when it is logged)
        run.send_signal(signal.SIGTERM)
        output = run.communicate(timeout=120)[0]
    finally:
        run.kill()
    assert run.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert "SIGTERM" in output and "Traceback" not in output
    statuses = _statuses(db)
    assert "RUNNING" not in {s for _, s in statuses} and {s for _, s in statuses} == {"KILLED"}, statuses


def _safe_statuses(db: Path) -> list[tuple[str, str]]:
    try:
        return _statuses(db)
    except sqlite3.Error:  # tables not created yet
        return []
