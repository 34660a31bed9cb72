"""DialogueGCN (Ghosal et al., EMNLP 2019) as a context model, in plain torch on dense per-batch graphs.

What is the authors' (``declare-lab/conv-emotion``, ``DialogueGCN/model.py``: ``DialogueGCNModel``,
``edge_perms``, ``batch_graphify``, ``GraphNetwork``), re-implemented, not copied:

* a sequential context encoder over the utterance features: a bidirectional recurrent network (the paper's
  bi-GRU; 2 layers as in the authors' code), whose states ``g_i`` are the graph's nodes;
* edges from every utterance to each utterance within ``window_past`` before and ``window_future`` after it,
  itself included (10 and 10 as in the authors' training scripts; ``-1`` = unlimited, as theirs);
* relation types by speaker pair and order, ``2 * S^2`` of them: ``(speaker of the source, speaker of the
  target, source before target or not)`` numbered as the authors' ``edge_type_mapping``;
* a relational GCN layer, ``h_i = ReLU(W_0 g_i + sum_r sum_{j in N_r(i)} alpha_ij W_r g_j)`` (optionally
  with ``bases`` shared basis matrices, the authors' ``RGCNConv(num_bases=30)``), then a GCN layer
  ``h'_i = W_1 h_i + W_2 sum_{j in N(i)} h_j`` (the authors' ``GraphConv``, unweighted sum);
* ``[g_i, h'_i]`` (optionally through the authors' nodal attention, ``MatchingAttention`` ``general2``), then
  ``Linear`` + ReLU (the contextual feature), dropout, classifier.

This project's choices:

* the graph is built once per batch with tensor operations: a dense ``[B, T, T]`` window-and-mask adjacency
  and a ``[B, T, T]`` relation index; messages are dense einsums (no per-edge loops, no torch_geometric);
* edge weights follow the paper's Eq. 1, ``alpha_ij = softmax_{j in N(i)}(g_i^T W_e g_j)`` over the target's
  window, where the authors' code (``MaskedEdgeAttention``, ``attn1``) scores with a learned query per
  absolute position (which caps the conversation length at the training maximum) and normalises over the
  source's edges;
* speakers are bucketed into ``max_speakers`` (default 2, IEMOCAP's dyads, as the authors' ``n_speakers``):
  speaker indices ``>= max_speakers - 1`` and unknown speakers (``-1``) share the last bucket, "other";
  with the default that is "whoever opened the conversation" vs everyone else, and a corpus without
  speaker ids is one speaker (every edge in the "other, other" relations). Relation weights are per
  speaker index, so swapping two speakers' indices changes the outputs (the engine numbers speakers by
  first turn, so renaming them never does);
* ReLU after the relational layer (the paper's sigma; the authors' code has none), none after the GCN layer
  (the ReLU of the ``Linear`` that follows); default ``bases = 0``: a full matrix per relation (8 for
  two speakers, fewer parameters than the authors' 30 bases).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from erc_bench import ConversationBatch
from erc_bench_models.context_modules import MatchingAttention, lengths_of, masked_softmax


def window_adjacency(mask: torch.Tensor, past: int, future: int) -> torch.Tensor:
    """``[B, T, T]`` bool, ``[b, i, j]`` True when real utterance ``i`` receives from real utterance ``j``
    (``j`` within ``past`` before to ``future`` after ``i``; ``-1`` = unlimited)."""
    steps = torch.arange(mask.shape[1], device=mask.device)
    offset = steps.view(1, -1) - steps.view(-1, 1)  # [i, j] = j - i
    within = torch.ones_like(offset, dtype=torch.bool)
    if past >= 0:
        within &= offset >= -past
    if future >= 0:
        within &= offset <= future
    return within.unsqueeze(0) & mask.unsqueeze(2) & mask.unsqueeze(1)


def relation_types(speakers: torch.Tensor, buckets: int) -> torch.Tensor:
    """``[B, T, T]`` int64: the relation of the edge ``j -> i`` (source ``j``, target ``i``),
    ``(bucket(s_j) * S + bucket(s_i)) * 2 + (0 if j < i else 1)``."""
    bucket = torch.where(speakers < 0, buckets - 1, speakers.clamp(max=buckets - 1))
    steps = torch.arange(speakers.shape[1], device=speakers.device)
    later = (steps.view(1, -1) >= steps.view(-1, 1)).long()  # [i, j]: 1 unless the source j is before i
    pair = bucket.unsqueeze(1) * buckets + bucket.unsqueeze(2)  # [b, i, j] = s_j * S + s_i
    return pair * 2 + later.unsqueeze(0)


class DialogueGCN(nn.Module):
    """Bi-GRU encoder, speaker- and order-typed relational GCN over a window, GCN, classifier."""

    def __init__(self, input_dim: int, num_labels: int, hidden: int, graph_hidden: int, encoder_layers: int,
                 max_speakers: int, window_past: int, window_future: int, bases: int, nodal_attention: bool,
                 dropout: float) -> None:
        super().__init__()
        self.feature_dim = graph_hidden
        self.buckets, self.window_past, self.window_future = max_speakers, window_past, window_future
        self.relations = 2 * max_speakers ** 2
        node = 2 * hidden
        self.encoder = nn.GRU(input_dim, hidden, num_layers=encoder_layers, batch_first=True, bidirectional=True,
                              dropout=dropout if encoder_layers > 1 else 0.0)
        self.edge_attention = nn.Linear(node, node, bias=False)
        count = bases or self.relations
        self.weights = nn.Parameter(torch.empty(count, node, graph_hidden))
        for matrix in self.weights:
            nn.init.xavier_uniform_(matrix)
        self.coefficients = nn.Parameter(torch.randn(self.relations, bases) / bases ** 0.5) if bases else None
        self.root = nn.Linear(node, graph_hidden)
        self.gcn_self = nn.Linear(graph_hidden, graph_hidden)
        self.gcn_neighbours = nn.Linear(graph_hidden, graph_hidden, bias=False)
        self.nodal_attention = MatchingAttention(node + graph_hidden) if nodal_attention else None
        self.linear = nn.Linear(node + graph_hidden, graph_hidden)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(graph_hidden, num_labels))

    def forward(self, batch: ConversationBatch) -> tuple[torch.Tensor, torch.Tensor]:
        x, mask = batch.x, batch.mask.bool()
        packed = pack_padded_sequence(x, lengths_of(mask), batch_first=True, enforce_sorted=False)
        recurrent, _ = self.encoder(packed)
        nodes, _ = pad_packed_sequence(recurrent, batch_first=True, total_length=x.shape[1])

        adjacency = window_adjacency(mask, self.window_past, self.window_future)  # [B, T(i), T(j)]
        scores = torch.einsum("bid,bjd->bij", self.edge_attention(nodes), nodes)
        alpha = masked_softmax(scores, adjacency)
        typed = alpha.unsqueeze(-1) * nn.functional.one_hot(relation_types(batch.speakers, self.buckets),
                                                             self.relations).to(alpha.dtype)  # [B, T, T, R]
        if self.coefficients is not None:  # basis decomposition: W_r = sum_k a_rk V_k
            typed = torch.einsum("bijr,rk->bijk", typed, self.coefficients)
        transformed = torch.einsum("bjd,kdh->bjkh", nodes, self.weights)
        relational = torch.relu(self.root(nodes) + torch.einsum("bijk,bjkh->bih", typed, transformed))
        graph = self.gcn_self(relational) + self.gcn_neighbours(adjacency.to(x.dtype) @ relational)

        combined = torch.cat([nodes, graph], dim=-1) * mask.unsqueeze(-1)
        if self.nodal_attention is not None:
            combined = self.nodal_attention(combined, mask)
        features = torch.relu(self.linear(combined)) * mask.unsqueeze(-1)
        return self.classifier(features), features
