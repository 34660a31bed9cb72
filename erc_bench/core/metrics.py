"""Classification metrics and paired significance tests, named exactly.

Every number a stage reports comes from here, computed from one confusion
matrix so weighted F1, accuracy and per-class F1 always agree with each other.
Values are fractions in [0, 1]. ``weighted F1`` is the support-weighted mean of
per-class F1 over the gold labels (scikit-learn's ``average="weighted"``); a
class with no gold and no predicted items contributes nothing, and an undefined
precision or recall counts as 0 (scikit-learn's ``zero_division=0``).

The significance tests compare two systems on the *same* utterances (paired):
``paired_bootstrap`` gives the weighted-F1 difference with a 95 % percentile
interval and a bootstrap p-value; ``approximate_randomization`` gives the
permutation p-value (swap the two systems' predictions per utterance at random).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from erc_bench.core.label_names import metric_labels

_CHUNK = 256  # bootstrap replicates evaluated at once (bounds memory: chunk x n items)


def _encode(labels: Sequence[str], *columns: Sequence[Any]) -> list[np.ndarray]:
    index = {label: i for i, label in enumerate(labels)}
    out = []
    for column in columns:
        try:
            out.append(np.fromiter((index[v] for v in column), dtype=np.int64, count=len(column)))
        except KeyError as exc:
            raise ValueError(f"label {exc.args[0]!r} is not one of {list(labels)}") from None
    return out


def _label_set(labels: Sequence[str] | None, *columns: Sequence[Any]) -> list[str]:
    if labels is not None:
        return list(labels)
    return sorted({v for column in columns for v in column})


def confusion_matrix(gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[str] | None = None) -> np.ndarray:
    """Counts ``[i, j]`` of items with gold label i predicted as j, in ``labels`` order."""
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} items, predictions {len(pred)}")
    labels = _label_set(labels, gold, pred)
    g, p = _encode(labels, gold, pred)
    k = len(labels)
    return np.bincount(g * k + p, minlength=k * k).reshape(k, k)


def _per_class_f1(cm: np.ndarray) -> np.ndarray:
    """F1 per class from a confusion matrix, or a stack of them ``[..., k, k]``."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(float)
    predicted = cm.sum(axis=-2).astype(float)
    actual = cm.sum(axis=-1).astype(float)
    denominator = predicted + actual
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)
    return f1


def _weighted_f1_from_cm(cm: np.ndarray) -> np.ndarray:
    support = cm.sum(axis=-1).astype(float)
    total = support.sum(axis=-1)
    weighted = (_per_class_f1(cm) * support).sum(axis=-1)
    return np.where(total > 0, weighted / np.where(total > 0, total, 1), 0.0)


def weighted_f1(gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[str] | None = None) -> float:
    return float(_weighted_f1_from_cm(confusion_matrix(gold, pred, labels)))


def accuracy(gold: Sequence[Any], pred: Sequence[Any]) -> float:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} items, predictions {len(pred)}")
    if not gold:
        return 0.0
    return float(np.mean([g == p for g, p in zip(gold, pred, strict=True)]))


def per_class_f1(gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[str] | None = None) -> dict[str, float]:
    labels = _label_set(labels, gold, pred)
    f1 = _per_class_f1(confusion_matrix(gold, pred, labels))
    return {label: float(v) for label, v in zip(labels, f1, strict=True)}


def _unweighted_accuracy_from_cm(cm: np.ndarray) -> float:
    """UA: mean per-class recall over the classes present in gold (scikit-learn's balanced accuracy)."""
    support = cm.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diagonal(cm)[present] / support[present])) if present.any() else 0.0


def _macro_f1_from_cm(cm: np.ndarray) -> float:
    """Unweighted mean of per-class F1 over the classes seen in gold or predictions (scikit-learn's
    ``average="macro"`` without a ``labels`` argument), so a class absent from a split is not a free 0."""
    seen = (cm.sum(axis=0) + cm.sum(axis=1)) > 0
    return float(np.mean(_per_class_f1(cm)[seen])) if seen.any() else 0.0


MICRO_F1_EXCL_MAJORITY = "micro_f1_excl_majority"


def _micro_f1_excluding(cm: np.ndarray, excluded: int) -> float:
    """Micro F1 over every class but ``excluded``: true positives, predictions and gold items of the other
    classes pooled (scikit-learn's ``f1_score(average="micro", labels=<the others>)``). An item of the
    excluded class predicted as another class is a false positive; one of another class predicted as the
    excluded class a false negative; excluded-as-excluded counts nowhere."""
    keep = np.ones(cm.shape[0], dtype=bool)
    keep[excluded] = False
    tp = float(np.diagonal(cm)[keep].sum())
    predicted, actual = float(cm[:, keep].sum()), float(cm[keep, :].sum())
    return 2 * tp / (predicted + actual) if predicted + actual > 0 else 0.0


def classification_metrics(gold: Sequence[Any], pred: Sequence[Any], labels: Sequence[str],
                           majority: str | None = None) -> dict[str, float]:
    """``weighted_f1``, ``accuracy`` (WA), ``ua`` (mean per-class recall), ``macro_f1``, ``f1/<label>``
    for every label (its ``metric_labels`` form), and ``n`` (items scored). SER papers report WA and UA, ERC
    papers weighted and macro F1.

    ``majority``: a class the corpus's convention leaves out of the score (DailyDialog's "no emotion",
    ``DatasetSplits.majority_label``); when given, ``micro_f1_excl_majority`` is added: micro F1 over the
    other classes, the figure DailyDialog ERC papers report."""
    cm = confusion_matrix(gold, pred, labels)
    total = int(cm.sum())
    out = {
        "weighted_f1": float(_weighted_f1_from_cm(cm)),
        "accuracy": float(np.trace(cm) / total) if total else 0.0,
        "ua": _unweighted_accuracy_from_cm(cm),
        "macro_f1": _macro_f1_from_cm(cm),
    }
    safe = metric_labels(labels)
    for label, f1 in zip(labels, _per_class_f1(cm), strict=True):
        out[f"f1/{safe[label]}"] = float(f1)
    if majority is not None and majority in labels:
        out[MICRO_F1_EXCL_MAJORITY] = _micro_f1_excluding(cm, list(labels).index(majority))
    out["n"] = float(total)
    return out


# ------------------------------------------------------------------ significance


@dataclass(frozen=True)
class Comparison:
    """System A against system B on the same items; ``delta`` = WF1(A) - WF1(B)."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n_items: int
    n_resamples: int
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _stacked_wf1(gold_rows: np.ndarray, pred_rows: np.ndarray, k: int) -> np.ndarray:
    """Weighted F1 of each replicate: row r scores ``pred_rows[r]`` against ``gold_rows[r]``."""
    r = gold_rows.shape[0]
    codes = gold_rows * k + pred_rows + (np.arange(r)[:, None] * k * k)
    cms = np.bincount(codes.ravel(), minlength=r * k * k).reshape(r, k, k)
    return _weighted_f1_from_cm(cms)


def _cm(g: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(g * k + p, minlength=k * k).reshape(k, k)


def _paired_arrays(gold: Sequence[Any], pred_a: Sequence[Any], pred_b: Sequence[Any],
                   labels: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if not (len(gold) == len(pred_a) == len(pred_b)):
        raise ValueError(f"paired test needs equal lengths: gold {len(gold)}, A {len(pred_a)}, B {len(pred_b)}")
    if not gold:
        raise ValueError("paired test needs at least one item")
    labels = _label_set(labels, gold, pred_a, pred_b)
    g, a, b = _encode(labels, gold, pred_a, pred_b)
    return g, a, b, len(labels)


def paired_bootstrap(gold: Sequence[Any], pred_a: Sequence[Any], pred_b: Sequence[Any], n: int = 10_000,
                     seed: int = 0, labels: Sequence[str] | None = None) -> Comparison:
    """Resample items with replacement ``n`` times; 95 % percentile interval of WF1(A) - WF1(B).

    The two-sided p-value tests "no difference" by centring the bootstrap
    distribution on zero (Efron & Tibshirani; Berg-Kirkpatrick et al. 2012):
    ``p = P(|delta* - delta| >= |delta|)``, with +1 smoothing so it is never 0.
    """
    g, a, b, k = _paired_arrays(gold, pred_a, pred_b, labels)
    rng = np.random.default_rng(seed)
    m = len(g)
    delta = float(_weighted_f1_from_cm(_cm(g, a, k)) - _weighted_f1_from_cm(_cm(g, b, k)))
    deltas = np.empty(n)
    for start in range(0, n, _CHUNK):
        rows = rng.integers(0, m, size=(min(_CHUNK, n - start), m))
        deltas[start:start + len(rows)] = _stacked_wf1(g[rows], a[rows], k) - _stacked_wf1(g[rows], b[rows], k)
    low, high = np.percentile(deltas, [2.5, 97.5])
    extreme = int(np.sum(np.abs(deltas - delta) >= abs(delta) - 1e-12))
    return Comparison(delta, float(low), float(high), (extreme + 1) / (n + 1), m, n, "paired-bootstrap")


def approximate_randomization(gold: Sequence[Any], pred_a: Sequence[Any], pred_b: Sequence[Any], n: int = 10_000,
                              seed: int = 0, labels: Sequence[str] | None = None) -> Comparison:
    """Swap A's and B's prediction per item with probability 1/2, ``n`` times (Noreen 1989).

    p = (1 + #{|delta_perm| >= |delta|}) / (n + 1). The interval reported is the
    paired bootstrap's (same seed), so one call gives everything ``compare`` shows.
    """
    g, a, b, k = _paired_arrays(gold, pred_a, pred_b, labels)
    rng = np.random.default_rng(seed)
    m = len(g)
    delta = float(_weighted_f1_from_cm(_cm(g, a, k)) - _weighted_f1_from_cm(_cm(g, b, k)))
    extreme = 0
    for start in range(0, n, _CHUNK):
        r = min(_CHUNK, n - start)
        swap = rng.random((r, m)) < 0.5
        perm_a = np.where(swap, b[None, :], a[None, :])
        perm_b = np.where(swap, a[None, :], b[None, :])
        gold_rows = np.broadcast_to(g, (r, m))
        d = _stacked_wf1(gold_rows, perm_a, k) - _stacked_wf1(gold_rows, perm_b, k)
        extreme += int(np.sum(np.abs(d) >= abs(delta) - 1e-12))
    boot = paired_bootstrap(gold, pred_a, pred_b, n=n, seed=seed, labels=labels)
    return Comparison(delta, boot.ci_low, boot.ci_high, (extreme + 1) / (n + 1), m, n, "approximate-randomization")


# The metrics tables may show, and their display names.
METRICS = {"weighted_f1": "WF1", "accuracy": "accuracy (WA)", "ua": "UA", "macro_f1": "macro F1",
           "micro_f1_excl_majority": "micro F1 excl. majority class"}  # the last only where a corpus sets one


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation over seeds (0 for a single seed)."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
