"""The table printed at the end of ``erc-bench run``: the paper's Table I layout.

Rows are stage x modality, columns every seed's test score and the mean ± std over
seeds (weighted F1 always; UA, macro F1 or accuracy on request, ``--metric``), the
number of test utterances scored, and validation WF1 (the selection criterion).
A fusion stage scores only utterances that have both modalities; where it scores
fewer than the single-modality Stage II rows, its n says how many fewer, so that a
Stage III number is never silently compared with a Stage II number on more data.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from erc_bench.core.interfaces import Problem
from erc_bench.core.metrics import METRICS, mean_std
from erc_bench.core.printable import shown
from erc_bench.tracking.tags import SPEAKER_IDENTITY_TAG, SPEAKERS_TAG, STAGE_ORDER

if TYPE_CHECKING:
    from erc_bench.runs.benchmark import BenchmarkOutcome

STAGE_TITLES = {
    "stage1-speech": "Audio (Stage I)",
    "stage2-speech": "Audio (Stage II)",
    "stage1-text": "Text (Stage I)",
    "stage2-text": "Text (Stage II)",
    "stage3-fusion": "Audio+Text (Stage III)",
    "joint-fusion": "Audio+Text (joint II+III)",
}
FUSION_STAGES = ("stage3-fusion", "joint-fusion")


def summary_rows(outcome: BenchmarkOutcome, metrics: tuple[str, ...] = ("weighted_f1",)) -> list[dict[str, Any]]:
    """One dict per (dataset, stage): per-seed test scores (%) for each metric, mean, std, test n,
    validation WF1 mean, and ``n_context``: the utterances the Stage II rows scored when a fusion row scored fewer."""
    grouped: dict[tuple[str, str], dict[int, dict[str, dict[str, float]]]] = {}
    for score in outcome.scores:
        if score.metrics.get("test", {}).get("weighted_f1") is None:
            continue
        grouped.setdefault((score.dataset, score.stage), {})[score.seed] = score.metrics
    rows = []
    for (dataset, stage), per_seed in sorted(grouped.items(), key=lambda kv: (kv[0][0], _rank(kv[0][1]))):
        row: dict[str, Any] = {"dataset": dataset, "stage": stage,
                               "val_mean": statistics.fmean(100 * m.get("validation", {}).get("weighted_f1", 0.0)
                                                            for m in per_seed.values()),
                               "n": max(int(m["test"].get("n", 0)) for m in per_seed.values())}
        for metric in metrics:
            seeds = {s: 100 * m["test"][metric] for s, m in sorted(per_seed.items()) if metric in m["test"]}
            mean, std = mean_std(list(seeds.values())) if seeds else (float("nan"), float("nan"))
            row[metric] = {"seeds": seeds, "mean": mean, "std": std}
        rows.append(row)
    for row in rows:
        if row["stage"] in FUSION_STAGES:
            context = [r["n"] for r in rows if r["dataset"] == row["dataset"] and r["stage"].startswith("stage2-")]
            if context and max(context) > row["n"]:
                row["n_context"] = max(context)
    return rows


def _rank(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)


def _n_cell(row: dict[str, Any]) -> str:
    if "n_context" not in row:
        return str(row["n"])
    missing = row["n_context"] - row["n"]
    return f"{row['n']} ({missing} of {row['n_context']} lack a modality)"


def results_table(outcome: BenchmarkOutcome, metrics: tuple[str, ...] = ("weighted_f1",)) -> Table:
    """``metrics``: the test scores to show, weighted F1 first; any of ``leaderboard.METRICS``."""
    metrics = ("weighted_f1", *[m for m in metrics if m != "weighted_f1"])
    names = " / ".join(METRICS[m] for m in metrics)
    table = Table(title=f"{outcome.experiment}: {names} % (test; selection on validation WF1) "
                        f"in {outcome.seconds:.0f} s")
    table.add_column("dataset")
    table.add_column("modality (stage)")
    table.add_column("test n")
    for metric in metrics:
        table.add_column(f"test {METRICS[metric]} per seed")
        table.add_column(f"{METRICS[metric]} mean ± std")
    table.add_column("val WF1 mean")
    for row in summary_rows(outcome, metrics):
        cells = [str(row["dataset"]), STAGE_TITLES.get(str(row["stage"]), str(row["stage"])), _n_cell(row)]
        for metric in metrics:
            scores = row[metric]
            cells.append(", ".join(f"{s}: {v:.2f}" for s, v in scores["seeds"].items()) or "-")
            cells.append(f"{scores['mean']:.2f} ± {scores['std']:.2f}" if scores["seeds"] else "-")
        cells.append(f"{row['val_mean']:.2f}")
        table.add_row(*cells)
    return table


def write_results_json(outcome: BenchmarkOutcome, path: Path) -> None:
    """The results table as JSON (``run --output``): per dataset and stage, every seed's test and validation
    weighted F1 as fractions, the mean and std over seeds, and the run's experiment and tracking URI."""
    rows = []
    for row in summary_rows(outcome):
        wf1 = row["weighted_f1"]
        val = {s.seed: s.metrics.get("validation", {}).get("weighted_f1") for s in outcome.scores
               if s.dataset == row["dataset"] and s.stage == row["stage"]}
        rows.append({"dataset": row["dataset"], "stage": row["stage"],
                     "modality": STAGE_TITLES.get(str(row["stage"]), str(row["stage"])), "test_n": row["n"],
                     "test_weighted_f1": {str(s): v / 100 for s, v in wf1["seeds"].items()},
                     "validation_weighted_f1": {str(s): v for s, v in sorted(val.items())},
                     "replayed_from_cache": {str(s.seed): s.cached for s in outcome.scores
                                             if s.dataset == row["dataset"] and s.stage == row["stage"]},
                     "test_mean": float(wf1["mean"]) / 100, "test_std": float(wf1["std"]) / 100})
    document = {"experiment": outcome.experiment, "tracking_uri": outcome.tracking_uri,
                "seconds": round(outcome.seconds, 2), "rows": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


_FATE = {"empty-text": "kept (the text model reads an empty string; the speech model still hears the clip)"}
"""What happens to an utterance with this kind of problem, where it is not 'skipped' (it is the default)."""


def report_problems(console: Console, dataset: str, problems: list[Problem]) -> None:
    """Every defect is shown (counted per kind, first ids listed), never dropped silently."""
    if not problems:
        return
    by_kind: dict[str, list[str]] = {}
    for problem in problems:
        by_kind.setdefault(problem.kind, []).append(problem.item_id)
    for kind, ids in sorted(by_kind.items()):
        listed = ", ".join(shown(i) for i in ids[:5]) + (" ..." if len(ids) > 5 else "")
        console.print(f"[yellow]{shown(dataset)}[/yellow]: {len(ids)} x {shown(kind)} ({listed}) - "
                      f"{_FATE.get(kind, 'skipped')}, logged to MLflow", soft_wrap=True, highlight=False)


def speaker_tags(aware: list[str], data: Any, console: Any) -> dict[str, str]:
    """A corpus's seed-run tags: whether a component reads who is speaking (the leaderboard's "speaker id"
    column: the MERITS-L paper leaves such systems out) and whether the corpus names speakers. A speaker-aware
    component on a corpus without speaker ids is said in one line; every utterance is then one unknown
    speaker's (``speakers`` is -1 throughout)."""
    named = any(u.speaker for split in data.splits.values() for c in split for u in c.utterances)
    if aware and not named:
        console.print(f"[yellow]note[/yellow]: {data.name} names no speakers; {', '.join(aware)} (speaker-aware) "
                      "sees every utterance as one unknown speaker's", highlight=False)
    return {SPEAKER_IDENTITY_TAG: "yes" if aware else "no", SPEAKERS_TAG: "given" if named else "none: one "
            "speaker assumed"}
