"""The leaderboard: every seed's test score from MLflow, one row per system configuration, beside the paper.

Measured rows come from the per-(dataset, seed) runs the recipe logs. A row is keyed by the
system's identity (name + digest of its resolved configuration) and the dataset's identity (plugin,
fold, class set, corpus / CSV name; see ``erc_bench.identity``) and the stage: two configurations
run under one name are two rows, each marked with its digest. For one configuration and seed the
newest *finished* run wins, so a rerun (or a replay from the cache) replaces a number, never adds a
second one, and a crashed run never shows. Rows are sorted by score within a dataset; ``metric``
chooses the score (weighted F1, accuracy, UA, macro F1). Reference rows come from the MERITS-L
paper (shipped as JSON), are always marked as reference numbers and exist for weighted F1 only.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from erc_bench.core.csv_safe import SafeWriter
from erc_bench.core.errors import UserError
from erc_bench.core.metrics import METRICS, mean_std
from erc_bench.tracking.tags import (
    DATASET_KEY_TAG,
    DATASET_LABEL_TAG,
    DATASET_TAG,
    SEED_TAG,
    SPEAKER_IDENTITY_TAG,
    STAGE_ORDER,
    SYSTEM_DIGEST_TAG,
    SYSTEM_TAG,
    finished_seed_runs_filter,
)

FORMATS = ("table", "csv", "json", "markdown")
SHORT_DIGEST = 8


@dataclass
class Row:
    system: str
    dataset: str
    stage: str
    seeds: dict[int, float] = field(default_factory=dict)
    source: str = "measured"
    reference: float | None = None
    digest: str = ""
    dataset_key: str = ""
    run_ids: dict[int, str] = field(default_factory=dict)
    metric: str = "weighted_f1"
    show_digest: bool = False  # set by ``build`` when one name ran under several configurations
    interval: tuple[float, float] | None = None  # 95 % cluster-bootstrap interval of the mean (leaderboard_stats)
    versus_best: str = ""  # "best", "p=0.012" or "p=0.300 n.s." against the dataset's best row
    speaker_identity: str = ""  # "yes" when a component reads who is speaking (MLflow tag), else "no"

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

    @property
    def shown_system(self) -> str:
        return f"{self.system} @{self.digest[:SHORT_DIGEST]}" if self.show_digest and self.digest else self.system

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "config_digest": self.digest or None, "dataset": self.dataset,
                "dataset_key": self.dataset_key or None, "stage": self.stage, "source": self.source,
                "metric": self.metric, "seeds": {str(k): round(v, 2) for k, v in sorted(self.seeds.items())},
                "interval_95": list(self.interval) if self.interval else None, "versus_best": self.versus_best or None,
                "uses_speaker_identity": self.speaker_identity or None,
                "run_ids": {str(k): v for k, v in sorted(self.run_ids.items())},
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


def _metric_of(name: str, metric: str) -> str | None:
    """The stage of a seed run's ``<stage>/test/<metric>`` metric name, else None."""
    parts = name.split("/")
    return parts[0] if len(parts) == 3 and parts[1] == "test" and parts[2] == metric else None


def measured_rows(uri: str, experiment: str | None = None, dataset: str | None = None,
                  metric: str = "weighted_f1") -> list[Row]:
    """Test ``metric`` (in %) per (system, configuration, dataset, stage) and seed; newest finished run wins."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiments = list(client.search_experiments())
    if experiment is not None:
        experiments = [e for e in experiments if e.name == experiment]
        if not experiments:
            raise UserError(f"no MLflow experiment named '{experiment}' at {uri}")
    if not experiments:
        return []
    runs = client.search_runs([e.experiment_id for e in experiments], filter_string=finished_seed_runs_filter(dataset),
                              max_results=50000)
    grouped: dict[tuple[str, str, str, str], Row] = {}
    started: dict[tuple[tuple[str, str, str, str], int], int] = {}
    for run in runs:
        tags = run.data.tags
        system, seed = tags.get(SYSTEM_TAG, "?"), int(tags.get(SEED_TAG, "0"))
        ds = tags.get(DATASET_LABEL_TAG) or tags.get(DATASET_TAG, "?")
        speakers = tags.get(SPEAKER_IDENTITY_TAG, "")
        digest, ds_key = tags.get(SYSTEM_DIGEST_TAG, ""), tags.get(DATASET_KEY_TAG) or ds
        for name, value in run.data.metrics.items():
            stage = _metric_of(name, metric)
            if stage is None:
                continue
            key = (system, digest, ds_key, stage)
            if started.get((key, seed), -1) >= run.info.start_time:
                continue  # an older run of this configuration and seed: the newer one stands
            started[(key, seed)] = run.info.start_time
            row = grouped.setdefault(key, Row(system, ds, stage, digest=digest, dataset_key=ds_key, metric=metric,
                                              speaker_identity=speakers))
            row.seeds[seed] = 100.0 * value
            row.run_ids[seed] = run.info.run_id
    return list(grouped.values())


def _sort_key(row: Row) -> tuple[Any, ...]:
    stage_rank = STAGE_ORDER.index(row.stage) if row.stage in STAGE_ORDER else len(STAGE_ORDER)
    return (row.dataset, -(row.mean if row.mean is not None else float("-inf")), row.source != "measured",
            row.system, stage_rank)


def build(uri: str, experiment: str | None = None, dataset: str | None = None,
          metric: str = "weighted_f1", intervals: bool = True, loaded: dict[int, Any] | None = None) -> list[Row]:
    """Measured rows plus the paper's rows for the datasets measured (all of them when nothing is),
    sorted by score within a dataset; a system name measured under several configurations shows digests;
    ``intervals``: each measured row's conversation-level interval and its test against the best row
    (``loaded``, when given, receives the predictions read for them, by ``id(row)``)."""
    if metric not in METRICS:
        raise UserError(f"--metric: unknown metric '{metric}'; choose one of {', '.join(METRICS)}")
    measured = measured_rows(uri, experiment, dataset, metric)
    if intervals and measured:
        from erc_bench.report import leaderboard_stats

        read = leaderboard_stats.annotate(uri, measured)
        if loaded is not None:
            loaded.update(read)
    references = reference_rows(dataset) if metric == "weighted_f1" else []  # the paper reports WF1 only
    if measured and dataset is None:
        seen = {row.dataset_key.split(":")[0] for row in measured} | {row.dataset for row in measured}
        references = [row for row in references if row.dataset in seen]
    digests: dict[str, set[str]] = {}
    for row in measured:
        digests.setdefault(row.system, set()).add(row.digest)
    for row in measured:
        row.show_digest = len(digests[row.system]) > 1
    return sorted(measured + references, key=_sort_key)


def multi_config_note(rows: list[Row]) -> str | None:
    """The sentence that says a name stands for several configurations, when one does."""
    names = sorted({r.system for r in rows if r.show_digest})
    if not names:
        return None
    return (f"{', '.join(repr(n) for n in names)} ran under more than one configuration: each configuration is "
            f"its own row, marked @<first {SHORT_DIGEST} hex digits of its config digest> "
            "(MLflow tag erc_bench.system_digest).")


def cells(row: Row) -> list[str]:
    """A row as shown in every format (the HTML report too)."""
    seeds = ", ".join(f"{s}: {v:.2f}" for s, v in sorted(row.seeds.items())) if row.seeds else "-"
    if row.reference is not None:
        score = f"{row.reference:.2f}"
    else:
        score = f"{row.mean:.2f} ± {row.std:.2f} (n={len(row.seeds)})"
    interval = f"[{row.interval[0]:.2f}, {row.interval[1]:.2f}]" if row.interval else "-"
    return [row.dataset, row.shown_system, row.stage, seeds, score, interval, row.versus_best or "-",
            row.speaker_identity or "-", row.source]


def headers(metric: str = "weighted_f1") -> list[str]:
    return ["dataset", "system", "stage", f"test {METRICS[metric]} % per seed", "mean ± std", "95 % CI",
            "vs best", "speaker id", "source"]



def _stats_note(rows: list[Row]) -> str | None:
    from erc_bench.report.leaderboard_stats import note

    return note() if any(r.interval for r in rows) else None


def render(rows: list[Row], fmt: str, metric: str = "weighted_f1") -> str | None:
    """Text for csv/json/markdown; None for 'table' (the CLI prints a rich table)."""
    if fmt == "json":
        return json.dumps([r.as_dict() for r in rows], indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = SafeWriter(buffer)
        writer.writerow(["dataset", "dataset_key", "system", "config_digest", "stage", "source", "seed", metric,
                         "mean", "std", "ci_low", "ci_high", "versus_best", "uses_speaker_identity", "run_id"])
        for r in rows:
            low, high = (f"{r.interval[0]:.2f}", f"{r.interval[1]:.2f}") if r.interval else ("", "")
            per_seed: list[tuple[int | str, float | None]] = list(sorted(r.seeds.items())) or [("", r.reference)]
            for seed, value in per_seed:
                writer.writerow([r.dataset, r.dataset_key, r.system, r.digest, r.stage, r.source, seed,
                                 f"{value:.2f}", f"{r.mean:.2f}", "" if r.std is None else f"{r.std:.2f}", low, high,
                                 r.versus_best, r.speaker_identity, r.run_ids.get(seed, "") if isinstance(seed, int)
                                 else ""])
        return buffer.getvalue()
    if fmt == "markdown":
        head = headers(metric)
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
        notes = [n for n in (multi_config_note(rows), _stats_note(rows)) if n]
        return "\n".join(lines + [f"\n{n}" for n in notes]) + "\n"
    if fmt == "table":
        return None
    raise UserError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")


def rich_table(rows: list[Row], metric: str = "weighted_f1") -> Any:
    from rich.table import Table

    caption = "\n".join(n for n in (multi_config_note(rows), _stats_note(rows)) if n) or None
    table = Table(title=f"erc-bench leaderboard ({METRICS[metric]} %, test split)", caption=caption)
    for header in headers(metric):
        table.add_column(header)
    for r in rows:
        style = "dim italic" if r.source != "measured" else None
        table.add_row(*cells(r), style=style)
    return table
