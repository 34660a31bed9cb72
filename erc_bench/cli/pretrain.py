"""``erc-bench pretrain`` and ``erc-bench label-agreement`` (mounted by the main CLI via ``register``)."""

from __future__ import annotations

from typing import Any

import typer

from erc_bench.core.capabilities import Preflight
from erc_bench.core.errors import UserError

SPEC_ARG = typer.Argument(..., help="benchmark spec (TOML) with a pretrain section")
SET_HELP = "override a spec value: key.path=value (TOML value); repeatable"


def _pretrain_section(spec_path: str, overrides: list[str]) -> Any:
    from erc_bench.core.spec import load_spec, require_env

    loaded = load_spec(spec_path, overrides)
    require_env(loaded)
    if loaded.spec.pretrain is None:
        raise UserError(f"{spec_path}: pretrain: the spec has no [pretrain] section")
    return loaded


def pretrain(spec: str = SPEC_ARG, set_: list[str] = typer.Option([], "--set", help=SET_HELP),
             dry_run: bool = typer.Option(False, "--dry-run", help="print requests, tokens and cost; send nothing")
             ) -> None:
    """LLM-guided text pre-training: corpus -> ASR -> labeller -> fine-tuned text encoder."""
    from rich.console import Console

    from erc_bench.core.cache import Cache
    from erc_bench.core.progress import progress_bar
    from erc_bench.recipes.merits_l.pretrain import estimate_labelling, run_pretrain

    console = Console()
    loaded = _pretrain_section(spec, set_)
    section = loaded.spec.pretrain
    with progress_bar(console, transient=True) as progress:
        if dry_run:
            silver, estimate = estimate_labelling(section, Cache(), progress)
        else:
            if loaded.spec.model.text_encoder is None:
                raise UserError(f"{spec}: model.text_encoder: pre-training needs a text encoder to fine-tune")
            result = run_pretrain(section, loaded.spec.model.text_encoder, Cache(), progress=progress,
                                  device=loaded.spec.benchmark.device, execution=loaded.spec.execution)
    if dry_run:
        console.print(f"{len(silver.texts)} transcripts ({len(silver.problems)} corpus/ASR problems)")
        if estimate is None:
            console.print(f"labeller '{section.labeller.plugin}' is local: no requests, no cost")
        else:
            console.print(f"dry run: {estimate.summary()}")
            console.print("token counts and prices are estimates; check your provider's price list")
            try:
                if isinstance(silver.labeller, Preflight):
                    silver.labeller.check_ready()
            except UserError as exc:  # the dry run itself needs no key; the real run will
                console.print(f"[yellow]note[/yellow]: {exc}")
        return
    state = "cached, nothing trained" if result.cached else f"best epoch {result.best_epoch}"
    console.print(f"silver labels: {result.label_counts}; excluded {result.n_failed} of {result.n_items} "
                  f"({result.excluded})")
    console.print(f"validation accuracy {100 * result.val_accuracy:.2f} % ({state}); "
                  f"train {result.n_train}, validation {result.n_val}")
    console.print(f"checkpoint: {result.checkpoint_dir}")
    console.print(f"use it with: --set model.text_encoder.params.model={result.checkpoint_dir}")


def label_agreement(spec: str = SPEC_ARG, set_: list[str] = typer.Option([], "--set", help=SET_HELP)) -> None:
    """Compare the pre-training labeller with valence-derived labels (paper section IV-D)."""
    from rich.console import Console
    from rich.table import Table

    from erc_bench.core.progress import progress_bar
    from erc_bench.recipes.merits_l.agreement import REFERENCE_AGREEMENT, run_label_agreement

    console = Console()
    loaded = _pretrain_section(spec, set_)
    section = loaded.spec.pretrain
    with progress_bar(console, transient=True) as progress:
        result = run_label_agreement(section, progress=progress)
    table = Table(title="Label agreement with the valence oracle")
    for column in ("labeller", "compared", "overlap %", "Cohen's kappa"):
        table.add_column(column)
    table.add_row(result.description, str(result.n_compared), f"{result.overlap_pct:.2f}",
                  f"{result.kappa:.3f}")
    for name, overlap in REFERENCE_AGREEMENT.items():
        table.add_row(f"{name} (paper, MSP-Podcast)", "-", f"{overlap:.2f}", "-", style="dim")
    console.print(table)
    matrix = Table(title="Confusion (rows: valence oracle, columns: labeller)")
    matrix.add_column("")
    for label in result.labels:
        matrix.add_column(label)
    for label, row in zip(result.labels, result.confusion, strict=True):
        matrix.add_row(label, *map(str, row))
    console.print(matrix)
    console.print(f"excluded: {result.excluded}")


def register(app: typer.Typer) -> None:
    """Add ``pretrain`` and ``label-agreement`` to the main ``erc-bench`` app."""
    app.command("pretrain")(pretrain)
    app.command("label-agreement")(label_agreement)
