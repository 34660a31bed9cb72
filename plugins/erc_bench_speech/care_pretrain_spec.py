"""The ``[care_pretrain]`` spec: what ``erc-bench care-pretrain`` trains, validated before anything heavy runs.

A CARE pre-training spec is a TOML file of its own (``benchmarks/care_pretrain_msp.toml``,
``benchmarks/demo/care_pretrain.toml``), so a benchmark spec stays about Stages I-III and
only points at the resulting folder. Defaults are the authors' settings (``train_pase.py``):
WavLM-base trunk, RoBERTa-base semantic layers and text targets, AdamW lr 1e-5, betas
(0.9, 0.99), eps 1e-6, no weight decay, 5 s crops of clips of at least 2 s, batch 8.
Errors print as ``file: key.path: message`` like every other spec error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from erc_bench.core.errors import SpecError
from erc_bench.core.spec import ComponentRef, TrackingSection

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


def load_care_spec(path: str | Path, overrides: list[str] | None = None) -> CarePretrainSpec:
    """Read, override (``--set key.path=value``), expand ``${VAR}`` and validate, plugins and params included."""
    from erc_bench.core.plugin_host import host
    from erc_bench.core.spec import _first_error, apply_override, validate_params
    from erc_bench.core.spec_checks import expand_env

    file = str(path)
    p = Path(path)
    if not p.is_file():
        raise SpecError(file, "", "no such spec file")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(file, "", f"not valid TOML: {exc}") from None
    for assignment in overrides or []:
        apply_override(raw, assignment, file)
    unset: list[str] = []
    raw = expand_env(raw, "", file, unset)
    if unset:
        key, ref = unset[0].split(": ", 1)
        raise SpecError(file, key, f"environment variable {ref} is not set; export it before running")
    try:
        spec = CarePretrainSpec(**raw)
    except ValidationError as exc:
        raise SpecError(file, *_first_error(exc, "")) from None
    section = spec.care_pretrain
    for key, kind in (("corpus", "dataset"), ("asr", "asr"), ("text_target", "text_encoder")):
        ref = getattr(section, key)
        validate_params(file, f"care_pretrain.{key}", kind, ref.plugin, ref.params, host())
    return spec
