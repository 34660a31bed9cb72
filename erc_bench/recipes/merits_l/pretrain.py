"""LLM-guided text pre-training (MERITS-L, section III-B2), top to bottom.

corpus (a dataset plugin, every split) -> ASR transcripts -> silver sentiment
labels from a labeller (an LLM, or the offline lexicon) -> fine-tune the text
encoder as a 3-class classifier on the silver labels, seeded 80/20 split,
keeping the best validation checkpoint (paper: 10 epochs, lr 1e-4, batch 32,
AdamW, cross-entropy). Transcripts and labels are cached by their own steps;
the finished checkpoint and its summary are cached under a key made of the
corpus content, the ASR, labeller and encoder fingerprints, the training
settings and the silver labels themselves, so a rerun trains nothing (and a
rerun that recovered labels which failed last time trains again, as it should).
Transcripts without a label (ASR failure, labeller failure, unparsable answer)
and transcripts Whisper marks as not speech (empty, or by Whisper's own rule:
no-speech probability above 0.6 with mean token log-probability below -1, the
silence on which it invents "I'm not sure.")
are excluded from training and counted, never silently dropped.
"""

from __future__ import annotations

import logging
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from erc_bench.core.cache import Cache, canonical_json, digest_text
from erc_bench.core.capabilities import (
    BacksUpLabelStore,
    ChunkedLabelling,
    CostEstimating,
    KeepsLabelStore,
    SavesPretrained,
    UsageReporting,
)
from erc_bench.core.errors import UserError
from erc_bench.core.execution import ExecutionSection
from erc_bench.core.interfaces import (
    SENTIMENT_LABELS,
    Conversation,
    DatasetSplits,
    LabelOutcome,
    Problem,
    Utterance,
)
from erc_bench.core.plugin_host import build, identity_of
from erc_bench.core.progress import as_callback
from erc_bench.core.spec import ComponentRef, PretrainSection
from erc_bench.tracking.tags import (
    PRETRAIN_SUMMARY_ARTIFACT,
    epoch_metric_name,
    metric_name,
    pretrain_metric_name,
)

NAMESPACE = "pretrain"
PRETRAIN_STAGE = "pretrain-text"  # the loop's name for this fine-tuning (progress, history)
LABEL_STORE_NAME = "labels.sqlite"
LABEL_CHUNK = 512
MIN_LABELLED = 4


@dataclass
class SilverLabels:
    """Transcripts of a corpus and the labeller's outcome for each (same order)."""

    utterances: list[Utterance]
    texts: list[str]
    outcomes: list[LabelOutcome]
    problems: list[Problem]
    corpus_digest: str
    asr_fingerprint: str
    labeller_fingerprint: str
    labeller: Any = None
    n_corpus: int = 0

    def usable(self) -> list[tuple[str, str]]:
        return [(t, o.label) for t, o in zip(self.texts, self.outcomes, strict=True) if o.status == "ok" and o.label]

    def excluded(self) -> dict[str, int]:
        counts = Counter(o.status for o in self.outcomes if o.status != "ok")
        no_speech = sum(p.kind == "no-speech" for p in self.problems)
        return {"asr": len(self.problems) - no_speech, "no_speech": no_speech,
                "unparsable": counts.get("unparsable", 0), "failed": counts.get("failed", 0)}


@dataclass
class PretrainResult:
    checkpoint_dir: Path
    label_counts: dict[str, int]
    val_accuracy: float
    n_items: int
    n_failed: int
    excluded: dict[str, int] = field(default_factory=dict)
    n_train: int = 0
    n_val: int = 0
    best_epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    cached: bool = False


def corpus_utterances(section: PretrainSection) -> tuple[list[Utterance], list[Problem]]:
    """Every utterance of every split (stable order), truncated to ``max_items``."""
    from erc_bench.core.data_checks import refuse_duplicate_ids

    splits = build("dataset", section.corpus.plugin, section.corpus.params).load()
    refuse_duplicate_ids(splits)
    utterances = [u for name in sorted(splits.splits) for u in splits.utterances(name)]
    if section.max_items is not None:
        utterances = utterances[: section.max_items]
    if not utterances:
        raise UserError(f"pre-training corpus '{section.corpus.plugin}' has no utterances")
    return utterances, list(splits.problems)


def _corpus_digest(utterances: list[Utterance]) -> str:
    from erc_bench.core.audio import source_digest

    parts = []
    for utt in utterances:
        try:
            audio = source_digest(utt.audio) if utt.audio is not None else "no-audio"
        except Exception:  # noqa: BLE001 - an unreadable file is reported by transcription, not here
            audio = "unreadable"
        parts.append([utt.id, audio, utt.text])
    return digest_text(canonical_json(parts))


def collect_silver_labels(section: PretrainSection, cache: Cache, progress: Any = None,
                          label: bool = True, execution: ExecutionSection | None = None) -> SilverLabels:
    """Load the corpus, transcribe it (cached) and label the transcripts (cached by the labeller)."""
    from erc_bench.features.speech import transcribe_utterances

    utterances, problems = corpus_utterances(section)
    asr = build("asr", section.asr.plugin, section.asr.params)
    labeller = _build_labeller(section.labeller, cache)
    transcripts, asr_problems = transcribe_utterances(asr, utterances, cache, progress, execution)
    asr_problems = list(asr_problems) + _no_speech_problems(utterances, transcripts)
    flagged = {p.item_id for p in asr_problems}
    kept = [u for u in utterances if u.id in transcripts and u.id not in flagged]
    texts = [transcripts[u.id].text for u in kept]
    outcomes: list[LabelOutcome] = []
    if label:
        report = as_callback(progress, f"labelling ({labeller.name})")
        # a provider batch must hold everything at once (one submission, one wait), online work is chunked
        chunk = labeller.label_chunk(len(texts)) if isinstance(labeller, ChunkedLabelling) else LABEL_CHUNK
        for start in range(0, len(texts), chunk):
            if report:
                report(start, len(texts))
            outcomes.extend(labeller.label(texts[start:start + chunk]))
        if report:
            report(len(texts), len(texts))
        if isinstance(labeller, BacksUpLabelStore):  # a successful labelling run: rotate the store's backup
            line = labeller.finish_labelling()
            if line:
                logging.getLogger("erc_bench.labellers").warning(line)
    return SilverLabels(kept, texts, outcomes, problems + list(asr_problems), _corpus_digest(utterances),
                        canonical_json(identity_of(asr)), canonical_json(identity_of(labeller)), labeller,
                        len(utterances))


def _build_labeller(ref: ComponentRef, cache: Cache) -> Any:
    """The labeller, its label store placed in this run's cache (``--cache-dir``) unless the spec names one."""
    labeller = build("labeller", ref.plugin, ref.params)
    if isinstance(labeller, KeepsLabelStore):
        labeller.place_label_store(str(cache.root / LABEL_STORE_NAME))
    return labeller


def _no_speech_problems(utterances: list[Utterance], transcripts: dict[str, Any]) -> list[Problem]:
    """Transcripts Whisper marks as not speech (silence, noise): a silver label for them would be noise."""
    from erc_bench.core.data_checks import no_speech

    problems = []
    for utt in utterances:
        t = transcripts.get(utt.id)
        if t is not None and no_speech(t.text, t.no_speech_prob, t.avg_logprob):
            detail = (f"no-speech probability {t.no_speech_prob:.2f}, mean log-probability {t.avg_logprob:.2f}"
                      if t.text.strip() else "empty transcript")
            problems.append(Problem("no-speech", utt.id, f"{detail}: {t.text[:60]!r}"))
    return problems


def silver_corpus(data: list[tuple[str, str]], seed: int, val_fraction: float
                  ) -> tuple[DatasetSplits, dict[str, str]]:
    """The silver-labelled transcripts as a corpus of one-utterance conversations and their texts, split
    train / validation by a seeded shuffle (validation: ``val_fraction``, at least one item, never all)."""
    order = list(range(len(data)))
    random.Random(seed).shuffle(order)
    n_val = min(max(1, round(len(data) * val_fraction)), len(data) - 1)

    def conversations(indices: list[int]) -> list[Conversation]:
        return [Conversation(f"silver-{i}", [Utterance(f"silver-{i}", f"silver-{i}", 0, data[i][0], data[i][1])])
                for i in indices]

    splits = {"train": conversations(order[n_val:]), "validation": conversations(order[:n_val])}
    texts = {f"silver-{i}": text for i, (text, _) in enumerate(data)}
    return DatasetSplits("silver-labels", list(SENTIMENT_LABELS), splits), texts


def fine_tune(encoder: Any, data: list[tuple[str, str]], section: PretrainSection, device: str = "auto",
              tracker: Any = None, progress: Any = None) -> tuple[Any, dict[str, Any]]:
    """Train a 3-class classifier on silver labels through the one training loop; returns the model with the
    best validation accuracy (selection on validation only, never on a test set) and a summary.

    Plain AdamW at the section's rate (torch's default weight decay, 0.01), batches from ``torch.randperm``,
    selection by accuracy: the settings pre-training has always had, so its checkpoints stay the same.
    """
    from erc_bench.core.spec import StageTraining
    from erc_bench.recipes.merits_l.stages import fine_tune_text
    from erc_bench.train.events import epoch_listener

    corpus, texts = silver_corpus(data, section.seed, section.val_fraction)
    settings = StageTraining(epochs=section.epochs, lr=section.lr, batch_size=section.batch_size,
                             weight_decay=0.01, precision="no")
    display = progress if hasattr(progress, "add_task") else None  # the loop counts its batches on it
    report = None if display is not None else as_callback(progress, "pre-training text encoder")  # per epoch

    def on_epoch(stage: str, record: dict[str, Any]) -> None:
        if stage != PRETRAIN_STAGE:
            return
        if tracker is not None:  # inside the loop: a dead tracking server must not stop pre-training
            log = getattr(tracker, "log_metrics_soft", tracker.log_metrics)
            log({epoch_metric_name("train_loss"): record["train_loss"],
                 epoch_metric_name("val_accuracy"): record["val_accuracy"]}, step=record["epoch"])
        if report:
            report(int(record["epoch"]), section.epochs)

    with epoch_listener(on_epoch):
        result, model = fine_tune_text(encoder, corpus, texts, settings, section.seed, device, display,
                                       stage=PRETRAIN_STAGE,
                                       keep_features=False, select_on="accuracy", shuffle="torch",
                                       evaluate_splits=())
    history = [{key: record[key] for key in ("epoch", "train_loss", "val_accuracy")} for record in result.history]
    return model, {"val_accuracy": history[result.best_epoch - 1]["val_accuracy"], "best_epoch": result.best_epoch,
                   "history": history, "n_train": len(corpus.splits["train"]),
                   "n_val": len(corpus.splits["validation"])}


def _save(model: Any, directory: Path) -> None:
    if isinstance(model, SavesPretrained):
        model.save_pretrained(directory)
    else:  # a third-party text encoder without HF-style saving: keep the weights at least
        import torch

        directory.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), directory / "classifier.pt")


def run_pretrain(section: PretrainSection, text_encoder_ref: ComponentRef, cache: Cache, progress: Any = None,
                 device: str = "auto", tracker: Any = None, execution: ExecutionSection | None = None
                 ) -> PretrainResult:
    """Corpus -> ASR -> labeller -> fine-tuned text encoder checkpoint (cached as a whole)."""
    silver = collect_silver_labels(section, cache, progress, execution=execution)
    data = silver.usable()
    excluded = silver.excluded()
    label_counts = {label: sum(1 for _, lab in data if lab == label) for label in SENTIMENT_LABELS}
    n_failed = silver.n_corpus - len(data)
    encoder = build("text_encoder", text_encoder_ref.plugin, text_encoder_ref.params)
    training = section.model_dump(include={"epochs", "lr", "batch_size", "val_fraction", "seed", "max_items"})
    key = Cache.key(NAMESPACE, text_encoder_ref.plugin,
                    {"encoder": identity_of(encoder), "asr": silver.asr_fingerprint,
                     "labeller": silver.labeller_fingerprint, "training": training},
                    digest_text(canonical_json([silver.corpus_digest, data])))
    summary = cache.get_json(NAMESPACE, key)
    checkpoint = cache.get_dir(NAMESPACE, key)
    cached = summary is not None and checkpoint is not None
    if not cached:
        if len(data) < MIN_LABELLED:
            raise UserError(f"pre-training needs at least {MIN_LABELLED} labelled transcripts; got {len(data)} "
                            f"of {silver.n_corpus} (excluded: {excluded}); check the ASR and labeller settings")
        model, summary = fine_tune(encoder, data, section, device, tracker, progress)
        with tempfile.TemporaryDirectory(prefix="erc-pretrain-") as tmp:
            _save(model, Path(tmp) / "checkpoint")
            checkpoint = cache.put_dir(NAMESPACE, key, Path(tmp) / "checkpoint", meta={"kind": "text-pretrain"})
        cache.put_json(NAMESPACE, key, summary)
    assert summary is not None and checkpoint is not None  # read back, or just trained and stored
    result = PretrainResult(Path(checkpoint), label_counts, float(summary["val_accuracy"]), silver.n_corpus,
                            n_failed, excluded, int(summary["n_train"]), int(summary["n_val"]),
                            int(summary["best_epoch"]), list(summary["history"]), cached)
    if tracker is not None:
        usage = silver.labeller.usage if isinstance(silver.labeller, UsageReporting) else None
        tracker.log_metrics({metric_name("validation", "accuracy"): result.val_accuracy,
                             pretrain_metric_name("items"): result.n_items,
                             pretrain_metric_name("excluded"): n_failed,
                             **{pretrain_metric_name("labels", k): v for k, v in label_counts.items()}})
        tracker.log_dict({"label_counts": label_counts, "excluded": excluded, "best_epoch": result.best_epoch,
                          "history": result.history, "cached": cached,
                          "labeller_usage": usage.as_dict() if usage is not None else None},
                         PRETRAIN_SUMMARY_ARTIFACT)
    return result


def estimate_labelling(section: PretrainSection, cache: Cache, progress: Any = None) -> tuple[SilverLabels, Any]:
    """Dry run: transcribe (local, cached) and estimate what labelling would send; nothing is paid."""
    silver = collect_silver_labels(section, cache, progress, label=False)
    estimate = silver.labeller.estimate(silver.texts) if isinstance(silver.labeller, CostEstimating) else None
    return silver, estimate
