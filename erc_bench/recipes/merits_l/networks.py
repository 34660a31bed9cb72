"""Every MERITS-L stage network, built from its build card: training and ``erc-bench predict`` both call
``build_network``, so a network is never re-derived from the shapes of its saved weights.

A card (saved with the stage's result, ``StageResult.card``) names the network,
the components it is made of (kind, plugin, validated params and code, as in
cache keys) and the sizes the trainer took from the data (input widths, layers,
the label set). Training passes the components it already built; ``predict``
passes none and each is rebuilt from the card's plugin and params.
"""

from __future__ import annotations

from typing import Any

from erc_bench.core.capabilities import LabelledClassifier
from erc_bench.core.errors import UserError
from erc_bench.core.plugin_host import build, identity_of

NETWORKS = ("text-classifier", "speech-stage1", "context", "fusion", "joint")


def stage_card(network: str, labels: list[str], components: dict[str, tuple[str, Any]], **sizes: Any
               ) -> dict[str, Any]:
    """``components``: role -> (kind, built component), e.g. ``{"context_model": ("context_model", gru)}``."""
    assert network in NETWORKS, network
    return {"network": network, "labels": list(labels), "sizes": sizes,
            "components": {role: {"kind": kind, **identity_of(component)}
                           for role, (kind, component) in components.items() if component is not None}}


def build_network(card: dict[str, Any], components: dict[str, Any] | None = None, mean: Any = None,
                  std: Any = None) -> Any:
    """The untrained network a card describes; ``mean`` / ``std``: a Stage I speech network's input statistics
    (zeros of the right shape when absent: ``load_state_dict`` then restores the saved ones)."""
    built = dict(components) if components is not None else _rebuild(card)
    sizes, labels = card["sizes"], list(card["labels"])
    network = card["network"]
    if network == "text-classifier":
        encoder = built["text_encoder"]
        if isinstance(encoder, LabelledClassifier):  # lets a checkpoint keep its output layer
            return encoder.build_labelled_classifier(labels)
        return encoder.build_classifier(len(labels))
    if network == "speech-stage1":
        return _speech_stage1(built.get("speech_head"), sizes, len(labels), mean, std)
    if network == "context":
        return built["context_model"].build(sizes["width"], len(labels))
    if network == "fusion":
        return built["fusion_head"].build({"text": sizes["text"], "speech": sizes["speech"]}, len(labels))
    if network == "joint":
        from torch import nn

        from erc_bench.recipes.merits_l.modules import JointModel

        context = built["context_model"]
        text_context = context.build(sizes["text"], len(labels))
        speech_context = context.build(sizes["speech"], len(labels))
        fusion = built["fusion_head"].build({"text": text_context.feature_dim, "speech": speech_context.feature_dim},
                                            len(labels))
        parts: list[nn.Module] = [text_context, speech_context, fusion]
        return JointModel(*parts)
    raise UserError(f"unknown network '{network}' in a stage's build card (written by a newer erc-bench?)")


def _speech_stage1(head: Any, sizes: dict[str, Any], num_labels: int, mean: Any, std: Any) -> Any:
    """The spec's ``speech_head`` component, else the engine's ``SpeechHead``."""
    import torch

    from erc_bench.recipes.merits_l.modules import SpeechHead

    layers, width = sizes["layers"], sizes["width"]
    shape = (layers, width) if layers else (width,)
    mean = mean if mean is not None else torch.zeros(shape, dtype=torch.float64)
    std = std if std is not None else torch.ones(shape, dtype=torch.float64)
    if head is None:
        return SpeechHead(layers, width, num_labels, sizes["hidden"], sizes["dropout"], mean, std)
    return head.build(layers, width, num_labels, mean, std)


def _rebuild(card: dict[str, Any]) -> dict[str, Any]:
    built = {}
    for role, ref in card["components"].items():
        if ref.get("params") is None:
            raise UserError(f"the {card['network']} network's {role} ('{ref['plugin']}') was not built from a spec "
                            "slot, so predict cannot rebuild it; re-run the benchmark")
        built[role] = build(ref["kind"], ref["plugin"], ref["params"], slot=f"build card {role}")
    return built
