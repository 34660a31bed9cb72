"""Commands about whole systems: ``specs`` (what ships), ``predict`` (apply one), and ``compare``'s printing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from erc_bench.cli.console import console
from erc_bench.core.errors import UserError
from erc_bench.tracking.tags import PARENT_RUN_TAG, STAGE_TAG


def specs() -> None:
    """List the benchmark specs installed with erc-bench; `run` and `validate` accept their names."""
    from erc_bench.core.shipped_specs import shipped_specs, specs_root

    found = shipped_specs()
    if not found:
        raise UserError("no shipped specs found (a broken install?); give a spec file instead")
    table = Table(title=f"shipped specs ({specs_root()})")
    table.add_column("name")
    table.add_column("description")
    for spec in found:
        table.add_row(spec.name, spec.description)
    console.print(table)


def predict(system_run: str = typer.Argument(..., help="A dataset-seed run id (full or short) of a trained system."),
            input_path: Path = typer.Option(..., "--input", help="CSV (utterance_id, text and/or audio, optional "
                                                                 "conversation_id, position) or a folder of audio."),
            out: Path = typer.Option(Path("predictions.csv"), "--out", help="Predictions CSV to write."),
            cache_dir: Path | None = typer.Option(None, "--cache-dir", help="The cache the system was trained with."),
            tracking_uri: str | None = typer.Option(None, "--tracking-uri", help="MLflow tracking URI.")) -> None:
    """Apply a trained system (its cached stage weights) to new audio and/or text, the way it was trained."""
    from erc_bench.core.cache import Cache
    from erc_bench.core.progress import progress_bar
    from erc_bench.runs.predict import predict as run_predict
    from erc_bench.runs.predict import read_inputs, write_predictions

    manifest = load_manifest(tracking_uri, system_run)
    conversations = read_inputs(input_path)
    with progress_bar(console) as progress:
        predictions = run_predict(manifest, conversations, Cache(cache_dir), progress)
    if not predictions:
        raise UserError(f"--input {input_path}: no utterance had the inputs this system needs")
    write_predictions(predictions, manifest["labels"], out)
    total = sum(len(c.utterances) for c in conversations)
    console.print(f"{len(predictions)} of {total} utterances predicted ({predictions[0].final_stage}, system "
                  f"{manifest['spec']['benchmark']['name']} seed {manifest['seed']}) -> {out}")


def load_manifest(tracking_uri: str | None, run: str) -> dict[str, Any]:
    """The ``system.json`` of a dataset-seed run (or of the dataset-seed run above a stage run)."""
    import tempfile

    from mlflow.tracking import MlflowClient

    from erc_bench.report.compare import resolve_run_id
    from erc_bench.runs.predict import SYSTEM_ARTIFACT
    from erc_bench.tracking.check import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=uri)
    run_id = resolve_run_id(client, run)
    try:
        tags = client.get_run(run_id).data.tags
    except Exception as exc:  # noqa: BLE001 - MLflow's own error types
        raise UserError(f"no MLflow run '{run}' ({type(exc).__name__})") from None
    if STAGE_TAG in tags and tags.get(PARENT_RUN_TAG):
        run_id = tags[PARENT_RUN_TAG]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, SYSTEM_ARTIFACT, tmp)
        except Exception:  # noqa: BLE001
            raise UserError(f"run {run_id[:8]} has no {SYSTEM_ARTIFACT}: give a dataset-seed run of a benchmark "
                            "run with this erc-bench version") from None
        return json.loads(Path(path).read_text(encoding="utf-8"))


def print_comparison(console: Any, side_a: str, side_b: str, stage: str | None, split: str, dataset: str | None,
                     method: str, resamples: int, fmt: str, tracking_uri: str | None) -> None:
    """Runs or systems (experiment names) on either side; text for people, JSON for scripts."""
    from mlflow.tracking import MlflowClient

    from erc_bench.report.compare import compare_runs, compare_systems, is_system
    from erc_bench.tracking.check import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=uri)
    systems = [is_system(client, side) for side in (side_a, side_b)]
    if any(systems) and not all(systems):
        raise UserError("compare two runs or two systems (experiment names), not one of each")
    if all(systems):
        if method != "bootstrap":
            raise UserError("--method: systems over seeds are compared with the paired bootstrap only")
        found = compare_systems(uri, side_a, side_b, split, stage, dataset, resamples)
        result, label_a, label_b = found.result, found.label_a, found.label_b
        document: dict[str, Any] = found.to_dict()
    else:
        result, a, b = compare_runs(uri, side_a, side_b, split, stage, method, resamples)
        label_a, label_b = a.label, b.label
        document = {"a": a.label, "b": b.label, "run_a": a.run_id, "run_b": b.run_id, **result.to_dict()}
    if fmt == "json":
        typer.echo(json.dumps(document | {"split": split}, indent=2))
        return
    console.print(f"A = {label_a}\nB = {label_b}\n{split}: {result.n_items} paired utterances, {result.method}, "
                  f"{result.n_resamples} rounds", markup=False, highlight=False)
    if all(systems):
        for seed, (wf1_a, wf1_b) in document_per_seed(document):
            console.print(f"  seed {seed}: WF1(A) {100 * wf1_a:.2f}, WF1(B) {100 * wf1_b:.2f}", markup=False)
    console.print(f"WF1(A) - WF1(B) = {100 * result.delta:+.2f} points, 95% interval "
                  f"[{100 * result.ci_low:+.2f}, {100 * result.ci_high:+.2f}], p = {result.p_value:.4f}")


def document_per_seed(document: dict[str, Any]) -> list[tuple[str, tuple[float, float]]]:
    return [(seed, (v["wf1_a"], v["wf1_b"])) for seed, v in document["per_seed"].items()]


def register(app: typer.Typer) -> None:
    app.command()(specs)
    app.command()(predict)
