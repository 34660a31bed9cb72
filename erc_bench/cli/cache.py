"""``erc-bench cache ls | du | clear | verify``: look at and prune the artifact cache (mounted by the main CLI)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from erc_bench.cli.console import console

cache_app = typer.Typer(help="Show and manage the artifact cache.", no_args_is_help=True)


def _cache(cache_dir: Path | None):  # noqa: ANN202 - tiny helper
    from erc_bench.core.cache import Cache

    return Cache(cache_dir)


CacheDirOption = typer.Option(None, "--cache-dir", help="Cache directory (default $ERC_BENCH_CACHE or ~/.cache).")


@cache_app.command("ls")
def cache_ls(namespace: str | None = typer.Argument(None), cache_dir: Path | None = CacheDirOption) -> None:
    """List cache entries (namespace, key, size, component)."""
    cache = _cache(cache_dir)
    table = Table(title=f"cache {cache.root}")
    for column in ("namespace", "key", "size", "component"):
        table.add_column(column)
    for entry in cache.entries(namespace):
        table.add_row(entry.namespace, entry.key[:16], _human(entry.size), str(entry.meta.get("component", "")))
    console.print(table)


@cache_app.command("du")
def cache_du(cache_dir: Path | None = CacheDirOption) -> None:
    """Disk usage per namespace."""
    cache = _cache(cache_dir)
    table = Table(title=f"cache {cache.root}")
    for column in ("namespace", "entries", "size"):
        table.add_column(column)
    total = 0
    for ns, (count, size) in sorted(cache.usage().items()):
        table.add_row(ns, str(count), _human(size))
        total += size
    table.add_row("[bold]total[/bold]", "", _human(total))
    console.print(table)


@cache_app.command("clear")
def cache_clear(namespace: str | None = typer.Argument(None, help="Only this namespace."),
                yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
                cache_dir: Path | None = CacheDirOption) -> None:
    """Delete cache entries (everything, or one namespace)."""
    cache = _cache(cache_dir)
    what = f"namespace '{namespace}'" if namespace else "every entry"
    if not yes and not typer.confirm(f"Delete {what} in {cache.root}?"):
        raise typer.Exit(1)
    console.print(f"removed {cache.clear(namespace)} entries")


@cache_app.command("verify")
def cache_verify(repair: bool = typer.Option(False, "--repair", help="Quarantine damaged entries (the next run "
                                             "recomputes them) and adopt older entries that load."),
                 cache_dir: Path | None = CacheDirOption) -> None:
    """Check every entry against its manifest (sizes and digests) and the label store's integrity.

    Exit code 1 when damage is found and --repair was not given, so a scheduled check can alert."""
    from rich.markup import escape

    from erc_bench.core.sqlite_guard import check_label_stores

    cache = _cache(cache_dir)
    checked, damaged, legacy = cache.verify(repair=repair)
    stores = check_label_stores(cache.root, repair=repair)
    for line in damaged:
        console.print(f"[red]damaged[/red] {escape(line)}" + (" -> quarantined" if repair else ""),
                      soft_wrap=True)
    for line in stores:
        console.print(f"[red]label store[/red] {escape(line)}", soft_wrap=True)
    note = (f"; {legacy} written before manifests " + ("(loaded and adopted)" if repair else
                                                         "(they load; --repair adopts them)")) if legacy else ""
    console.print(f"{checked} entries checked, {len(damaged)} damaged{note}; quarantine: "
                  f"{cache.root / 'quarantine'}", soft_wrap=True)
    if (damaged or stores) and not repair:
        console.print("run `erc-bench cache verify --repair` to quarantine them; the next run recomputes them")
        raise typer.Exit(1)


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} GiB"




def register(app: typer.Typer) -> None:
    """Mount ``cache`` on the main ``erc-bench`` app."""
    app.add_typer(cache_app, name="cache")
