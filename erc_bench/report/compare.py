"""``erc-bench compare``: a paired significance test between two logged runs or two systems.

A side is a run id (full, or the 8-character prefix erc-bench prints) or a
system: an experiment name, meaning all of its dataset-seed runs. Predictions
are read back from MLflow and aligned on utterance id, so the test is paired on
exactly the same test utterances; a mismatch (different utterances or gold
labels) is an error, not a silent intersection. Two systems are compared over
every seed they share: seed s of A against seed s of B on the same utterances,
the statistic being the WF1 difference averaged over seeds. Resampling is by
conversation, not utterance (``significance``: a cluster bootstrap, and
approximate randomization that swaps a whole conversation's predictions), since
the utterances of one conversation are not independent; every seed sees the same
resampled conversations.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from erc_bench.core.csv_safe import restore
from erc_bench.core.errors import UserError
from erc_bench.tracking.tags import (
    DATASET_TAG,
    PARENT_RUN_TAG,
    SEED_TAG,
    STAGE_ORDER,
    STAGE_TAG,
    finished_seed_runs_filter,
)


@dataclass
class RunPredictions:
    run_id: str
    label: str
    rows: dict[str, tuple[str, str]]  # utterance id -> (gold, predicted)
    conversations: dict[str, str]  # utterance id -> conversation id (the resampling unit)


def resolve_run_id(client: Any, prefix: str) -> str:
    """A full run id from a full id or a unique prefix of one (the short ids erc-bench prints)."""
    prefix = prefix.strip().lower()
    if len(prefix) == 32:
        return prefix
    if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
        raise UserError(f"'{prefix}' is neither a run id (hex, at least 4 characters) nor an experiment name")
    experiments = [e.experiment_id for e in client.search_experiments()]
    found = [r.info.run_id for r in client.search_runs(experiments, max_results=50_000)
             if r.info.run_id.startswith(prefix)] if experiments else []
    if len(found) != 1:
        what = ("no run in the store starts with it" if not found else
                f"{len(found)} runs start with it ({', '.join(f[:12] for f in found[:3])}); give more characters")
        raise UserError(f"run id '{prefix}': {what}")
    return found[0]


def _stage_run(client: Any, run_id: str, stage: str | None) -> Any:
    """The run holding predictions.csv: the run itself, or its chosen/last stage child."""
    try:
        run = client.get_run(resolve_run_id(client, run_id))
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow raises its own types for unknown ids
        raise UserError(f"no MLflow run '{run_id}' ({type(exc).__name__})") from None
    run_id = run.info.run_id
    if STAGE_TAG in run.data.tags:
        return run
    children = client.search_runs([run.info.experiment_id], f"tags.`{PARENT_RUN_TAG}` = '{run_id}'")
    by_stage = {c.data.tags.get(STAGE_TAG): c for c in children}
    if stage is not None:
        if stage not in by_stage:
            raise UserError(f"run {run_id} has no stage '{stage}'; it has {', '.join(sorted(filter(None, by_stage)))}")
        return by_stage[stage]
    ranked = sorted((s for s in by_stage if s), key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else -1)
    if not ranked:
        raise UserError(f"run {run_id} has no stage runs with predictions")
    final = [s for s in ranked if s.endswith("fusion")] or ranked
    return by_stage[final[-1]]


def load_predictions(uri: str, run_id: str, split: str, stage: str | None, client: Any = None) -> RunPredictions:
    from mlflow.tracking import MlflowClient

    client = client or MlflowClient(tracking_uri=uri)
    run = _stage_run(client, run_id, stage)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run.info.run_id, "predictions.csv", tmp)
        except Exception as exc:  # noqa: BLE001
            raise UserError(f"run {run.info.run_id} has no predictions.csv artifact ({type(exc).__name__})") from None
        text = open(path, encoding="utf-8").read()
    read = [r for r in csv.DictReader(io.StringIO(text)) if r["split"] == split]
    rows = {restore(r["utterance_id"]): (restore(r["gold"]), restore(r["predicted"])) for r in read}
    conversations = {restore(r["utterance_id"]): restore(r.get("conversation_id") or r["utterance_id"]) for r in read}
    if not rows:
        raise UserError(f"run {run.info.run_id} has no '{split}' predictions")
    experiment = client.get_experiment(run.info.experiment_id).name
    parent_id = run.data.tags.get(PARENT_RUN_TAG)
    parent = client.get_run(parent_id).info.run_name if parent_id else ""
    label = "/".join(filter(None, (experiment, parent, run.info.run_name))) + f" ({run.info.run_id[:8]})"
    return RunPredictions(run.info.run_id, label, rows, conversations)


def compare_runs(uri: str, run_a: str, run_b: str, split: str = "test", stage: str | None = None,
                 method: str = "bootstrap", n: int = 10_000, seed: int = 0) -> tuple[Any, RunPredictions,
                                                                                      RunPredictions]:
    from erc_bench.report.significance import cluster_randomization, paired_cluster_bootstrap

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
    groups = [a.conversations[i] for i in ids]
    if method == "bootstrap":
        result = paired_cluster_bootstrap(gold, [pred_a], [pred_b], groups, n=n, seed=seed)
    elif method == "randomization":
        result = cluster_randomization(gold, [pred_a], [pred_b], groups, n=n, seed=seed)
    else:
        raise UserError(f"--method: unknown '{method}'; choose bootstrap or randomization")
    return result, a, b


@dataclass
class SystemComparison:
    """Two systems over their shared seeds on one dataset: the averaged test and each seed's own difference."""

    result: Any  # metrics.Comparison with delta = mean over seeds of WF1(A_s) - WF1(B_s)
    dataset: str
    seeds: list[int]
    per_seed: dict[int, tuple[float, float]]  # seed -> (WF1 A, WF1 B)
    label_a: str
    label_b: str

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "seeds": self.seeds, "a": self.label_a, "b": self.label_b,
                "per_seed": {str(s): {"wf1_a": a, "wf1_b": b} for s, (a, b) in self.per_seed.items()},
                **self.result.to_dict()}


def _system_runs(client: Any, experiment: str, dataset: str | None) -> dict[tuple[str, int], str]:
    """(dataset, seed) -> dataset-seed run id of an experiment (the newest when a seed ran twice)."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise UserError(f"'{experiment}' is neither a run id nor an MLflow experiment (system) in the store")
    runs = client.search_runs([found.experiment_id], finished_seed_runs_filter(),
                              order_by=["attributes.start_time ASC"], max_results=50_000)
    out: dict[tuple[str, int], str] = {}
    for run in runs:
        tags = run.data.tags
        if dataset is None or tags.get(DATASET_TAG) == dataset:
            out[(tags.get(DATASET_TAG, ""), int(tags.get(SEED_TAG, 0)))] = run.info.run_id
    if not out:
        raise UserError(f"system '{experiment}' has no finished dataset-seed runs"
                        + (f" on dataset '{dataset}'" if dataset else ""))
    return out


def is_system(client: Any, side: str) -> bool:
    return client.get_experiment_by_name(side) is not None


def compare_systems(uri: str, system_a: str, system_b: str, split: str = "test", stage: str | None = None,
                    dataset: str | None = None, n: int = 10_000, seed: int = 0) -> SystemComparison:
    """Paired cluster bootstrap of two systems over every seed both ran, on the same utterances."""
    from mlflow.tracking import MlflowClient

    from erc_bench.core.metrics import weighted_f1
    from erc_bench.report.significance import paired_cluster_bootstrap

    client = MlflowClient(tracking_uri=uri)
    runs_a, runs_b = _system_runs(client, system_a, dataset), _system_runs(client, system_b, dataset)
    shared = sorted(set(runs_a) & set(runs_b))
    datasets = sorted({d for d, _ in shared})
    if not shared:
        raise UserError(f"'{system_a}' and '{system_b}' share no (dataset, seed); nothing to pair")
    if len(datasets) > 1:
        raise UserError(f"the systems share several datasets ({', '.join(datasets)}); pick one with --dataset")
    seeds = [s for _, s in shared]
    sides = [(load_predictions(uri, runs_a[k], split, stage, client), load_predictions(uri, runs_b[k], split, stage,
                                                                                     client)) for k in shared]
    ids = sorted(sides[0][0].rows)
    for (a, b), s in zip(sides, seeds, strict=True):
        if set(a.rows) != set(ids) or set(b.rows) != set(ids):
            raise UserError(f"seed {s}: the runs scored different {split} utterances; a paired test needs the same")
        if any(side.rows[i][0] != sides[0][0].rows[i][0] for side in (a, b) for i in ids):
            raise UserError(f"seed {s}: gold labels differ between the runs; they scored different data")
    gold = [sides[0][0].rows[i][0] for i in ids]
    preds_a = [[a.rows[i][1] for i in ids] for a, _ in sides]
    preds_b = [[b.rows[i][1] for i in ids] for _, b in sides]
    per_seed = {s: (weighted_f1(gold, pa), weighted_f1(gold, pb))
                for s, pa, pb in zip(seeds, preds_a, preds_b, strict=True)}
    groups = [sides[0][0].conversations[i] for i in ids]
    result = paired_cluster_bootstrap(gold, preds_a, preds_b, groups, n=n, seed=seed)
    return SystemComparison(result, datasets[0], seeds, per_seed, f"{system_a} ({len(seeds)} seeds)",
                            f"{system_b} ({len(seeds)} seeds)")
