"""Torch modules of the context models (imported lazily by ``context.build``).

All take a ``ConversationBatch`` (``batch.x [B, T, D]``: one modality's frozen
Stage I features; ``batch.mask [B, T]`` bool, True = a real utterance, padding
only at the end of each conversation) and return ``(logits [B, T, C], features
[B, T, H])``. None of these reads ``batch.speakers``: the MERITS-L paper's
context model and bc-LSTM are speaker-agnostic (the speaker-aware families are
in ``dialogue_rnn``, ``dialogue_gcn`` and ``transformer_context``). Padding never changes the outputs at
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


class BcLSTM(nn.Module):
    """bc-LSTM (Poria et al., ACL 2017): a bidirectional LSTM over the conversation's utterance features, a dense
    ReLU layer (the utterance's contextual feature), dropout and a linear classifier.

    The authors' ``LSTMModel`` (``declare-lab/conv-emotion``, ``bc-LSTM-pytorch/model.py``): 2 stacked
    bidirectional layers with dropout between them, ``Linear(2 * hidden, dense)`` + ReLU, dropout, classifier;
    their optional matching attention over the LSTM outputs is left out (it is not in the paper's bc-LSTM).
    This project's choice: packed sequences, so padding never reaches a real position.
    """

    def __init__(self, input_dim: int, num_labels: int, hidden: int, dense: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.feature_dim = dense
        self.lstm = nn.LSTM(input_dim, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.dense = nn.Linear(2 * hidden, dense)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(dense, num_labels))

    def forward(self, batch: ConversationBatch) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = batch.x, batch.mask.bool()
        packed = pack_padded_sequence(x, lengths_of(mask), batch_first=True, enforce_sorted=False)
        recurrent, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(recurrent, batch_first=True, total_length=x.shape[1])
        features = torch.relu(self.dense(h)) * mask.unsqueeze(-1)
        return self.classifier(features), features


class MatchingAttention(nn.Module):
    """Every utterance attends over the real utterances of its conversation: ``alpha_ts = softmax_s((W m_t + b)
    . m_s)`` over the positions ``s`` where ``mask`` is True, output ``sum_s alpha_ts m_s``.

    The authors' ``MatchingAttention(att_type='general2')`` of DialogueRNN's ``att2`` and DialogueGCN's nodal
    attention (``declare-lab/conv-emotion``), for all queries at once (their code loops over ``t``; their
    softmax of scores multiplied by the mask, re-masked and renormalised, equals this masked softmax).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.transform = nn.Linear(dim, dim)

    def forward(self, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = torch.einsum("btd,bsd->bts", self.transform(memory), memory)
        return torch.einsum("bts,bsd->btd", masked_softmax(scores, mask.unsqueeze(1)), memory)


def masked_softmax(scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim restricted to ``allowed`` (broadcastable bool); a row with nothing allowed
    (a padded query) gets zeros instead of NaN."""
    allowed = allowed.expand_as(scores)
    scores = scores.masked_fill(~allowed, float("-inf")).masked_fill(~allowed.any(-1, keepdim=True), 0.0)
    return torch.softmax(scores, dim=-1) * allowed
