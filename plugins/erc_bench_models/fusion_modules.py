"""Torch modules of the fusion heads (imported lazily by ``fusion.build``).

All take a ``ConversationBatch`` whose ``features`` hold ``text [B, T, Dt]`` and
``speech [B, T, Ds]`` (the same utterances, aligned; ``concat`` and ``late``
take any modalities, in the batch's order) and a boolean ``mask [B, T]`` (True =
real utterance), and return ``logits [B, T, C]``. Padded keys are masked in
every attention, so padding never changes the outputs at real positions.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from erc_bench import ConversationBatch


class _AttentionBlock(nn.Module):
    """Multi-head attention with residual connection and layer norm (post-norm)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, query: torch.Tensor, key_value: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        attended, _ = self.attention(query, key_value, key_value, key_padding_mask=~key_mask, need_weights=False)
        return self.norm(query + self.dropout(attended))


def _classifier(in_dim: int, hidden: int, num_labels: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, num_labels))


class CoAttention(nn.Module):
    """MERITS-L Stage III: the project's reading of the paper's Fig. 2 (cross-attention both ways, then self-attention).

    The paper gives the block diagram and says queries, keys and values are the Stage II features;
    the projection to ``d_model``, residual + layer norm placement and how the two attended sequences
    are combined (``combine``) are this project's choices.

    Both modalities are projected to ``d_model``. Text queries attend to speech
    keys/values and speech queries to text (each with residual + layer norm).
    The two attended sequences are then combined and passed through
    self-attention over the conversation (residual + layer norm):

    * ``combine="feature"``: per utterance, concatenate the two (2 * d_model) and
      attend over the T utterances;
    * ``combine="time"``: stack them into one sequence of 2T tokens, attend over
      all of them, then concatenate each utterance's text and speech tokens.
    """

    def __init__(self, text_dim: int, speech_dim: int, num_labels: int, d_model: int, heads: int, dropout: float,
                 combine: str) -> None:
        super().__init__()
        self.combine = combine
        self.feature_dim = 2 * d_model
        self.text_proj = nn.Sequential(nn.Linear(text_dim, d_model), nn.Dropout(dropout))
        self.speech_proj = nn.Sequential(nn.Linear(speech_dim, d_model), nn.Dropout(dropout))
        self.text_attends_speech = _AttentionBlock(d_model, heads, dropout)
        self.speech_attends_text = _AttentionBlock(d_model, heads, dropout)
        self.self_attention = _AttentionBlock(d_model if combine == "time" else 2 * d_model, heads, dropout)
        self.classifier = _classifier(2 * d_model, d_model, num_labels, dropout)

    def fused_features(self, text: torch.Tensor, speech: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = mask.bool()
        t = self.text_proj(text)
        s = self.speech_proj(speech)
        t_cross = self.text_attends_speech(t, s, mask)
        s_cross = self.speech_attends_text(s, t, mask)
        if self.combine == "time":
            steps = t.shape[1]
            sequence = torch.cat([t_cross, s_cross], dim=1)
            both = torch.cat([mask, mask], dim=1)
            attended = self.self_attention(sequence, sequence, both)
            fused = torch.cat([attended[:, :steps], attended[:, steps:]], dim=-1)
        else:
            joint = torch.cat([t_cross, s_cross], dim=-1)
            fused = self.self_attention(joint, joint, mask)
        return fused * mask.unsqueeze(-1)

    def forward(self, batch: ConversationBatch) -> torch.Tensor:
        return self.classifier(self.fused_features(batch.features["text"], batch.features["speech"], batch.mask))


class ConcatFusion(nn.Module):
    """Early fusion: concatenate the modalities' features of each utterance (in the batch's order), then an MLP."""

    def __init__(self, dims: Mapping[str, int], num_labels: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.modalities = list(dims)
        self.classifier = _classifier(sum(dims.values()), hidden, num_labels, dropout)

    def forward(self, batch: ConversationBatch) -> torch.Tensor:
        return self.classifier(torch.cat([batch.features[m] for m in self.modalities], dim=-1))


class LateFusion(nn.Module):
    """Late fusion: one classifier per modality; the logits are averaged."""

    def __init__(self, dims: Mapping[str, int], num_labels: int, dropout: float) -> None:
        super().__init__()
        self.classifiers = nn.ModuleDict({m: nn.Sequential(nn.Dropout(dropout), nn.Linear(d, num_labels))
                                          for m, d in dims.items()})

    def forward(self, batch: ConversationBatch) -> torch.Tensor:
        logits = [classifier(batch.features[m]) for m, classifier in self.classifiers.items()]
        return sum(logits[1:], logits[0]) / len(logits)
