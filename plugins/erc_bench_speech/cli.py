"""``erc-bench transcribe`` and ``erc-bench asr-eval``, contributed by this plugin.

``hooks.erc_bench_register_commands`` calls ``register(app)``, so the engine
never imports this plugin: if the speech plugin fails to load, only these two
commands go missing. Thin wrappers: the work lives in ``commands`` and ``wer``;
heavy libraries load inside the commands only.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

_TARGET_HELP = "dataset plugin name (with --root / --param / --spec) or a folder of audio files"


def transcribe(
    target: str = typer.Argument(..., metavar="DATASET_OR_FOLDER", help=_TARGET_HELP),
    out: Path = typer.Option(Path("transcripts.jsonl"), "--out", "-o", help="JSON lines output"),
    root: str | None = typer.Option(None, "--root", help="corpus folder (the dataset's 'root' param)"),
    param: list[str] = typer.Option([], "--param", "-p", help="dataset param key=value; repeatable"),
    spec: str | None = typer.Option(None, "--spec", help="take the ASR (and dataset params) from this spec"),
    model: str | None = typer.Option(None, "--model", help="Whisper model: base (offline), large-v3, a folder"),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="utterances per batched decode"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="cache root (default $ERC_BENCH_CACHE)"),
) -> None:
    """Transcribe every utterance of a dataset or folder; cached, so reruns are instant."""
    from rich.console import Console

    from erc_bench import Cache, rich_progress, speech_problem_summary
    from erc_bench_speech.commands import build_asr, resolve_target, transcribe_target, write_transcripts

    found = resolve_target(target, root, param, spec)
    asr = build_asr(spec, model, batch_size)
    with rich_progress(f"transcribing with {asr.name}") as progress:
        transcripts, problems = transcribe_target(found, asr, Cache(cache_dir), progress)
    written = write_transcripts(out, found, transcripts, problems)
    Console(stderr=True).print(f"{written} transcripts -> {out}; {speech_problem_summary(problems)}", highlight=False)


def asr_eval(
    target: str = typer.Argument(..., metavar="DATASET", help="dataset plugin name with reference transcripts"),
    root: str | None = typer.Option(None, "--root", help="corpus folder (the dataset's 'root' param)"),
    param: list[str] = typer.Option([], "--param", "-p", help="dataset param key=value; repeatable"),
    spec: str | None = typer.Option(None, "--spec", help="take the ASR (and dataset params) from this spec"),
    model: str | None = typer.Option(None, "--model", help="Whisper model: base (offline), large-v3, a folder"),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1),
    split: list[str] = typer.Option([], "--split", help="splits to score (default: all)"),
    out: Path | None = typer.Option(None, "--out", "-o", help="also write the report as JSON"),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="cache root (default $ERC_BENCH_CACHE)"),
) -> None:
    """Word error rate of an ASR against a dataset's reference transcripts, per split and emotion class."""
    from rich.console import Console
    from rich.table import Table

    from erc_bench import SPLITS, Cache, UserError, rich_progress, speech_problem_summary
    from erc_bench_speech.commands import build_asr, resolve_target, transcribe_target
    from erc_bench_speech.wer import wer_report

    found = resolve_target(target, root, param, spec)
    if found.data is None:
        raise UserError(f"asr-eval needs a dataset with reference transcripts; {target} is a plain folder")
    asr = build_asr(spec, model, batch_size)
    with rich_progress(f"transcribing with {asr.name}") as progress:
        transcripts, problems = transcribe_target(found, asr, Cache(cache_dir), progress)
    report = wer_report(found.data, transcripts, split or [s for s in SPLITS if found.data.utterances(s)])
    table = Table("split", "class", "utterances", "words", "WER %")
    for name, tally in report.by_split.items():
        table.add_row(name, "all", str(tally.utterances), str(tally.words), f"{100 * tally.wer:.2f}")
        for label, sub in sorted(report.by_label[name].items()):
            table.add_row("", label, str(sub.utterances), str(sub.words), f"{100 * sub.wer:.2f}")
    console = Console()
    console.print(table)
    console.print(f"not scored: {report.skipped} ({speech_problem_summary(problems)})", highlight=False)
    if out is not None:
        out.write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add ``transcribe`` and ``asr-eval`` to the main ``erc-bench`` app."""
    app.command("transcribe")(transcribe)
    app.command("asr-eval")(asr_eval)
