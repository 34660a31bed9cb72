"""Every baseline family runs end to end from its shipped demo spec (``benchmarks/demo/baselines/``): through
the real CLI into one MLflow store, then onto the leaderboard and into the HTML report.

Smoke settings (first 2 conversations per split, one seed, one epoch per stage, no pre-training: the families
differ only after Stage I) keep this to seconds per family; the Stage I results they share come from one cache.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted((ROOT / "benchmarks" / "demo" / "baselines").glob("*.toml"))
SMOKE = ["--limit", "2", "--set", "benchmark.seeds=[0]", "--set", "pretrain.enabled=false", "--set",
         "training.stage1.epochs=1", "--set", "training.stage2.epochs=1", "--set", "training.stage3.epochs=1"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("baselines")
    return base / "cache", f"sqlite:///{base / 'mlflow.db'}"


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_demo_baseline_runs_into_the_leaderboard_and_report(spec: Path, store: tuple[Path, str], tmp_path) -> None:
    import subprocess

    import tomllib

    cache, uri = store
    name = tomllib.loads(spec.read_text())["benchmark"]["name"]
    run = subprocess.run([sys.executable, "-m", "erc_bench.cli", "run", str(spec), "--cache-dir", str(cache),
                          "--tracking-uri", uri, *SMOKE], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    board = subprocess.run([sys.executable, "-m", "erc_bench.cli", "leaderboard", "--tracking-uri", uri,
                            "--experiment", name, "--format", "csv"], capture_output=True, text=True, timeout=300)
    assert board.returncode == 0, board.stderr
    rows = [r for r in csv.DictReader(board.stdout.splitlines()) if r["source"] == "measured"]
    assert {r["stage"] for r in rows} >= {"stage3-fusion"} and all(r["ci_low"] for r in rows)
    report = tmp_path / "report.html"
    made = subprocess.run([sys.executable, "-m", "erc_bench.cli", "report", "--tracking-uri", uri, "--experiment",
                           name, "--out", str(report)], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    assert name in report.read_text(encoding="utf-8")
