"""The care encoder loads every checkpoint form its users will have; mismatches are one line."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from erc_bench_speech.care import CareEncoder, CareParams

from erc_bench.core.errors import UserError

RATE = 16_000
TINY_CONV = {"conv_dim": (32, 32), "conv_stride": (5, 4), "conv_kernel": (10, 8), "num_feat_extract_layers": 2,
             "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}
TINY = {"hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2, "intermediate_size": 64}
CARE_TINY = {"wavlm_config": {**TINY, **TINY_CONV}, "roberta_config": TINY, "shared_layers": 2}

AUTHORS_MODULE = textwrap.dedent('''
    """Stand-in for the authors' pretraining/model_pase.py: classes with their names and attribute layout."""
    from torch import nn


    class SpeechTextModel(nn.Module):
        def __init__(self, care_network, text_parts):
            super().__init__()
            for name, child in care_network.named_children():
                setattr(self, name, child)
            self.roberta_embeddings = text_parts
            self.mlm_probability = 0.15


    class EmotionClassifier(nn.Module):
        def __init__(self, joint_model, output_dim):
            super().__init__()
            self.joint_model = joint_model
            self.fc_text = nn.Linear(64, 32)
            self.act = nn.ReLU()
            self.fc_text_final = nn.Linear(32, output_dim)
''')


@pytest.fixture(scope="module")
def reference() -> tuple[CareEncoder, np.ndarray, np.ndarray]:
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(3)
    encoder = CareEncoder(CareParams(allow_random_init=True, output="layers", **CARE_TINY))  # type: ignore[arg-type]
    clip = np.random.default_rng(0).normal(scale=0.1, size=int(0.8 * RATE)).astype(np.float32)
    return encoder, clip, encoder.encode([clip])[0]


def _load(path: Path, **extra: object) -> CareEncoder:
    params = {**CARE_TINY, **extra} if not path.is_dir() else extra
    return CareEncoder(CareParams(checkpoint=str(path), output="layers", **params))  # type: ignore[arg-type]


def test_toolkit_folder_carries_its_own_network_config(tmp_path: Path, reference: tuple) -> None:
    from erc_bench_speech.care_checkpoint import CONFIG_FILE, save_checkpoint_dir

    encoder, clip, expected = reference
    config = {"format": 1, "wavlm_config": CARE_TINY["wavlm_config"], "roberta_config": TINY, "shared_layers": 2,
              "acoustic_dim": 256}
    folder = save_checkpoint_dir(encoder.network, config, tmp_path / "care")
    loaded = _load(folder)
    np.testing.assert_allclose(loaded.encode([clip])[0], expected, atol=1e-6)
    (folder / CONFIG_FILE).unlink()
    with pytest.raises(UserError, match="not a care-pretrain checkpoint"):
        _ = _load(folder).network


def test_plain_and_authors_wrapper_state_dicts(tmp_path: Path, reference: tuple) -> None:
    import torch

    encoder, clip, expected = reference
    state = encoder.network.state_dict()
    torch.save(state, tmp_path / "plain.pt")
    np.testing.assert_allclose(_load(tmp_path / "plain.pt").encode([clip])[0], expected, atol=1e-6)

    wrapped = {f"joint_model.{k}": v for k, v in state.items()}
    for new, old in (("original0", "weight_g"), ("original1", "weight_v")):
        conv = "joint_model.pos_conv.conv"
        wrapped[f"{conv}.{old}"] = wrapped.pop(f"{conv}.parametrizations.weight.{new}")
    wrapped.update({"fc_text.weight": torch.zeros(32, 64), "fc_text.bias": torch.zeros(32),
                    "fc_text_final.weight": torch.zeros(3, 32), "fc_text_final.bias": torch.zeros(3),
                    "joint_model.roberta_embeddings.word_embeddings.weight": torch.zeros(4, 32)})
    torch.save({"model_state_dict": wrapped}, tmp_path / "authors.tar")
    authors = _load(tmp_path / "authors.tar")
    np.testing.assert_allclose(authors.encode([clip])[0], expected, atol=1e-6)
    notes = " ".join(authors.load_notes)
    assert "joint_model." in notes and "dropped 4 classifier keys" in notes and "weight_g" in notes


def test_mismatch_is_one_line_naming_missing_and_unexpected_keys(tmp_path: Path, reference: tuple) -> None:
    import torch

    state = dict(reference[0].network.state_dict())
    state.pop("linear.bias")
    state["joint_model.extra_head.weight"] = torch.zeros(2)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(UserError) as caught:
        _ = _load(tmp_path / "bad.pt").network
    message = str(caught.value)
    assert "\n" not in message and "missing 1 ['linear.bias']" in message
    assert "unexpected 1 ['extra_head.weight']" in message


def test_pickled_authors_module_needs_trust_and_maps_their_classes(tmp_path: Path, reference: tuple) -> None:
    import copy

    import torch
    from torch import nn

    encoder, clip, expected = reference
    # the authors' torch/transformers weight-normed the positional convolution the old way (weight_g /
    # weight_v parameters), which pickles; today's parametrisation does not, so stand in the old layout
    network = copy.deepcopy(encoder.network)
    conv = network.pos_conv.conv
    network.pos_conv.conv = nn.ParameterDict({"weight_g": conv.parametrizations.weight.original0,
                                              "weight_v": conv.parametrizations.weight.original1, "bias": conv.bias})
    (tmp_path / "model_pase.py").write_text(AUTHORS_MODULE, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        import model_pase  # the authors' module name

        whole = model_pase.EmotionClassifier(model_pase.SpeechTextModel(network, nn.Embedding(4, 32)), 3)
        torch.save(whole, tmp_path / "model-5000.pth")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("model_pase", None)
    with pytest.raises(UserError, match="refused.*trust_pickle = true") as caught:
        _ = _load(tmp_path / "model-5000.pth").network
    assert "arbitrary code" in str(caught.value) and "\n" not in str(caught.value)
    trusted = _load(tmp_path / "model-5000.pth", trust_pickle=True)  # model_pase is not importable here
    np.testing.assert_allclose(trusted.encode([clip])[0], expected, atol=1e-6)
    assert any("unpickled a whole" in n for n in trusted.load_notes)
    assert any("dropped 4 classifier keys" in n for n in trusted.load_notes)


class _RunsCode:
    def __reduce__(self) -> tuple:
        import os

        return (os.system, ("echo should-never-run",))


def test_trusted_pickle_still_refuses_foreign_globals(tmp_path: Path) -> None:
    import torch

    torch.save({"state_dict": {"x": torch.zeros(1)}, "payload": _RunsCode()}, tmp_path / "evil.pt")
    with pytest.raises(UserError, match="refusing global (posix|os).system"):
        _ = _load(tmp_path / "evil.pt", trust_pickle=True).network
