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


@data_app.command("list")
def list_datasets() -> None:
    """Every registered dataset: its tasks, modalities, licence and package (from its card)."""
    from rich.console import Console
    from rich.table import Table

    from erc_bench.core.cards import card_of
    from erc_bench.core.plugin_host import host
    from erc_bench.core.printable import shown

    registry = host().registries["dataset"]
    table = Table(title="datasets (erc-bench data card NAME for one card)")
    for column in ("name", "corpus", "tasks", "modalities", "licence", "package"):
        table.add_column(column, no_wrap=column == "name")
    for name in sorted(registry.names()):
        registered = registry.get(name)
        card = card_of(registered.cls)
        source = f"{registered.source.package} {registered.source.version}"
        if card is None:
            table.add_row(shown(name), "(no card)", "", "", "", shown(source))
            continue
        table.add_row(shown(name), shown(card.title), shown("; ".join(card.tasks)), shown(", ".join(card.modalities)),
                      shown(card.licence), shown(source))
    Console().print(table)


@data_app.command("card")
def card(name: str = typer.Argument(..., help="dataset plugin name (see: erc-bench data list)")) -> None:
    """Print a dataset's card: citation, licence, how to obtain it, layout, splits with counts, labels, defects."""
    from erc_bench.core.cards import card_of
    from erc_bench.core.plugin_host import host
    from erc_bench.core.printable import printable

    registered = host().get("dataset", name)
    found = card_of(registered.cls)
    if found is None:
        typer.echo(f"dataset '{name}' ({registered.source.package} {registered.source.version}) has no card")
        return
    typer.echo("\n".join(printable(line) for line in found.text(name).splitlines()))
