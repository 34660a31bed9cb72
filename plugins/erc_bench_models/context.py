"""Context models (kind ``context_model``): Stage II of MERITS-L and two baselines.

The classes here only validate params; ``build`` imports torch and returns the
module from ``context_modules``, so listing plugins never imports torch. None
reads speakers (``uses_speaker_identity()`` is False); the speaker-aware
families are in ``context_zoo``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn


class BiGRUAttentionContext:
    """Bi-GRU + multi-head self-attention over the conversation (MERITS-L Stage II).

    Features are ``2 * hidden`` wide (both GRU directions, after attention,
    residual and layer norm).
    """

    name: ClassVar[str] = "bigru-attention"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden: int = Field(128, ge=1, description="GRU hidden size per direction")
        heads: int = Field(4, ge=1, description="self-attention heads; must divide 2 * hidden")
        layers: int = Field(1, ge=1, description="stacked GRU layers")
        dropout: float = Field(0.2, ge=0, lt=1)

        @model_validator(mode="after")
        def _heads_divide(self):  # noqa: ANN202 - pydantic validator
            if (2 * self.hidden) % self.heads:
                raise ValueError(f"heads ({self.heads}) must divide 2 * hidden ({2 * self.hidden})")
            return self

    def __init__(self, params: Params) -> None:
        self.params = params

    def uses_speaker_identity(self) -> bool:
        return False

    def build(self, input_dim: int, num_labels: int) -> nn.Module:
        from erc_bench_models.context_modules import BiGRUAttention

        p = self.params
        return BiGRUAttention(input_dim, num_labels, p.hidden, p.heads, p.layers, p.dropout)


class MLPContextParams(BaseModel):
    """Shared by the two MLP-based baselines (no context, mean-pool context)."""

    model_config = ConfigDict(extra="forbid")
    hidden: int = Field(256, ge=1)
    dropout: float = Field(0.2, ge=0, lt=1)


class NoContext:
    """No conversational context: a per-utterance MLP (ablation baseline)."""

    name: ClassVar[str] = "none"

    Params: ClassVar[type[BaseModel]] = MLPContextParams

    def __init__(self, params: MLPContextParams) -> None:
        self.params = params

    def uses_speaker_identity(self) -> bool:
        return False

    def build(self, input_dim: int, num_labels: int) -> nn.Module:
        from erc_bench_models.context_modules import UtteranceMLP

        return UtteranceMLP(input_dim, num_labels, self.params.hidden, self.params.dropout)


class MeanPoolContext:
    """Utterance feature + masked conversation mean, then an MLP (order-free context baseline)."""

    name: ClassVar[str] = "mean-pool"

    Params: ClassVar[type[BaseModel]] = MLPContextParams

    def __init__(self, params: MLPContextParams) -> None:
        self.params = params

    def uses_speaker_identity(self) -> bool:
        return False

    def build(self, input_dim: int, num_labels: int) -> nn.Module:
        from erc_bench_models.context_modules import MeanPoolContext as Module

        return Module(input_dim, num_labels, self.params.hidden, self.params.dropout)
