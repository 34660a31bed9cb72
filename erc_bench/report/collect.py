"""Read one experiment back from MLflow into plain data for the HTML report.

Only the store is read (runs, metrics, tags and the JSON artifacts the recipe
logs), so a report can be written on any machine that sees the store, long
after the run and without the cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from erc_bench.core.errors import UserError
from erc_bench.tracking import tags as names
from erc_bench.tracking.run_log import read_json_artifact
from erc_bench.tracking.tags import STAGE_ORDER


@dataclass
class StageView:
    stage: str
    run_id: str
    scores: dict[str, dict[str, float]]  # split -> metric -> fraction
    best_epoch: int | None
    cached: bool
    labels: list[str] = field(default_factory=list)
    confusion: dict[str, list[list[int]]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SeedView:
    run_id: str
    system: str
    dataset: str
    seed: int
    started: int
    stages: dict[str, StageView] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    card: dict[str, Any] = field(default_factory=dict)  # the dataset card logged with the run ({} for none)


@dataclass
class ReportData:
    experiment: str
    description: str
    uri: str
    runs: list[SeedView]
    resolved_spec: dict[str, Any] | None
    leaderboard: list[Any]
    significance: dict[str, Any] = field(default_factory=dict)  # dataset -> (row labels, adjusted p matrix)

    @property
    def datasets(self) -> list[str]:
        return sorted({r.dataset for r in self.runs})

    def runs_of(self, dataset: str) -> list[SeedView]:
        return sorted((r for r in self.runs if r.dataset == dataset), key=lambda r: (r.system, r.seed))

    def stages_of(self, dataset: str) -> list[str]:
        found = {s for r in self.runs_of(dataset) for s in r.stages}
        return sorted(found, key=lambda s: (STAGE_ORDER.index(s) if s in STAGE_ORDER else len(STAGE_ORDER), s))


def _scores(metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    scores: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        split, _, metric = key.partition("/")
        if split in ("train", "validation", "test") and metric:
            scores.setdefault(split, {})[metric] = value
    return scores


def _pick_experiment(client: Any, experiment: str | None, uri: str) -> Any:
    if experiment is not None:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            known = ", ".join(sorted(e.name for e in client.search_experiments())) or "none"
            raise UserError(f"no MLflow experiment named '{experiment}' at {uri} (experiments there: {known})")
        return found
    latest = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                f"tags.`{names.RUN_KIND_TAG}` = '{names.SEED_RUN_KIND}'",
                                order_by=["attributes.start_time DESC"], max_results=1)
    if not latest:
        raise UserError(f"no erc-bench runs at {uri}; run a benchmark first (erc-bench run SPEC)")
    return client.get_experiment(latest[0].info.experiment_id)


def _stage_view(client: Any, run: Any) -> StageView:
    tags = run.data.tags
    confusion = read_json_artifact(client, run.info.run_id, names.CONFUSION_ARTIFACT) or {}
    history = read_json_artifact(client, run.info.run_id, names.HISTORY_ARTIFACT) or {}
    best = run.data.params.get("best_epoch")
    return StageView(stage=tags[names.STAGE_TAG], run_id=run.info.run_id, scores=_scores(run.data.metrics),
                     best_epoch=int(best) if best and best.isdigit() else history.get("best_epoch"),
                     cached=tags.get(names.CACHED_TAG) == "True", labels=list(confusion.get("labels", [])),
                     confusion=confusion.get("confusion", {}), history=list(history.get("history", [])))


def collect(uri: str, experiment: str | None = None) -> ReportData:
    """The newest dataset-seed run per (system, dataset, seed) of the experiment, with its stages."""
    from mlflow.tracking import MlflowClient

    from erc_bench.report import leaderboard

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # dozens of tiny downloads: no bars
    client = MlflowClient(tracking_uri=uri)
    exp = _pick_experiment(client, experiment, uri)
    runs = client.search_runs([exp.experiment_id], names.finished_seed_runs_filter(),
                              order_by=["attributes.start_time DESC"], max_results=5000)
    newest: dict[tuple[str, str, str, str], Any] = {}
    for run in runs:  # newest first: the first seen per key wins
        tags = run.data.tags
        key = (tags.get(names.SYSTEM_TAG, "?"), tags.get(names.SYSTEM_DIGEST_TAG, ""), tags.get(names.DATASET_TAG, "?"),
               tags.get(names.SEED_TAG, "0"))
        newest.setdefault(key, run)  # one run per configuration and seed, as the leaderboard counts them
    if not newest:
        raise UserError(f"experiment '{exp.name}' at {uri} has no finished dataset-seed runs")
    views = []
    for (system, _digest, dataset, seed), run in newest.items():
        view = SeedView(run.info.run_id, system, dataset, int(seed), run.info.start_time or 0)
        children = client.search_runs([exp.experiment_id], f"tags.`{names.PARENT_RUN_TAG}` = '{run.info.run_id}'")
        for child in children:
            if names.STAGE_TAG in child.data.tags:
                stage = _stage_view(client, child)
                view.stages[stage.stage] = stage
        problems = read_json_artifact(client, run.info.run_id, names.PROBLEMS_ARTIFACT) or {}
        view.problems = list(problems.get("problems", []))
        view.card = read_json_artifact(client, run.info.run_id, names.DATASET_CARD_ARTIFACT) or {}
        views.append(view)
    newest_run = max(views, key=lambda v: v.started)
    spec = read_json_artifact(client, newest_run.run_id, names.RESOLVED_SPEC_ARTIFACT)
    from erc_bench.report.leaderboard_stats import pairwise

    loaded: dict[int, Any] = {}
    rows = leaderboard.build(uri, exp.name, loaded=loaded)
    return ReportData(experiment=exp.name, description=exp.tags.get(names.NOTE_TAG, ""), uri=uri, runs=views,
                      resolved_spec=spec, leaderboard=rows, significance=pairwise(rows, loaded))
