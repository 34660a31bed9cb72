"""Conversation-level statistics: intervals and paired tests that resample whole conversations.

The utterances of one conversation are not independent (one speaker, one topic,
one context model's hidden state), so resampling utterances understates the
uncertainty. Here the unit is the conversation (a cluster bootstrap):

* ``cluster_weights`` draws, per replicate, ``G`` conversations with replacement
  and gives each utterance the number of times its conversation was drawn; a
  replicate's confusion matrix counts each utterance that many times. Weighted
  F1 from a weighted confusion matrix is exactly the weighted F1 of the
  concatenated resampled conversations.
* ``paired_cluster_bootstrap``: the difference of two systems' mean weighted F1
  over the seeds both ran (the same replicate weights for every seed and both
  systems: paired), a 95 % percentile interval, and the two-sided bootstrap
  p-value of "no difference" (the distribution centred on zero; +1 smoothing).
* ``cluster_randomization``: approximate randomization that swaps a whole
  conversation's predictions between the systems (for every seed at once).
* ``mean_interval``: one system's mean weighted F1 over seeds with the cluster
  bootstrap's 95 % interval (the leaderboard's interval per row).
* ``holm``: Holm's step-down adjustment of p-values for multiple comparisons
  (the leaderboard compares every row of a dataset and stage with the best one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from erc_bench.core.metrics import Comparison, _encode, _label_set, _weighted_f1_from_cm

_CHUNK = 256  # replicates evaluated at once: bounds memory to chunk x utterances


def group_codes(groups: Sequence[Any]) -> np.ndarray:
    """Conversation id per utterance -> integer code per utterance (0 .. G-1, in order of appearance)."""
    index: dict[Any, int] = {}
    return np.array([index.setdefault(g, len(index)) for g in groups], dtype=np.int64)


def cluster_weights(codes: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """``draws [r, G]``: the conversations drawn per replicate -> utterance weights ``[r, m]`` (times drawn)."""
    r, n_groups = draws.shape
    counts = np.bincount((draws + np.arange(r)[:, None] * n_groups).ravel(), minlength=r * n_groups)
    return counts.reshape(r, n_groups)[:, codes].astype(np.float64)


def _weighted_wf1(gold: np.ndarray, pred: np.ndarray, k: int, weights: np.ndarray) -> np.ndarray:
    """Weighted F1 of each replicate: utterance i counted ``weights[row, i]`` times."""
    r = weights.shape[0]
    codes = (gold * k + pred)[None, :] + np.arange(r)[:, None] * k * k
    cms = np.bincount(codes.ravel(), weights=weights.ravel(), minlength=r * k * k).reshape(r, k, k)
    return _weighted_f1_from_cm(cms)


def _encode_all(gold: Sequence[Any], runs: Sequence[Sequence[Any]], labels: Sequence[str] | None
                ) -> tuple[np.ndarray, list[np.ndarray], int]:
    if not gold:
        raise ValueError("a test needs at least one utterance")
    for run in runs:
        if len(run) != len(gold):
            raise ValueError(f"predictions of {len(run)} utterances for {len(gold)} gold labels")
    labels = _label_set(labels, gold, *runs)
    encoded = _encode(labels, gold, *runs)
    return encoded[0], encoded[1:], len(labels)


def _replicates(codes: np.ndarray, n: int, rng: np.random.Generator) -> Any:
    n_groups = int(codes.max()) + 1
    for start in range(0, n, _CHUNK):
        draws = rng.integers(0, n_groups, size=(min(_CHUNK, n - start), n_groups))
        yield start, cluster_weights(codes, draws)


def paired_cluster_bootstrap(gold: Sequence[Any], seeds_a: Sequence[Sequence[Any]],
                             seeds_b: Sequence[Sequence[Any]], groups: Sequence[Any], n: int = 10_000,
                             seed: int = 0, labels: Sequence[str] | None = None) -> Comparison:
    """Mean over seeds of WF1(A_s) - WF1(B_s); conversations resampled with replacement ``n`` times."""
    if len(seeds_a) != len(seeds_b) or not seeds_a:
        raise ValueError("a paired test needs the same (non-zero) number of seeds on both sides")
    g, encoded, k = _encode_all(gold, [*seeds_a, *seeds_b], labels)
    a, b = encoded[:len(seeds_a)], encoded[len(seeds_a):]
    codes = group_codes(groups)
    ones = np.ones((1, len(g)))
    delta = float(np.mean([_weighted_wf1(g, x, k, ones)[0] - _weighted_wf1(g, y, k, ones)[0]
                           for x, y in zip(a, b, strict=True)]))
    deltas = np.empty(n)
    for start, w in _replicates(codes, n, np.random.default_rng(seed)):
        deltas[start:start + len(w)] = np.mean([_weighted_wf1(g, x, k, w) - _weighted_wf1(g, y, k, w)
                                                for x, y in zip(a, b, strict=True)], axis=0)
    low, high = np.percentile(deltas, [2.5, 97.5])
    extreme = int(np.sum(np.abs(deltas - delta) >= abs(delta) - 1e-12))
    return Comparison(delta, float(low), float(high), (extreme + 1) / (n + 1), len(g), n,
                      f"cluster-bootstrap ({int(codes.max()) + 1} conversations, {len(seeds_a)} seed(s))")


def cluster_randomization(gold: Sequence[Any], seeds_a: Sequence[Sequence[Any]], seeds_b: Sequence[Sequence[Any]],
                          groups: Sequence[Any], n: int = 10_000, seed: int = 0,
                          labels: Sequence[str] | None = None) -> Comparison:
    """Approximate randomization swapping whole conversations' predictions; the interval is the bootstrap's."""
    boot = paired_cluster_bootstrap(gold, seeds_a, seeds_b, groups, n, seed, labels)
    g, encoded, k = _encode_all(gold, [*seeds_a, *seeds_b], labels)
    a, b = encoded[:len(seeds_a)], encoded[len(seeds_a):]
    codes = group_codes(groups)
    rng, extreme, m = np.random.default_rng(seed), 0, len(g)
    gold_rows = np.broadcast_to(g, (1, m))
    for start in range(0, n, _CHUNK):
        r = min(_CHUNK, n - start)
        swap = (rng.random((r, int(codes.max()) + 1)) < 0.5)[:, codes]
        d = np.zeros(r)
        for x, y in zip(a, b, strict=True):
            perm_a, perm_b = np.where(swap, y[None, :], x[None, :]), np.where(swap, x[None, :], y[None, :])
            d += _rows_wf1(np.broadcast_to(gold_rows, (r, m)), perm_a, k) - _rows_wf1(
                np.broadcast_to(gold_rows, (r, m)), perm_b, k)
        extreme += int(np.sum(np.abs(d / len(a)) >= abs(boot.delta) - 1e-12))
    return Comparison(boot.delta, boot.ci_low, boot.ci_high, (extreme + 1) / (n + 1), m, n,
                      f"cluster-randomization ({int(codes.max()) + 1} conversations, {len(seeds_a)} seed(s))")


def _rows_wf1(gold_rows: np.ndarray, pred_rows: np.ndarray, k: int) -> np.ndarray:
    r = gold_rows.shape[0]
    codes = gold_rows * k + pred_rows + (np.arange(r)[:, None] * k * k)
    return _weighted_f1_from_cm(np.bincount(codes.ravel(), minlength=r * k * k).reshape(r, k, k))


def mean_interval(gold: Sequence[Any], seeds: Sequence[Sequence[Any]], groups: Sequence[Any], n: int = 2_000,
                  seed: int = 0, labels: Sequence[str] | None = None) -> tuple[float, float, float]:
    """(mean WF1 over seeds, 95 % low, high) with conversations resampled (the same draw for every seed)."""
    g, runs, k = _encode_all(gold, seeds, labels)
    codes = group_codes(groups)
    ones = np.ones((1, len(g)))
    mean = float(np.mean([_weighted_wf1(g, p, k, ones)[0] for p in runs]))
    values = np.empty(n)
    for start, w in _replicates(codes, n, np.random.default_rng(seed)):
        values[start:start + len(w)] = np.mean([_weighted_wf1(g, p, k, w) for p in runs], axis=0)
    low, high = np.percentile(values, [2.5, 97.5])
    return mean, float(low), float(high)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone), in the input's order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
