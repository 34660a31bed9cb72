"""Torch module of ``mixture-of-experts``: the fusion of MiSTER-E (Dutta, Balaji & Ganapathy, 2026).

From the authors' code (``iiscleap/MiSTER-E``, ``hierarchical_moe.py``, read, not copied):

* ``AttentionMoE``: three experts, each giving class logits per utterance (one per modality, one fusing both),
  combined by a gate: an MLP (``3C -> 10 -> 3``, ReLU) over the experts' concatenated logits, softmax with
  temperature 2, and the gate-weighted sum of the experts' logits;
* unimodal expert (``GRUModel``): kernel-1, 3 and 5 temporal convolutions over the conversation, each with a
  ReLU, summed; a bidirectional GRU; plus a Linear skip from the input; a Linear classifier;
* cross-attention expert (``FusionModel`` with ``CrossAttentionModel_s`` blocks): both modalities projected
  to one width; each block first lets each modality attend to the other, then to itself (query, key and value
  Linear maps into a narrower attention width, multi-head attention with dropout 0.1, a Linear back, dropout,
  residual, layer norm); the originals' own projections added back; concatenation, layer norm, Linear, ReLU,
  Linear.

This project's choices:

* sizes for Stage II features of a few hundred dimensions: ``hidden = 64`` (authors: 1024 in the fusion
  expert, GRU width 512, 3 GRU layers, 4 blocks), one GRU layer, two blocks; the attention width 60 and 3
  heads are the defaults of the authors' ``CrossAttentionModel_s``, the residual dropout 0.5 theirs;
* the authors train with a focal loss on the mixture and on each expert, a supervised contrastive loss and a
  symmetric-KL agreement term; erc-bench's Stage III trains every fusion head with cross-entropy on its
  logits, so only the mixture's loss is used here;
* padding: the convolutions see zeros past a conversation's end (as their own zero padding), the GRU runs
  on packed sequences and every attention masks padded keys, so padding never changes a real output;
* exactly two modalities (text and speech in MERITS-L), in the batch's order.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from erc_bench import ConversationBatch


def _lengths(mask: torch.Tensor) -> torch.Tensor:
    return mask.sum(dim=1).clamp(min=1).cpu()


class UnimodalExpert(nn.Module):
    """Multi-scale temporal convolutions, a packed bidirectional GRU with a Linear skip, a classifier."""

    def __init__(self, in_dim: int, hidden: int, gru_layers: int, num_labels: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(in_dim, 2 * hidden, k, padding=k // 2) for k in (1, 3, 5)])
        self.gru = nn.GRU(2 * hidden, hidden, num_layers=gru_layers, bidirectional=True, batch_first=True)
        self.skip = nn.Linear(in_dim, 2 * hidden)
        self.classifier = nn.Linear(2 * hidden, num_labels)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        channels = x.transpose(1, 2)
        conv = sum(F.relu(c(channels)) for c in self.convs).transpose(1, 2)
        packed = pack_padded_sequence(conv, _lengths(mask), batch_first=True, enforce_sorted=False)
        recurrent, _ = self.gru(packed)
        recurrent, _ = pad_packed_sequence(recurrent, batch_first=True, total_length=x.shape[1])
        return self.classifier(recurrent + self.skip(x))


class _Attend(nn.Module):
    """Query/key/value maps to the attention width, attention, a map back, dropout, residual, layer norm."""

    def __init__(self, dim: int, attention_dim: int, heads: int, dropout: float, attn_dropout: float) -> None:
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(dim, attention_dim) for _ in range(3))
        self.attention = nn.MultiheadAttention(attention_dim, heads, dropout=attn_dropout, batch_first=True)
        self.back = nn.Linear(attention_dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, query: torch.Tensor, source: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        attended, _ = self.attention(self.q(query), self.k(source), self.v(source), key_padding_mask=pad,
                                     need_weights=False)
        return self.norm(query + self.dropout(self.back(attended)))


class _CrossBlock(nn.Module):
    """Each modality attends to the other, then to itself (the authors' ``CrossAttentionModel_s``)."""

    def __init__(self, dim: int, attention_dim: int, heads: int, dropout: float, attn_dropout: float) -> None:
        super().__init__()
        self.a_from_b, self.b_from_a, self.a_self, self.b_self = (
            _Attend(dim, attention_dim, heads, dropout, attn_dropout) for _ in range(4))

    def forward(self, a: torch.Tensor, b: torch.Tensor, pad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.a_from_b(a, b, pad), self.b_from_a(b, a, pad)
        return self.a_self(a, a, pad), self.b_self(b, b, pad)


class CrossAttentionExpert(nn.Module):
    def __init__(self, dim_a: int, dim_b: int, hidden: int, blocks: int, attention_dim: int, heads: int,
                 dropout: float, attn_dropout: float, num_labels: int) -> None:
        super().__init__()
        self.in_a, self.in_b = nn.Linear(dim_a, hidden), nn.Linear(dim_b, hidden)
        self.own_a, self.own_b = nn.Linear(dim_a, hidden), nn.Linear(dim_b, hidden)
        self.blocks = nn.ModuleList([_CrossBlock(hidden, attention_dim, heads, dropout, attn_dropout)
                                     for _ in range(blocks)])
        self.norm = nn.LayerNorm(2 * hidden, eps=1e-6)
        self.classifier = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_labels))

    def forward(self, x_a: torch.Tensor, x_b: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        a, b = self.in_a(x_a), self.in_b(x_b)
        for block in self.blocks:
            a, b = block(a, b, pad)
        joint = torch.cat([a + self.own_a(x_a), b + self.own_b(x_b)], dim=-1)
        return self.classifier(self.norm(joint))


class MixtureOfExperts(nn.Module):
    def __init__(self, dims: dict[str, int], num_labels: int, hidden: int, gru_layers: int, blocks: int,
                 attention_dim: int, heads: int, dropout: float, attn_dropout: float, gate_hidden: int,
                 temperature: float) -> None:
        super().__init__()
        self.modalities = list(dims)
        a, b = self.modalities
        self.unimodal = nn.ModuleDict({m: UnimodalExpert(d, hidden, gru_layers, num_labels) for m, d in dims.items()})
        self.fusion = CrossAttentionExpert(dims[a], dims[b], hidden, blocks, attention_dim, heads, dropout,
                                           attn_dropout, num_labels)
        experts = len(dims) + 1
        self.gate = nn.Sequential(nn.Linear(experts * num_labels, gate_hidden), nn.ReLU(),
                                  nn.Linear(gate_hidden, experts))
        self.temperature = temperature

    def experts(self, batch: ConversationBatch) -> torch.Tensor:
        """The experts' logits ``[B, T, E, C]``: one per modality (batch order), then the cross-attention one."""
        mask = batch.mask.bool()
        x = {m: batch.features[m] * mask.unsqueeze(-1) for m in self.modalities}
        logits = [self.unimodal[m](x[m], mask) for m in self.modalities]
        logits.append(self.fusion(*(x[m] for m in self.modalities), ~mask))
        return torch.stack(logits, dim=-2)

    def gate_weights(self, stacked: torch.Tensor) -> torch.Tensor:
        """Per-utterance softmax over the experts ``[B, T, E]`` from their concatenated logits."""
        return torch.softmax(self.gate(stacked.flatten(-2)) / self.temperature, dim=-1)

    def forward(self, batch: ConversationBatch) -> torch.Tensor:
        stacked = self.experts(batch)
        mixed = (self.gate_weights(stacked).unsqueeze(-1) * stacked).sum(dim=-2)
        return mixed * batch.mask.unsqueeze(-1)
