"""The MERITS-L recipe as one class, readable top to bottom: setup, pretrain, inputs, Stage I, II, III, log.

Per benchmark: optional LLM-guided text pre-training (once). Per dataset: load,
transcribe if asked, extract frozen speech embeddings (seed independent,
cached). Per seed: one MLflow run with nested runs per stage, trained with one
``StageContext`` (data, seed, device resolved once, progress). Every stage
result is cached under a key made of the content it consumed and the validated
params (defaults filled in) of the components that made it, so an interrupted
run resumes and a finished one replays in seconds; ``stage_step`` does that
bookkeeping, ``stages`` the training, ``run_log`` what MLflow shows.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.markup import escape

from erc_bench.core.cache import canonical_json, digest_text
from erc_bench.core.capabilities import LoadsCheckpoint, Preflight
from erc_bench.core.cards import dataset_card
from erc_bench.core.contracts import construct_all, speaker_aware_slots
from erc_bench.core.data_checks import refuse_duplicate_ids
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import DatasetSplits, Problem
from erc_bench.core.plugin_host import build, identity_of
from erc_bench.core.progress import progress_bar
from erc_bench.core.spec import ComponentRef, DatasetEntry, LoadedSpec, uses_staged_recipe
from erc_bench.recipe import distributed
from erc_bench.recipe.context import StageContext
from erc_bench.recipe.frozen_text import FORMAT as FROZEN_FORMAT
from erc_bench.recipe.inputs import Inputs, digest_features, first_conversations, prepare_inputs
from erc_bench.recipe.predict import SYSTEM_ARTIFACT, system_manifest
from erc_bench.recipe.stage_result import StageResult
from erc_bench.recipe.stage_step import SeedRun
from erc_bench.report import run_log
from erc_bench.report.identity import identity_tags
from erc_bench.report.label_names import LABEL_NAMES_PARAM, label_names_note, renamed_labels
from erc_bench.report.results import report_problems, speaker_tags
from erc_bench.report.tracker import Tracker
from erc_bench.report.tracking import (
    DATASET_INDEX_TAG,
    DATASET_TAG,
    LIMIT_TAG,
    PRETRAIN_RUN_KIND,
    RUN_KIND_TAG,
    SEED_RUN_KIND,
    SEED_TAG,
    SPEC_FILE_TAG,
    SYSTEM_TAG,
    environment_tags,
)

__all__ = ["BenchmarkOutcome", "MeritsL", "StageScore", "first_conversations", "run_benchmark"]


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

    The spec's ``[system]`` decides how: MERITS-L's staged recipe (no ``[system]``, or ``merits-l``), or a
    whole system's ``fit`` / ``predict`` (``system_run``).
    ``limit`` keeps the first N conversations of each split (a smoke test); such runs are tagged
    ``erc_bench.limit`` and, their data being different, never share stage results with full runs.
    """
    console = console or Console()
    if uses_staged_recipe(loaded.spec):  # merits-l (builtin_systems.MeritsLSystem): this module's MeritsL
        return loaded.build("system").recipe(loaded, console).run(tracking_uri, cache_dir, limit)
    from erc_bench.recipe.system_run import SystemRun

    return SystemRun(loaded, console).run(tracking_uri, cache_dir, limit)


class MeritsL:
    """The recipe; ``run`` calls the steps below in the order the paper describes them."""

    def __init__(self, loaded: LoadedSpec, console: Console | None = None) -> None:
        self.loaded, self.spec, self.console = loaded, loaded.spec, console or Console()
        self.seed_logs: list[run_log.SeedLog] = []

    def run(self, tracking_uri: str | None = None, cache_dir: str | Path | None = None,
            limit: int | None = None) -> BenchmarkOutcome:
        started = time.perf_counter()
        corpora = self.setup(tracking_uri, cache_dir, limit)
        with progress_bar(self.console) as self.progress:
            text_ref = self.pretrain()
            for index, (entry, data) in enumerate(zip(self.spec.datasets, corpora, strict=True)):
                inputs = self.inputs(entry, data)
                for seed in self.spec.benchmark.seeds:
                    with self.seed_run(index, data, seed) as run:
                        stage1 = self.stage1(run, inputs, text_ref)
                        if self.spec.model.training == "joint":
                            self.joint(run, stage1)
                        else:
                            self.stage3(run, self.stage2(run, stage1))
                        self.log_seed(run, entry, text_ref)
            self.log()
        self.outcome.seconds = time.perf_counter() - started
        return self.outcome

    # ------------------------------------------------------------------ setup
    def setup(self, tracking_uri: str | None, cache_dir: str | Path | None, limit: int | None
              ) -> list[DatasetSplits]:
        """Process group, cache, device (resolved once), tracker; then every corpus is loaded (cheap: no audio
        is decoded) and a labeller's key checked before hours of pre-training, so a missing dataset or key
        fails now, saying which path or variable and how to obtain it."""
        from erc_bench.core.devices import resolve_device  # torch: imported only when a run starts

        spec = self.spec
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
        if self._pretraining():
            assert spec.pretrain is not None
            labeller = self.loaded.build("pretrain.labeller")
            if isinstance(labeller, Preflight):
                labeller.check_ready()
        return corpora

    def _pretraining(self) -> bool:
        return uses_staged_recipe(self.spec) and self.spec.pretrain is not None and self.spec.pretrain.enabled

    # ------------------------------------------------------------------ pretrain
    def pretrain(self) -> ComponentRef | None:
        """LLM-guided pre-training (once); later stages use its checkpoint when ``use_pretrained_text``."""
        from erc_bench.recipe.pretrain import run_pretrain

        text_ref, section = self.spec.model.text_encoder, self.spec.pretrain
        if section is None or not section.enabled or text_ref is None:
            return text_ref
        with self.tracker.run("pretrain", tags=self.base_tags | {RUN_KIND_TAG: PRETRAIN_RUN_KIND}):
            self.tracker.log_params({"pretrain": self.loaded.raw.get("pretrain", {}),
                                     "text_encoder": self.loaded.raw.get("model", {}).get("text_encoder", {})})
            result = run_pretrain(section, text_ref, self.cache, progress=self.progress, device=self.device.type,
                                  tracker=self.tracker, execution=self.spec.execution)
        self.outcome.pretrain = {"checkpoint": str(result.checkpoint_dir), "labels": dict(result.label_counts),
                                 "val_accuracy": result.val_accuracy, "items": result.n_items,
                                 "failed": result.n_failed}
        if not self.spec.model.use_pretrained_text:
            return text_ref
        encoder = self.loaded.build("model.text_encoder")
        if not isinstance(encoder, LoadsCheckpoint):
            raise UserError(f"model.text_encoder: '{text_ref.plugin}' cannot load the pre-training checkpoint "
                            "(it lacks checkpoint_params); set model.use_pretrained_text = false")
        return ComponentRef(plugin=text_ref.plugin, params=encoder.checkpoint_params(str(result.checkpoint_dir)))

    # ------------------------------------------------------------------ inputs
    def inputs(self, entry: DatasetEntry, data: DatasetSplits) -> Inputs:
        """Texts and frozen speech embeddings every seed shares; every defect is reported, none dropped."""
        inputs = prepare_inputs(self.spec, entry, data, self.cache, self.progress)
        self.outcome.problems[data.name] = list(data.problems) + inputs.problems
        renamed = renamed_labels(data.labels)
        if renamed:
            self.console.print(f"{escape(data.name)}: {label_names_note(renamed)}", soft_wrap=True, highlight=False)
        report_problems(self.console, data.name, self.outcome.problems[data.name])
        self.problems = self.outcome.problems[data.name]
        return inputs

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

    # ------------------------------------------------------------------ Stage I
    def stage1(self, run: SeedRun, inputs: Inputs, text_ref: ComponentRef | None) -> dict[str, StageResult]:
        """Per modality: fine-tune the text encoder on utterances; a small net over frozen speech embeddings.
        Each trains with ``[training.stage1]`` and its modality's section (``[training.stage1.speech]``): the
        settings logged and keyed are the ones it trains with."""
        from erc_bench.recipe import stages

        model, cfg = self.spec.model, self.spec.training.stage1
        out: dict[str, StageResult] = {}
        if "text" in model.modalities:
            assert text_ref is not None
            encoder = build("text_encoder", text_ref.plugin, text_ref.params, slot="model.text_encoder")
            texts = inputs.texts
            key_parts: dict[str, Any] = {"encoder": identity_of(encoder), "texts": digest_text(canonical_json(texts))}
            if cfg.for_modality("text").train_layers == 0:  # trained on cached encodings (frozen_text)
                key_parts["frozen_encodings"] = FROZEN_FORMAT
            out["text"] = run.stage("stage1-text", cfg.for_modality("text"), key_parts,
                                    lambda c: stages.train_text_stage1(encoder, c.data, texts, c.settings, c.seed,
                                                                       c.device, c.progress, cache=run.cache))
        if "speech" in model.modalities:
            assert inputs.speech is not None
            speech = inputs.speech
            key_parts = {"embeddings": digest_features(speech)}
            head = None
            if model.speech_head is not None:
                head = self.loaded.build("model.speech_head")
                key_parts["head"] = identity_of(head)
            out["speech"] = run.stage("stage1-speech", cfg.for_modality("speech"), key_parts,
                                      lambda c: stages.train_speech_stage1(
                speech, c.data, c.settings, c.seed, c.device, c.progress, head=head))
        return out

    # ------------------------------------------------------------------ Stage II
    def stage2(self, run: SeedRun, stage1: dict[str, StageResult]) -> dict[str, StageResult]:
        """Per modality: a context model over the conversation's frozen Stage I features."""
        from erc_bench.recipe import stages

        out: dict[str, StageResult] = {}
        for modality, first in stage1.items():
            name = f"stage2-{modality}"
            context = self.loaded.build("model.context_model")
            key_parts = {"features": digest_features(first.features), "context": identity_of(context)}
            out[modality] = run.stage(  # the lambda binds the loop's values (mypy cannot infer defaults' types)
                name, self.spec.training.stage2, key_parts,
                lambda c, context=context, first=first, name=name, modality=modality: stages.train_context_stage2(
                    context, first.features, c.data, c.settings, c.seed, c.device, c.progress, stage=name,
                    modality=modality))  # type: ignore[misc]
        return out

    # ------------------------------------------------------------------ Stage III
    def stage3(self, run: SeedRun, stage2: dict[str, StageResult]) -> None:
        """Fusion of both modalities' frozen Stage II features (nothing to fuse with one modality)."""
        from erc_bench.recipe import stages

        if len(stage2) < 2:
            return
        fusion = self.loaded.build("model.fusion_head")
        text, speech = stage2["text"].features, stage2["speech"].features
        key_parts = {"text": digest_features(text), "speech": digest_features(speech), "fusion": identity_of(fusion)}
        run.stage("stage3-fusion", self.spec.training.stage3, key_parts, lambda c: stages.train_fusion_stage3(
            fusion, text, speech, c.data, c.settings, c.seed, c.device, c.progress))

    def joint(self, run: SeedRun, stage1: dict[str, StageResult]) -> None:
        """The paper's Fig. 4 baseline instead of Stages II and III: both trained end to end."""
        from erc_bench.recipe import stages

        context, fusion = self.loaded.build("model.context_model"), self.loaded.build("model.fusion_head")
        text, speech = stage1["text"].features, stage1["speech"].features
        key_parts = {"text": digest_features(text), "speech": digest_features(speech),
                     "context": identity_of(context), "fusion": identity_of(fusion)}
        run.stage("joint-fusion", self.spec.training.stage3, key_parts, lambda c: stages.train_joint(
            context, fusion, text, speech, c.data, c.settings, c.seed, c.device, c.progress))

    # ------------------------------------------------------------------ log
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
