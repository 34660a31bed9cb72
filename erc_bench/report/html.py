"""``erc-bench report``: one self-contained HTML file a person opens without a network.

CSS is inline and every figure is a base64 PNG data URI, so the file can be
mailed, attached to a paper's supplement or opened from a cluster's scratch
disk. Scores are shown in % (as the paper prints them); MLflow keeps fractions.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from erc_bench import __version__
from erc_bench.core.label_names import metric_labels, renamed_labels
from erc_bench.report.collect import ReportData, SeedView, collect
from erc_bench.tracking import plots

SECTIONS = [("leaderboard", "Leaderboard"), ("significance", "Pairwise significance"),
            ("results", "Results per stage and seed"),
            ("confusion", "Confusion matrices"), ("per-class-f1", "Per-class F1"),
            ("curves", "Training curves"), ("problems", "Data problems"), ("spec", "Spec")]

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1.5rem 2rem 4rem; color: #1f2328; background: #fff; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 2px solid #0072B2; padding-bottom: .2rem; margin-top: 2.4rem; }
h3 { margin-top: 1.6rem; color: #0b4f7c; }
.meta { color: #57606a; font-size: .9rem; }
nav { position: sticky; top: 0; background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
      padding: .4rem .8rem; margin: 1rem 0; font-size: .9rem; }
nav a { margin-right: 1rem; color: #0969da; text-decoration: none; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .86rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.reference td { color: #6e7781; font-style: italic; background: #fbfbfc; }
.figures { display: flex; flex-wrap: wrap; gap: .8rem; align-items: flex-start; }
figure { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; padding: .4rem; background: #fff; }
figcaption { font-size: .8rem; color: #57606a; text-align: center; }
img { display: block; max-width: 100%; height: auto; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem; overflow-x: auto;
      font-size: .8rem; }
.empty { color: #57606a; font-style: italic; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def _mean_std(values: Sequence[float]) -> str:
    if not values:
        return "–"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.fmean(values):.2f} ± {100 * std:.2f}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric_from: int = 99,
           row_classes: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for n, row in enumerate(rows):
        cells = "".join(f"<td class=\"num\">{_e(c)}</td>" if i >= numeric_from else f"<td>{_e(c)}</td>"
                        for i, c in enumerate(row))
        css = f" class=\"{row_classes[n]}\"" if row_classes and row_classes[n] else ""
        body.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f"<figure><img alt=\"{_e(caption)}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _leaderboard(data: ReportData) -> str:
    rows = data.leaderboard
    if not rows:
        return "<p class=\"empty\">No rows.</p>"
    from erc_bench.report import leaderboard as lb

    cells = [lb.cells(r) for r in rows]
    classes = ["" if r.source == "measured" else "reference" for r in rows]
    several = lb.multi_config_note(rows)
    note = ("<p class=\"meta\">Test weighted F1 %. Measured rows are this store's runs; grey italic rows are the "
            "MERITS-L paper's Table I / II, for reference only."
            + (f" {_e(several)}" if several else "") + "</p>")
    headers = lb.headers()
    out = note + _table(headers, cells, row_classes=classes)
    if all(c == "" for c in classes):  # no paper rows for these datasets: show the paper's own, apart
        paper = [lb.cells(r) for r in lb.reference_rows()]
        out += (f"<p class=\"meta\">The paper reports no numbers for {_e(', '.join(data.datasets))}; its rows on "
                "IEMOCAP, MELD and CMU-MOSI, for orientation:</p>"
                + _table(headers, paper, row_classes=["reference"] * len(paper)))
    return out


def _significance(data: ReportData) -> str:
    """Per dataset, every pair of measured rows: the Holm-adjusted p-value of the paired cluster bootstrap."""
    if not data.significance:
        return "<p class=\"empty\">Fewer than two measured rows with predictions on any dataset.</p>"
    out = ["<p class=\"meta\">Paired cluster bootstrap (test conversations resampled, seeds both rows ran "
           "averaged) of each pair's weighted-F1 difference; p-values adjusted over a dataset's pairs by Holm's "
           "method; * below 0.05; - no shared seed or utterance.</p>"]
    for dataset, (labels, matrix) in sorted(data.significance.items()):
        rows = [[f"{i + 1}. {label}"] + ["" if i == j else "-" if p is None else f"{p:.3f}" + (" *" if p < 0.05 else "")
                                          for j, p in enumerate(line)]
                for i, (label, line) in enumerate(zip(labels, matrix, strict=True))]
        out.append(f"<h3>{_e(dataset)}</h3>" + _table(["", *[str(n + 1) for n in range(len(labels))]], rows,
                                                      numeric_from=1))
    return "".join(out)


def _results(data: ReportData, dataset: str) -> str:
    runs, stages = data.runs_of(dataset), data.stages_of(dataset)
    seeds = [r.seed for r in runs]
    summary_rows, series = [], []
    for stage in stages:
        tests = [r.stages[stage].scores.get("test", {}) for r in runs if stage in r.stages]
        wf1 = [t["weighted_f1"] for t in tests if "weighted_f1" in t]
        ua = [t["ua"] for t in tests if "ua" in t]
        val = [r.stages[stage].scores.get("validation", {}).get("weighted_f1") for r in runs if stage in r.stages]
        per_seed = [_pct(r.stages[stage].scores.get("test", {}).get("weighted_f1")) if stage in r.stages else "–"
                    for r in runs]
        summary_rows.append([stage, *per_seed, _mean_std(wf1), _mean_std(ua),
                             _mean_std([v for v in val if v is not None])])
        if wf1:
            series.append((stage, wf1))
    parts = [_table(["stage", *(f"seed {s} test WF1" for s in seeds), "test WF1 mean ± std", "test UA mean ± std",
                     "validation WF1 mean ± std"], summary_rows, numeric_from=1)]
    if series:
        parts.append(_figure(plots.seed_summary_png(series, f"{dataset}: test weighted F1 over seeds"),
                             f"{dataset}: test weighted F1 per stage, mean ± std and every seed"))
    for run in runs:
        rows = []
        for stage in stages:
            view = run.stages.get(stage)
            if view is None:
                continue
            test, validation = view.scores.get("test", {}), view.scores.get("validation", {})
            rows.append([stage, _pct(test.get("weighted_f1")), _pct(test.get("ua")), _pct(test.get("accuracy")),
                         _pct(validation.get("weighted_f1")), view.best_epoch or "–", "yes" if view.cached else "no",
                         view.run_id[:8]])
        parts.append(f"<h4>{_e(run.system)} · seed {run.seed} <span class=\"meta\">(run {_e(run.run_id[:8])})"
                     "</span></h4>")
        parts.append(_table(["stage", "test WF1", "test UA", "test accuracy", "validation WF1", "selected epoch",
                             "from cache", "stage run"], rows, numeric_from=1))
    return "".join(parts)


def _confusion(runs: list[SeedView], stages: list[str], dataset: str) -> str:
    parts = []
    for stage in stages:
        figures = [_figure(plots.confusion_png(view.confusion["test"], view.labels,
                                               f"{dataset} · {stage} · seed {run.seed} · test"),
                           f"{stage}, seed {run.seed} (test, row-normalised)")
                   for run in runs if (view := run.stages.get(stage)) and "test" in view.confusion]
        if figures:
            parts.append(f"<h4>{_e(stage)}</h4><div class=\"figures\">{''.join(figures)}</div>")
    return "".join(parts) or "<p class=\"empty\">No confusion matrices were logged.</p>"


def _per_class(runs: list[SeedView], stages: list[str], dataset: str) -> str:
    figures: list[str] = []
    notes: list[str] = []  # labels MLflow would refuse in a metric name, and the names they were logged under
    for stage in stages:
        views = [(run.seed, run.stages[stage]) for run in runs if stage in run.stages]
        labels = next((v.labels for _, v in views if v.labels), [])
        if not labels:
            continue
        safe = metric_labels(labels)
        f1 = {f"seed {seed}": {lab: v.scores.get("test", {}).get(f"f1/{safe[lab]}", 0.0) for lab in labels}
              for seed, v in views}
        renamed = renamed_labels(labels)
        if renamed:
            notes.append(f"{_e(stage)}: per-class metrics are named " + ", ".join(
                f"<code>f1/{_e(form)}</code> for <q>{_e(label)}</q>" for label, form in renamed.items()))
        figures.append(_figure(plots.per_class_f1_png(f1, labels, f"{dataset} · {stage}: per-class F1 (test)",
                                                    "F1 (test)"),
                               f"{stage}: per-class test F1, one bar per seed"))
    mapping = f"<p>{'; '.join(dict.fromkeys(notes))}.</p>" if notes else ""
    return (mapping + f"<div class=\"figures\">{''.join(figures)}</div>") if figures else \
        "<p class=\"empty\">None logged.</p>"


def _curves(runs: list[SeedView], stages: list[str], dataset: str) -> str:
    figures = []
    for stage in stages:
        views = [(f"seed {run.seed}", run.stages[stage]) for run in runs if stage in run.stages]
        histories = {name: v.history for name, v in views if v.history}
        if histories:
            best = {name: v.best_epoch for name, v in views if v.best_epoch}
            figures.append(_figure(plots.training_curves_png(histories, f"{dataset} · {stage}", best),
                                   f"{stage}: loss and validation weighted F1 per epoch"))
    return "".join(figures) or "<p class=\"empty\">No training curves were logged.</p>"


def _problems(data: ReportData, dataset: str) -> str:
    problems = next((r.problems for r in data.runs_of(dataset) if r.problems), [])
    if not problems:
        return "<p>No data problems were found in this corpus.</p>"
    counts: dict[str, int] = {}
    for p in problems:
        counts[str(p.get("kind"))] = counts.get(str(p.get("kind")), 0) + 1
    summary = ", ".join(f"{n} × {kind}" for kind, n in sorted(counts.items()))
    rows = [[p.get("kind", ""), p.get("item_id", ""), p.get("detail", p.get("message", ""))] for p in problems[:200]]
    more = f"<p class=\"meta\">First 200 of {len(problems)} shown.</p>" if len(problems) > 200 else ""
    return f"<p>{_e(summary)}; each item was skipped and logged.</p>" + _table(["kind", "item", "detail"], rows) + more


def _citation(runs: list[SeedView]) -> str:
    """The dataset card's title, licence and BibTeX (logged with each seed run), or a line saying there is none."""
    card = next((r.card for r in runs if r.card), None)
    if not card:
        return "<p class=\"meta\">This dataset plugin has no card (no citation logged).</p>"
    return (f"<p class=\"meta\">{_e(card.get('title', ''))}; licence: {_e(card.get('licence', ''))}. "
            f"Cite:</p><pre class=\"citation\">{_e(card.get('citation', ''))}</pre>")


def render(data: ReportData) -> str:
    """The whole page as one string."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    nav = "".join(f"<a href=\"#{key}\">{_e(title)}</a>" for key, title in SECTIONS)
    body = [f"<h1>erc-bench report: {_e(data.experiment)}</h1>",
            f"<p>{_e(data.description)}</p>" if data.description else "",
            f"<p class=\"meta\">Generated {now} by erc-bench {__version__} from <code>{_e(data.uri)}</code>; "
            f"{len(data.runs)} dataset-seed runs. Scores in % (MLflow stores fractions); every stage's epoch was "
            "selected on validation weighted F1 and the test split evaluated once.</p>",
            f"<nav>{nav}</nav>",
            f"<section id=\"leaderboard\"><h2>Leaderboard</h2>{_leaderboard(data)}</section>",
            f"<section id=\"significance\"><h2>Pairwise significance</h2>{_significance(data)}</section>"]
    per_dataset: dict[str, list[str]] = {key: [] for key, _ in SECTIONS[2:7]}
    for dataset in data.datasets:
        runs, stages = data.runs_of(dataset), data.stages_of(dataset)
        heading = f"<h3>{_e(dataset)}</h3>"
        per_dataset["results"].append(heading + _citation(runs) + _results(data, dataset))
        per_dataset["confusion"].append(heading + _confusion(runs, stages, dataset))
        per_dataset["per-class-f1"].append(heading + _per_class(runs, stages, dataset))
        per_dataset["curves"].append(heading + f"<div class=\"figures\">{_curves(runs, stages, dataset)}</div>")
        per_dataset["problems"].append(heading + _problems(data, dataset))
    for key, title in SECTIONS[2:7]:
        body.append(f"<section id=\"{key}\"><h2>{_e(title)}</h2>{''.join(per_dataset[key])}</section>")
    spec = json.dumps(data.resolved_spec, indent=2) if data.resolved_spec else "(no resolved spec was logged)"
    body.append("<section id=\"spec\"><h2>Spec</h2><p class=\"meta\">As run, every default filled in.</p>"
                f"<pre>{_e(spec)}</pre></section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>erc-bench report: {_e(data.experiment)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def write_report(uri: str, out: str | Path, experiment: str | None = None) -> ReportData:
    """Collect an experiment from MLflow and write its report to ``out``."""
    data = collect(uri, experiment)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render(data), encoding="utf-8")
    return data
