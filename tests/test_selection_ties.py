"""Model selection's tie rule: validation scores equal to ``SELECTION_PRECISION`` are a tie, and a tie keeps
the earlier epoch (issue 18: the quickstart's published table moved with the CPU through such near-ties)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")


def test_selection_score_rounds_to_the_precision() -> None:
    from erc_bench.train.loop import SELECTION_PRECISION, selection_score

    assert SELECTION_PRECISION == 1e-6
    a = 0.1 + 0.2 + 0.3  # 0.6000000000000001
    b = 0.3 + 0.2 + 0.1  # 0.6: the same sum in another order, as another CPU's kernels may add it
    assert a != b and selection_score(a) == selection_score(b)
    assert selection_score(0.612345) > selection_score(0.612344)
    assert selection_score(-1.0) < selection_score(0.0)


@pytest.mark.parametrize(("scores", "chosen"), [
    ([0.5, 0.5 + 1e-9, 0.4], 1),   # the later epoch is higher only in the last bits: a tie, the earlier stays
    ([0.5, 0.5 + 2e-6, 0.4], 2),   # higher at the precision: it wins
    ([0.5 + 1e-9, 0.5, 0.6], 3),
])
def test_fit_keeps_the_earlier_epoch_on_a_tie(monkeypatch, scores, chosen) -> None:
    from erc_bench.core.spec import StageTraining
    from erc_bench.train import loop
    from erc_bench.train.context import StageContext

    scripted = iter(scores)
    real = loop.classification_metrics

    def metrics(gold, pred, labels, **kwargs):
        out = real(gold, pred, labels, **kwargs)
        if kwargs:  # the final evaluation (it passes majority=): real numbers
            return out
        return out | {"weighted_f1": next(scripted)}

    monkeypatch.setattr(loop, "classification_metrics", metrics)

    def collate(items):
        x = torch.tensor([[float(i % 2), 1.0] for i, _ in items])
        return loop.Batch(ids=[str(i) for i, _ in items], gold=torch.tensor([y for _, y in items]), inputs=(x,))

    items = {"train": [(i, i % 2) for i in range(8)], "validation": [(i, i % 2) for i in range(4)]}
    ctx = StageContext.create(SimpleNamespace(labels=["a", "b"]), StageTraining(epochs=3, batch_size=4, lr=1e-2),
                              0, "cpu", None)
    result, _ = loop.fit("toy", torch.nn.Linear(2, 2), items, collate, ctx, evaluate_splits=("validation",))
    assert result.best_epoch == chosen
