"""The one training loop: every stage and LLM-guided pre-training train through ``fit``.

AdamW + cross-entropy with the context's settings (``UpdatePlan``: schedule,
accumulation, clipping, precision), data-parallel when launched so. Test data is
never touched while training: each epoch evaluates the validation split only,
the best epoch's weights (validation weighted F1; accuracy for pre-training,
its selection rule since the start; scores equal to 1e-6 are a tie, and a tie keeps the earlier
epoch: ``selection_score``) are kept, and only after the last epoch are
those weights evaluated on every split (test included, once).

The training order is drawn from the seed by a shuffler: the stages use numpy's
generator, pre-training torch's ``randperm`` (what its own loop used before it
joined this one), so every checkpoint, and every number downstream of it, stays
what it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from torch import nn

from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import SPLITS
from erc_bench.core.metrics import classification_metrics, confusion_matrix
from erc_bench.train import distributed
from erc_bench.train.events import publish_epoch
from erc_bench.train.optimisation import EarlyStop, UpdatePlan
from erc_bench.train.stage_result import StageResult

if TYPE_CHECKING:  # pragma: no cover - typing only
    from erc_bench.train.context import StageContext

SELECTION_PRECISION = 1e-6
"""Validation scores closer than this select as equal (``selection_score``)."""
ProgressCallback = Callable[[str, dict[str, float]], None]
Shuffle = Literal["numpy", "torch"]


@dataclass
class Batch:
    """Model inputs for some items, with the gold labels of their scored utterances.

    When the model outputs one row per position (``[B, T, C]``), ``mask [B, T]``
    selects the real utterances; ``ids`` and ``gold`` follow that row-major order.
    """

    ids: list[str]
    gold: torch.Tensor
    inputs: tuple[Any, ...]
    mask: torch.Tensor | None = None


Collate = Callable[[Any], Batch]  # a list of items (utterances or conversations) -> one batch


def run_batch(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattened ``(logits [N, C], features [N, H])``; a model returning only logits gives them as features."""
    out = model(*batch.inputs)
    logits, features = out if isinstance(out, tuple) else (out, out)
    if batch.mask is not None:
        logits, features = logits[batch.mask], features[batch.mask]
    return logits, features


class _Reporter:
    """Adapts ``progress``: a rich ``Progress`` (one task per stage) or a ``callback(stage, record)``.

    A display's task counts batches (training and validation, then the final evaluation), not epochs:
    off a terminal ``PlainProgress`` prints a line only when its task moves, and one MELD epoch of a
    fine-tuned encoder is minutes, so counting epochs left a piped run silent for most of an hour. The
    description names the epoch and the last validation WF1. A callback still gets one record per epoch.
    """

    def __init__(self, progress: Any, stage: str, epochs: int, batches: int) -> None:
        self.progress, self.stage, self.epochs, self.task = progress, stage, epochs, None
        if progress is not None and hasattr(progress, "add_task"):
            self.task = progress.add_task(f"{stage} epoch 1/{epochs}", total=batches, unit="batches")

    def batch(self) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1)

    def epoch(self, record: dict[str, Any]) -> None:
        if self.task is not None:
            epoch = int(record["epoch"])
            following = f"epoch {epoch + 1}/{self.epochs}" if epoch < self.epochs else "evaluating"
            self.progress.update(self.task, description=f"{self.stage} {following}, "
                                                        f"val WF1 {record['val_weighted_f1']:.3f}")
        elif callable(self.progress):
            self.progress(self.stage, record)

    def done(self, total: int) -> None:
        """Early stopping skips batches the total counted: the task still ends at 100 %."""
        if self.task is not None:
            self.progress.update(self.task, completed=total)


@dataclass
class Evaluation:
    ids: list[str]
    gold: list[int]
    pred: list[int]
    features: np.ndarray
    loss: float | None = None  # mean cross-entropy over the scored utterances (the validation curve)


@torch.no_grad()
def evaluate(model: nn.Module, items: Sequence[Any], collate: Collate, batch_size: int,
             on_batch: Callable[[], None] | None = None) -> Evaluation:
    """Predictions and features of ``items`` in eval mode, in order; ``on_batch()`` after each batch."""
    model.eval()
    ids: list[str] = []
    gold: list[int] = []
    pred: list[int] = []
    features: list[np.ndarray] = []
    loss_sum = 0.0
    for start in range(0, len(items), batch_size):
        batch = collate(items[start:start + batch_size])
        logits, feats = run_batch(model, batch)
        if batch.gold.numel():
            loss_sum += float(nn.functional.cross_entropy(logits.float(), batch.gold, reduction="sum"))
        ids.extend(batch.ids)
        gold.extend(batch.gold.tolist())
        pred.extend(logits.argmax(dim=-1).tolist())
        features.append(feats.detach().float().cpu().numpy())
        if on_batch is not None:
            on_batch()
    matrix = np.concatenate(features) if features else np.zeros((0, 0), dtype=np.float32)
    return Evaluation(ids, gold, pred, matrix, loss_sum / len(gold) if gold else None)


def selection_score(score: float) -> int:
    """A validation score as compared for model selection: in units of ``SELECTION_PRECISION``.

    Weighted F1 sums per-class terms, so two epochs whose predictions differ can score the same in exact
    arithmetic yet differ in the last bits, and which bit wins can change with the CPU's kernels (the
    quickstart's 100-utterance validation split made such near-ties decide its published table). Scores
    equal at this precision are a tie, and a tie keeps the earlier epoch (the comparison is strict).
    """
    return round(score / SELECTION_PRECISION)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _shuffler(kind: Shuffle, seed: int) -> Callable[[int], Sequence[int] | np.ndarray]:
    """Per epoch, a permutation of the training items, from a generator seeded once per ``fit``."""
    if kind == "torch":
        generator = torch.Generator().manual_seed(seed)
        return lambda n: torch.randperm(n, generator=generator).tolist()
    rng = np.random.default_rng(seed)
    return lambda n: rng.permutation(n)


def fit(stage: str, model: nn.Module, items: dict[str, list[Any]], collate: Collate, ctx: StageContext,
        keep_features: bool = True, select_on: str = "weighted_f1", shuffle: Shuffle = "numpy",
        evaluate_splits: Sequence[str] = SPLITS) -> tuple[StageResult, nn.Module]:
    """Train ``model`` on ``items['train']`` with ``ctx.settings``; select the epoch by validation ``select_on``.

    Returns the result (metrics, predictions and, unless ``keep_features`` is
    False, features of ``evaluate_splits`` with the selected weights) and the
    model holding those weights. Pre-training passes no splits: it keeps only
    the selected weights and the history, and a pass over its whole corpus
    would cost one more forward pass of the encoder for nothing.
    """
    if not items.get("train"):
        raise UserError(f"{stage}: no training utterances (all missing, unlabelled, or an empty train split)")
    if not items.get("validation"):
        raise UserError(f"{stage}: no validation utterances; model selection needs a validation split")
    started = time.perf_counter()
    cfg, labels, seed = ctx.settings, ctx.labels, ctx.seed
    parallel = distributed.active()
    distributed.broadcast_parameters(model)
    train, history = items["train"], []
    micro_size = max(1, -(-cfg.batch_size // cfg.grad_accum_steps))
    plan = UpdatePlan(model.parameters(), cfg, -(-len(train) // cfg.batch_size) * cfg.grad_accum_steps,
                      next(model.parameters()).device)
    loss_fn = nn.CrossEntropyLoss()
    permutation = _shuffler(shuffle, seed)

    def batches(n: int) -> int:
        return -(-n // cfg.batch_size)

    n_batches = cfg.epochs * (batches(len(train)) + batches(len(items["validation"])))
    n_batches += sum(batches(len(items.get(split) or [])) for split in evaluate_splits)
    reporter = _Reporter(ctx.progress, stage, cfg.epochs, n_batches)
    stopper = EarlyStop(cfg.early_stop_patience)
    best_score, best_epoch, best_state = -1.0, 0, _snapshot(model)
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total, count = 0.0, 0
        order = permutation(len(train))
        for start in range(0, len(train), cfg.batch_size):
            # the global batch is the same in every process; each takes its shard, split into micro-batches
            mine = distributed.shard([train[i] for i in order[start:start + cfg.batch_size]])
            micro = [collate(mine[i:i + micro_size]) for i in range(0, len(mine), micro_size)]
            micro = [b for b in micro if b.gold.numel() > 0]
            n_global = distributed.sum_over_processes(float(sum(b.gold.numel() for b in micro)))
            if n_global == 0:
                continue
            for batch in micro:
                with plan.autocast():
                    logits, _ = run_batch(model, batch)
                    loss = loss_fn(logits.float(), batch.gold)
                plan.backward(loss, batch.gold.numel() / n_global)  # sums to the global batch's mean loss
                total += float(loss.detach()) * batch.gold.numel()
                count += batch.gold.numel()
            if parallel:
                distributed.all_reduce_gradients(plan.parameters)
            plan.step()
            reporter.batch()
        val = evaluate(model, items["validation"], collate, cfg.batch_size, reporter.batch)
        val_metrics = classification_metrics([labels[g] for g in val.gold], [labels[p] for p in val.pred], labels)
        train_loss = distributed.sum_over_processes(total) / max(distributed.sum_over_processes(float(count)), 1)
        record = {"epoch": epoch, "train_loss": train_loss, "val_loss": val.loss,
                  "val_weighted_f1": val_metrics["weighted_f1"], "val_accuracy": val_metrics["accuracy"], "lr": plan.lr}
        history.append(record)
        reporter.epoch(record)
        publish_epoch(stage, record)
        improved = selection_score(val_metrics[select_on]) > selection_score(best_score)
        if improved:
            best_score, best_epoch, best_state = val_metrics[select_on], epoch, _snapshot(model)
        if stopper.update(improved):
            break
    model.load_state_dict(best_state)
    result = StageResult(stage=stage, labels=list(labels), metrics={}, predictions={}, confusion={}, features={},
                         best_epoch=best_epoch, history=history, state_dict=best_state)
    for split in evaluate_splits:  # the only place test items are evaluated: once, with the selected weights
        if not items.get(split):
            continue
        ev = evaluate(model, items[split], collate, cfg.batch_size, reporter.batch)
        gold = [labels[g] for g in ev.gold]
        pred = [labels[p] for p in ev.pred]
        majority = getattr(ctx.data, "majority_label", None)  # DailyDialog's "no emotion": micro F1 without it
        result.metrics[split] = classification_metrics(gold, pred, labels, majority=majority)
        result.confusion[split] = confusion_matrix(gold, pred, labels).tolist()
        result.predictions[split] = list(zip(ev.ids, gold, pred, strict=True))
        if keep_features:
            result.features.update({uid: ev.features[n] for n, uid in enumerate(ev.ids)})
    reporter.done(n_batches)
    result.seconds = time.perf_counter() - started
    return result, model
