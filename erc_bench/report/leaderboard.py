"""The leaderboard: every seed's test weighted F1 from MLflow, beside the paper.

Measured rows come from the per-(dataset, seed) runs the recipe logs; reference
rows come from the MERITS-L paper's Table I and Table II (shipped as JSON) and
are always marked as reference numbers, never mixed into measured statistics.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from erc_bench.core.errors import UserError

RUN_KIND = "dataset-seed"
STAGE_ORDER = ["stage1-speech", "stage2-speech", "stage1-text", "stage2-text", "stage3-fusion", "joint-fusion",
               "final"]
FORMATS = ("table", "csv", "json", "markdown")


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation over seeds (0 for a single seed)."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


@dataclass
class Row:
    system: str
    dataset: str
    stage: str
    seeds: dict[int, float] = field(default_factory=dict)
    source: str = "measured"
    reference: float | None = None

    @property
    def mean(self) -> float | None:
        if self.reference is not None:
            return self.reference
        return mean_std(list(self.seeds.values()))[0] if self.seeds else None

    @property
    def std(self) -> float | None:
        if self.reference is not None or not self.seeds:
            return None
        return mean_std(list(self.seeds.values()))[1]

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "dataset": self.dataset, "stage": self.stage, "source": self.source,
                "seeds": {str(k): round(v, 2) for k, v in sorted(self.seeds.items())},
                "mean": None if self.mean is None else round(self.mean, 2),
                "std": None if self.std is None else round(self.std, 2)}


def reference_rows(dataset: str | None = None) -> list[Row]:
    """Table I (per stage), Table II (other systems) and figures from the text of the MERITS-L paper, in %.

    A cell marker (e.g. UniMSE's MELD value, tri-modal) is shown beside the system name for that
    dataset only, because the paper qualifies that one value, not the system's other numbers.
    """
    data = json.loads(resources.files("erc_bench").joinpath("reference/merits_l_paper.json").read_text())
    rows = []
    for table, label in (("table_1", "reference: MERITS-L paper Table I"),
                         ("table_2", "reference: MERITS-L paper Table II"),
                         ("text", "reference: MERITS-L paper text")):
        for entry in data.get(table, []):
            for ds in ("iemocap", "meld", "mosi"):
                if entry[ds] is None or (dataset and ds != dataset):
                    continue
                marker = entry.get("markers", {}).get(ds)
                system = f"{entry['system']} ({marker})" if marker else entry["system"]
                rows.append(Row(system, ds, entry["stage"], source=label, reference=entry[ds]))
    return rows


def measured_rows(uri: str, experiment: str | None = None, dataset: str | None = None) -> list[Row]:
    """Collect test weighted F1 per (system, dataset, stage, seed) from the MLflow store."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiments = client.search_experiments()
    if experiment is not None:
        experiments = [e for e in experiments if e.name == experiment]
        if not experiments:
            raise UserError(f"no MLflow experiment named '{experiment}' at {uri}")
    if not experiments:
        return []
    query = f"tags.`erc_bench.run_kind` = '{RUN_KIND}'"
    if dataset:
        query += f" and tags.`erc_bench.dataset` = '{dataset}'"
    runs = client.search_runs([e.experiment_id for e in experiments], filter_string=query, max_results=50000)
    grouped: dict[tuple[str, str, str], Row] = {}
    for run in runs:
        tags = run.data.tags
        system, ds, seed = tags.get("erc_bench.system", "?"), tags.get("erc_bench.dataset", "?"), tags.get(
            "erc_bench.seed", "0")
        for metric, value in run.data.metrics.items():
            parts = metric.split("/")
            if len(parts) != 3 or parts[1] != "test" or parts[2] != "weighted_f1":
                continue
            row = grouped.setdefault((system, ds, parts[0]), Row(system, ds, parts[0]))
            row.seeds[int(seed)] = 100.0 * value
    return sorted(grouped.values(), key=_sort_key)


def _sort_key(row: Row) -> tuple[Any, ...]:
    stage_rank = STAGE_ORDER.index(row.stage) if row.stage in STAGE_ORDER else len(STAGE_ORDER)
    return (row.dataset, row.source != "measured", row.system, stage_rank)


def build(uri: str, experiment: str | None = None, dataset: str | None = None) -> list[Row]:
    """Measured rows plus the paper's rows for the datasets measured (all of them when nothing is)."""
    measured = measured_rows(uri, experiment, dataset)
    references = reference_rows(dataset)
    if measured and dataset is None:
        seen = {row.dataset for row in measured}
        references = [row for row in references if row.dataset in seen]
    return sorted(measured + references, key=_sort_key)


def _cells(row: Row) -> list[str]:
    seeds = ", ".join(f"{s}: {v:.2f}" for s, v in sorted(row.seeds.items())) if row.seeds else "-"
    if row.reference is not None:
        score = f"{row.reference:.2f}"
    else:
        score = f"{row.mean:.2f} ± {row.std:.2f} (n={len(row.seeds)})"
    return [row.dataset, row.system, row.stage, seeds, score, row.source]


HEADERS = ["dataset", "system", "stage", "test WF1 % per seed", "mean ± std", "source"]


def render(rows: list[Row], fmt: str) -> str | None:
    """Text for csv/json/markdown; None for 'table' (the CLI prints a rich table)."""
    if fmt == "json":
        return json.dumps([r.as_dict() for r in rows], indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["dataset", "system", "stage", "source", "seed", "weighted_f1", "mean", "std"])
        for r in rows:
            for seed, value in sorted(r.seeds.items()) or [("", r.reference)]:
                writer.writerow([r.dataset, r.system, r.stage, r.source, seed, f"{value:.2f}",
                                 f"{r.mean:.2f}", "" if r.std is None else f"{r.std:.2f}"])
        return buffer.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
        return "\n".join(lines) + "\n"
    if fmt == "table":
        return None
    raise UserError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")


def rich_table(rows: list[Row]) -> Any:
    from rich.table import Table

    table = Table(title="erc-bench leaderboard (weighted F1 %, test split)")
    for header in HEADERS:
        table.add_column(header)
    for r in rows:
        style = "dim italic" if r.source != "measured" else None
        table.add_row(*_cells(r), style=style)
    return table
