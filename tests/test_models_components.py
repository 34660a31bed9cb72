"""Context models and fusion heads: registration, params, shapes, and padding invariance."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from erc_bench import ConversationBatch
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


def _conversations(mask: torch.Tensor, **features: torch.Tensor) -> ConversationBatch:
    """A ConversationBatch of these features: two speakers taking turns, positions in order."""
    positions = torch.arange(mask.shape[1]).expand(mask.shape).masked_fill(~mask, -1)
    return ConversationBatch(features, mask, (positions % 2).masked_fill(~mask, -1), positions)


def _context(module, x: torch.Tensor, mask: torch.Tensor):  # noqa: ANN001, ANN202
    return module(_conversations(mask, text=x))


def _fusion(module, text: torch.Tensor, speech: torch.Tensor, mask: torch.Tensor):  # noqa: ANN001, ANN202
    return module(_conversations(mask, text=text, speech=speech))


def _garbage_padding(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    noisy = x.clone()
    noisy[~mask] = 1e3 * torch.randn(int((~mask).sum()), x.shape[-1], generator=torch.Generator().manual_seed(7))
    return noisy


def test_registered_by_the_models_plugin(models_host: PluginHost) -> None:
    assert {"bigru-attention", "none", "mean-pool"} <= set(models_host.registries["context_model"].names())
    assert {"co-attention", "concat", "late"} <= set(models_host.registries["fusion_head"].names())
    assert {"hf-text", "hf-llm"} <= set(models_host.registries["text_encoder"].names())
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
        logits, features = _context(module, x, mask)
        assert logits.shape == (3, 5, 3)
        assert features.shape == (3, 5, module.feature_dim)
        assert torch.isfinite(logits).all()
        padded_logits, padded_features = _context(module, _garbage_padding(x, mask), mask)
        assert torch.allclose(padded_logits[mask], logits[mask], atol=1e-5)
        assert torch.allclose(padded_features[mask], features[mask], atol=1e-5)
        for b, n in enumerate(LENGTHS):  # each conversation alone, unpadded
            alone_logits, alone_features = _context(module, x[b:b + 1, :n], mask[b:b + 1, :n])
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
            moved = (_context(module, changed, mask)[0][0, :4] - _context(module, x, mask)[0][0, :4]).abs().max()
        moved = moved.item()
        assert (moved < 1e-6) if name == "none" else (moved > 1e-4), (name, moved)


@pytest.mark.parametrize(("name", "params"), FUSION_CASES)
def test_fusion_head_shapes_and_padding(models_host: PluginHost, name: str, params: dict) -> None:
    torch.manual_seed(0)
    module = build("fusion_head", name, params, plugin_host=models_host).build({"text": 6, "speech": 4}, 3).eval()
    text, mask = _batch(6, seed=1)
    speech, _ = _batch(4, seed=2)
    with torch.no_grad():
        logits = _fusion(module, text, speech, mask)
        assert logits.shape == (3, 5, 3)
        padded = _fusion(module, _garbage_padding(text, mask), _garbage_padding(speech, mask), mask)
        assert torch.allclose(padded[mask], logits[mask], atol=1e-5)
        for b, n in enumerate(LENGTHS):
            alone = _fusion(module, text[b:b + 1, :n], speech[b:b + 1, :n], mask[b:b + 1, :n])
            assert torch.allclose(alone[0], logits[b, :n], atol=1e-5)


@pytest.mark.parametrize(("name", "params"), FUSION_CASES)
def test_fusion_heads_use_both_modalities(models_host: PluginHost, name: str, params: dict) -> None:
    torch.manual_seed(0)
    module = build("fusion_head", name, params, plugin_host=models_host).build({"text": 6, "speech": 4}, 3).eval()
    text, mask = _batch(6, seed=1)
    speech, _ = _batch(4, seed=2)
    with torch.no_grad():
        base = _fusion(module, text, speech, mask)
        assert not torch.allclose(_fusion(module, text + 1.0, speech, mask)[mask], base[mask])
        assert not torch.allclose(_fusion(module, text, speech + 1.0, mask)[mask], base[mask])


def test_co_attention_gradients_reach_both_projections(models_host: PluginHost) -> None:
    module = build("fusion_head", "co-attention", {"d_model": 16, "heads": 2},
                   plugin_host=models_host).build({"text": 6, "speech": 4}, 3)
    text, mask = _batch(6, seed=1)
    speech, _ = _batch(4, seed=2)
    _fusion(module, text, speech, mask)[mask].sum().backward()
    for name in ("text_proj.0.weight", "speech_proj.0.weight"):
        grad = dict(module.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.parametrize(("kind", "name"), [("text_encoder", "hf-text"), ("text_encoder", "hf-llm"),
                                            ("context_model", "bigru-attention"),
                                            ("context_model", "none"), ("context_model", "mean-pool"),
                                            ("fusion_head", "co-attention"), ("fusion_head", "concat"),
                                            ("fusion_head", "late")])
def test_components_satisfy_their_protocol(models_host: PluginHost, kind: str, name: str) -> None:
    from erc_bench.core.interfaces import PROTOCOLS

    assert isinstance(build(kind, name, {}, plugin_host=models_host), PROTOCOLS[kind])


def test_co_attention_fuses_exactly_text_and_speech_while_concat_and_late_take_any(models_host: PluginHost) -> None:
    from erc_bench import UserError

    with pytest.raises(UserError, match="co-attention' attends text to speech"):
        build("fusion_head", "co-attention", {"d_model": 16, "heads": 2}, plugin_host=models_host).build(
            {"text": 6, "speech": 4, "video": 5}, 3)
    _, mask = _batch(6)
    three = {m: _batch(d, seed=s)[0] for s, (m, d) in enumerate({"text": 6, "speech": 4, "video": 5}.items())}
    for name in ("concat", "late"):
        module = build("fusion_head", name, {}, plugin_host=models_host).build({"text": 6, "speech": 4, "video": 5},
                                                                             3).eval()
        with torch.no_grad():
            logits = module(_conversations(mask, **three))
            assert logits.shape == (3, 5, 3)
            moved = dict(three, video=three["video"] + 1.0)
            assert not torch.allclose(module(_conversations(mask, **moved))[mask], logits[mask])


def test_conversation_roles_number_speakers_by_first_turn() -> None:
    """What a speaker-aware model reads: speakers numbered in order of first turn per conversation (renaming
    them consistently changes nothing), -1 where the corpus names none, and the corpus's positions."""
    from erc_bench import Conversation, Utterance
    from erc_bench.train.conversations import conversation_collate, roles

    def conversation(cid: str, speakers: list[str | None]) -> Conversation:
        return Conversation(cid, [Utterance(f"{cid}_{i}", cid, i, "", "a", speaker=s) for i, s in enumerate(speakers)])

    convs = [conversation("c1", ["Ross", "Rachel", "Ross", None]), conversation("c2", ["Joey", "Joey"])]
    assert roles(convs) == {"c1_0": (0, 0), "c1_1": (1, 1), "c1_2": (0, 2), "c1_3": (-1, 3), "c2_0": (0, 0),
                            "c2_1": (0, 1)}
    renamed = [conversation("c1", ["Monica", "Phoebe", "Monica", None]), conversation("c2", ["Chandler"] * 2)]
    assert roles(renamed) == roles(convs)
    table = {u.id: np.array([float(i)], dtype=np.float32) for c in convs for i, u in enumerate(c.utterances)}
    collate = conversation_collate({"text": table}, roles(convs), "cpu")
    batch = collate([[(u.id, 0) for u in c.utterances] for c in convs]).inputs[0]
    assert batch.speakers.tolist() == [[0, 1, 0, -1], [0, 0, -1, -1]]
    assert batch.positions.tolist() == [[0, 1, 2, 3], [0, 1, -1, -1]]
    assert batch.mask.tolist() == [[True] * 4, [True, True, False, False]]
    assert batch.x.shape == (2, 4, 1)
