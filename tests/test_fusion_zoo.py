"""The zoo's fusion heads (tfn, lmf, mult, mixture-of-experts) and the opensmile speech encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from erc_bench import ConversationBatch, check_component

HEADS = ("tfn", "lmf", "mult", "mixture-of-experts")
NO_DROPOUT = {
    "tfn": {"dropout": 0.0},
    "lmf": {"dropout": 0.0},
    "mult": {"attn_dropout": 0.0, "relu_dropout": 0.0, "res_dropout": 0.0, "embed_dropout": 0.0},
    "mixture-of-experts": {"dropout": 0.0, "attn_dropout": 0.0},
}

SMALL = {"mult": {"d_model": 16, "heads": 2, "layers": 1, "self_layers": 1},
         "mixture-of-experts": {"hidden": 16, "blocks": 1, "attention_dim": 12}}


def _batch(dims: dict[str, int], lengths: tuple[int, ...] = (5, 3, 4), seed: int = 0) -> ConversationBatch:
    generator = torch.Generator().manual_seed(seed)
    steps = max(lengths)
    mask = torch.zeros(len(lengths), steps, dtype=torch.bool)
    for b, length in enumerate(lengths):
        mask[b, :length] = True
    positions = torch.arange(steps).expand(len(lengths), steps).masked_fill(~mask, -1)
    features = {m: torch.randn(len(lengths), steps, d, generator=generator) * mask.unsqueeze(-1)
                for m, d in dims.items()}
    return ConversationBatch(features, mask, (positions % 2).masked_fill(~mask, -1), positions)


def _module(name: str, dims: dict[str, int], num_labels: int = 4, **params: object) -> torch.nn.Module:
    torch.manual_seed(0)
    component = check_component("fusion_head", name, {**NO_DROPOUT[name], **params}, num_labels=num_labels)
    return component.build(dims, num_labels)


@pytest.mark.parametrize("name", HEADS)
def test_contract_check_passes_with_defaults(name: str) -> None:
    check_component("fusion_head", name)


@pytest.mark.parametrize("name", HEADS)
def test_padding_never_changes_real_outputs_in_training_mode(name: str) -> None:
    dims = {"text": 12, "speech": 7}
    module = _module(name, dims).train()  # dropout is off; batch norm uses batch statistics
    batch = _batch(dims)
    noisy = {m: x + (~batch.mask).unsqueeze(-1) * 50.0 * torch.randn(x.shape) for m, x in batch.features.items()}
    with torch.no_grad():
        clean = module(batch)
        changed = module(batch.with_features(noisy))
    assert torch.allclose(clean[batch.mask], changed[batch.mask], atol=1e-5)


@pytest.mark.parametrize("name", ["tfn", "lmf"])
@pytest.mark.parametrize("dims", [{"text": 12, "speech": 7}, {"text": 12, "speech": 7, "video": 5}])
def test_tensor_fusions_take_unequal_widths_and_any_number_of_modalities(name: str, dims: dict[str, int]) -> None:
    module = _module(name, dims, num_labels=3, hidden=6).eval()
    batch = _batch(dims)
    with torch.no_grad():
        logits = module(batch)
    assert logits.shape == (3, 5, 3) and bool(torch.isfinite(logits).all())
    if name == "tfn":  # (6 + 1) ** modalities inputs to the post-fusion network
        assert module.post_fusion[1].in_features == 7 ** len(dims)
    else:
        assert [tuple(f.shape) for f in module.factors] == [(4, 7, 3)] * len(dims)


@pytest.mark.parametrize("name", ["mult"])
def test_mult_takes_three_modalities(name: str) -> None:
    dims = {"text": 12, "speech": 7, "video": 5}
    with torch.no_grad():
        assert _module(name, dims).eval()(_batch(dims)).shape == (3, 5, 4)


@pytest.mark.parametrize("name", HEADS)
@pytest.mark.parametrize("modality", ["text", "speech"])
def test_each_head_uses_both_modalities(name: str, modality: str) -> None:
    dims = {"text": 12, "speech": 7}
    module = _module(name, dims).eval()
    batch = _batch(dims)
    other = dict(batch.features)
    other[modality] = torch.randn(other[modality].shape) * batch.mask.unsqueeze(-1)
    with torch.no_grad():
        gap = (module(batch) - module(batch.with_features(other)))[batch.mask].abs().max()
    assert float(gap) > 1e-3


@pytest.mark.parametrize("name", HEADS)
def test_each_head_overfits_a_tiny_batch(name: str) -> None:
    dims = {"text": 12, "speech": 7}
    module = _module(name, dims, **SMALL.get(name, {})).train()
    batch = _batch(dims, lengths=(6, 4, 5, 3), seed=1)
    gold = torch.randint(0, 4, batch.mask.shape, generator=torch.Generator().manual_seed(2))[batch.mask]
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-2)
    for _ in range(50):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(batch)[batch.mask], gold)
        loss.backward()
        optimiser.step()
    module.eval()
    with torch.no_grad():
        accuracy = (module(batch)[batch.mask].argmax(-1) == gold).float().mean()
    assert float(accuracy) == 1.0


def test_heads_refuse_modality_sets_they_cannot_fuse() -> None:
    from erc_bench import UserError

    with pytest.raises(UserError, match="mult"):
        check_component("fusion_head", "mult").build({"text": 4}, 3)
    with pytest.raises(UserError, match="two"):
        check_component("fusion_head", "mixture-of-experts").build({"text": 4, "speech": 4, "video": 4}, 3)


def test_moe_gate_is_a_softmax_over_three_experts() -> None:
    dims = {"text": 12, "speech": 7}
    module = _module("mixture-of-experts", dims).eval()
    with torch.no_grad():
        stacked = module.experts(_batch(dims))
        weights = module.gate_weights(stacked)
    assert stacked.shape == (3, 5, 3, 4) and weights.shape == (3, 5, 3)
    assert torch.allclose(weights.sum(-1), torch.ones(3, 5))


def _tone(path: object, seconds: float = 1.0, freq: float = 220.0) -> None:
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(int(16_000 * seconds)) / 16_000
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32),
             16_000)


@pytest.mark.parametrize(("feature_set", "dim"), [("eGeMAPSv02", 88), ("ComParE_2016", 6373)])
def test_opensmile_functionals_on_a_wav_are_cached_by_the_engine(tmp_path, feature_set: str, dim: int) -> None:
    pytest.importorskip("opensmile")
    from erc_bench import AudioSource, Cache, Utterance, embed_utterances

    for i, freq in enumerate((220.0, 330.0)):
        _tone(tmp_path / f"u{i}.wav", freq=freq)
    _tone(tmp_path / "short.wav", seconds=0.05)  # under openSMILE's shortest segment: padded with silence
    utterances = [Utterance(f"u{i}", "c", i, "", None, audio=AudioSource(str(tmp_path / f"u{i}.wav")))
                  for i in range(2)]
    utterances.append(Utterance("short", "c", 2, "", None, audio=AudioSource(str(tmp_path / "short.wav"))))
    encoder = check_component("speech_encoder", "opensmile", {"feature_set": feature_set})
    assert encoder.dim == dim
    cache = Cache(tmp_path / "cache")
    first, problems = embed_utterances(encoder, utterances, cache)
    assert not problems and set(first) == {"u0", "u1", "short"}
    for vector in first.values():
        assert vector.shape == (dim,) and vector.dtype == np.float32 and bool(np.isfinite(vector).all())
    assert not np.allclose(first["u0"], first["u1"])

    def refuse(_: object) -> list[np.ndarray]:
        raise AssertionError("a cached clip was encoded again")

    again = check_component("speech_encoder", "opensmile", {"feature_set": feature_set})
    again.encode = refuse
    second, _ = embed_utterances(again, utterances, cache)
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_opensmile_names_its_licence_and_extra(monkeypatch) -> None:
    import sys

    from erc_bench_speech.opensmile_encoder import OpenSmileEncoder

    from erc_bench import MissingExtra

    first_paragraph = " ".join(OpenSmileEncoder.__doc__.split("\n\n")[0].split())  # what `erc-bench plugins` prints
    assert "audEERING research licence, not for commercial use" in first_paragraph
    monkeypatch.setitem(sys.modules, "opensmile", None)  # as if not installed
    with pytest.raises(MissingExtra, match=r"erc-bench\[care\]"):
        check_component("speech_encoder", "opensmile").encode([np.zeros(16_000, dtype=np.float32)])


def test_a_zoo_head_runs_end_to_end(tmp_path) -> None:
    from erc_bench import run_tiny_spec

    outcome = run_tiny_spec(tmp_path, fusion_head={"plugin": "lmf", "params": {"hidden": 8, "rank": 2}})
    fusion = [s for s in outcome.scores if s.stage == "stage3-fusion"]
    assert fusion and all(np.isfinite(s.metrics["test"]["weighted_f1"]) for s in fusion)
