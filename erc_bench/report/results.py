"""The table printed at the end of ``erc-bench run``: the paper's Table I layout.

Rows are stage x modality, columns every seed's test weighted F1 and the mean ±
std over seeds; validation WF1 (the selection criterion) is shown beside it.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from erc_bench.report.leaderboard import STAGE_ORDER, mean_std

if TYPE_CHECKING:
    from erc_bench.recipe.merits_l import BenchmarkOutcome

STAGE_TITLES = {
    "stage1-speech": "Audio (Stage I)",
    "stage2-speech": "Audio (Stage II)",
    "stage1-text": "Text (Stage I)",
    "stage2-text": "Text (Stage II)",
    "stage3-fusion": "Audio+Text (Stage III)",
    "joint-fusion": "Audio+Text (joint II+III)",
}


def summary_rows(outcome: BenchmarkOutcome) -> list[dict[str, object]]:
    """One dict per (dataset, stage): per-seed test WF1 (%), mean, std, validation mean."""
    grouped: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}
    for score in outcome.scores:
        test = score.metrics.get("test", {}).get("weighted_f1")
        val = score.metrics.get("validation", {}).get("weighted_f1")
        if test is None:
            continue
        grouped.setdefault((score.dataset, score.stage), {})[score.seed] = (100 * test, 100 * (val or 0.0))
    rows = []
    for (dataset, stage), per_seed in sorted(grouped.items(), key=lambda kv: (kv[0][0], _rank(kv[0][1]))):
        tests = [t for t, _ in per_seed.values()]
        vals = [v for _, v in per_seed.values()]
        mean, std = mean_std(tests)
        rows.append({"dataset": dataset, "stage": stage, "seeds": {s: t for s, (t, _) in sorted(per_seed.items())},
                     "mean": mean, "std": std, "val_mean": statistics.fmean(vals)})
    return rows


def _rank(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)


def results_table(outcome: BenchmarkOutcome) -> Table:
    table = Table(title=f"{outcome.experiment}: weighted F1 % (test; selection on validation) "
                        f"in {outcome.seconds:.0f} s")
    for column in ("dataset", "modality (stage)", "test WF1 per seed", "test mean ± std", "val mean"):
        table.add_column(column)
    for row in summary_rows(outcome):
        seeds = ", ".join(f"{s}: {v:.2f}" for s, v in row["seeds"].items())  # type: ignore[union-attr]
        table.add_row(str(row["dataset"]), STAGE_TITLES.get(str(row["stage"]), str(row["stage"])), seeds,
                      f"{row['mean']:.2f} ± {row['std']:.2f}", f"{row['val_mean']:.2f}")
    return table


def write_results_json(outcome: BenchmarkOutcome, path: Path) -> None:
    """The results table as JSON (``run --output``): per dataset and stage, every seed's test and validation
    weighted F1 as fractions, the mean and std over seeds, and the run's experiment and tracking URI."""
    rows = []
    for row in summary_rows(outcome):
        seeds = row["seeds"]
        assert isinstance(seeds, dict)
        val = {s.seed: s.metrics.get("validation", {}).get("weighted_f1") for s in outcome.scores
               if s.dataset == row["dataset"] and s.stage == row["stage"]}
        rows.append({"dataset": row["dataset"], "stage": row["stage"],
                     "modality": STAGE_TITLES.get(str(row["stage"]), str(row["stage"])),
                     "test_weighted_f1": {str(s): v / 100 for s, v in seeds.items()},
                     "validation_weighted_f1": {str(s): v for s, v in sorted(val.items())},
                     "test_mean": float(row["mean"]) / 100, "test_std": float(row["std"]) / 100})  # type: ignore[arg-type]
    document = {"experiment": outcome.experiment, "tracking_uri": outcome.tracking_uri,
                "seconds": round(outcome.seconds, 2), "rows": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
