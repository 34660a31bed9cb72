"""A frozen text encoder (``train_layers = 0``) is a feature extractor: each text is encoded once (cached) and
only the head trains (issue 18: each MELD epoch re-ran MiniLM over 9,989 utterances)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from erc_bench.core.cache import Cache  # noqa: E402
from erc_bench.core.plugin_host import build  # noqa: E402
from erc_bench.core.spec import StageTraining  # noqa: E402
from erc_bench.features.frozen_text import NAMESPACE  # noqa: E402
from erc_bench.recipes.merits_l.stages import fine_tune_text  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from ddp_worker import TINY_ENCODER  # noqa: E402
from test_recipe_end_to_end import write_tiny_corpus  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    data = build("dataset", "csv", {"manifest": str(write_tiny_corpus(tmp_path_factory.mktemp("tiny")))}).load()
    texts = {u.id: u.text for split in data.splits for u in data.utterances(split)}
    return data, texts


def _run(corpus, cache, monkeypatch, epochs: int = 3):
    """Stage I with a frozen encoder; returns the result, the classifier and how many texts were encoded."""
    from erc_bench_models.text_module import HFTextClassifier

    data, texts = corpus
    encoded: list[int] = []
    real = HFTextClassifier.encode

    def counting(self, batch):
        encoded.append(len(batch))
        return real(self, batch)

    monkeypatch.setattr(HFTextClassifier, "encode", counting)
    result, model = fine_tune_text(build("text_encoder", "hf-text", TINY_ENCODER), data, texts,
                                   StageTraining(epochs=epochs, batch_size=4, lr=1e-2, train_layers=0), seed=0,
                                   device="cpu", cache=cache)
    return result, model, sum(encoded)


def test_each_text_is_encoded_once_then_read_from_the_cache(corpus, tmp_path, monkeypatch) -> None:
    data, texts = corpus
    cache = Cache(tmp_path / "cache")
    result, model, n_encoded = _run(corpus, cache, monkeypatch)
    n_scored = sum(len(rows) for rows in result.predictions.values())
    assert n_encoded == n_scored == len(texts)  # once per text over three epochs and the final evaluation
    assert len(list((tmp_path / "cache" / NAMESPACE).glob("*/*.npy"))) == 1
    again, _, n_again = _run(corpus, cache, monkeypatch)
    assert n_again == 0  # the seeds and reruns of a stage share the encodings
    assert again.history == result.history and again.metrics == result.metrics
    assert result.best_epoch == 1 + max(range(3), key=lambda e: (result.history[e]["val_weighted_f1"], -e))


def test_the_result_is_the_whole_classifier_and_its_features_are_what_it_computes(corpus, tmp_path,
                                                                                    monkeypatch) -> None:
    """``predict`` rebuilds the full classifier from the saved weights: they must hold the encoder (untouched)
    and the selected head, and running that classifier must give the features Stage II was handed."""
    from erc_bench.recipes.merits_l.networks import build_network
    from erc_bench.train.context import seed_everything

    data, texts = corpus
    result, _, _ = _run(corpus, Cache(tmp_path / "cache"), monkeypatch)
    seed_everything(0)  # as the stage does before it builds: the same initial weights
    fresh = build_network(result.card)  # as predict builds it: from the stage's build card
    assert result.card["components"]["text_encoder"]["params"]["model"] == TINY_ENCODER["model"]
    initial = {k: v.clone() for k, v in fresh.state_dict().items()}
    assert set(result.state_dict) == set(initial)
    assert all(torch.equal(result.state_dict[k], v) for k, v in initial.items() if k.startswith("encoder."))
    assert not all(torch.equal(result.state_dict[k], v) for k, v in initial.items() if k.startswith("hidden."))
    fresh.load_state_dict(result.state_dict)
    fresh.eval()
    ids = sorted(result.features)[:7]
    with torch.no_grad():
        _, features = fresh([texts[uid] for uid in ids])
    expected = torch.from_numpy(__import__("numpy").stack([result.features[uid] for uid in ids]))
    assert torch.allclose(features, expected, atol=1e-5)


def test_the_old_path_stays_available(corpus, monkeypatch) -> None:
    """``frozen_as_features=False`` runs the encoder in every batch (what benchmarks/perf/frozen_text.py times)."""
    from erc_bench_models.text_module import HFTextClassifier

    data, texts = corpus
    calls: list[int] = []
    real = HFTextClassifier.encode
    monkeypatch.setattr(HFTextClassifier, "encode", lambda self, batch: calls.append(1) or real(self, batch))
    fine_tune_text(build("text_encoder", "hf-text", TINY_ENCODER), data, texts,
                   StageTraining(epochs=2, batch_size=4, lr=1e-2, train_layers=0), seed=0, device="cpu",
                   frozen_as_features=False)
    n_train = sum(1 for _ in data.utterances("train"))
    assert len(calls) > 2 * (n_train // 4)  # every training batch of both epochs ran the encoder
