"""A Transformer encoder over the conversation: the common modern context baseline.

No single paper's code is followed: this is the generic architecture (Vaswani et al., 2017) as ERC papers
use it over utterance features (e.g. DialogueTRM's and EmoBERTa's utterance-level encoders). This project's
choices: the utterance features are projected to ``d_model``; position is the utterance's position in its
conversation as the corpus numbers it (``batch.positions``), encoded sinusoidally (any length) or learned
(positions beyond ``max_positions - 1`` share the last row); with ``speaker_embeddings`` a learned embedding
of ``batch.speakers`` is added (row 0 for a speaker the corpus does not name, speakers numbered
``max_speakers - 1`` and above share the last row, so a corpus without speaker ids is one speaker);
``nn.TransformerEncoder`` with ``src_key_padding_mask`` (padded utterances are never attended to), pre-layer
normalisation, a final layer norm, dropout and a linear classifier.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from erc_bench import ConversationBatch


def sinusoidal(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """``[B, T, dim]`` sine/cosine encodings of the positions (Vaswani et al., 2017); padding (-1) -> 0."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device) / max(half, 1))
    angles = positions.clamp(min=0).unsqueeze(-1).float() * frequencies
    encoding = torch.cat([angles.sin(), angles.cos()], dim=-1)
    return nn.functional.pad(encoding, (0, dim - 2 * half))


class ConversationTransformer(nn.Module):
    """Projection + positional (+ speaker) embeddings, a Transformer encoder, classifier."""

    def __init__(self, input_dim: int, num_labels: int, d_model: int, heads: int, layers: int, feedforward: int,
                 positional: str, max_positions: int, speaker_embeddings: bool, max_speakers: int,
                 dropout: float) -> None:
        super().__init__()
        self.feature_dim = d_model
        self.max_positions, self.max_speakers = max_positions, max_speakers
        self.project = nn.Linear(input_dim, d_model)
        self.positions = nn.Embedding(max_positions, d_model) if positional == "learned" else None
        self.speakers = nn.Embedding(max_speakers + 1, d_model) if speaker_embeddings else None
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(d_model, heads, feedforward, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_model, num_labels))

    def forward(self, batch: ConversationBatch) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = batch.x, batch.mask.bool()
        h = self.project(x)
        if self.positions is None:
            h = h + sinusoidal(batch.positions, h.shape[-1]).to(h.dtype)
        else:
            h = h + self.positions(batch.positions.clamp(min=0, max=self.max_positions - 1))
        if self.speakers is not None:
            h = h + self.speakers(batch.speakers.clamp(min=-1, max=self.max_speakers - 1) + 1)
        features = self.encoder(self.dropout(h), src_key_padding_mask=~mask) * mask.unsqueeze(-1)
        return self.classifier(features), features
