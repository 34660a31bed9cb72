"""The shape of a benchmark spec: pydantic models that forbid unknown keys.

Kept apart from ``spec.py`` (reading, ``extends``, ``--set``, validation) so
either can be read on its own; ``spec.py`` re-exports every model, so
``from erc_bench.core.spec import StageTraining`` keeps working.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, create_model, field_validator

from erc_bench.core.execution import ExecutionSection
from erc_bench.core.spec_checks import BatchSize, Epochs, Name, Seed, check_tracking_uri


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ComponentRef(_Strict):
    """A slot filled by a plugin: ``{ plugin = "name", params = { ... } }``."""

    plugin: str
    params: dict[str, Any] = Field(default_factory=dict)


class BenchmarkSection(_Strict):
    name: Name
    description: str = ""
    seeds: list[Seed] = Field(default_factory=lambda: [0], min_length=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:  # a repeated seed would count one run twice in the mean and std
            raise ValueError(f"seed(s) {repeated} listed more than once")
        return seeds


class StageTraining(_Strict):
    """Optimiser settings of one stage; paper defaults: AdamW, lr 1e-4, batch 32, 50 epochs, constant rate.
    RoBERTa-large usually wants lr 1e-5..3e-5, warmup_ratio 0.06, schedule "linear", max_grad_norm 1.0."""

    epochs: Epochs = 50
    lr: float = Field(1e-4, gt=0)
    batch_size: BatchSize = 32
    weight_decay: float = Field(0.01, ge=0)
    grad_accum_steps: int = Field(1, ge=1, description="micro-batches per update: batch_size / this at a time")
    warmup_ratio: float = Field(0.0, ge=0, lt=1, description="fraction of updates with a linear warm-up")
    schedule: Literal["constant", "linear"] = Field("constant", description="after warm-up: constant or linear "
                                                                            "decay to zero")
    max_grad_norm: float | None = Field(None, gt=0, description="clip the gradient norm; None = no clipping")
    precision: Literal["auto", "no", "bf16", "fp16"] = Field("auto", description="auto: bf16 (else fp16) on "
                                                                                 "CUDA, off on CPU")
    early_stop_patience: int | None = Field(None, ge=1, description="stop after this many epochs without a "
                                                                     "better validation WF1")
    train_layers: int | None = Field(None, ge=0, description="text encoder: train only the top N layers "
                                                             "(0 = head only); None = all")


def _all_optional(model: type[BaseModel], name: str, doc: str) -> type[BaseModel]:
    """``model``'s fields, each optional (None = not set) with its own constraints: a section that overrides
    only what it names."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        annotation: Any = Annotated.__class_getitem__(  # type: ignore[attr-defined]  # Annotated[X, *metadata]
            (info.annotation, *info.metadata)) if info.metadata else info.annotation
        fields[field_name] = (annotation | None, Field(None, description=info.description))
    made: type[BaseModel] = create_model(name, __base__=_Strict, __doc__=doc, **fields)
    return made


StageOverrides = _all_optional(StageTraining, "StageOverrides", "Stage I settings of one modality that differ "
                               "from ``[training.stage1]``: only the keys written here change.")


class Stage1Training(StageTraining):
    """Stage I settings shared by both modalities, and per modality what differs (``[training.stage1.speech]``
    ``weight_decay = 0.0``; the way SpeechBrain's recipes keep ``lr`` and ``lr_wav2vec2`` side by side), so
    what each Stage I network trains with is written in the spec, logged and part of its cache key."""

    text: StageOverrides | None = None  # type: ignore[valid-type]
    speech: StageOverrides | None = None  # type: ignore[valid-type]

    def for_modality(self, modality: Literal["text", "speech"]) -> StageTraining:
        """The settings the ``modality`` Stage I network trains with: ``[training.stage1]`` and its section."""
        settings = self.model_dump(exclude={"text", "speech"})
        overrides = getattr(self, modality)
        if overrides is not None:
            settings |= overrides.model_dump(include=overrides.model_fields_set)
        return StageTraining(**settings)


class TrainingSection(_Strict):
    stage1: Stage1Training = Field(default_factory=Stage1Training)
    stage2: StageTraining = Field(default_factory=StageTraining)
    stage3: StageTraining = Field(default_factory=StageTraining)


class PretrainSection(_Strict):
    """LLM-guided text pre-training: corpus -> ASR -> labeller -> fine-tune the text encoder."""

    enabled: StrictBool = True
    corpus: ComponentRef
    asr: ComponentRef
    labeller: ComponentRef
    epochs: Epochs = 10
    lr: float = Field(1e-4, gt=0)
    batch_size: BatchSize = 32
    val_fraction: float = Field(0.2, gt=0, lt=1)
    seed: Seed = 0
    max_items: StrictInt | None = Field(None, ge=1)


class DatasetEntry(_Strict):
    """One corpus of the benchmark. ``max_seconds`` / ``long_audio``: what speech features do with clips
    longer than ``max_seconds`` (``skip``: reported as ``long-audio`` and left out; ``crop``: the centre
    ``max_seconds``; ``chunk``: windows of ``max_seconds`` pooled); unset, each encoder's own handling,
    in bounded memory either way (``erc_bench.features.long_audio``). A setting of the corpus, not of the
    encoder: it answers "what is a clip of this corpus", and the same encoder serves every corpus."""

    plugin: str
    params: dict[str, Any] = Field(default_factory=dict)
    text_source: Literal["reference", "asr"] = "reference"
    max_seconds: float | None = Field(None, gt=0, description="clips longer than this follow long_audio")
    long_audio: Literal["skip", "crop", "chunk"] = "skip"


class ModelSection(_Strict):
    modalities: list[Literal["text", "speech"]] = Field(default_factory=lambda: ["text", "speech"],  # type: ignore[arg-type]
                                                        min_length=1)
    text_encoder: ComponentRef | None = None
    use_pretrained_text: StrictBool = True
    speech_encoder: ComponentRef | None = None
    speech_head: ComponentRef | None = None  # Stage I speech network; None = the engine's SpeechHead
    asr: ComponentRef | None = None
    context_model: ComponentRef = Field(default_factory=lambda: ComponentRef(plugin="bigru-attention"))
    fusion_head: ComponentRef = Field(default_factory=lambda: ComponentRef(plugin="co-attention"))
    training: Literal["hierarchical", "joint"] = "hierarchical"


class TrackingSection(_Strict):
    uri: str | None = None
    experiment: Name | None = None

    @field_validator("uri")
    @classmethod
    def _known_scheme(cls, uri: str | None) -> str | None:
        problem = None if uri is None else check_tracking_uri(uri)
        if problem:
            raise ValueError(problem)
        return uri


class Spec(_Strict):
    benchmark: BenchmarkSection
    datasets: list[DatasetEntry] = Field(min_length=1)
    system: ComponentRef | None = None  # None: MERITS-L's staged recipe ([model], [training], [pretrain])
    model: ModelSection = Field(default_factory=ModelSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    pretrain: PretrainSection | None = None
    tracking: TrackingSection = Field(default_factory=TrackingSection)
    execution: ExecutionSection = Field(default_factory=ExecutionSection)

    @field_validator("pretrain", mode="before")
    @classmethod
    def _disabled_pretrain_is_none(cls, value: Any) -> Any:
        """``[pretrain] enabled = false`` switches pre-training off: its corpus, ASR and labeller are not needed
        (a spec that extends one with pre-training only writes that line), so the section is dropped."""
        if isinstance(value, dict) and value.get("enabled") is False:
            return None
        return value
