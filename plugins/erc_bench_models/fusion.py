"""Fusion heads (kind ``fusion_head``): MERITS-L Stage III co-attention and two baselines.

Classes here validate params only; ``build`` imports torch lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn


class CoAttentionFusion:
    """Cross-attention in both directions, then self-attention (MERITS-L Stage III as this project reads Fig. 2)."""

    name: ClassVar[str] = "co-attention"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        d_model: int = Field(256, ge=1, description="width both modalities are projected to")
        heads: int = Field(4, ge=1, description="attention heads; must divide d_model")
        dropout: float = Field(0.1, ge=0, lt=1)
        combine: Literal["feature", "time"] = Field(
            "feature", description="self-attention over per-utterance concatenation, or over both sequences stacked")

        @model_validator(mode="after")
        def _heads_divide(self):  # noqa: ANN202 - pydantic validator
            if self.d_model % self.heads:
                raise ValueError(f"heads ({self.heads}) must divide d_model ({self.d_model})")
            return self

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, dims: Mapping[str, int], num_labels: int) -> nn.Module:
        from erc_bench import UserError
        from erc_bench_models.fusion_modules import CoAttention

        if set(dims) != {"text", "speech"}:
            raise UserError(f"fusion_head 'co-attention' attends text to speech and back; got modalities "
                            f"{', '.join(dims)} (concat and late take any)")
        p = self.params
        return CoAttention(dims["text"], dims["speech"], num_labels, p.d_model, p.heads, p.dropout, p.combine)


class ConcatFusion:
    """Concatenate the modalities' features per utterance (text and speech, or any others), then an MLP."""

    name: ClassVar[str] = "concat"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden: int = Field(256, ge=1)
        dropout: float = Field(0.1, ge=0, lt=1)

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, dims: Mapping[str, int], num_labels: int) -> nn.Module:
        from erc_bench_models.fusion_modules import ConcatFusion as Module

        return Module(dims, num_labels, self.params.hidden, self.params.dropout)


class LateFusion:
    """Average of one classifier's logits per modality (text and speech, or any others)."""

    name: ClassVar[str] = "late"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        dropout: float = Field(0.1, ge=0, lt=1)

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, dims: Mapping[str, int], num_labels: int) -> nn.Module:
        from erc_bench_models.fusion_modules import LateFusion as Module

        return Module(dims, num_labels, self.params.dropout)
