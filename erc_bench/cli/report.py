"""``erc-bench report``: write one self-contained HTML page from an experiment in MLflow."""

from __future__ import annotations

from pathlib import Path

import typer


def report(experiment: str | None = typer.Option(None, "--experiment", "-e",
                                                 help="MLflow experiment (benchmark name); default: the newest run's."),
           out: Path = typer.Option(Path("report.html"), "--out", "-o", help="Where to write the HTML file."),
           tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI.")) -> None:
    """Leaderboard beside the paper, per-stage and per-seed tables, confusion matrices, per-class F1, training
    curves, data problems and the spec, in one HTML file that opens without a network."""
    from erc_bench.cli.console import console
    from erc_bench.report.html import write_report
    from erc_bench.tracking.check import resolve_tracking_uri

    data = write_report(resolve_tracking_uri(tracking_uri), out, experiment)
    console.print(f"Wrote {out} ({out.stat().st_size / 1024:.0f} KiB): experiment '{data.experiment}', "
                    f"{len(data.runs)} dataset-seed runs", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
