"""``erc-bench care-pretrain SPEC``: train the CARE speech encoder; contributed to the CLI by the speech plugin.

Self-contained (its own options, heavy imports inside), so it can be mounted by any
host: the speech plugin's ``erc_bench_register_commands`` hook calls ``register(app)``.
"""

from __future__ import annotations

from pathlib import Path

import typer


def care_pretrain(
    spec: Path = typer.Argument(..., help="CARE pre-training spec (TOML) with a care_pretrain section"),
    set_: list[str] = typer.Option([], "--set", help="override a spec value: key.path=value (TOML value); repeatable"),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="cache root (default $ERC_BENCH_CACHE)"),
) -> None:
    """Pre-train CARE: semantic branch -> transcript embeddings, acoustic branch -> frame descriptors; resumable."""
    from rich.console import Console

    from erc_bench import Cache, progress_bar
    from erc_bench_speech.care_pretrain import run_care_pretrain
    from erc_bench_speech.care_pretrain_spec import load_care_spec

    console = Console(stderr=True)
    loaded = load_care_spec(spec, set_)
    with progress_bar(console, transient=True) as progress:
        result = run_care_pretrain(loaded, Cache(cache_dir), tracking_uri, progress,
                                   say=lambda line: console.print(line, highlight=False))
    out = Console()
    out.print(f"trained steps {result.resumed_from + 1}-{result.steps} ({result.seconds_per_step:.2f} s/step); "
              f"train {result.n_train}, validation {result.n_val}, excluded {result.excluded}", highlight=False)
    for row in result.history:
        cells = ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "step")
        out.print(f"step {int(row['step'])}: {cells}", highlight=False)
    out.print(f"best validation loss {result.best_val_loss:.4f} at step {result.best_step}; MLflow run {result.run_id}",
              highlight=False)
    out.print(f"checkpoint: {result.checkpoint_dir}", highlight=False)
    out.print('use it with: speech_encoder = { plugin = "care", params = { checkpoint = '
              f'"{result.checkpoint_dir}" }} }}', highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``care-pretrain`` to an ``erc-bench`` Typer app."""
    app.command("care-pretrain")(care_pretrain)
