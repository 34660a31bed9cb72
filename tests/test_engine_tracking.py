"""MLflow tracking and the leaderboard, read back from real stores (SQLite and a real server)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from erc_bench.report import leaderboard as lb
from erc_bench.tracking.plots import confusion_png
from erc_bench.tracking.tags import RUN_KIND_TAG, flatten
from erc_bench.tracking.tracker import Tracker


def _log_fake_benchmark(uri: str, system: str, scores: dict[int, float]) -> None:
    tracker = Tracker(uri, system)
    for seed, wf1 in scores.items():
        tags = {RUN_KIND_TAG: "dataset-seed", "erc_bench.system": system, "erc_bench.dataset": "iemocap",
                "erc_bench.seed": str(seed)}
        with tracker.run(f"iemocap-seed{seed}", tags=tags):
            tracker.log_params({"model": {"fusion_head": {"plugin": "co-attention"}}, "seed": seed})
            with tracker.run("stage3-fusion", nested=True):
                tracker.log_metrics({"test/weighted_f1": wf1})
            tracker.log_metrics({"stage3-fusion/test/weighted_f1": wf1, "stage3-fusion/validation/weighted_f1": 0.5})


def test_flatten_drops_secret_values_keeps_variable_names() -> None:
    flat = flatten({"labeller": {"params": {"api_key_env": "OPENAI_API_KEY", "api_key": "x", "token": "y"}},
                    "datasets": [{"plugin": "csv"}], "seeds": [0, 1]})
    assert flat == {"labeller.params.api_key_env": "OPENAI_API_KEY", "datasets.0.plugin": "csv", "seeds": "[0, 1]"}


def test_leaderboard_reads_every_seed_and_marks_reference_rows(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _log_fake_benchmark(uri, "my-system", {0: 0.80, 1: 0.90, 2: 0.85})
    rows = lb.build(uri, dataset="iemocap")
    measured = [r for r in rows if r.source == "measured"]
    assert len(measured) == 1
    row = measured[0]
    assert row.system == "my-system" and row.stage == "stage3-fusion"
    assert row.seeds == pytest.approx({0: 80.0, 1: 90.0, 2: 85.0})
    assert row.mean == pytest.approx(85.0) and row.std == pytest.approx(5.0)
    reference = {(r.system, r.stage): r.reference for r in rows if r.source.startswith("reference")}
    assert reference[("MERITS-L", "stage3-fusion")] == 86.48
    assert reference[("MERITS-L", "stage2-text")] == 83.85
    assert reference[("SMIN", "final")] == 87.47
    as_json = json.loads(lb.render(rows, "json"))
    mine = next(r for r in as_json if r["system"] == "my-system")
    assert {k: mine[k] for k in ("dataset", "stage", "source", "metric", "seeds", "mean", "std")} == {
        "dataset": "iemocap", "stage": "stage3-fusion", "source": "measured", "metric": "weighted_f1",
        "seeds": {"0": 80.0, "1": 90.0, "2": 85.0}, "mean": 85.0, "std": 5.0}
    assert sorted(mine["run_ids"]) == ["0", "1", "2"] and len(set(mine["run_ids"].values())) == 3
    markdown = lb.render(rows, "markdown")
    # runs logged by hand here have no predictions.csv, so no interval or test against the best row
    assert "| iemocap | my-system | stage3-fusion | 0: 80.00, 1: 90.00, 2: 85.00 | 85.00 ± 5.00 (n=3) | - | - | - " \
           "| measured |" in markdown
    assert "reference: MERITS-L paper Table I" in markdown
    csv_text = lb.render(rows, "csv")
    expected = f"iemocap,iemocap,my-system,,stage3-fusion,measured,1,90.00,85.00,5.00,,,,,{mine['run_ids']['1']}"
    assert expected in csv_text
    ranked = [r for r in rows if r.dataset == "iemocap"]
    assert [r.mean for r in ranked] == sorted((r.mean for r in ranked), reverse=True)  # by score


def test_leaderboard_filters_by_experiment(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _log_fake_benchmark(uri, "a", {0: 0.5})
    _log_fake_benchmark(uri, "b", {0: 0.6})
    systems = {r.system for r in lb.measured_rows(uri, experiment="b")}
    assert systems == {"b"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path: Path):  # noqa: ANN201
    """A real `mlflow server` process on 127.0.0.1."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--artifacts-destination",
         str(tmp_path / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("mlflow server did not start")
    yield uri
    proc.terminate()
    proc.wait(timeout=30)


def test_logs_to_a_real_mlflow_server(mlflow_server: str, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    _log_fake_benchmark(mlflow_server, "served", {0: 0.7, 1: 0.75})
    tracker = Tracker(mlflow_server, "served")
    with tracker.run("artifacts"):
        tracker.log_text("a,b\n1,2\n", "predictions.csv")
        tracker.log_bytes(confusion_png([[3, 1], [0, 4]], ["neg", "pos"], "test"), "confusion_test.png")
        run_id = tracker.mlflow.active_run().info.run_id
    client = MlflowClient(tracking_uri=mlflow_server)
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"predictions.csv", "confusion_test.png"} <= names
    png = Path(client.download_artifacts(run_id, "confusion_test.png", str(tmp_path)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = lb.measured_rows(mlflow_server, experiment="served")
    assert rows[0].seeds == pytest.approx({0: 70.0, 1: 75.0})


def test_reference_rows_joint_training_and_cell_markers() -> None:
    rows = {(r.dataset, r.system, r.stage): r for r in lb.reference_rows()}
    joint = rows[("iemocap", "MERITS-L (joint training)", "joint-fusion")]
    assert joint.reference == 82.91 and joint.source == "reference: MERITS-L paper text"
    assert not any(system == "MERITS-L (joint training)" for ds, system, _ in rows if ds != "iemocap")
    assert rows[("meld", "UniMSE (tri-modal)", "final")].reference == 65.51  # the starred cell
    assert rows[("mosi", "UniMSE", "final")].reference == 85.78  # not starred in Table II
    assert ("mosi", "UniMSE (tri-modal)", "final") not in rows


def test_reference_rows_follow_the_measured_datasets(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert {r.dataset for r in lb.build(uri)} == {"iemocap", "meld", "mosi"}  # empty store: the paper's tables
    _log_fake_benchmark(uri, "only-iemocap", {0: 0.8})
    rows = lb.build(uri)
    assert {r.dataset for r in rows} == {"iemocap"}
    assert any(r.source.startswith("reference") for r in rows)


def test_a_relative_sqlite_store_gets_its_artifacts_beside_it(tmp_path, monkeypatch) -> None:
    """``--tracking-uri sqlite:///runs/x/m.db`` (relative to the working folder) used to end in a traceback
    ("relative path can't be expressed as a file URI"); its artifacts now sit beside the store."""
    from erc_bench.tracking.store import default_artifact_location

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_artifact_location("sqlite:///runs/x/m.db", "MLFLOW_TRACKING_URI") == (
        tmp_path / "runs" / "x" / "artifacts").as_uri()
