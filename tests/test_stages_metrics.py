"""Metrics agree with scikit-learn; paired significance tests behave as their definitions say."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.metrics import confusion_matrix as sk_confusion

from erc_bench.core.metrics import (
    accuracy,
    approximate_randomization,
    classification_metrics,
    confusion_matrix,
    paired_bootstrap,
    per_class_f1,
    weighted_f1,
)

LABELS = ["angry", "happy", "sad", "neutral"]


def _random_run(seed: int, n: int = 300, skill: float = 0.6) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    gold = rng.choice(LABELS, size=n, p=[0.1, 0.3, 0.2, 0.4])
    pred = np.where(rng.random(n) < skill, gold, rng.choice(LABELS, size=n))
    return list(gold), list(pred)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed: int) -> None:
    gold, pred = _random_run(seed)
    assert weighted_f1(gold, pred, LABELS) == pytest.approx(
        f1_score(gold, pred, labels=LABELS, average="weighted", zero_division=0))
    assert accuracy(gold, pred) == pytest.approx(accuracy_score(gold, pred))
    sk = f1_score(gold, pred, labels=LABELS, average=None, zero_division=0)
    assert list(per_class_f1(gold, pred, LABELS).values()) == pytest.approx(list(sk))
    np.testing.assert_array_equal(confusion_matrix(gold, pred, LABELS), sk_confusion(gold, pred, labels=LABELS))
    metrics = classification_metrics(gold, pred, LABELS)
    assert metrics["ua"] == pytest.approx(balanced_accuracy_score(gold, pred))
    assert metrics["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    assert metrics["ua"] != pytest.approx(metrics["accuracy"])  # imbalanced gold: UA and WA differ


def test_edge_cases() -> None:
    # a class never predicted and one absent from gold: F1 0, weighted by support only
    gold, pred = ["happy", "happy", "sad"], ["happy", "sad", "sad"]
    metrics = classification_metrics(gold, pred, LABELS)
    assert metrics["f1/angry"] == 0.0 and metrics["n"] == 3
    assert metrics["weighted_f1"] == pytest.approx(
        f1_score(gold, pred, labels=LABELS, average="weighted", zero_division=0))
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    assert metrics["ua"] == pytest.approx((1 / 2 + 1) / 2)  # recalls of happy and sad; angry/neutral absent
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)  # over the two classes seen
    assert classification_metrics([], [], LABELS)["weighted_f1"] == 0.0
    with pytest.raises(ValueError, match="not one of"):
        weighted_f1(["happy"], ["bored"], LABELS)
    with pytest.raises(ValueError, match="items"):
        confusion_matrix(["happy"], [], LABELS)


def test_identical_systems_are_not_different() -> None:
    gold, pred = _random_run(0)
    for test in (paired_bootstrap, approximate_randomization):
        result = test(gold, pred, pred, n=500, seed=0)
        assert result.delta == 0.0 and result.p_value == 1.0
        assert result.ci_low == result.ci_high == 0.0


def test_a_much_better_system_is_significant() -> None:
    gold, strong = _random_run(1, skill=0.9)
    rng = np.random.default_rng(3)
    weak = [g if rng.random() < 0.4 else rng.choice(LABELS) for g in gold]
    boot = paired_bootstrap(gold, strong, weak, n=1000, seed=0)
    assert boot.delta == pytest.approx(weighted_f1(gold, strong) - weighted_f1(gold, weak))
    assert 0 < boot.ci_low < boot.delta < boot.ci_high
    assert boot.p_value < 0.01
    rand = approximate_randomization(gold, strong, weak, n=1000, seed=0)
    assert rand.p_value < 0.01 and rand.method == "approximate-randomization"
    assert (rand.ci_low, rand.ci_high) == (boot.ci_low, boot.ci_high)
    flipped = paired_bootstrap(gold, weak, strong, n=1000, seed=0)
    assert flipped.delta == pytest.approx(-boot.delta)
    assert flipped.ci_high < 0


def test_similar_systems_are_not_significant() -> None:
    gold, a = _random_run(4, skill=0.6)
    rng = np.random.default_rng(5)
    b = [g if rng.random() < 0.6 else rng.choice(LABELS) for g in gold]
    assert approximate_randomization(gold, a, b, n=2000, seed=0).p_value > 0.05
    result = paired_bootstrap(gold, a, b, n=2000, seed=0)
    assert result.p_value > 0.05 and result.ci_low < 0 < result.ci_high
    assert result.to_dict()["n_items"] == len(gold)
    assert paired_bootstrap(gold, a, b, n=2000, seed=0) == result  # seeded: reproducible


def test_paired_tests_reject_unpaired_input() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        paired_bootstrap(["happy"], ["happy"], [], n=10)
