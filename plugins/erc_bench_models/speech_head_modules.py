"""Torch module of the CARE authors' Stage I speech head (see ``speech_heads.CareAuthorsHead``)."""

from __future__ import annotations

import torch
from torch import nn


class AuthorsSpeechHead(nn.Module):
    """``x [B, layers, D]`` -> (logits [B, C], features [B, feature_dim])."""

    def __init__(self, layers: int, input_dim: int, num_labels: int, pooled_dim: int, hidden: int = 768,
                 feature_dim: int = 256, dropout: float = 0.2, mean: torch.Tensor | None = None,
                 std: torch.Tensor | None = None) -> None:
        super().__init__()
        self.pooled_dim, self.feature_dim = pooled_dim, feature_dim
        self.standardise = mean is not None and std is not None
        shape = (layers, input_dim)
        self.register_buffer("input_mean", mean.reshape(shape).float() if self.standardise else torch.zeros(shape))
        self.register_buffer("input_std", std.reshape(shape).float() if self.standardise else torch.ones(shape))
        self.weights = nn.Parameter(torch.rand(layers))
        self.fc = nn.Linear(input_dim + pooled_dim, hidden)
        self.fc_1 = nn.Linear(hidden, feature_dim)
        self.out = nn.Linear(feature_dim, num_labels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = x[:, -1, :self.pooled_dim]
        x = (x - self.input_mean) / self.input_std
        weighted = (x * torch.softmax(self.weights, dim=0)[None, :, None]).sum(dim=1)
        features = self.fc_1(self.dropout(self.fc(torch.cat((weighted, pooled), dim=-1))))
        return self.out(self.dropout(features)), features

    def layer_weights(self) -> list[float]:
        return torch.softmax(self.weights.detach().cpu(), dim=0).tolist()
