"""The table printed at the end of ``erc-bench run``: the paper's Table I layout.

Rows are stage x modality, columns every seed's test weighted F1 and the mean ±
std over seeds; validation WF1 (the selection criterion) is shown beside it.
"""

from __future__ import annotations

import statistics
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
