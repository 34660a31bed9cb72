"""Torch modules owned by the stage trainers themselves (not plugins).

``SpeechHead`` is the small Stage I network over frozen speech embeddings (the paper says
only "small light weight networks with frozen CARE embeddings as input"; this head is the
project's reading of that);
``JointModel`` wires two context models and a fusion head for end-to-end training
(the paper's Fig. 4 baseline).
"""

from __future__ import annotations

import torch
from torch import nn

from erc_bench.core.interfaces import ConversationBatch


class SpeechHead(nn.Module):
    """Frozen embedding -> standardise -> (softmax weighting of layers) -> ``hidden_dim`` feature -> classes.

    Inputs are standardised per dimension with statistics of the training
    split (kept as buffers, so the state dict carries them): hand-crafted
    acoustic statistics mix Hz, dB and ratios, and SSL layers differ in scale.
    With per-layer embeddings ``(layers, D)`` the layer weights start equal, so
    the network first sees the layer average and learns which layers carry emotion.
    """

    def __init__(self, layers: int | None, input_dim: int, num_labels: int, hidden_dim: int, dropout: float,
                 mean: torch.Tensor | None = None, std: torch.Tensor | None = None) -> None:
        super().__init__()
        shape = (layers, input_dim) if layers else (input_dim,)
        self.register_buffer("input_mean", mean.reshape(shape).float() if mean is not None else torch.zeros(shape))
        self.register_buffer("input_std", std.reshape(shape).float() if std is not None else torch.ones(shape))
        self.feature_dim = hidden_dim
        self.layer_logits = nn.Parameter(torch.zeros(layers)) if layers else None
        self.embed = nn.Sequential(nn.Dropout(dropout), nn.Linear(input_dim, hidden_dim), nn.ReLU())
        self.output = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_dim, num_labels))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (x - self.input_mean) / self.input_std  # type: ignore[operator]  # buffers are tensors
        if self.layer_logits is not None:
            weights = torch.softmax(self.layer_logits, dim=0)
            x = (x * weights[None, :, None]).sum(dim=1)
        features = self.embed(x)
        return self.output(features), features

    def layer_weights(self) -> list[float] | None:
        """The learned layer weighting (for reports), or None for single-vector embeddings."""
        if self.layer_logits is None:
            return None
        return torch.softmax(self.layer_logits.detach().cpu(), dim=0).tolist()


DefaultSpeechHeadModule = SpeechHead
"""The public name of the engine's default Stage I head (``SpeechHead`` is also the name of the ``speech_head`` kind's
Protocol): the ``mlp`` plugin builds this very module, so choosing it changes nothing but its params."""

class JointModel(nn.Module):
    """Text and speech context models feeding the fusion head; one loss on the fused logits."""

    def __init__(self, text_context: nn.Module, speech_context: nn.Module, fusion: nn.Module) -> None:
        super().__init__()
        self.text_context = text_context
        self.speech_context = speech_context
        self.fusion = fusion

    def forward(self, batch: ConversationBatch) -> torch.Tensor:
        _, text_features = self.text_context(batch.with_features({"text": batch.features["text"]}))
        _, speech_features = self.speech_context(batch.with_features({"speech": batch.features["speech"]}))
        return self.fusion(batch.with_features({"text": text_features, "speech": speech_features}))
