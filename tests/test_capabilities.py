"""Optional capabilities are small Protocols the built-in plugins implement, so the engine asks
``isinstance`` and never reads a plugin's param names: the pre-trained checkpoint, the label store's
place, a Ray actor's thread budget, label-aware classifiers."""

from __future__ import annotations

import ast
from pathlib import Path

from erc_bench.core.capabilities import (
    Describing,
    KeepsLabelStore,
    LabelledClassifier,
    LoadsCheckpoint,
    ThreadBudgeted,
)
from erc_bench.core.plugin_host import build

ENGINE = Path(__file__).resolve().parents[1] / "erc_bench"
NOT_COMPONENTS = {"add_task", "detach"}  # a rich progress object; a tensor in a state dict


def test_hf_text_points_its_own_params_at_a_checkpoint() -> None:
    encoder = build("text_encoder", "hf-text", {"model": "sentence-transformers/all-MiniLM-L6-v2", "hidden_dim": 8,
                                                "random_config": {"model_type": "bert", "hidden_size": 16,
                                                                  "num_hidden_layers": 1, "num_attention_heads": 2,
                                                                  "intermediate_size": 32}})
    assert isinstance(encoder, LoadsCheckpoint) and isinstance(encoder, LabelledClassifier)
    params = encoder.checkpoint_params("/cache/pretrain/abc")
    assert params == {"model": "/cache/pretrain/abc", "hidden_dim": 8}  # random_config would shadow the weights


def test_label_store_goes_to_the_offered_place_unless_the_spec_names_one(tmp_path: Path) -> None:
    offered = str(tmp_path / "run-cache" / "labels.sqlite")
    labeller = build("labeller", "openai", {"model": "m", "base_url": "http://127.0.0.1:9/v1"})
    assert isinstance(labeller, KeepsLabelStore) and isinstance(labeller, Describing)
    labeller.place_label_store(offered)
    assert str(labeller.store.path) == offered
    own = str(tmp_path / "mine.sqlite")
    named = build("labeller", "openai", {"model": "m", "base_url": "http://127.0.0.1:9/v1",
                                                    "cache_path": own})
    named.place_label_store(offered)
    assert str(named.store.path) == own
    assert not isinstance(build("labeller", "lexicon", {}), KeepsLabelStore)


def test_an_actor_thread_budget_keeps_an_explicit_setting() -> None:
    asr = build("asr", "faster-whisper", {"model": "base"})
    assert isinstance(asr, ThreadBudgeted)
    assert asr.params_for_threads(3)["cpu_threads"] == 3
    assert build("asr", "faster-whisper", {"model": "base", "cpu_threads": 1}).params_for_threads(3)["cpu_threads"] == 1


def test_engine_never_probes_components_by_attribute_name() -> None:
    """No ``hasattr(x, "...")`` / ``inspect.signature`` on components in the recipe: capabilities instead."""
    offenders = []
    for path in (ENGINE / "recipe").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hasattr"
                    and ast.literal_eval(node.args[1]) not in NOT_COMPONENTS):
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr == "signature":
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
