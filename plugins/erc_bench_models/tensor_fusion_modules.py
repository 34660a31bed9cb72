"""Torch modules of ``tfn`` (Tensor Fusion Network) and ``lmf`` (Low-rank Multimodal Fusion), per utterance.

From the authors' code (read, not copied):

* TFN, Zadeh et al., EMNLP 2017 (``Justin1904/TensorFusionNetworks``, ``model.py``): the pre-fusion
  ``SubNet`` (batch norm, dropout, three Linear + ReLU layers) per modality; a constant 1 appended to each
  sub-network output; the outer product of all of them, flattened; the post-fusion network (dropout, two
  Linear + ReLU layers, an output Linear).
* LMF, Liu et al., ACL 2018 (``Justin1904/Low-rank-Multimodal-Fusion``, ``model.py``): the same sub-networks;
  per modality a factor tensor ``[rank, h_m + 1, out]`` (Xavier-normal init), the product over modalities of
  ``[h_m; 1] @ factor_m``, summed over the rank by learned ``fusion_weights [1, rank]`` plus a bias (zero
  init); the output is the prediction itself (no post-fusion network), as in the authors' LMF.

This project's choices:

* every modality, text included, goes through the MLP ``SubNet``: the authors' text LSTM reads words, while
  erc-bench fuses one Stage II feature vector per utterance;
* the output is ``num_labels`` class logits (TFN's authors regress a sentiment score through a scaled
  sigmoid; LMF's IEMOCAP code already outputs class scores);
* the modalities are those of ``dims`` (any number; the papers fuse three), each with the same width
  ``hidden``; the outer product is taken in the batch's modality order;
* the sub-networks run on the real utterances only (``features[mask]``), so padding never enters the batch
  norm statistics and never changes an output at a real position; padded positions get zero logits;
* LMF's separate learning rate for the factors is not used (the engine has one Stage III optimiser).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.nn import functional as F

from erc_bench import ConversationBatch


class SubNet(nn.Module):
    """Batch norm, dropout, then three Linear + ReLU layers: ``[N, D] -> [N, hidden]`` (the authors' SubNet)."""

    def __init__(self, in_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(in_dim)
        self.layers = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(),
                                    nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] < 2:  # batch statistics of one utterance are undefined: use running ones
            x = F.batch_norm(x, self.norm.running_mean, self.norm.running_var, self.norm.weight, self.norm.bias,
                             training=False, eps=self.norm.eps)
        else:
            x = self.norm(x)
        return self.layers(x)


def with_one(h: torch.Tensor) -> torch.Tensor:
    """``[N, H] -> [N, H + 1]``: a constant 1 prepended (so the fused tensor keeps the unimodal terms)."""
    return torch.cat([h.new_ones(h.shape[0], 1), h], dim=1)


class _PerUtterance(nn.Module):
    """Runs ``fuse`` on the real utterances of a batch and scatters the logits back (zeros at padding)."""

    def __init__(self, dims: Mapping[str, int], hidden: int, dropout: float, num_labels: int) -> None:
        super().__init__()
        self.modalities = list(dims)
        self.num_labels = num_labels
        self.subnets = nn.ModuleDict({m: SubNet(d, hidden, dropout) for m, d in dims.items()})

    # per real utterance: the modalities' sub-network outputs (each with a 1 appended) -> logits [N, C];
    # TFN and LMF (the subclasses) each define it
    fuse: Callable[[list[torch.Tensor]], torch.Tensor]

    def forward(self, batch: ConversationBatch) -> torch.Tensor:
        mask = batch.mask.bool()
        hidden = [with_one(self.subnets[m](batch.features[m][mask])) for m in self.modalities]
        logits = self.fuse(hidden)
        out = logits.new_zeros(*mask.shape, self.num_labels)
        out[mask] = logits
        return out


class TensorFusion(_PerUtterance):
    """TFN: outer product of the modalities' ``[h_m; 1]``, flattened, then the post-fusion MLP."""

    def __init__(self, dims: Mapping[str, int], num_labels: int, hidden: int, post_fusion: int,
                 dropout: float) -> None:
        super().__init__(dims, hidden, dropout, num_labels)
        fused = (hidden + 1) ** len(dims)
        self.post_fusion = nn.Sequential(nn.Dropout(dropout), nn.Linear(fused, post_fusion), nn.ReLU(),
                                         nn.Linear(post_fusion, post_fusion), nn.ReLU(),
                                         nn.Linear(post_fusion, num_labels))

    def fuse(self, hidden: list[torch.Tensor]) -> torch.Tensor:
        fused = hidden[0]
        for h in hidden[1:]:  # [N, A] x [N, B] -> [N, A * B]: the Kronecker product per utterance
            fused = (fused.unsqueeze(2) * h.unsqueeze(1)).flatten(1)
        return self.post_fusion(fused)


class LowRankFusion(_PerUtterance):
    """LMF: ``sum_r w_r * prod_m ([h_m; 1] @ W_m^(r)) + b`` with one factor tensor per modality."""

    def __init__(self, dims: Mapping[str, int], num_labels: int, hidden: int, rank: int, dropout: float) -> None:
        super().__init__(dims, hidden, dropout, num_labels)
        self.factors = nn.ParameterList(
            [nn.Parameter(nn.init.xavier_normal_(torch.empty(rank, hidden + 1, num_labels))) for _ in dims])
        self.fusion_weights = nn.Parameter(nn.init.xavier_normal_(torch.empty(1, rank)))
        self.fusion_bias = nn.Parameter(torch.zeros(1, num_labels))

    def fuse(self, hidden: list[torch.Tensor]) -> torch.Tensor:
        product = None
        for h, factor in zip(hidden, self.factors, strict=True):
            projected = torch.matmul(h, factor)  # [rank, N, C]
            product = projected if product is None else product * projected
        return torch.matmul(self.fusion_weights, product.permute(1, 0, 2)).squeeze(1) + self.fusion_bias
