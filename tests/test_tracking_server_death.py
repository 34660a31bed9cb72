"""A real `mlflow server` killed while Stage II trains: the run finishes the stage, caches it, exits in
seconds with one line, and the next run closes what the dead server left RUNNING and resumes from the cache."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_engine_tracking import _free_port
from test_recipe_end_to_end import SPEC, write_tiny_corpus

from erc_bench.core.cache import Cache


def _start_server(store: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{store / 'server.db'}", "--artifacts-destination",
         str(store / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("mlflow server did not start")


@pytest.mark.slow
def test_server_killed_mid_stage_costs_seconds_and_the_rerun_resumes(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    manifest = write_tiny_corpus(tmp_path)
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC.format(manifest=manifest, fusion="concat", fusion_params="")
                    .replace("seeds = [0, 1]", "seeds = [0]")
                    .replace("[training.stage2]\nepochs = 3", "[training.stage2]\nepochs = 120"))
    store, cache_dir, port = tmp_path / "server", tmp_path / "cache", _free_port()
    store.mkdir()
    uri = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_HTTP_REQUEST")}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "200"}
    command = [sys.executable, "-m", "erc_bench.cli", "run", str(spec), "--tracking-uri", uri,
               "--cache-dir", str(cache_dir)]
    server = _start_server(store, port)
    try:
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        client = MlflowClient(tracking_uri=uri)
        deadline = time.time() + 300
        while time.time() < deadline:  # wait until Stage II is training (its nested run is open)
            experiment = client.get_experiment_by_name("tiny-e2e")
            if experiment is not None and client.search_runs(
                    [experiment.experiment_id], "attributes.status = 'RUNNING' and tags.`erc_bench.stage` LIKE "
                    "'stage2-%'"):
                break
            assert run.poll() is None, run.communicate()[0]
            time.sleep(0.2)
        else:
            pytest.fail("Stage II never started")
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        died = time.monotonic()
        output, _ = run.communicate(timeout=600)
        seconds = time.monotonic() - died
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    print(f"server death -> run exit: {seconds:.1f} s")
    assert run.returncode == 75, output
    assert seconds < 45, f"{seconds:.1f} s from the server's death to the run's exit"
    errors = [line for line in output.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "stopped answering" in errors[0] and "rerun" in errors[0], output
    assert "Traceback" not in output
    stages = {e.meta.get("stage") for e in Cache(cache_dir).entries("stages")}
    assert {"stage1-text", "stage1-speech", "stage2-text"} <= stages  # the stage in training was cached

    server = _start_server(store, port)  # the server comes back: the rerun closes the orphans and resumes
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "run(s) an earlier process left RUNNING" in done.stdout
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("tiny-e2e")
        runs = client.search_runs([experiment.experiment_id])
        assert not [r for r in runs if r.info.status == "RUNNING"]
        assert len([r for r in runs if r.info.status == "FAILED"]) >= 2  # the seed run and the stage run
        replayed = [r for r in runs if r.info.status == "FINISHED" and r.data.tags.get("erc_bench.stage") ==
                    "stage2-text" and r.data.tags.get("erc_bench.cached") == "True"]
        assert replayed and "epoch/validation/weighted_f1" in replayed[0].data.metrics
    finally:
        os.killpg(server.pid, signal.SIGKILL)
