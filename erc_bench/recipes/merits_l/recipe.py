"""The MERITS-L recipe as one class, readable top to bottom: pretrain, inputs, Stage I, II, III.

Per benchmark: optional LLM-guided text pre-training (once). Per dataset: load,
transcribe if asked, extract frozen speech embeddings (seed independent,
cached). Per seed: one MLflow run with nested runs per stage, trained with one
``StageContext`` (data, seed, device resolved once, progress). Every stage
result is cached under a key made of the content it consumed, the identities of
the components that made it and the training settings it used, so an
interrupted run resumes and a finished one replays in seconds. What every
system shares (set-up, seed runs, the manifest, the summary) is
``erc_bench.runs.benchmark``; ``stage_step`` caches and logs each stage,
``stages`` trains them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from erc_bench.core.cache import canonical_json, digest_text
from erc_bench.core.capabilities import LoadsCheckpoint, Preflight
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import DatasetSplits
from erc_bench.core.label_names import label_names_note, renamed_labels
from erc_bench.core.plugin_host import build, identity_of
from erc_bench.core.progress import progress_bar
from erc_bench.core.spec import ComponentRef, DatasetEntry
from erc_bench.features.frozen_text import FORMAT as FROZEN_FORMAT
from erc_bench.features.inputs import Inputs, digest_features, prepare_inputs
from erc_bench.runs.benchmark import BenchmarkOutcome, BenchmarkRun
from erc_bench.runs.results import report_problems
from erc_bench.runs.stage_step import SeedRun
from erc_bench.tracking.tags import PRETRAIN_RUN_KIND, RUN_KIND_TAG
from erc_bench.train.stage_result import StageResult

__all__ = ["MeritsL"]


class MeritsL(BenchmarkRun):
    """The recipe; ``run`` calls the steps below in the order the paper describes them."""

    def run(self, tracking_uri: str | None = None, cache_dir: str | Path | None = None,
            limit: int | None = None) -> BenchmarkOutcome:
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
        return self.outcome

    def setup(self, tracking_uri: str | None, cache_dir: str | Path | None, limit: int | None
              ) -> list[DatasetSplits]:
        """The shared set-up, then a labeller's key checked before hours of pre-training."""
        corpora = super().setup(tracking_uri, cache_dir, limit)
        section = self.spec.pretrain
        if section is not None and section.enabled:
            labeller = self.loaded.build("pretrain.labeller")
            if isinstance(labeller, Preflight):
                labeller.check_ready()
        return corpora

    # ------------------------------------------------------------------ pretrain
    def pretrain(self) -> ComponentRef | None:
        """LLM-guided pre-training (once); later stages use its checkpoint when ``use_pretrained_text``."""
        from erc_bench.recipes.merits_l.pretrain import run_pretrain

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

    # ------------------------------------------------------------------ Stage I
    def stage1(self, run: SeedRun, inputs: Inputs, text_ref: ComponentRef | None) -> dict[str, StageResult]:
        """Per modality: fine-tune the text encoder on utterances; a small net over frozen speech embeddings.
        Each trains with ``[training.stage1]`` and its modality's section (``[training.stage1.speech]``): the
        settings logged and keyed are the ones it trains with."""
        from erc_bench.recipes.merits_l import stages

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
        from erc_bench.recipes.merits_l import stages

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
        from erc_bench.recipes.merits_l import stages

        if len(stage2) < 2:
            return
        fusion = self.loaded.build("model.fusion_head")
        text, speech = stage2["text"].features, stage2["speech"].features
        key_parts = {"text": digest_features(text), "speech": digest_features(speech), "fusion": identity_of(fusion)}
        run.stage("stage3-fusion", self.spec.training.stage3, key_parts, lambda c: stages.train_fusion_stage3(
            fusion, text, speech, c.data, c.settings, c.seed, c.device, c.progress))

    def joint(self, run: SeedRun, stage1: dict[str, StageResult]) -> None:
        """The paper's Fig. 4 baseline instead of Stages II and III: both trained end to end."""
        from erc_bench.recipes.merits_l import stages

        context, fusion = self.loaded.build("model.context_model"), self.loaded.build("model.fusion_head")
        text, speech = stage1["text"].features, stage1["speech"].features
        key_parts = {"text": digest_features(text), "speech": digest_features(speech),
                     "context": identity_of(context), "fusion": identity_of(fusion)}
        run.stage("joint-fusion", self.spec.training.stage3, key_parts, lambda c: stages.train_joint(
            context, fusion, text, speech, c.data, c.settings, c.seed, c.device, c.progress))
