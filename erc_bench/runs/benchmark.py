"""The run every system shares: set-up, one MLflow run per dataset and seed, the seed's manifest and
summary; ``run_benchmark`` hands the work to the spec's system.

A ``StagedSystem`` (MERITS-L) returns its own runner, a subclass of
``BenchmarkRun`` that adds its stages; any other system runs through
``system_run.SystemRun`` (``fit`` / ``predict``). Both share what makes results
comparable: every component constructed and its contract checked before any
heavy step, the same tags and identity per seed run, the same cache, results
table, leaderboard identity and ``system.json``.
"""

from __future__ import annotations

import abc
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from rich.console import Console

from erc_bench.core.cache import canonical_json
from erc_bench.core.cards import dataset_card
from erc_bench.core.contracts import construct_all, speaker_aware_slots
from erc_bench.core.data_checks import refuse_duplicate_ids
from erc_bench.core.interfaces import DatasetSplits, Problem, StagedSystem
from erc_bench.core.label_names import LABEL_NAMES_PARAM, renamed_labels
from erc_bench.core.spec import ComponentRef, DatasetEntry, LoadedSpec
from erc_bench.features.inputs import first_conversations
from erc_bench.runs.predict import SYSTEM_ARTIFACT, system_manifest
from erc_bench.runs.results import speaker_tags
from erc_bench.runs.stage_step import SeedRun
from erc_bench.tracking import run_log
from erc_bench.tracking.identity import identity_tags
from erc_bench.tracking.tags import (
    DATASET_INDEX_TAG,
    DATASET_TAG,
    LIMIT_TAG,
    RUN_KIND_TAG,
    SEED_RUN_KIND,
    SEED_TAG,
    SPEC_FILE_TAG,
    SYSTEM_TAG,
    environment_tags,
)
from erc_bench.tracking.tracker import Tracker
from erc_bench.train import distributed
from erc_bench.train.context import StageContext

__all__ = ["BenchmarkOutcome", "BenchmarkRun", "StageScore", "run_benchmark"]


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

    The spec's ``[system]`` decides how: a ``StagedSystem`` (MERITS-L, the default) runs the recipe it
    returns; any other system its ``fit`` / ``predict`` through ``system_run``.
    ``limit`` keeps the first N conversations of each split (a smoke test); such runs are tagged
    ``erc_bench.limit`` and, their data being different, never share stage results with full runs.
    """
    console = console or Console()
    system = loaded.build("system")
    if isinstance(system, StagedSystem):
        runner: BenchmarkRun = system.recipe(loaded, console)
    else:
        from erc_bench.runs.system_run import SystemRun

        runner = SystemRun(loaded, console)
    return runner.run(tracking_uri, cache_dir, limit)


class BenchmarkRun(abc.ABC):
    """Set-up, seed runs and logging; a subclass's ``run`` does the system's work between them."""

    def __init__(self, loaded: LoadedSpec, console: Console | None = None) -> None:
        self.loaded, self.spec, self.console = loaded, loaded.spec, console or Console()
        self.seed_logs: list[run_log.SeedLog] = []
        self.problems: list[Problem] = []
        self.progress: Any = None  # the run's progress bar, set by ``run`` while it lasts

    @abc.abstractmethod
    def run(self, tracking_uri: str | None = None, cache_dir: str | Path | None = None,
            limit: int | None = None) -> BenchmarkOutcome:
        """``setup``, then the system's work inside ``seed_run``s, then ``log``; returns the outcome."""

    def setup(self, tracking_uri: str | None, cache_dir: str | Path | None, limit: int | None
              ) -> list[DatasetSplits]:
        """Process group, cache, device (resolved once), tracker; then every corpus is loaded (cheap: no audio
        is decoded) and every component constructed and checked, so a missing dataset or a broken plugin
        fails now, saying which path or plugin, before any heavy step."""
        from rich.markup import escape

        from erc_bench.core.devices import resolve_device  # torch: imported only when a run starts

        spec = self.spec
        self.started = time.perf_counter()
        distributed.init_from_env()  # under accelerate launch / torchrun: join the process group first
        self.cache = distributed.process_cache(cache_dir)
        self.cache.report = lambda line: self.console.print(f"[red]{escape(line)}[/red]", soft_wrap=True)
        self.device = resolve_device(spec.benchmark.device)
        experiment = spec.tracking.experiment or spec.benchmark.name
        uri = tracking_uri or spec.tracking.uri
        # every process runs the recipe; only the main one logs (a SilentTracker answers the same calls)
        self.tracker: Tracker = Tracker(uri, experiment) if distributed.is_main() else cast(
            Tracker, distributed.SilentTracker(uri, experiment))
        self.outcome = BenchmarkOutcome(experiment=self.tracker.experiment, tracking_uri=self.tracker.uri)
        if getattr(self.tracker, "closed_stale", 0):
            self.console.print(f"closed {self.tracker.closed_stale} run(s) an earlier process left RUNNING "
                               "(its tracking server or process died) as FAILED", highlight=False)
        run_log.setup_experiment(self.tracker, self.loaded)
        self.resolved = run_log.resolved_spec(self.loaded)  # the leaderboard's identity of this system
        self.base_tags = environment_tags(self.device.type) | {SYSTEM_TAG: spec.benchmark.name,
                                                              SPEC_FILE_TAG: Path(self.loaded.path).name}
        corpora = [self.loaded.build(f"datasets.{i}").load() for i in range(len(spec.datasets))]
        # every component is constructed, and every module's contract checked on a dummy batch, before any
        # ASR, labelling or training: a broken plugin costs seconds, not the stages before it
        built = construct_all(self.loaded, max(len(data.labels) for data in corpora))
        aware = speaker_aware_slots(built)
        self.speaker_tags = [speaker_tags(aware, data, self.console) for data in corpora]
        for data in corpora:
            refuse_duplicate_ids(data)
        if limit is not None:
            corpora = [first_conversations(data, limit) for data in corpora]
            self.base_tags[LIMIT_TAG] = str(limit)
        return corpora

    @contextlib.contextmanager
    def seed_run(self, index: int, data: DatasetSplits, seed: int) -> Iterator[SeedRun]:
        """One MLflow run per (dataset, seed), its ``StageContext`` and the stages' bookkeeping."""
        tags = self.base_tags | identity_tags(self.resolved, index) | self.speaker_tags[index] | {
            RUN_KIND_TAG: SEED_RUN_KIND, DATASET_TAG: data.name, SEED_TAG: str(seed),
            DATASET_INDEX_TAG: str(index)}
        with self.tracker.run(f"{data.name}-seed{seed}", tags=tags):
            self.tracker.log_params(self.loaded.raw | {"seed": seed, "device": self.device.type}
                                    | run_log.component_code_params(self.loaded))
            renamed = renamed_labels(data.labels)
            if renamed:  # labels MLflow refuses in metric names: the names their per-class metrics carry
                self.tracker.log_params({LABEL_NAMES_PARAM: canonical_json(renamed)})
            run_log.log_seed_start(self.tracker, self.loaded, self.problems,
                                   card=dataset_card(self.spec.datasets[index].plugin))
            ctx = StageContext(data, self.spec.training.stage1, seed, self.device, self.progress)
            yield SeedRun(ctx, self.cache, self.tracker, self.spec.benchmark.name)

    def log_seed(self, run: SeedRun, entry: DatasetEntry, text_ref: ComponentRef | None) -> None:
        """Scores for the results table; the system manifest ``erc-bench predict`` reloads; the seed's note."""
        data, seed = run.ctx.data, run.ctx.seed
        for result, cached in run.results:
            self.outcome.scores.append(StageScore(data.name, seed, result.stage, result.metrics, result.best_epoch,
                                                  cached))
        self.tracker.log_dict(system_manifest(self.loaded, entry, data, text_ref, seed, self.device.type,
                                              run.stage_keys), SYSTEM_ARTIFACT)
        run_log.log_seed_end(self.tracker, run.seed_log)
        self.seed_logs.append(run.seed_log)

    def log(self) -> None:
        """The across-seed summary run (mean and std per stage)."""
        run_log.log_benchmark_summary(self.tracker, self.loaded, self.seed_logs, self.base_tags)
        self.outcome.seconds = time.perf_counter() - self.started
