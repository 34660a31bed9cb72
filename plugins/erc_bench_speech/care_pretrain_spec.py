"""The ``[care_pretrain]`` spec: what ``erc-bench care-pretrain`` trains, validated before anything heavy runs.

A CARE pre-training spec is a TOML file of its own (``benchmarks/care_pretrain_msp.toml``,
``benchmarks/demo/care_pretrain.toml``), so a benchmark spec stays about Stages I-III and
only points at the resulting folder. Defaults are the authors' settings (``train_pase.py``):
WavLM-base trunk, RoBERTa-base semantic layers and text targets, AdamW lr 1e-5, betas
(0.9, 0.99), eps 1e-6, no weight decay, 5 s crops of clips of at least 2 s, batch 8.
The engine's spec loader reads it (``extends``, ``--set``, ``${VAR}``, ``file: key.path: message`` errors): this
module declares the kind (``CARE_SPEC_KIND``, registered by the plugin's ``erc_bench_register_spec_kinds``), so
``erc-bench validate`` checks these files like any benchmark spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from erc_bench import ComponentRef, SpecKind, TrackingSection

RANDOM = "random_config"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcousticTarget(_Strict):
    """Frame-level targets of the acoustic branch. The authors regress PASE+ features (256-d, 10 ms),
    which need the PASE+ network; ``folder`` reads such precomputed features, ``opensmile`` and
    ``log-mel`` are computed here as offline substitutes."""

    kind: Literal["log-mel", "opensmile", "folder"] = "log-mel"
    n_mels: int = Field(80, ge=8)
    feature_set: Literal["eGeMAPSv02", "ComParE_2016", "GeMAPSv01b"] = "eGeMAPSv02"
    folder: str | None = Field(None, description="folder of <utterance id><suffix> arrays (kind = folder)")
    suffix: str = ".npy"
    frame_rate_hz: float = Field(100.0, gt=0, description="frames per second of the folder's features")
    channels_first: bool = Field(True, description="folder arrays are [dims, frames] (as the authors' PASE+ files)")

    @model_validator(mode="after")
    def _folder_given(self) -> AcousticTarget:
        if self.kind == "folder" and not self.folder:
            raise ValueError("kind = 'folder' needs folder = the precomputed features' directory")
        return self


class CarePretrainSection(_Strict):
    corpus: ComponentRef
    asr: ComponentRef
    text_target: ComponentRef = Field(default_factory=lambda: ComponentRef(
        plugin="hf-text", params={"model": "roberta-base", "pooling": "mean", "max_length": 128}))
    acoustic_target: AcousticTarget = Field(default_factory=AcousticTarget)
    trunk: str = Field("microsoft/wavlm-base", description="WavLM hub id / folder, or random_config")
    semantic_init: str = Field("roberta-base", description="RoBERTa whose layers 6-11 start the semantic branch")
    trunk_config: dict[str, Any] = Field(default_factory=dict, description="WavLMConfig overrides (random_config)")
    semantic_config: dict[str, Any] = Field(default_factory=dict, description="RobertaConfig overrides")
    shared_layers: int = Field(6, ge=1)
    output: str = Field(..., description="checkpoint folder to write (the care encoder's checkpoint)")
    steps: int | None = Field(None, ge=1)
    epochs: int | None = Field(None, ge=1)
    batch_size: int = Field(8, ge=1)
    lr: float = Field(1e-5, gt=0)
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = Field(1e-6, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(10.0, gt=0)
    crop_seconds: float = Field(5.0, gt=0)
    min_seconds: float = Field(2.0, ge=0)
    val_fraction: float = Field(0.1, gt=0, lt=1)
    val_every: int = Field(1000, ge=1)
    checkpoint_every: int = Field(1000, ge=1)
    log_every: int = Field(50, ge=1)
    seed: int = 0
    max_items: int | None = Field(None, ge=2)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["no", "auto", "bf16", "fp16"] = Field("no", description="mixed precision on CUDA (the "
                                                                          "engine's UpdatePlan); no = float32")
    threads: int | None = Field(None, ge=1, description="torch CPU threads")

    @model_validator(mode="after")
    def _length(self) -> CarePretrainSection:
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("set exactly one of steps or epochs")
        if self.min_seconds > self.crop_seconds:
            raise ValueError("min_seconds must not exceed crop_seconds")
        return self


class CarePretrainSpec(_Strict):
    care_pretrain: CarePretrainSection
    tracking: TrackingSection = Field(default_factory=TrackingSection)


CARE_SPEC_KIND = SpecKind(
    name="care-pretrain", table="care_pretrain", model=CarePretrainSpec,
    slots={"care_pretrain.corpus": "dataset", "care_pretrain.asr": "asr", "care_pretrain.text_target": "text_encoder"},
    description="CARE speech-encoder pre-training (erc-bench care-pretrain)")


def load_care_spec(path: str | Path, overrides: list[str] | None = None) -> CarePretrainSpec:
    """Read, override (``--set key.path=value``), expand ``${VAR}`` and validate, plugins and params included;
    every ``${VAR}`` must be set (this is for running; ``erc-bench validate`` only notes unset ones)."""
    from erc_bench import load_kind_spec, require_env

    loaded = load_kind_spec(path, CARE_SPEC_KIND.name, overrides)
    require_env(loaded)
    spec: CarePretrainSpec = loaded.spec
    return spec
