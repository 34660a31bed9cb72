"""``erc-bench compare``: a paired significance test between two logged runs.

Both runs' per-utterance predictions are read back from MLflow and aligned on
utterance id, so the test is paired on exactly the same test utterances; a
mismatch (different utterances or gold labels) is an error, not a silent
intersection.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from erc_bench.core.errors import UserError
from erc_bench.report.leaderboard import STAGE_ORDER


@dataclass
class RunPredictions:
    run_id: str
    label: str
    rows: dict[str, tuple[str, str]]  # utterance id -> (gold, predicted)


def _stage_run(client: Any, run_id: str, stage: str | None) -> Any:
    """The run holding predictions.csv: the run itself, or its chosen/last stage child."""
    try:
        run = client.get_run(run_id)
    except Exception as exc:  # noqa: BLE001 - MLflow raises its own types for unknown ids
        raise UserError(f"no MLflow run '{run_id}' ({type(exc).__name__})") from None
    if "erc_bench.stage" in run.data.tags:
        return run
    children = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'")
    by_stage = {c.data.tags.get("erc_bench.stage"): c for c in children}
    if stage is not None:
        if stage not in by_stage:
            raise UserError(f"run {run_id} has no stage '{stage}'; it has {', '.join(sorted(filter(None, by_stage)))}")
        return by_stage[stage]
    ranked = sorted((s for s in by_stage if s), key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else -1)
    if not ranked:
        raise UserError(f"run {run_id} has no stage runs with predictions")
    final = [s for s in ranked if s.endswith("fusion")] or ranked
    return by_stage[final[-1]]


def load_predictions(uri: str, run_id: str, split: str, stage: str | None) -> RunPredictions:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run = _stage_run(client, run_id, stage)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run.info.run_id, "predictions.csv", tmp)
        except Exception as exc:  # noqa: BLE001
            raise UserError(f"run {run.info.run_id} has no predictions.csv artifact ({type(exc).__name__})") from None
        text = open(path, encoding="utf-8").read()
    rows = {r["utterance_id"]: (r["gold"], r["predicted"]) for r in csv.DictReader(io.StringIO(text))
            if r["split"] == split}
    if not rows:
        raise UserError(f"run {run.info.run_id} has no '{split}' predictions")
    experiment = client.get_experiment(run.info.experiment_id).name
    parent_id = run.data.tags.get("mlflow.parentRunId")
    parent = client.get_run(parent_id).info.run_name if parent_id else ""
    label = "/".join(filter(None, (experiment, parent, run.info.run_name))) + f" ({run.info.run_id[:8]})"
    return RunPredictions(run.info.run_id, label, rows)


def compare_runs(uri: str, run_a: str, run_b: str, split: str = "test", stage: str | None = None,
                 method: str = "bootstrap", n: int = 10_000, seed: int = 0) -> tuple[Any, RunPredictions,
                                                                                      RunPredictions]:
    from erc_bench.report.metrics import approximate_randomization, paired_bootstrap

    a = load_predictions(uri, run_a, split, stage)
    b = load_predictions(uri, run_b, split, stage)
    if set(a.rows) != set(b.rows):
        only_a, only_b = len(set(a.rows) - set(b.rows)), len(set(b.rows) - set(a.rows))
        raise UserError(f"the runs scored different {split} utterances ({only_a} only in A, {only_b} only in B): "
                        "a paired test needs the same items")
    ids = sorted(a.rows)
    mismatched = [i for i in ids if a.rows[i][0] != b.rows[i][0]]
    if mismatched:
        raise UserError(f"gold labels differ for {len(mismatched)} utterances (e.g. {mismatched[0]})")
    gold = [a.rows[i][0] for i in ids]
    pred_a, pred_b = [a.rows[i][1] for i in ids], [b.rows[i][1] for i in ids]
    if method == "bootstrap":
        result = paired_bootstrap(gold, pred_a, pred_b, n=n, seed=seed)
    elif method == "randomization":
        result = approximate_randomization(gold, pred_a, pred_b, n=n, seed=seed)
    else:
        raise UserError(f"--method: unknown '{method}'; choose bootstrap or randomization")
    return result, a, b
