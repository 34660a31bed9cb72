"""``erc-bench care-pretrain``: a tiny trunk on the demo pool trains, survives SIGKILL, resumes exactly, loads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from erc_bench.core.errors import SpecError

ROOT = Path(__file__).resolve().parents[1]
DEMO_SPEC = ROOT / "benchmarks" / "demo" / "care_pretrain.toml"
SMALL = ["care_pretrain.max_items=16", "care_pretrain.steps=12", "care_pretrain.batch_size=4",
         "care_pretrain.val_every=4", "care_pretrain.checkpoint_every=4", "care_pretrain.log_every=4"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("care")
    return {"base": base, "cache": base / "cache", "db": base / "m.db"}


def _argv(ws: dict[str, Path], output: Path, extra: list[str] = ()) -> list[str]:
    sets = [f"care_pretrain.output={json.dumps(str(output))}", *SMALL, *extra]
    return ["care-pretrain", str(DEMO_SPEC), "--cache-dir", str(ws["cache"]), "--tracking-uri",
            f"sqlite:///{ws['db']}", *[arg for s in sets for arg in ("--set", s)]]


@pytest.mark.slow
def test_sigkill_then_resume_matches_an_uninterrupted_run(workspace: dict[str, Path], cli) -> None:
    killed = workspace["base"] / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
    proc = subprocess.Popen([sys.executable, "-c", "from erc_bench.cli import main; main()",
                             *_argv(workspace, killed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = killed / "training" / "state.pt"
    deadline = time.monotonic() + 900
    while not state.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    steps_saved = len(json.loads((killed / "training" / "history.json").read_text()))
    assert 1 <= steps_saved < 3  # killed between checkpoints, before the end

    code, output = cli(_argv(workspace, killed))
    assert code == 0, output
    assert "resuming from step" in output and "step 12:" in output
    resumed = json.loads((killed / "training" / "history.json").read_text())

    straight = workspace["base"] / "straight"
    code, output = cli(_argv(workspace, straight))
    assert code == 0, output
    uninterrupted = json.loads((straight / "training" / "history.json").read_text())
    assert [r["step"] for r in resumed] == [4.0, 8.0, 12.0] == [r["step"] for r in uninterrupted]
    for a, b in zip(resumed, uninterrupted, strict=True):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-6)


@pytest.mark.slow
def test_losses_fall_and_the_checkpoint_loads_into_care(workspace: dict[str, Path], cli) -> None:
    from erc_bench_speech.care import CareEncoder, CareParams

    out = workspace["base"] / "longer"
    code, output = cli(_argv(workspace, out, ["care_pretrain.steps=24", "care_pretrain.val_every=8"]))
    assert code == 0, output
    history = json.loads((out / "training" / "history.json").read_text())
    vals = [r["val_loss"] for r in history if "val_loss" in r]
    assert vals[-1] < vals[0]
    first, last = history[0], history[-1]
    assert last["train_semantic"] + last["train_acoustic"] < first["train_semantic"] + first["train_acoustic"]
    config = json.loads((out / "care_config.json").read_text())
    assert config["best_step"] in {int(r["step"]) for r in history} and config["acoustic_dim"] == 40

    encoder = CareEncoder(CareParams(checkpoint=str(out), output="layers", device="cpu"))
    clip = np.random.default_rng(0).normal(scale=0.1, size=16_000).astype(np.float32)
    assert encoder.encode([clip])[0].shape == (5, 128)  # 4 layers + input, semantic and acoustic 64 each

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{workspace['db']}")
    runs = mlflow.search_runs(experiment_names=["care-pretrain-demo"], output_format="list")
    metrics = {m for run in runs for m in run.data.metrics}
    assert {"train_semantic", "train_acoustic", "val_loss", "best_val_loss"} <= metrics


def test_spec_errors_are_one_line(tmp_path: Path, cli) -> None:
    from erc_bench_speech.care_pretrain_spec import load_care_spec

    with pytest.raises(SpecError, match="set exactly one of steps or epochs"):
        load_care_spec(DEMO_SPEC, ["care_pretrain.output=x", "care_pretrain.epochs=2"])
    with pytest.raises(SpecError, match="acoustic_target.kind"):
        load_care_spec(DEMO_SPEC, ["care_pretrain.output=x", 'care_pretrain.acoustic_target.kind="pase"'])
    with pytest.raises(SpecError, match="CARE_CHECKPOINT"):
        load_care_spec(DEMO_SPEC)
    code, output = cli(["care-pretrain", str(tmp_path / "none.toml")])
    assert code == 2 and "no such spec file" in output and "Traceback" not in output


def _care_runs(db: Path) -> list[tuple[str, str]]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    experiment = client.get_experiment_by_name("care-pretrain-demo")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    return [(run.info.run_id, run.info.status) for run in runs]


@pytest.mark.slow
def test_sigterm_mid_training_ends_the_mlflow_run_killed(tmp_path: Path) -> None:
    """The run is ``Tracker.run``'s: a SIGTERM between checkpoints closes it KILLED (never left RUNNING) and the
    process exits 128 + 15, as a shell expects."""
    ws = {"cache": tmp_path / "cache", "db": tmp_path / "m.db"}
    out = tmp_path / "terminated"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
    proc = subprocess.Popen([sys.executable, "-c", "from erc_bench.cli import main; main()",
                             *_argv(ws, out, ["care_pretrain.steps=100000"])], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 900
        while not (out / "training" / "state.pt").is_file() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        stderr = proc.communicate(timeout=120)[1].decode()
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "Traceback" not in stderr
    assert [status for _, status in _care_runs(ws["db"])] == ["KILLED"]


@pytest.mark.slow
def test_a_failing_input_ends_the_mlflow_run_failed(workspace: dict[str, Path], tmp_path: Path, cli) -> None:
    """Precomputed acoustic targets missing for an utterance: one line, exit 2, and the run it opened FAILED."""
    db = tmp_path / "failed.db"
    empty = tmp_path / "no-targets"
    empty.mkdir()
    argv = _argv({**workspace, "db": db}, tmp_path / "out", ['care_pretrain.acoustic_target.kind="folder"',
                                                             f"care_pretrain.acoustic_target.folder={json.dumps(str(empty))}"])
    code, output = cli(argv)
    assert code == 2 and "acoustic_target.folder has no" in output and "Traceback" not in output
    assert [status for _, status in _care_runs(db)] == ["FAILED"]
