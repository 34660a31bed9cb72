"""The MERITS-L recipe, readable top to bottom: setup, pretrain, inputs, Stage I, II, III.

Per benchmark: optional LLM-guided text pre-training (once). Per dataset: load,
transcribe if asked, extract frozen speech embeddings (seed independent,
cached). Per seed: one MLflow run with nested runs per stage. Every stage result
is cached under a key made of the content it consumed, so an interrupted run
resumes and a finished one replays in seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from erc_bench.core.cache import Cache
from erc_bench.core.data_checks import refuse_duplicate_ids
from erc_bench.core.interfaces import DatasetSplits, Problem
from erc_bench.core.plugin_host import build
from erc_bench.core.progress import progress_bar
from erc_bench.core.spec import ComponentRef, LoadedSpec
from erc_bench.recipe import distributed, stage_runner
from erc_bench.recipe.predict import SYSTEM_ARTIFACT, system_manifest
from erc_bench.report import run_log
from erc_bench.report.identity import identity_tags
from erc_bench.report.tracking import (
    DATASET_TAG,
    RUN_KIND_TAG,
    SEED_RUN_KIND,
    SEED_TAG,
    SYSTEM_TAG,
    Tracker,
    environment_tags,
)


@dataclass
class StageScore:
    dataset: str
    seed: int
    stage: str
    metrics: dict[str, dict[str, float]]
    best_epoch: int | None = None
    cached: bool = False


@dataclass
class BenchmarkOutcome:
    experiment: str
    tracking_uri: str
    scores: list[StageScore] = field(default_factory=list)
    problems: dict[str, list[Problem]] = field(default_factory=dict)
    pretrain: dict[str, Any] | None = None
    seconds: float = 0.0


def run_benchmark(loaded: LoadedSpec, tracking_uri: str | None = None, cache_dir: str | Path | None = None,
                  console: Console | None = None, limit: int | None = None) -> BenchmarkOutcome:
    """Run every dataset and seed of a validated spec; returns the scores for the results table.

    ``limit`` keeps the first N conversations of each split (a smoke test); such runs are tagged
    ``erc_bench.limit`` and, their data being different, never share stage results with full runs.
    """
    from erc_bench.recipe.loop import resolve_device  # torch: imported only when a run starts

    spec = loaded.spec
    console = console or Console()
    started = time.perf_counter()
    distributed.init_from_env()  # under accelerate launch / torchrun: join the process group first
    cache = distributed.process_cache(cache_dir)
    device = resolve_device(spec.benchmark.device).type
    experiment = spec.tracking.experiment or spec.benchmark.name
    tracker = (Tracker(tracking_uri or spec.tracking.uri, experiment) if distributed.is_main()
               else distributed.SilentTracker(tracking_uri or spec.tracking.uri, experiment))
    outcome = BenchmarkOutcome(experiment=tracker.experiment, tracking_uri=tracker.uri)
    run_log.setup_experiment(tracker, loaded)
    seed_logs: list[run_log.SeedLog] = []
    resolved = run_log.resolved_spec(loaded)
    base_tags = environment_tags(device) | {SYSTEM_TAG: spec.benchmark.name,
                                           "erc_bench.spec_file": Path(loaded.path).name}

    # Preflight: every corpus is loaded (cheap: no audio is decoded) before hours of pre-training, so a
    # missing dataset fails now, saying which path and how to obtain it.
    corpora: list[DatasetSplits] = [build("dataset", e.plugin, e.params).load() for e in spec.datasets]
    for data in corpora:
        refuse_duplicate_ids(data)
    if limit is not None:
        corpora = [first_conversations(data, limit) for data in corpora]
        base_tags["erc_bench.limit"] = str(limit)
    if spec.pretrain is not None and spec.pretrain.enabled:
        # Likewise an API key: a missing one is named before hours of ASR, not after.
        labeller = build("labeller", spec.pretrain.labeller.plugin, spec.pretrain.labeller.params)
        getattr(labeller, "check_ready", lambda: None)()
    with progress_bar(console) as progress:
        text_ref = spec.model.text_encoder
        if spec.pretrain is not None and spec.pretrain.enabled and text_ref is not None:
            text_ref, outcome.pretrain = _pretrain(loaded, text_ref, cache, tracker, base_tags, device, progress)

        for index, (entry, data) in enumerate(zip(spec.datasets, corpora, strict=False)):
            inputs = stage_runner.prepare_inputs(spec, entry, data, text_ref, cache, progress)
            outcome.problems[data.name] = list(data.problems) + inputs.problems
            _report_problems(console, data.name, outcome.problems[data.name])
            for seed in spec.benchmark.seeds:
                tags = base_tags | identity_tags(resolved, index) | {
                    RUN_KIND_TAG: SEED_RUN_KIND, DATASET_TAG: data.name, SEED_TAG: str(seed),
                    "erc_bench.dataset_index": str(index)}
                with tracker.run(f"{data.name}-seed{seed}", tags=tags):
                    tracker.log_params(loaded.raw | {"seed": seed, "device": device})
                    run_log.log_seed_start(tracker, loaded, outcome.problems[data.name])
                    runner = stage_runner.StageRunner(spec, data, inputs, text_ref, seed, device, cache, tracker,
                                                      progress)
                    for result, cached in runner.run_all():
                        outcome.scores.append(StageScore(data.name, seed, result.stage, result.metrics,
                                                         result.best_epoch, cached))
                    tracker.log_dict(system_manifest(loaded, entry, data, text_ref, seed, device, runner.stage_keys),
                                     SYSTEM_ARTIFACT)
                    run_log.log_seed_end(tracker, runner.seed_log)
                    seed_logs.append(runner.seed_log)
        run_log.log_benchmark_summary(tracker, loaded, seed_logs, base_tags)
    outcome.seconds = time.perf_counter() - started
    return outcome


def first_conversations(data: DatasetSplits, limit: int) -> DatasetSplits:
    """The first ``limit`` conversations of every split (corpus order); problems of dropped ones are dropped too."""
    splits = {split: conversations[:limit] for split, conversations in data.splits.items()}
    dropped = {u.id for split, conversations in data.splits.items() for c in conversations[limit:]
               for u in c.utterances}
    problems = [p for p in data.problems if p.item_id not in dropped]
    return DatasetSplits(data.name, data.labels, splits, problems)


def _pretrain(loaded: LoadedSpec, text_ref: ComponentRef, cache: Cache, tracker: Tracker, base_tags: dict[str, str],
              device: str, progress: Any) -> tuple[ComponentRef, dict[str, Any]]:
    """LLM-guided pre-training; later stages use its checkpoint when ``use_pretrained_text``."""
    from erc_bench.recipe.pretrain import run_pretrain

    section = loaded.spec.pretrain
    assert section is not None
    with tracker.run("pretrain", tags=base_tags | {RUN_KIND_TAG: "pretrain"}):
        tracker.log_params({"pretrain": loaded.raw.get("pretrain", {}),
                            "text_encoder": loaded.raw.get("model", {}).get("text_encoder", {})})
        result = run_pretrain(section, text_ref, cache, progress=progress, device=device, tracker=tracker,
                              execution=loaded.spec.execution)
    summary = {"checkpoint": str(result.checkpoint_dir), "labels": dict(result.label_counts),
               "val_accuracy": result.val_accuracy, "items": result.n_items, "failed": result.n_failed}
    if not loaded.spec.model.use_pretrained_text:
        return text_ref, summary
    # The checkpoint replaces the encoder's weights; a random_config (tiny test models) would shadow it.
    params = {k: v for k, v in text_ref.params.items() if k != "random_config"}
    return ComponentRef(plugin=text_ref.plugin, params=params | {"model": str(result.checkpoint_dir)}), summary


def _report_problems(console: Console, dataset: str, problems: list[Problem]) -> None:
    """Every defect is shown (counted per kind, first ids listed), never dropped silently."""
    if not problems:
        return
    by_kind: dict[str, list[str]] = {}
    for problem in problems:
        by_kind.setdefault(problem.kind, []).append(problem.item_id)
    for kind, ids in sorted(by_kind.items()):
        shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
        console.print(f"[yellow]{dataset}[/yellow]: {len(ids)} x {kind} ({shown}) - skipped, logged to MLflow")
