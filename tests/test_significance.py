"""Conversation-level resampling checked against a case small enough to enumerate by hand.

Two conversations: c1 = (gold a, b), c2 = (gold a). A predicts (a, b | b), B predicts (a, a | a). A cluster
bootstrap draws two conversations with replacement: {c1, c1}, {c1, c2}, {c2, c1}, {c2, c2}, each with
probability 1/4. Weighted F1 by hand for each draw:

* {c1, c1}: A is perfect (1); B predicts a everywhere: F1(a) = 2/3, F1(b) = 0, weighted (2 x 2/3) / 4 = 1/3.
  Difference 2/3.
* {c1, c2} (the data itself): A: F1(a) = 2/3, F1(b) = 2/3 -> 2/3; B: F1(a) = 0.8, F1(b) = 0 -> 1.6 / 3.
  Difference 2/15.
* {c2, c2}: A predicts b for both a's -> 0; B is perfect -> 1. Difference -1.

So the difference is 2/3, 2/15, -1 with probabilities 1/4, 1/2, 1/4: its 2.5 % and 97.5 % percentiles are -1
and 2/3, and the p-value of "no difference" (|d* - 2/15| >= 2/15) is 1/2. Resampling utterances instead would
mix c1's two utterances apart and give other numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from erc_bench.report.significance import (
    cluster_randomization,
    cluster_weights,
    group_codes,
    holm,
    mean_interval,
    paired_cluster_bootstrap,
)

GOLD, A, B, GROUPS = ["a", "b", "a"], ["a", "b", "b"], ["a", "a", "a"], ["c1", "c1", "c2"]


def test_weights_count_how_often_each_conversation_was_drawn() -> None:
    codes = group_codes(GROUPS)
    assert codes.tolist() == [0, 0, 1]
    draws = np.array([[0, 0], [0, 1], [1, 1]])
    assert cluster_weights(codes, draws).tolist() == [[2, 2, 0], [1, 1, 1], [0, 0, 2]]


def test_cluster_bootstrap_matches_the_enumerated_distribution() -> None:
    result = paired_cluster_bootstrap(GOLD, [A], [B], GROUPS, n=4000, seed=0)
    assert result.delta == pytest.approx(2 / 15)
    assert result.ci_low == pytest.approx(-1.0) and result.ci_high == pytest.approx(2 / 3)
    assert result.p_value == pytest.approx(0.5, abs=0.03)
    assert result.method.startswith("cluster-bootstrap (2 conversations, 1 seed(s))")


def test_seeds_share_each_draw_and_the_statistic_is_their_mean() -> None:
    """Seed 2 of A equals B: the difference is half of seed 1's in every draw, so every figure halves."""
    one = paired_cluster_bootstrap(GOLD, [A], [B], GROUPS, n=2000, seed=3)
    two = paired_cluster_bootstrap(GOLD, [A, B], [B, B], GROUPS, n=2000, seed=3)
    assert two.delta == pytest.approx(one.delta / 2)
    assert (two.ci_low, two.ci_high) == pytest.approx((one.ci_low / 2, one.ci_high / 2))


def test_mean_interval_of_one_system() -> None:
    mean, low, high = mean_interval(GOLD, [A], GROUPS, n=4000, seed=0)  # A: 1, 2/3, 0 w.p. 1/4, 1/2, 1/4
    assert (mean, low, high) == pytest.approx((2 / 3, 0.0, 1.0))


def test_randomization_swaps_whole_conversations() -> None:
    """Swapping whole conversations has four equally likely outcomes (neither, c1, c2, both); the p-value
    is the share of them at least as extreme as the observed difference, enumerated here with the same metric."""
    from itertools import product

    from erc_bench.core.metrics import weighted_f1

    observed = weighted_f1(GOLD, A) - weighted_f1(GOLD, B)
    extreme = 0
    for swap_c1, swap_c2 in product([False, True], repeat=2):
        swap = [swap_c1, swap_c1, swap_c2]
        pa = [b if s else a for a, b, s in zip(A, B, swap, strict=True)]
        pb = [a if s else b for a, b, s in zip(A, B, swap, strict=True)]
        extreme += abs(weighted_f1(GOLD, pa) - weighted_f1(GOLD, pb)) >= abs(observed) - 1e-12
    result = cluster_randomization(GOLD, [A], [B], GROUPS, n=4000, seed=0)
    assert result.p_value == pytest.approx(extreme / 4, abs=0.03)


def test_holm_adjustment() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
