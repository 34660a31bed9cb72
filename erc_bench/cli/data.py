"""``erc-bench data ...``: look at a corpus before benchmarking on it (mounted by the main CLI)."""

from __future__ import annotations

import typer

data_app = typer.Typer(help="Inspect dataset plugins: counts per split and label, and corpus problems.",
                       no_args_is_help=True)


@data_app.command("info")
def info(
    name: str = typer.Argument(..., help="dataset plugin name (iemocap, meld, mosi, csv, audio-folder, demo, ...)"),
    root: str | None = typer.Option(None, "--root", help="corpus folder (the plugin's 'root' param)"),
    param: list[str] = typer.Option([], "--param", "-p", help="plugin param as key=value (TOML value); repeatable"),
    spec: str | None = typer.Option(None, "--spec", help="take the params from this spec's slot using NAME"),
    check_audio: bool = typer.Option(False, "--check-audio", help="decode every clip and report unreadable ones"),
) -> None:
    """Load dataset NAME and print its counts and problems."""
    from erc_bench.core.progress import progress_bar
    from erc_bench.report.datainfo import dataset_info, render_report

    if check_audio:
        with progress_bar(transient=True) as progress:
            task = progress.add_task("decoding audio", total=None)
            report = dataset_info(name, root, param, spec, check_audio=True,
                                  on_item=lambda: progress.advance(task))
    else:
        report = dataset_info(name, root, param, spec)
    render_report(report)
