"""Torch modules of the context models (imported lazily by ``context.build``).

All take a ``ConversationBatch`` (``batch.x [B, T, D]``: one modality's frozen
Stage I features; ``batch.mask [B, T]`` bool, True = a real utterance, padding
only at the end of each conversation) and return ``(logits [B, T, C], features
[B, T, H])``. None of these reads ``batch.speakers``: the MERITS-L paper's
context model is speaker-agnostic. Padding never changes the outputs at
real positions: the GRU runs on packed sequences and attention ignores padded
keys, so a conversation is encoded the same alone or batched with longer ones.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from erc_bench import ConversationBatch


def lengths_of(mask: torch.Tensor) -> torch.Tensor:
    """Conversation lengths (CPU int64, at least 1: an empty row would break packing)."""
    return mask.sum(dim=1).clamp(min=1).to("cpu", torch.int64)


class BiGRUAttention(nn.Module):
    """MERITS-L Stage II: Bi-GRU over the conversation, then multi-head self-attention.

    The GRU carries order and local context; self-attention (residual + layer
    norm) lets every utterance look at the whole conversation.
    """

    def __init__(self, input_dim: int, num_labels: int, hidden: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.feature_dim = 2 * hidden
        self.input_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(input_dim, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                          dropout=dropout if layers > 1 else 0.0)
        self.attention = nn.MultiheadAttention(self.feature_dim, heads, dropout=dropout, batch_first=True)
        self.attention_dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(self.feature_dim)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.feature_dim, num_labels))

    def forward(self, batch: ConversationBatch) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = batch.x, batch.mask.bool()
        packed = pack_padded_sequence(self.input_dropout(x), lengths_of(mask), batch_first=True, enforce_sorted=False)
        recurrent, _ = self.gru(packed)
        h, _ = pad_packed_sequence(recurrent, batch_first=True, total_length=x.shape[1])
        attended, _ = self.attention(h, h, h, key_padding_mask=~mask, need_weights=False)
        features = self.norm(h + self.attention_dropout(attended))
        features = features * mask.unsqueeze(-1)
        return self.classifier(features), features


class UtteranceMLP(nn.Module):
    """No context: each utterance classified on its own feature (the ``none`` baseline)."""

    def __init__(self, input_dim: int, num_labels: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.feature_dim = hidden
        self.encoder = nn.Sequential(nn.Dropout(dropout), nn.Linear(input_dim, hidden), nn.ReLU())
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_labels))

    def forward(self, batch: ConversationBatch) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = batch.x, batch.mask
        features = self.encoder(x) * mask.unsqueeze(-1).to(x.dtype)
        return self.classifier(features), features


class MeanPoolContext(nn.Module):
    """Utterance feature concatenated with the masked mean of its conversation, then an MLP."""

    def __init__(self, input_dim: int, num_labels: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.feature_dim = hidden
        self.encoder = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * input_dim, hidden), nn.ReLU())
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_labels))

    def forward(self, batch: ConversationBatch) -> tuple[torch.Tensor, torch.Tensor]:
        x, weights = batch.x, batch.mask.unsqueeze(-1).to(batch.x.dtype)
        mean = (x * weights).sum(dim=1, keepdim=True) / weights.sum(dim=1, keepdim=True).clamp(min=1.0)
        features = self.encoder(torch.cat([x, mean.expand_as(x)], dim=-1)) * weights
        return self.classifier(features), features
