"""What a benchmark writes to MLflow, so that the MLflow UI reads like a results page.

The experiment opens as a training experiment with the spec's description; each
dataset-seed run gets a note (per-stage scores, where its predictions are), a
headline metric and the resolved spec; each stage run its curves, scores, plots
and predictions; one summary run per benchmark the mean ± std over seeds. The
names themselves are spelled in ``erc_bench.tracking.tags`` only.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from erc_bench.core.label_names import metric_labels
from erc_bench.tracking import plots
from erc_bench.tracking.tags import (
    CONFUSION_ARTIFACT,
    DATASET_CARD_ARTIFACT,
    DATASET_CITATION_TAG,
    EXPERIMENT_KIND_TAG,
    EXPERIMENT_KIND_TRAINING,
    FINAL_STAGE_TAG,
    HEADLINE_SPLIT,
    HISTORY_ARTIFACT,
    NOTE_TAG,
    PREDICTIONS_ARTIFACT,
    PROBLEMS_ARTIFACT,
    RESOLVED_SPEC_ARTIFACT,
    RUN_KIND_TAG,
    SPEC_DIR,
    SUMMARY_ARTIFACT,
    SUMMARY_METRICS,
    SUMMARY_RUN_KIND,
    epoch_metric_name,
    headline_name,
    is_secret_key,
    metric_name,
)

Render = Callable[[str, Callable[[], bytes]], bytes]
"""``render(name, make)``: a plot's PNG, made by ``make()`` or read back (``log_stage``)."""

if TYPE_CHECKING:  # pragma: no cover - typing only
    from erc_bench.core.cards import DatasetCard
    from erc_bench.core.spec import LoadedSpec
    from erc_bench.tracking.tracker import Tracker



def unweighted_accuracy(confusion: Sequence[Sequence[int]]) -> float | None:
    """UA: mean recall over the classes present in gold (None without any gold)."""
    recalls = [row[i] / sum(row) for i, row in enumerate(confusion) if sum(row)]
    return statistics.fmean(recalls) if recalls else None


def split_scores(metrics: Mapping[str, Mapping[str, float]], confusion: Mapping[str, Any], split: str
                 ) -> dict[str, float]:
    """A split's scores, with UA computed from the confusion matrix where the metrics lack it."""
    scores = dict(metrics.get(split, {}))
    if "ua" not in scores and split in confusion:
        ua = unweighted_accuracy(confusion[split])
        if ua is not None:
            scores["ua"] = ua
    return scores


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if not is_secret_key(k)}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def resolved_spec(loaded: LoadedSpec) -> dict[str, Any]:
    """The spec as run: every section and every component's params with their defaults filled in, and each
    component's code (distribution, version, sources' digest for a working-tree install), so the leaderboard's
    configuration digest changes when a component's code does."""
    from erc_bench.core.spec import STAGED_SYSTEM

    resolved = loaded.spec.model_dump(mode="json")
    if resolved.get("system") is None:  # no [system]: the staged recipe, named like any system
        resolved["system"] = {"plugin": STAGED_SYSTEM}
    for key_path, slot in loaded.resolved.items():
        node: Any = resolved
        for part in key_path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        identity = slot.identity()
        node["params"], node["code"] = identity["params"], identity["code"]
    return _without_secrets(resolved)


def component_code_params(loaded: LoadedSpec) -> dict[str, str]:
    """``code.<slot>`` = ``package version (source digest)`` for each component: what MLflow shows of the code
    that trained (a tag per package says only which packages were installed)."""
    from erc_bench.core.code_identity import describe_code

    return {f"code.{key_path}": describe_code(slot.code()) for key_path, slot in loaded.resolved.items()}


def setup_experiment(tracker: Tracker, loaded: LoadedSpec) -> None:
    """The experiment opens as a training experiment and carries the spec's description."""
    if not tracker.logs:
        return
    from mlflow.tracking import MlflowClient

    spec = loaded.spec
    description = spec.benchmark.description or f"erc-bench benchmark '{spec.benchmark.name}'"
    note = (f"{description}\n\nSpec: `{loaded.path}`; datasets: "
            f"{', '.join(d.plugin for d in spec.datasets)}; seeds: {', '.join(map(str, spec.benchmark.seeds))}. "
            "Scores are fractions; model selection on validation weighted F1, test evaluated once.")
    client = MlflowClient(tracking_uri=tracker.uri)
    client.set_experiment_tag(tracker.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND_TRAINING)
    client.set_experiment_tag(tracker.experiment_id, NOTE_TAG, note)


def log_seed_start(tracker: Tracker, loaded: LoadedSpec, problems: Sequence[Any],
                   card: DatasetCard | None = None) -> None:
    """What every dataset-seed run carries before its stages: the spec (as written and resolved), problems,
    and the dataset's card (``dataset_card.json``; its BibTeX also as a tag, what to cite beside the scores)."""
    tracker.log_artifact(loaded.path, SPEC_DIR)
    tracker.log_dict(resolved_spec(loaded), RESOLVED_SPEC_ARTIFACT)
    if card is not None:
        tracker.log_dict(card.to_dict(), DATASET_CARD_ARTIFACT)
        tracker.set_tags({DATASET_CITATION_TAG: card.citation[:5000]})  # well under MLflow's tag value limit
    counts: dict[str, float] = {}
    for problem in problems:
        counts[f"problems/{problem.kind}"] = counts.get(f"problems/{problem.kind}", 0) + 1
    tracker.log_metrics(counts)
    if problems:
        tracker.log_dict({"problems": [dict(vars(p)) for p in problems]}, PROBLEMS_ARTIFACT)


@dataclass
class StageLog:
    """What a dataset-seed run's note needs about one of its stages."""

    stage: str
    scores: dict[str, dict[str, float]]
    best_epoch: int
    cached: bool
    predictions_uri: str = ""


@dataclass
class SeedLog:
    system: str
    dataset: str
    seed: int
    stages: list[StageLog] = field(default_factory=list)


def epoch_metrics(record: dict[str, Any]) -> dict[str, float]:
    """One epoch's history record under the curve names (``epoch/validation/loss`` ...)."""
    return {name: float(v) for k, v in record.items()
            if (name := epoch_metric_name(k)) is not None and isinstance(v, (int, float))}


def log_stage(tracker: Tracker, seed_log: SeedLog, result: Any, params: dict[str, Any], cached: bool,
              predictions_csv: str, log_history: bool = True, render: Render | None = None) -> StageLog:
    """One stage as a nested run: params, curves, scores, plots, confusion counts and predictions.

    The caller has opened the nested run; the parent gets ``stage/split/metric`` copies afterwards.
    ``render(name, make)`` returns a plot's PNG (``make()`` renders it): the recipe keeps the bytes in the
    cache beside the stage, since three matplotlib figures per stage were most of a warm rerun's time.
    """
    render = render or (lambda _name, make: make())
    stage, labels = result.stage, list(result.labels)
    tracker.log_params(params)
    for step, record in enumerate(result.history if log_history else []):
        tracker.log_metrics(epoch_metrics(record), step=int(record.get("epoch", step + 1)))
    scores = {split: split_scores(result.metrics, result.confusion, split) for split in result.metrics}
    for split, values in scores.items():
        tracker.log_metrics({metric_name(split, k): v for k, v in values.items()})
    title = f"{seed_log.dataset} · {stage} · seed {seed_log.seed}"
    for split in ("validation", "test"):
        if split in result.confusion:
            name = f"confusion_{split}.png"
            tracker.log_bytes(render(f"{name} {title}", lambda split=split, name=name: plots.confusion_png(  # type: ignore[misc]
                result.confusion[split], labels, f"{title} · {split}")), name)
    safe = metric_labels(labels)
    f1 = {split: {label: scores[split].get(f"f1/{safe[label]}", 0.0) for label in labels}
          for split in ("validation", "test") if split in scores}
    if f1:
        tracker.log_bytes(render(f"per_class_f1.png {title}",
                                 lambda: plots.per_class_f1_png(f1, labels, f"per-class F1 · {title}")),
                          "per_class_f1.png")
    if result.history:
        tracker.log_bytes(render(f"training_curves.png {title}", lambda: plots.training_curves_png(
            {f"seed {seed_log.seed}": result.history}, title, {f"seed {seed_log.seed}": result.best_epoch})),
            "training_curves.png")
    tracker.log_dict({"labels": labels, "confusion": result.confusion}, CONFUSION_ARTIFACT)
    tracker.log_dict({"best_epoch": result.best_epoch, "history": result.history}, HISTORY_ARTIFACT)
    tracker.log_text(predictions_csv, PREDICTIONS_ARTIFACT)
    test = scores.get("test", {})
    tracker.set_tags({NOTE_TAG: f"{seed_log.system} · {title}: test WF1 {test.get('weighted_f1', float('nan')):.4f}, "
                                f"UA {test.get('ua', float('nan')):.4f}; epoch {result.best_epoch} selected on "
                                f"validation weighted F1{' (replayed from the cache)' if cached else ''}."})
    logged = StageLog(stage, scores, result.best_epoch, cached, tracker.artifact_uri(PREDICTIONS_ARTIFACT))
    seed_log.stages.append(logged)
    return logged


def parent_stage_metrics(logged: StageLog) -> dict[str, float]:
    """The ``stage/split/metric`` copies on the dataset-seed run (what the leaderboard reads)."""
    return {metric_name(split, k, stage=logged.stage): v for split, values in logged.scores.items()
            for k, v in values.items()}


def final_stage(seed_log: SeedLog) -> StageLog | None:
    """The stage the headline reports: the last fusion stage, else the last stage run."""
    fused = [s for s in seed_log.stages if s.stage.endswith("fusion")]
    ranked = fused or seed_log.stages
    return ranked[-1] if ranked else None


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def seed_note(seed_log: SeedLog) -> str:
    """The dataset-seed run's description (Markdown, shown on its MLflow run page)."""
    final = final_stage(seed_log)
    lines = [f"**{seed_log.system}** on **{seed_log.dataset}**, seed **{seed_log.seed}**. "
             "Scores are fractions; each stage's epoch selected on validation weighted F1, test evaluated once.",
             "", "| stage | test WF1 | test UA | validation WF1 | selected epoch | from cache |",
             "| --- | --- | --- | --- | --- | --- |"]
    for s in seed_log.stages:
        test, val = s.scores.get("test", {}), s.scores.get("validation", {})
        lines.append(f"| {s.stage} | {_fmt(test.get('weighted_f1'))} | {_fmt(test.get('ua'))} | "
                     f"{_fmt(val.get('weighted_f1'))} | {s.best_epoch} | {'yes' if s.cached else 'no'} |")
    if final is not None:
        lines += ["", f"Headline `{headline_name()}` = {_fmt(final.scores.get('test', {}).get('weighted_f1'))} "
                      f"({final.stage})."]
    lines += ["", "Predictions (every split, one row per utterance) are each stage's nested run's "
                  f"`{PREDICTIONS_ARTIFACT}`:"]
    lines += [f"- {s.stage}: {s.predictions_uri}" for s in seed_log.stages]
    return "\n".join(lines)


def log_seed_end(tracker: Tracker, seed_log: SeedLog) -> None:
    """Headline metrics, final-stage tag and the note on the (still active) dataset-seed run."""
    final = final_stage(seed_log)
    if final is not None:
        tracker.log_metrics({metric_name(HEADLINE_SPLIT, k): v for k, v in final.scores.get("test", {}).items()
                             if k in SUMMARY_METRICS})
        tracker.set_tags({FINAL_STAGE_TAG: final.stage})
    tracker.set_tags({NOTE_TAG: seed_note(seed_log)})


def summarise(seed_logs: Sequence[SeedLog]) -> list[dict[str, Any]]:
    """Mean ± std over seeds per (dataset, stage, metric) on the test split, with every seed's value."""
    grouped: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    for log in seed_logs:
        for s in log.stages:
            grouped.setdefault((log.dataset, s.stage), {})[log.seed] = s.scores.get("test", {})
    rows = []
    for (dataset, stage), per_seed in grouped.items():
        for metric in SUMMARY_METRICS:
            values = {seed: v[metric] for seed, v in sorted(per_seed.items()) if metric in v}
            if not values:
                continue
            series = list(values.values())
            rows.append({"dataset": dataset, "stage": stage, "metric": metric, "seeds": values,
                         "mean": statistics.fmean(series),
                         "std": statistics.stdev(series) if len(series) > 1 else 0.0})
    return rows


def log_benchmark_summary(tracker: Tracker, loaded: LoadedSpec, seed_logs: Sequence[SeedLog],
                          tags: dict[str, str]) -> str | None:
    """One run per benchmark invocation holding the across-seed summary (metrics, table note, plot)."""
    rows = summarise(seed_logs)
    if not rows:
        return None
    with tracker.run("summary", tags=tags | {RUN_KIND_TAG: SUMMARY_RUN_KIND}) as run_id:
        for row in rows:
            base = metric_name("test", row["metric"], stage=row["stage"], dataset=row["dataset"])
            tracker.log_metrics({f"{base}_mean": row["mean"], f"{base}_std": row["std"]})
        tracker.log_dict({"rows": rows}, SUMMARY_ARTIFACT)
        tracker.log_dict(resolved_spec(loaded), RESOLVED_SPEC_ARTIFACT)
        lines = [f"**{loaded.spec.benchmark.name}**: test scores over seeds "
                 f"{', '.join(map(str, loaded.spec.benchmark.seeds))} (fractions, mean ± std).", "",
                 "| dataset | stage | metric | per seed | mean ± std |", "| --- | --- | --- | --- | --- |"]
        for row in rows:
            seeds = ", ".join(f"{s}: {v:.4f}" for s, v in row["seeds"].items())
            lines.append(f"| {row['dataset']} | {row['stage']} | {row['metric']} | {seeds} | "
                         f"{row['mean']:.4f} ± {row['std']:.4f} |")
        tracker.set_tags({NOTE_TAG: "\n".join(lines)})
        for dataset in sorted({r["dataset"] for r in rows}):
            series = [(r["stage"], list(r["seeds"].values())) for r in rows
                      if r["dataset"] == dataset and r["metric"] == "weighted_f1"]
            tracker.log_bytes(plots.seed_summary_png(series, f"{dataset}: test weighted F1 over seeds"),
                              f"summary_{dataset}.png")
    return run_id


def read_json_artifact(client: Any, run_id: str, path: str) -> Any:
    """A JSON artifact of a run, or None when it was never logged."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = client.download_artifacts(run_id, path, tmp)
        except Exception:  # noqa: BLE001 - MLflow raises several types for a missing artifact
            return None
        with open(local, encoding="utf-8") as fh:
            return json.load(fh)
