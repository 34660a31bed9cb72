"""Stage I speech heads (kind ``speech_head``): the network trained over frozen speech embeddings.

``care-authors`` is the head of the CARE authors' downstream script
(``downstream/train_wavlm_downstream_own.py``); ``mlp`` is the project's head
(``erc_bench.DefaultSpeechHeadModule``), which the engine also uses when a spec names none.
Classes here validate params only; ``build`` imports torch lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn


class CareAuthorsHead:
    """The CARE authors' Stage I head over CARE's per-layer features.

    The authors' parts: a learned softmax weighting of the 13 layer features (each 1536-d:
    semantic and acoustic branch, mean-pooled over time) concatenated with the 768-d pooled
    semantic embedding -> 2304 -> 768 -> 256 -> classes, linear layers with dropout 0.2
    between them and no non-linearity (their ReLU and LayerNorm are defined but unused); layer
    weights initialised uniformly at random; Adam (= AdamW with ``weight_decay = 0``) at lr
    1e-4 held constant (their LinearLR scheduler is created but never stepped), batch 32, 50
    epochs, selection by validation weighted F1; the crop/pad rule of their feature extraction
    is the ``care`` encoder's ``crop_rule = "authors"``. Features for Stage II = the 256-d layer.
    Their optimiser settings are the spec's to write (``[training.stage1.speech]`` ``weight_decay =
    0.0``, as ``benchmarks/merits_l_full.toml`` does), so that what trains is what is logged and keyed.

    The project's parts: the pooled vector is read from the embeddings themselves (the last
    layer's semantic half, ``x[-1, :pooled_dim]``, which is exactly CARE's pooled output), so one
    cached table feeds the head; other widths than CARE-base's follow the input; optional
    standardisation with training-split statistics (off: the authors use raw features).
    """

    name: ClassVar[str] = "care-authors"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        pooled_dim: int | None = Field(None, ge=1, description="width of the pooled vector (default: half the input)")
        hidden: int = Field(768, ge=1)
        feature_dim: int = Field(256, ge=1)
        dropout: float = Field(0.2, ge=0, lt=1)
        standardise: bool = False

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, layers: int | None, input_dim: int, num_labels: int, mean: Any = None,
              std: Any = None) -> nn.Module:
        from erc_bench import UserError
        from erc_bench_models.speech_head_modules import AuthorsSpeechHead

        p = self.params
        pooled = p.pooled_dim or input_dim // 2
        if layers is None or pooled > input_dim:
            raise UserError(f"speech_head 'care-authors' needs per-layer embeddings (layers, D) with D >= pooled_dim; "
                            f"got {'(' + str(layers) + ', ' if layers else '('}{input_dim}) - use the care encoder's "
                            "output = 'layers'")
        return AuthorsSpeechHead(layers, input_dim, num_labels, pooled, p.hidden, p.feature_dim, p.dropout,
                                 mean if p.standardise else None, std if p.standardise else None)


class MlpHead:
    """The project's head: standardise -> softmax layer weights (equal start) -> ``hidden_dim`` ReLU -> classes."""

    name: ClassVar[str] = "mlp"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        hidden_dim: int = Field(256, ge=1)
        dropout: float = Field(0.2, ge=0, lt=1)

    def __init__(self, params: Params) -> None:
        self.params = params

    def build(self, layers: int | None, input_dim: int, num_labels: int, mean: Any = None,
              std: Any = None) -> nn.Module:
        from erc_bench import DefaultSpeechHeadModule

        return DefaultSpeechHeadModule(layers, input_dim, num_labels, self.params.hidden_dim, self.params.dropout,
                                       mean, std)
