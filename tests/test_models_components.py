"""Context models and fusion heads: registration, params, shapes, and padding invariance."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from pydantic import ValidationError

from erc_bench.core.plugin_host import PluginHost, build

CONTEXT_CASES = [
    ("bigru-attention", {"hidden": 8, "heads": 2, "layers": 1}),
    ("bigru-attention", {"hidden": 8, "heads": 4, "layers": 2}),
    ("none", {"hidden": 12}),
    ("mean-pool", {"hidden": 12}),
]
FUSION_CASES = [
    ("co-attention", {"d_model": 16, "heads": 2, "combine": "feature"}),
    ("co-attention", {"d_model": 16, "heads": 4, "combine": "time"}),
    ("concat", {"hidden": 10}),
    ("late", {}),
]
LENGTHS = [5, 3, 1]


@pytest.fixture(scope="module")
def models_host() -> PluginHost:
    return PluginHost()


def _batch(dim: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(LENGTHS), max(LENGTHS), dim, generator=gen)
    mask = torch.zeros(len(LENGTHS), max(LENGTHS), dtype=torch.bool)
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = True
    return x, mask


def _garbage_padding(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    noisy = x.clone()
    noisy[~mask] = 1e3 * torch.randn(int((~mask).sum()), x.shape[-1], generator=torch.Generator().manual_seed(7))
    return noisy


def test_registered_by_the_models_plugin(models_host: PluginHost) -> None:
    assert {"bigru-attention", "none", "mean-pool"} <= set(models_host.registries["context_model"].names())
    assert {"co-attention", "concat", "late"} <= set(models_host.registries["fusion_head"].names())
    assert "hf-text" in models_host.registries["text_encoder"].names()
    assert models_host.get("fusion_head", "co-attention").source.package == "erc-bench"


def test_hooks_import_without_torch() -> None:
    code = ("import sys, erc_bench_models.hooks, erc_bench_models.text, erc_bench_models.context, "
            "erc_bench_models.fusion; heavy = {'torch', 'transformers', 'numpy'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("kind", "name", "params", "message"), [
    ("context_model", "bigru-attention", {"hidden": 3, "heads": 4}, "must divide"),
    ("context_model", "bigru-attention", {"hiden": 3}, "Extra inputs"),
    ("fusion_head", "co-attention", {"d_model": 10, "heads": 4}, "must divide"),
    ("fusion_head", "co-attention", {"combine": "sum"}, "combine"),
    ("fusion_head", "late", {"dropout": 1.5}, "dropout"),
])
def test_invalid_params_are_rejected(models_host: PluginHost, kind: str, name: str, params: dict,
                                     message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        models_host.get(kind, name).cls.Params(**params)


@pytest.mark.parametrize(("name", "params"), CONTEXT_CASES)
def test_context_model_shapes_and_padding(models_host: PluginHost, name: str, params: dict) -> None:
    torch.manual_seed(0)
    module = build("context_model", name, params, plugin_host=models_host).build(6, 3).eval()
    x, mask = _batch(6)
    with torch.no_grad():
        logits, features = module(x, mask)
        assert logits.shape == (3, 5, 3)
        assert features.shape == (3, 5, module.feature_dim)
        assert torch.isfinite(logits).all()
        padded_logits, padded_features = module(_garbage_padding(x, mask), mask)
        assert torch.allclose(padded_logits[mask], logits[mask], atol=1e-5)
        assert torch.allclose(padded_features[mask], features[mask], atol=1e-5)
        for b, n in enumerate(LENGTHS):  # each conversation alone, unpadded
            alone_logits, alone_features = module(x[b:b + 1, :n], mask[b:b + 1, :n])
            assert torch.allclose(alone_logits[0], logits[b, :n], atol=1e-5)
            assert torch.allclose(alone_features[0], features[b, :n], atol=1e-5)


def test_context_models_use_context_except_none(models_host: PluginHost) -> None:
    """Changing one utterance changes the others' outputs only for models that look at the conversation."""
    x, mask = _batch(6)
    changed = x.clone()
    changed[0, 4] += 5.0
    for name, params in CONTEXT_CASES:
        torch.manual_seed(0)
        module = build("context_model", name, params, plugin_host=models_host).build(6, 3).eval()
        with torch.no_grad():
            moved = (module(changed, mask)[0][0, :4] - module(x, mask)[0][0, :4]).abs().max().item()
        assert (moved < 1e-6) if name == "none" else (moved > 1e-4), (name, moved)


@pytest.mark.parametrize(("name", "params"), FUSION_CASES)
def test_fusion_head_shapes_and_padding(models_host: PluginHost, name: str, params: dict) -> None:
    torch.manual_seed(0)
    module = build("fusion_head", name, params, plugin_host=models_host).build(6, 4, 3).eval()
    text, mask = _batch(6, seed=1)
    speech, _ = _batch(4, seed=2)
    with torch.no_grad():
        logits = module(text, speech, mask)
        assert logits.shape == (3, 5, 3)
        padded = module(_garbage_padding(text, mask), _garbage_padding(speech, mask), mask)
        assert torch.allclose(padded[mask], logits[mask], atol=1e-5)
        for b, n in enumerate(LENGTHS):
            alone = module(text[b:b + 1, :n], speech[b:b + 1, :n], mask[b:b + 1, :n])
            assert torch.allclose(alone[0], logits[b, :n], atol=1e-5)


@pytest.mark.parametrize(("name", "params"), FUSION_CASES)
def test_fusion_heads_use_both_modalities(models_host: PluginHost, name: str, params: dict) -> None:
    torch.manual_seed(0)
    module = build("fusion_head", name, params, plugin_host=models_host).build(6, 4, 3).eval()
    text, mask = _batch(6, seed=1)
    speech, _ = _batch(4, seed=2)
    with torch.no_grad():
        base = module(text, speech, mask)
        assert not torch.allclose(module(text + 1.0, speech, mask)[mask], base[mask])
        assert not torch.allclose(module(text, speech + 1.0, mask)[mask], base[mask])


def test_co_attention_gradients_reach_both_projections(models_host: PluginHost) -> None:
    module = build("fusion_head", "co-attention", {"d_model": 16, "heads": 2}, plugin_host=models_host).build(6, 4, 3)
    text, mask = _batch(6, seed=1)
    speech, _ = _batch(4, seed=2)
    module(text, speech, mask)[mask].sum().backward()
    for name in ("text_proj.0.weight", "speech_proj.0.weight"):
        grad = dict(module.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.parametrize(("kind", "name"), [("text_encoder", "hf-text"), ("context_model", "bigru-attention"),
                                            ("context_model", "none"), ("context_model", "mean-pool"),
                                            ("fusion_head", "co-attention"), ("fusion_head", "concat"),
                                            ("fusion_head", "late")])
def test_components_satisfy_their_protocol(models_host: PluginHost, kind: str, name: str) -> None:
    from erc_bench.core.interfaces import PROTOCOLS

    assert isinstance(build(kind, name, {}, plugin_host=models_host), PROTOCOLS[kind])
