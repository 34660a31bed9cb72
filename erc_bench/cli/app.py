"""The ``erc-bench`` command: a thin Typer layer over importable engine functions.

Every user-fixable error is a ``UserError``: printed as one line on stderr,
exit code 2, no traceback. Heavy libraries are imported inside commands so
``erc-bench --help`` and ``erc-bench plugins`` stay fast.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from erc_bench import __version__
from erc_bench.cli.console import console, err_console
from erc_bench.core.errors import UserError

# MLflow logs every store migration and run URL at INFO; erc-bench prints what matters itself.
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

app = typer.Typer(help="Build, run and compare multimodal Emotion Recognition in Conversations systems.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False)

SetOption = typer.Option(None, "--set", help="Override a spec key: key.path=value (TOML value). Repeatable.")


def _print_version(value: bool) -> None:
    if value:
        console.print(f"erc-bench {__version__}")
        raise typer.Exit()


DEBUG_ENV = "ERC_BENCH_DEBUG"


@app.callback()
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                       callback=_print_version),
          debug: bool = typer.Option(False, "--debug", help="With an error, also print its traceback.")) -> None:
    """Eager --version: printed before Typer asks for a command; MLflow's INFO chatter silenced for every command,
    also where MLflow was imported (and set its level from the environment) before this module."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    if debug:
        os.environ[DEBUG_ENV] = "1"


CONTRACT_CHECK_LABELS = 4  # validate reads no corpus; run checks with the dataset's own label count
SpecArgument = typer.Argument(..., help="Benchmark spec: a TOML file or a shipped spec's name (erc-bench specs).")


@app.command()
def validate(spec: str = SpecArgument, overrides: list[str] | None = SetOption) -> None:
    """Check a spec of any kind (a benchmark, or one a plugin declares, e.g. CARE pre-training) completely without
    running it: structure, plugin names, each component's params and constructor, and the module contract of
    context models, fusion heads and speech heads. Prints the kind it recognised."""
    from erc_bench.core.contracts import construct_all
    from erc_bench.core.spec import component_slots
    from erc_bench.core.spec_kinds import BENCHMARK, load_any_spec

    kind, loaded = load_any_spec(spec, overrides)
    if kind.name == BENCHMARK:
        construct_all(loaded, CONTRACT_CHECK_LABELS)
        summary = (f"{len(component_slots(loaded.spec))} components, {len(loaded.spec.datasets)} dataset(s), "
                   f"seeds {loaded.spec.benchmark.seeds}")
    else:
        for key_path in loaded.components:
            loaded.build(key_path)
        summary = f"{len(loaded.components)} components ({', '.join(loaded.components) or 'none'})"
    console.print(f"[green]OK[/green] {escape(spec)} ({escape(kind.name)} spec): {summary}", soft_wrap=True)
    for unset in loaded.unset_env:
        console.print(f"[yellow]note[/yellow]: {escape(unset)} is not set; running it will need it")
    if kind.name == BENCHMARK:
        _label_name_notes(loaded)


def _label_name_notes(loaded) -> None:  # noqa: ANN001 - a LoadedSpec
    """Datasets whose labels MLflow refuses in metric names: the names their per-class metrics will carry.
    A corpus that cannot be loaded here (not downloaded yet) is `run`'s to report, not validate's."""
    from erc_bench.core.label_names import label_names_note, renamed_labels
    from erc_bench.core.plugin_host import build
    from erc_bench.core.printable import shown

    for i, entry in enumerate(loaded.spec.datasets):
        try:
            labels = build("dataset", entry.plugin, loaded.params(f"datasets.{i}")).load().labels
        except Exception:  # noqa: BLE001, S112 - a missing corpus is not a spec error
            continue
        renamed = renamed_labels(labels)
        if renamed:
            console.print(f"[yellow]note[/yellow]: datasets.{i} ({shown(entry.plugin)}): "
                          f"{shown(label_names_note(renamed))}", soft_wrap=True)


@app.command()
def run(spec: str = SpecArgument,
        overrides: list[str] | None = SetOption,
        tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI."),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Artifact cache directory."),
        output: Path | None = typer.Option(None, "--output", "-o", help="Also write the results table as JSON."),
        limit: int | None = typer.Option(None, "--limit", min=1,
                                         help="Smoke test: only the first N conversations of each split "
                                              "(cap the pre-training pool with --set pretrain.max_items=K)."),
        metrics: list[str] | None = typer.Option(None, "--metric", help="Also show this test metric in the "
                                                 "results table (ua, macro_f1, accuracy); repeatable."),
        dry_run: bool = typer.Option(False, "--dry-run", help="A [system] that sends paid requests (llm-erc): "
                                                              "print requests, tokens and cost; send nothing.")
        ) -> None:
    """Run a benchmark: pre-training, Stages I-III per dataset and seed, logged to MLflow."""
    from erc_bench.core.spec import load_spec, require_env
    from erc_bench.report.leaderboard import METRICS
    from erc_bench.runs.benchmark import run_benchmark
    from erc_bench.runs.results import results_table, write_results_json
    from erc_bench.tracking.check import resolve_tracking_uri

    unknown = [m for m in metrics or [] if m not in METRICS]
    if unknown:
        raise UserError(f"--metric: unknown metric '{unknown[0]}'; choose from {', '.join(METRICS)}")
    loaded = load_spec(spec, overrides)
    require_env(loaded)
    if dry_run:
        from erc_bench.core.spec import uses_staged_recipe
        from erc_bench.runs.system_run import dry_run as system_dry_run

        if uses_staged_recipe(loaded.spec):
            raise UserError("--dry-run: for a [system] spec; MERITS-L's paid requests are its pre-training "
                            f"labeller's: erc-bench pretrain {spec} --dry-run")
        system_dry_run(loaded, cache_dir, limit, console)
        return
    tracking_uri = resolve_tracking_uri(tracking_uri, loaded.spec.tracking.uri)
    from erc_bench.train import distributed

    # Under a launcher every process runs the recipe; only the main one prints (and logs, and writes the cache).
    shown = console if distributed.is_main() else Console(quiet=True)
    outcome = run_benchmark(loaded, tracking_uri=tracking_uri, cache_dir=cache_dir, console=shown, limit=limit)
    if not distributed.is_main():
        return
    console.print(results_table(outcome, tuple(metrics or ())))
    if output is not None:
        write_results_json(outcome, output)
        console.print(f"Results table written to {output}")
    browse = (f"open {outcome.tracking_uri} in a browser" if outcome.tracking_uri.startswith(("http://", "https://"))
              else f"browse with `mlflow ui --backend-store-uri {outcome.tracking_uri}`")
    console.print(f"Logged to MLflow: {outcome.tracking_uri} (experiment '{outcome.experiment}'); {browse}, "
                  "rank with `erc-bench leaderboard`")


@app.command()
def leaderboard(experiment: str | None = typer.Option(None, help="Only this MLflow experiment (benchmark)."),
                dataset: str | None = typer.Option(None, help="Only this dataset (iemocap, meld, mosi, ...)."),
                metric: str = typer.Option("weighted_f1", help="weighted_f1 | accuracy | ua | macro_f1"),
                fmt: str = typer.Option("table", "--format", help="table | csv | json | markdown"),
                tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI.")) -> None:
    """Every seed's test score and mean ± std per system configuration and dataset, beside the paper's numbers."""
    from erc_bench.report import leaderboard as lb

    if fmt not in lb.FORMATS:
        raise UserError(f"--format: unknown format '{fmt}'; choose one of {', '.join(lb.FORMATS)}")
    from erc_bench.tracking.check import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    rows = lb.build(uri, experiment, dataset, metric)
    text = lb.render(rows, fmt, metric)
    if text is None:
        console.print(lb.rich_table(rows, metric))
    else:
        sys.stdout.write(text)


@app.command()
def compare(side_a: str = typer.Argument(..., help="Run id (full or the short id erc-bench prints) or a system "
                                                   "(experiment name: all its seeds)."),
            side_b: str = typer.Argument(..., help="Run id or system to compare against."),
            stage: str | None = typer.Option(None, help="Stage to compare (default: the final fusion stage)."),
            split: str = typer.Option("test", help="Split whose predictions are compared."),
            dataset: str | None = typer.Option(None, help="Systems on several datasets: which one."),
            method: str = typer.Option("bootstrap", help="bootstrap (paired) | randomization (approximate; runs)."),
            resamples: int = typer.Option(10_000, "--resamples", help="Bootstrap / permutation rounds."),
            fmt: str = typer.Option("text", "--format", help="text | json"),
            tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI.")) -> None:
    """Paired significance test of two runs, or two systems over all their seeds, on the same utterances."""
    from erc_bench.cli.system import print_comparison

    if fmt not in ("text", "json"):
        raise UserError(f"--format: unknown format '{fmt}'; choose text or json")
    print_comparison(console, side_a, side_b, stage, split, dataset, method, resamples, fmt, tracking_uri)


def _mount_commands() -> None:
    """Engine commands from their own modules, then whatever the plugins contribute.

    ``cache``, ``data info``, ``pretrain``, ``label-agreement`` and ``report`` are
    engine functionality (they drive the cache, the dataset interface, the recipe's
    pre-training and the MLflow store), so the engine mounts them. Commands that belong to a plugin
    (the speech plugin's ``transcribe`` / ``asr-eval``) arrive through the
    ``erc_bench_register_commands`` hook: a plugin that fails to load loses only
    its own commands, and ``erc-bench plugins`` says why.
    """
    from erc_bench.cli import cache, plugins, pretrain, report, system
    from erc_bench.cli.data import data_app
    from erc_bench.core.plugin_host import host

    plugins.register(app)
    cache.register(app)
    app.add_typer(data_app, name="data")
    pretrain.register(app)
    system.register(app)
    report.register(app)
    host().register_commands(app)


_mount_commands()


def main() -> None:
    """Console entry point: user errors become one line and exit code 2; SIGTERM exits 143 after cleaning up."""
    from erc_bench.core.interrupts import Terminated, install
    from erc_bench.core.printable import shown

    install()
    try:
        app()
    except UserError as exc:
        if os.environ.get(DEBUG_ENV) and exc.__cause__ is not None:
            import traceback

            traceback.print_exception(exc.__cause__)
        err_console.print(f"[red]error[/red]: {shown(exc)}", highlight=False, soft_wrap=True)
        obtain = getattr(exc, "obtain", ())  # a missing corpus: its card's "how to obtain" lines
        if obtain:
            err_console.print("how to obtain it:", highlight=False)
        for line in obtain:
            err_console.print(f"  {shown(line)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except Terminated as exc:
        err_console.print(f"[red]stopped[/red]: {exc} received; runs in progress were closed as KILLED, "
                          f"everything finished is cached and a rerun resumes from it", highlight=False)
        sys.stdout.flush()
        sys.stderr.flush()
        # everything worth keeping is closed; interpreter finalisation can hang on library threads (torch,
        # SQLAlchemy pools) after an asynchronous exception, and a terminated process must actually end
        os._exit(exc.exit_code)


if __name__ == "__main__":
    main()
