"""The leaderboard's statistics: a conversation-level 95 % interval per row, and which rows are not
significantly different from the best row of their dataset.

Each measured row's interval is the cluster bootstrap of its mean test weighted F1 over its seeds
(``significance.mean_interval``: conversations resampled, the same draw for every seed). Within a dataset
every other row is compared with the best row (highest mean) by the paired cluster bootstrap over the
seeds both ran, on the test utterances both scored; the p-values of a dataset's comparisons are adjusted
with Holm's step-down method (family-wise error 5 %), and a row whose adjusted p-value is at least 0.05 is
marked "n.s.": its difference from the best is not significant. Intervals and tests need the runs'
predictions (``predictions.csv``), so they exist for weighted F1, the metric those reproduce.
"""

from __future__ import annotations

from typing import Any

ALPHA = 0.05
RESAMPLES = 1_000
CORRECTION = "Holm"


def _predictions(uri: str, row: Any, client: Any) -> dict[int, Any]:
    from erc_bench.core.errors import UserError
    from erc_bench.report.compare import load_predictions

    out = {}
    for seed, run_id in sorted(row.run_ids.items()):
        try:
            out[seed] = load_predictions(uri, run_id, "test", row.stage, client)
        except UserError:
            continue  # a run without predictions (an older version): the row keeps no interval
    return out


def annotate(uri: str, rows: list[Any], n: int = RESAMPLES) -> dict[int, dict[int, Any]]:
    """Fill ``interval`` and ``versus_best`` of the measured weighted-F1 rows, in place; returns the predictions
    read (by ``id(row)``, then seed) for ``pairwise``."""
    from mlflow.tracking import MlflowClient

    from erc_bench.report.significance import holm, mean_interval, paired_cluster_bootstrap

    client = MlflowClient(tracking_uri=uri)
    measured = [r for r in rows if r.source == "measured" and r.metric == "weighted_f1" and r.run_ids]
    loaded = {id(r): _predictions(uri, r, client) for r in measured}
    for row in measured:
        runs = loaded[id(row)]
        if not runs:
            continue
        ids = sorted(set.intersection(*(set(p.rows) for p in runs.values())))
        first = next(iter(runs.values()))
        if ids:
            _, low, high = mean_interval([first.rows[i][0] for i in ids], [[p.rows[i][1] for i in ids]
                                                                             for p in runs.values()],
                                         [first.conversations[i] for i in ids], n=n)
            row.interval = (100 * low, 100 * high)
    for dataset_key in sorted({r.dataset_key for r in measured}):
        group = [r for r in measured if r.dataset_key == dataset_key and loaded[id(r)] and r.mean is not None]
        if len(group) < 2:
            continue
        best = max(group, key=lambda r: r.mean)
        best.versus_best = "best"
        others, p_values = [], []
        for row in group:
            if row is best:
                continue
            seeds = sorted(set(loaded[id(row)]) & set(loaded[id(best)]))
            if not seeds:
                row.versus_best = "no shared seed"
                continue
            a, b = [loaded[id(best)][s] for s in seeds], [loaded[id(row)][s] for s in seeds]
            ids = sorted(set.intersection(*(set(p.rows) for p in a + b)))
            if not ids:
                row.versus_best = "no shared utterances"
                continue
            result = paired_cluster_bootstrap([a[0].rows[i][0] for i in ids], [[p.rows[i][1] for i in ids] for p in a],
                                              [[p.rows[i][1] for i in ids] for p in b],
                                              [a[0].conversations[i] for i in ids], n=n)
            others.append(row)
            p_values.append(result.p_value)
        for row, adjusted in zip(others, holm(p_values), strict=True):
            row.versus_best = f"p={adjusted:.3f}" + (" n.s." if adjusted >= ALPHA else "")
    return loaded


def _paired_p(a_runs: dict[int, Any], b_runs: dict[int, Any], n: int) -> float | None:
    from erc_bench.report.significance import paired_cluster_bootstrap

    seeds = sorted(set(a_runs) & set(b_runs))
    if not seeds:
        return None
    a, b = [a_runs[s] for s in seeds], [b_runs[s] for s in seeds]
    ids = sorted(set.intersection(*(set(p.rows) for p in a + b)))
    if not ids:
        return None
    return paired_cluster_bootstrap([a[0].rows[i][0] for i in ids], [[p.rows[i][1] for i in ids] for p in a],
                                    [[p.rows[i][1] for i in ids] for p in b], [a[0].conversations[i] for i in ids],
                                    n=n).p_value


def pairwise(rows: list[Any], loaded: dict[int, dict[int, Any]], n: int = 500
             ) -> dict[str, tuple[list[str], list[list[float | None]]]]:
    """Per dataset: row labels and the Holm-adjusted p-values of every pair of its measured rows (paired
    cluster bootstrap over shared seeds and utterances; None where two rows share no seed or utterance)."""
    from erc_bench.report.significance import holm

    out: dict[str, tuple[list[str], list[list[float | None]]]] = {}
    for dataset in sorted({r.dataset for r in rows if loaded.get(id(r))}):
        group = [r for r in rows if r.dataset == dataset and loaded.get(id(r))]
        if len(group) < 2:
            continue
        pairs = [(i, j) for i in range(len(group)) for j in range(i + 1, len(group))]
        raw = [_paired_p(loaded[id(group[i])], loaded[id(group[j])], n) for i, j in pairs]
        tested = {k: p for k, p in enumerate(raw) if p is not None}
        adjusted = dict(zip(tested, holm(list(tested.values())), strict=True))
        matrix: list[list[float | None]] = [[None] * len(group) for _ in group]
        for k, (i, j) in enumerate(pairs):
            matrix[i][j] = matrix[j][i] = adjusted.get(k)
        out[dataset] = ([f"{r.shown_system} / {r.stage}" for r in group], matrix)
    return out


def note() -> str:
    return (f"95 % interval: cluster bootstrap over test conversations ({RESAMPLES} resamples, seeds averaged); "
            f"vs best: paired cluster bootstrap against the dataset's best row, p-values adjusted by {CORRECTION} "
            f"(n.s. = adjusted p >= {ALPHA}: not significantly different from the best).")
