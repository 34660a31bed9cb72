"""Torch module of ``mult``: the Multimodal Transformer (Tsai et al., ACL 2019) over a conversation.

From the authors' code (``yaohungt/Multimodal-Transformer``, read, not copied; ``src/models.py``,
``modules/transformer.py``):

* a kernel-1 temporal convolution without bias (a Linear) projecting each modality to ``d_model`` (skipped
  when the widths already agree), and embedding dropout on the text input;
* one crossmodal transformer per ordered pair (target modality attending to a source modality): inputs
  scaled by ``sqrt(d_model)`` plus sinusoidal position embeddings, embedding dropout, pre-norm layers in
  which the *same* layer norm normalises queries, keys and values, a 4x ReLU feed-forward, residual dropout,
  and a final layer norm;
* per target modality the crossmodal outputs are concatenated and passed through a self-attention
  transformer of the same kind ("memory"), whose layer count is ``max(layers, 3)`` in the authors' code;
* the targets' outputs are concatenated, then a residual block (Linear, ReLU, dropout, Linear, plus the
  input) and an output Linear;
* the authors' defaults this project keeps: ``d_model`` 30, 5 heads, attention dropout 0.1, ReLU and residual
  dropout 0.1, embedding dropout 0.25, output dropout 0.

This project's choices:

* the sequence is the conversation (one Stage II feature vector per utterance), and every utterance gets its
  own prediction from its position's output (the authors predict once per sequence from the last step);
* fewer layers than the authors' 5 crossmodal and 3 self-attention layers (``layers = 2``,
  ``self_layers = 2``): conversations are at most a few dozen utterances and the features are already
  contextual;
* the authors' code applies a causal ("future") attention mask by default; here the whole conversation is
  visible, like every other fusion head's (``causal = true`` restores the authors' mask, offset as theirs
  for sequences of equal length);
* key padding masks in every attention, so padding never changes an output at a real position;
* position embeddings are computed from the utterance's index in the batch row (0, 1, ...);
* any two or more modalities, in the batch's order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn
from torch.nn import functional as F

from erc_bench import ConversationBatch


def sinusoidal(steps: int, dim: int, device: torch.device) -> torch.Tensor:
    """``[steps, dim]`` sine / cosine position embeddings (first half sines, second half cosines)."""
    half = dim // 2
    scale = math.log(10000) / max(half - 1, 1)
    freqs = torch.exp(torch.arange(half, device=device, dtype=torch.float32) * -scale)
    angles = torch.arange(steps, device=device, dtype=torch.float32)[:, None] * freqs[None, :]
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    return F.pad(table, (0, dim - 2 * half))


class _Layer(nn.Module):
    """Pre-norm transformer layer; in crossmodal use the first norm also normalises keys and values."""

    def __init__(self, dim: int, heads: int, attn_dropout: float, relu_dropout: float, res_dropout: float) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=attn_dropout, batch_first=True)
        self.norms = nn.ModuleList([nn.LayerNorm(dim), nn.LayerNorm(dim)])
        self.ffn = nn.Sequential(nn.Linear(dim, 4 * dim), nn.ReLU(), nn.Dropout(relu_dropout), nn.Linear(4 * dim, dim))
        self.res_dropout = nn.Dropout(res_dropout)

    def forward(self, x: torch.Tensor, source: torch.Tensor | None, pad: torch.Tensor,
                future: torch.Tensor | None) -> torch.Tensor:
        q = self.norms[0](x)
        kv = q if source is None else self.norms[0](source)
        attended, _ = self.attention(q, kv, kv, key_padding_mask=pad, attn_mask=future, need_weights=False)
        x = x + self.res_dropout(attended)
        return x + self.res_dropout(self.ffn(self.norms[1](x)))


class _Encoder(nn.Module):
    """The authors' TransformerEncoder: scale, positions, embedding dropout, layers, final layer norm."""

    def __init__(self, dim: int, heads: int, layers: int, attn_dropout: float, relu_dropout: float,
                 res_dropout: float, embed_dropout: float) -> None:
        super().__init__()
        self.dim = dim
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.layers = nn.ModuleList([_Layer(dim, heads, attn_dropout, relu_dropout, res_dropout)
                                     for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed_dropout(math.sqrt(self.dim) * x + sinusoidal(x.shape[1], self.dim, x.device))

    def forward(self, x: torch.Tensor, source: torch.Tensor | None, pad: torch.Tensor,
                future: torch.Tensor | None) -> torch.Tensor:
        x = self._embed(x)
        source = None if source is None else self._embed(source)
        for layer in self.layers:
            x = layer(x, source, pad, future)
        return self.norm(x)


class MulT(nn.Module):
    def __init__(self, dims: Mapping[str, int], num_labels: int, d_model: int, heads: int, layers: int,
                 self_layers: int, attn_dropout: float, relu_dropout: float, res_dropout: float,
                 embed_dropout: float, out_dropout: float, causal: bool) -> None:
        super().__init__()
        self.modalities = list(dims)
        self.causal = causal
        self.text_dropout = nn.Dropout(embed_dropout)
        self.project = nn.ModuleDict({m: nn.Identity() if d == d_model else nn.Linear(d, d_model, bias=False)
                                      for m, d in dims.items()})
        args = (heads, layers, attn_dropout, relu_dropout, res_dropout, embed_dropout)
        self.crossmodal = nn.ModuleDict({f"{t}<-{s}": _Encoder(d_model, *args)
                                         for t in self.modalities for s in self.modalities if s != t})
        memory_dim = (len(dims) - 1) * d_model
        self.memory = nn.ModuleDict({t: _Encoder(memory_dim, heads, self_layers, *args[2:])
                                     for t in self.modalities})
        combined = len(dims) * memory_dim
        self.proj1 = nn.Linear(combined, combined)
        self.proj2 = nn.Linear(combined, combined)
        self.out_dropout = nn.Dropout(out_dropout)
        self.out = nn.Linear(combined, num_labels)

    def forward(self, batch: ConversationBatch) -> torch.Tensor:
        mask = batch.mask.bool()
        pad = ~mask
        steps = mask.shape[1]
        future = None
        if self.causal:
            future = torch.triu(torch.ones(steps, steps, dtype=torch.bool, device=mask.device), diagonal=1)
        keep = mask.unsqueeze(-1)
        x = {}
        for m in self.modalities:
            features = batch.features[m] * keep
            if m == "text":
                features = self.text_dropout(features)
            x[m] = self.project[m](features)
        outputs = []
        for t in self.modalities:
            crossed = [self.crossmodal[f"{t}<-{s}"](x[t], x[s], pad, future) for s in self.modalities if s != t]
            outputs.append(self.memory[t](torch.cat(crossed, dim=-1), None, pad, future))
        h = torch.cat(outputs, dim=-1)
        h = h + self.proj2(self.out_dropout(F.relu(self.proj1(h))))
        return self.out(h) * keep
