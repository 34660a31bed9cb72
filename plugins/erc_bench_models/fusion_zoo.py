"""Fusion heads of the ERC baseline zoo (kind ``fusion_head``): ``tfn``, ``lmf``, ``mult``, ``mixture-of-experts``.

Each is built from its paper and its authors' public code (read, never copied); the module files say which
parts are the authors' and which are this project's choices: ``tensor_fusion_modules.py`` (TFN, LMF),
``mult_module.py`` (MulT), ``moe_module.py`` (MiSTER-E's mixture of experts). Classes here validate params
only; ``build`` imports torch lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn


class TensorFusion:
    """Tensor Fusion Network (Zadeh et al., EMNLP 2017): outer product of the modalities' sub-network outputs.

    Per utterance: an MLP sub-network per modality to ``hidden`` units, a 1 appended to each, their outer
    product (``(hidden + 1) ** modalities`` values), then a post-fusion MLP. Any modalities.
    """

    name: ClassVar[str] = "tfn"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden: int = Field(32, ge=1, le=256, description="width of each modality's sub-network (before the 1)")
        post_fusion: int = Field(64, ge=1, description="width of the post-fusion layers (authors: 32)")
        dropout: float = Field(0.3, ge=0, lt=1, description="sub-network and post-fusion dropout (authors: 0.3)")

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, dims: Mapping[str, int], num_labels: int) -> nn.Module:
        from erc_bench import UserError
        from erc_bench_models.tensor_fusion_modules import TensorFusion as Module

        p = self.params
        if (p.hidden + 1) ** len(dims) > 2_000_000:
            raise UserError(f"fusion_head 'tfn': the fused tensor of {len(dims)} modalities at hidden = {p.hidden} "
                            f"has {(p.hidden + 1) ** len(dims):,} values per utterance; lower hidden")
        return Module(dims, num_labels, p.hidden, p.post_fusion, p.dropout)


class LowRankFusion:
    """Low-rank Multimodal Fusion (Liu et al., ACL 2018): TFN's tensor product with rank-``r`` factored weights.

    Per utterance: an MLP sub-network per modality, a 1 appended, one factor tensor per modality; the logits
    are ``sum_r w_r * prod_m ([h_m; 1] @ W_m^(r)) + b``. Any modalities, of unequal widths.
    """

    name: ClassVar[str] = "lmf"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden: int = Field(32, ge=1, description="width of each modality's sub-network (authors: 4-256)")
        rank: int = Field(4, ge=1, description="rank of the factored fusion weights (authors: 1, 4, 8 or 16)")
        dropout: float = Field(0.3, ge=0, lt=1, description="sub-network dropout")

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, dims: Mapping[str, int], num_labels: int) -> nn.Module:
        from erc_bench_models.tensor_fusion_modules import LowRankFusion as Module

        p = self.params
        return Module(dims, num_labels, p.hidden, p.rank, p.dropout)


class MultimodalTransformer:
    """Multimodal Transformer (Tsai et al., ACL 2019): crossmodal, then self-attention transformers over a conversation.

    Each modality attends to every other one (one crossmodal transformer per ordered pair), then a
    self-attention transformer per target modality; key padding masks throughout. Small defaults for
    per-utterance Stage II features (2 crossmodal and 2 self-attention layers; the authors use 5 and 3);
    ``d_model`` 30 and 5 heads are the authors'. Two or more modalities.
    """

    name: ClassVar[str] = "mult"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        d_model: int = Field(30, ge=1, description="width each modality is projected to (authors: 30)")
        heads: int = Field(5, ge=1, description="attention heads; must divide d_model (authors: 5)")
        layers: int = Field(2, ge=1, description="layers of each crossmodal transformer (authors: 5)")
        self_layers: int = Field(2, ge=1, description="layers of each self-attention transformer (authors: 3)")
        attn_dropout: float = Field(0.1, ge=0, lt=1)
        relu_dropout: float = Field(0.1, ge=0, lt=1)
        res_dropout: float = Field(0.1, ge=0, lt=1)
        embed_dropout: float = Field(0.25, ge=0, lt=1)
        out_dropout: float = Field(0.0, ge=0, lt=1)
        causal: bool = Field(False, description="attend to earlier utterances only (the authors' code default)")

        @model_validator(mode="after")
        def _heads_divide(self):  # noqa: ANN202 - pydantic validator
            if self.d_model % self.heads:
                raise ValueError(f"heads ({self.heads}) must divide d_model ({self.d_model})")
            return self

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, dims: Mapping[str, int], num_labels: int) -> nn.Module:
        from erc_bench import UserError
        from erc_bench_models.mult_module import MulT

        if len(dims) < 2:
            raise UserError(f"fusion_head 'mult' lets modalities attend to each other; got only {', '.join(dims)}")
        p = self.params
        return MulT(dims, num_labels, p.d_model, p.heads, p.layers, p.self_layers, p.attn_dropout, p.relu_dropout,
                    p.res_dropout, p.embed_dropout, p.out_dropout, p.causal)


class MixtureOfExpertsFusion:
    """MiSTER-E's fusion (Dutta, Balaji & Ganapathy, 2026): unimodal and cross-attention experts, gated per utterance.

    A text-only and a speech-only expert (multi-scale convolutions and a bidirectional GRU over the
    conversation) and a cross-attention expert give logits; a learned gate over their logits weights them
    per utterance (softmax with a temperature). Exactly two modalities.
    """

    name: ClassVar[str] = "mixture-of-experts"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden: int = Field(64, ge=1, description="expert width (authors: 1024; GRU 512)")
        gru_layers: int = Field(1, ge=1, description="layers of the unimodal experts' bidirectional GRU (authors: 3)")
        blocks: int = Field(2, ge=1, description="cross-attention blocks of the fusion expert (authors: 4)")
        attention_dim: int = Field(60, ge=1, description="attention width inside a block (authors: 60)")
        heads: int = Field(3, ge=1, description="attention heads; must divide attention_dim (authors: 3)")
        dropout: float = Field(0.5, ge=0, lt=1, description="residual dropout in the blocks (authors: 0.5)")
        attn_dropout: float = Field(0.1, ge=0, lt=1, description="dropout on the attention weights (authors: 0.1)")
        gate_hidden: int = Field(10, ge=1, description="hidden units of the gate (authors: 10)")
        temperature: float = Field(2.0, gt=0, description="softmax temperature of the gate (authors: 2)")

        @model_validator(mode="after")
        def _heads_divide(self):  # noqa: ANN202 - pydantic validator
            if self.attention_dim % self.heads:
                raise ValueError(f"heads ({self.heads}) must divide attention_dim ({self.attention_dim})")
            return self

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, dims: Mapping[str, int], num_labels: int) -> nn.Module:
        from erc_bench import UserError
        from erc_bench_models.moe_module import MixtureOfExperts

        if len(dims) != 2:
            raise UserError(f"fusion_head 'mixture-of-experts' has one expert per modality and one attending "
                            f"between two; got modalities {', '.join(dims)}")
        p = self.params
        return MixtureOfExperts(dict(dims), num_labels, p.hidden, p.gru_layers, p.blocks, p.attention_dim, p.heads,
                                p.dropout, p.attn_dropout, p.gate_hidden, p.temperature)
