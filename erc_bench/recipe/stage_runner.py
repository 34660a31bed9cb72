"""Inputs and stage orchestration for one dataset and seed.

``prepare_inputs`` computes what every seed shares (texts, frozen speech
embeddings). ``StageRunner`` trains Stage I per modality, Stage II per modality
on frozen Stage I features, then Stage III fusion on frozen Stage II features
(or the joint baseline), caching each stage under the digest of what it
consumed and logging each as a nested MLflow run.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.progress import Progress

from erc_bench.core.cache import Cache, canonical_json, digest_text
from erc_bench.core.interfaces import DatasetSplits, Problem
from erc_bench.core.plugin_host import build
from erc_bench.core.spec import ComponentRef, DatasetEntry, Spec, StageTraining
from erc_bench.recipe import distributed
from erc_bench.recipe.training_events import epoch_listener
from erc_bench.report import run_log
from erc_bench.report.tracking import CACHED_TAG, STAGE_TAG, Tracker


def digest_features(features: dict[str, Any]) -> str:
    """Content digest of an {utterance id: array} mapping, for stage cache keys."""
    h = hashlib.sha256()
    for key in sorted(features):
        array = features[key]
        h.update(key.encode())
        h.update(str(array.shape).encode())
        h.update(array.tobytes())
    return h.hexdigest()


def digest_dataset(data: DatasetSplits) -> str:
    """Digest of ids, labels, split membership and order (not audio: embeddings carry that)."""
    rows = [(split, c.id, u.id, u.label) for split, convs in sorted(data.splits.items()) for c in convs
            for u in c.utterances]
    return digest_text(canonical_json({"labels": data.labels, "rows": rows}))


@dataclass
class Inputs:
    texts: dict[str, str] = field(default_factory=dict)
    speech: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


def prepare_inputs(spec: Spec, entry: DatasetEntry, data: DatasetSplits, text_ref: ComponentRef | None,
                   cache: Cache, progress: Progress) -> Inputs:
    """Texts (reference or ASR) and frozen speech embeddings; both cached by content."""
    from erc_bench.recipe.speech_inputs import embed_utterances, transcribe_utterances

    utterances = [u for split in data.splits for u in data.utterances(split)]
    inputs = Inputs(texts={u.id: u.text for u in utterances})
    if "text" in spec.model.modalities and entry.text_source == "asr":
        assert spec.model.asr is not None
        asr = build("asr", spec.model.asr.plugin, spec.model.asr.params)
        transcripts, problems = transcribe_utterances(asr, utterances, cache, progress, spec.execution)
        inputs.texts = {uid: t.text for uid, t in transcripts.items()}
        inputs.problems += problems
    if "speech" in spec.model.modalities:
        assert spec.model.speech_encoder is not None
        ref = spec.model.speech_encoder
        encoder = build("speech_encoder", ref.plugin, ref.params)
        inputs.speech, problems = embed_utterances(encoder, utterances, cache, progress, spec.execution)
        inputs.problems += problems
    return inputs


class StageRunner:
    """Runs the stages of one (dataset, seed), each cached and logged as a nested run."""

    def __init__(self, spec: Spec, data: DatasetSplits, inputs: Inputs, text_ref: ComponentRef | None, seed: int,
                 device: str, cache: Cache, tracker: Tracker, progress: Progress) -> None:
        self.spec, self.data, self.inputs, self.text_ref = spec, data, inputs, text_ref
        self.seed, self.device, self.cache, self.tracker, self.progress = seed, device, cache, tracker, progress
        self.seed_log = run_log.SeedLog(spec.benchmark.name, data.name, seed)
        self.data_digest = digest_dataset(data)
        self.stage_keys: dict[str, str] = {}  # stage -> cache key of its result (weights), for `erc-bench predict`
        self.place_of = {u.id: (u.conversation_id, u.position) for split in data.splits
                         for u in data.utterances(split)}  # for every stage's predictions.csv

    def run_all(self) -> Iterator[tuple[Any, bool]]:
        """Yield (StageResult, was_cached) in the order of the paper's Table I."""
        from erc_bench.recipe import stages

        model, training = self.spec.model, self.spec.training
        stage1: dict[str, Any] = {}
        if "text" in model.modalities:
            assert self.text_ref is not None
            encoder = build("text_encoder", self.text_ref.plugin, self.text_ref.params)
            key_parts = {"encoder": encoder.fingerprint(), "texts": digest_text(canonical_json(self.inputs.texts))}
            stage1["text"] = yield from self._stage(
                "stage1-text", training.stage1, key_parts,
                lambda: stages.train_text_stage1(encoder, self.data, self.inputs.texts, training.stage1, self.seed,
                                                 self.device, self.progress))
        if "speech" in model.modalities:
            assert self.inputs.speech is not None
            key_parts = {"embeddings": digest_features(self.inputs.speech)}
            head = None
            if model.speech_head is not None:
                head = build("speech_head", model.speech_head.plugin, model.speech_head.params)
                key_parts["head"] = model.speech_head.model_dump()
            stage1["speech"] = yield from self._stage(
                "stage1-speech", training.stage1, key_parts,
                lambda: stages.train_speech_stage1(self.inputs.speech, self.data, training.stage1, self.seed,
                                                   self.device, self.progress, head=head))
        if model.training == "joint":
            yield from self._joint(stage1)
            return
        stage2: dict[str, Any] = {}
        for modality, first in stage1.items():
            context = build("context_model", model.context_model.plugin, model.context_model.params)
            key_parts = {"features": digest_features(first.features), "context": model.context_model.model_dump()}
            stage2[modality] = yield from self._stage(
                f"stage2-{modality}", training.stage2, key_parts,
                lambda context=context, first=first, modality=modality: stages.train_context_stage2(
                    context, first.features, self.data, training.stage2, self.seed, self.device, self.progress,
                    stage=f"stage2-{modality}"))
        if len(stage2) == 2:
            fusion = build("fusion_head", model.fusion_head.plugin, model.fusion_head.params)
            key_parts = {"text": digest_features(stage2["text"].features),
                         "speech": digest_features(stage2["speech"].features),
                         "fusion": model.fusion_head.model_dump()}
            yield from self._stage(
                "stage3-fusion", training.stage3, key_parts,
                lambda: stages.train_fusion_stage3(fusion, stage2["text"].features, stage2["speech"].features,
                                                   self.data, training.stage3, self.seed, self.device, self.progress))

    def _joint(self, stage1: dict[str, Any]) -> Iterator[tuple[Any, bool]]:
        """The paper's Fig. 4 baseline: Stages II and III trained end to end."""
        from erc_bench.recipe import stages

        model, cfg = self.spec.model, self.spec.training.stage3
        context = build("context_model", model.context_model.plugin, model.context_model.params)
        fusion = build("fusion_head", model.fusion_head.plugin, model.fusion_head.params)
        key_parts = {"text": digest_features(stage1["text"].features),
                     "speech": digest_features(stage1["speech"].features),
                     "context": model.context_model.model_dump(), "fusion": model.fusion_head.model_dump()}
        yield from self._stage(
            "joint-fusion", cfg, key_parts,
            lambda: stages.train_joint(context, fusion, stage1["text"].features, stage1["speech"].features,
                                       self.data, cfg, self.seed, self.device, self.progress))

    def _stage(self, name: str, cfg: StageTraining, key_parts: dict[str, Any],
               train: Any) -> Iterator[tuple[Any, bool]]:
        """Train (or read back) one stage, log it as a nested run, and return its result."""
        from erc_bench.recipe.stages import StageResult

        key = Cache.key("stage", name, {"cfg": cfg.model_dump(), "seed": self.seed, "device": self.device,
                                        **key_parts}, self.data_digest)
        self.stage_keys[name] = key
        result = StageResult.from_cache(self.cache, key)
        cached = result is not None
        flat: dict[str, float] = {}
        with self.tracker.run(name, tags={STAGE_TAG: name, CACHED_TAG: str(cached)}, nested=True):
            if result is None:
                with epoch_listener(self._log_epoch):  # per-epoch metrics appear while the stage trains
                    result = train()
                if distributed.is_main():
                    result.to_cache(self.cache, key)
            else:
                for record in result.history:  # replayed from the cache
                    self._log_epoch(name, record)
            flat = self._log(name, cfg, result, cached)
        self.tracker.log_metrics(flat)
        yield result, cached
        return result

    def _log_epoch(self, stage: str, record: dict[str, Any]) -> None:
        self.tracker.log_metrics(run_log.epoch_metrics(record), step=int(record.get("epoch", 1)))

    def _log(self, name: str, cfg: StageTraining, result: Any, cached: bool) -> dict[str, float]:
        """Params, scores, plots and predictions into the open stage run; returns the parent run's copies."""
        logged = run_log.log_stage(self.tracker, self.seed_log, result,
                                   {"stage": cfg.model_dump(), "best_epoch": result.best_epoch,
                                    "n_missing": getattr(result, "n_missing", 0)},
                                   cached, self._predictions_csv(result), log_history=False)
        return run_log.parent_stage_metrics(logged)

    def _predictions_csv(self, result: Any) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["split", "conversation_id", "position", "utterance_id", "gold", "predicted"])
        for split, rows in result.predictions.items():
            for utt_id, gold, pred in rows:
                conv, pos = self.place_of.get(utt_id, ("", ""))
                writer.writerow([split, conv, pos, utt_id, gold, pred])
        return buffer.getvalue()
