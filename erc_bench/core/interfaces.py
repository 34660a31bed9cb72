"""Plain data types and the Protocol each kind of component implements.

No logic lives here: the engine, built-in plugins and third-party plugins all
import these names, so they must stay cheap (no torch, no numpy at import).

Every component class carries two class attributes:

* ``name``: the string a spec uses to pick it (``plugin = "co-attention"``);
* ``Params``: a pydantic model (``extra="forbid"``) validating its params, so
  ``erc-bench validate`` can check a spec without building anything heavy.

and is constructed as ``Component(params)`` with an instance of ``Params``.
Heavy imports (torch, transformers, SDKs) happen inside methods.

Optional abilities a component may add (a preflight check, a cost estimate,
loading a checkpoint, a ``fingerprint()`` adding to its identity) are small
Protocols in ``erc_bench.core.capabilities``; the engine asks
``isinstance(component, Capability)``, never for a param name. A component's
identity in cache keys and leaderboard digests (``erc_bench.core.code_identity``)
is its plugin name, validated params, distribution and version, and for a
working-tree install the digest of its sources, so no component has to say
which code it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from erc_bench.core.modules import (  # noqa: F401 - re-exported: what the module kinds build and receive
    ContextModule,
    ConversationBatch,
    FusionModule,
    SpeechHeadModule,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np
    import torch

SPLITS: tuple[str, ...] = ("train", "validation", "test")
SENTIMENT_LABELS: tuple[str, ...] = ("positive", "negative", "neutral")
SAMPLE_RATE = 16_000


class NoParams(BaseModel):
    """Params model for components that take none; still rejects unknown keys."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class AudioSource:
    """Where an utterance's audio lives: a file, optionally a clip within it (seconds)."""

    path: str
    start: float | None = None
    end: float | None = None


@dataclass
class Utterance:
    id: str
    conversation_id: str
    position: int
    text: str
    label: str | None
    speaker: str | None = None
    audio: AudioSource | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    id: str
    utterances: list[Utterance]


@dataclass(frozen=True)
class Problem:
    """A defect found in a corpus: reported and counted, never silently dropped."""

    kind: str  # e.g. "missing-audio", "unreadable-audio", "empty-text", "unknown-label"
    item_id: str
    detail: str = ""


@dataclass
class DatasetSplits:
    """A labelled corpus split by conversation into train / validation / test.

    ``majority_label``: a class the corpus's scoring convention leaves out (DailyDialog's "no emotion");
    when set, every stage also reports ``micro_f1_excl_majority`` (micro F1 over the other classes)."""

    name: str
    labels: list[str]
    splits: dict[str, list[Conversation]]
    problems: list[Problem] = field(default_factory=list)
    majority_label: str | None = None

    def utterances(self, split: str) -> list[Utterance]:
        return [u for c in self.splits.get(split, []) for u in c.utterances]


@dataclass
class Transcript:
    text: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


LabelStatus = Literal["ok", "unparsable", "failed"]


@dataclass
class LabelOutcome:
    """A labeller's answer for one transcript. ``label`` is None unless status is ok."""

    label: str | None
    status: LabelStatus = "ok"
    raw: str = ""
    detail: str = ""


# ---------------------------------------------------------------------- protocols


@runtime_checkable
class Component(Protocol):
    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]]

    def __init__(self, params: Any) -> None: ...


@runtime_checkable
class Dataset(Component, Protocol):
    """Yields conversations with their split. ``load`` raises DataError on a bad root."""

    def load(self) -> DatasetSplits: ...


@runtime_checkable
class ASR(Component, Protocol):
    def transcribe(self, waveforms: Iterable[np.ndarray]) -> Iterable[Transcript]:
        """Transcribe 16 kHz mono float32 waveforms, in order."""
        ...


@runtime_checkable
class Labeller(Component, Protocol):
    def label(self, texts: list[str]) -> list[LabelOutcome]:
        """One outcome per text, in order: positive / negative / neutral, or an explicit failure."""
        ...


@runtime_checkable
class TextClassifierModule(Protocol):
    """A torch module: ``forward(texts) -> (logits [B, C], features [B, H])``."""

    feature_dim: int

    def __call__(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]: ...


@runtime_checkable
class TextEncoder(Component, Protocol):
    def build_classifier(self, num_labels: int) -> TextClassifierModule:
        """A fine-tunable encoder with a classification head; hidden layer = utterance feature."""
        ...


@runtime_checkable
class SpeechEncoder(Component, Protocol):
    def encode(self, waveforms: list[np.ndarray]) -> list[np.ndarray]:
        """Frozen embeddings, one per waveform: shape (D,) or (layers, D)."""
        ...


@runtime_checkable
class ContextModel(Component, Protocol):
    def build(self, input_dim: int, num_labels: int) -> ContextModule:
        """A module over one modality's conversations of ``input_dim``-wide frozen Stage I features."""
        ...


@runtime_checkable
class FusionHead(Component, Protocol):
    def build(self, dims: Mapping[str, int], num_labels: int) -> FusionModule:
        """A module fusing the modalities in ``dims`` (modality -> width of its frozen Stage II features, in
        the order the batch holds them: ``{"text": Dt, "speech": Ds}`` for MERITS-L)."""
        ...


@runtime_checkable
class SpeechHead(Component, Protocol):
    def build(self, layers: int | None, input_dim: int, num_labels: int, mean: Any = None,
              std: Any = None) -> SpeechHeadModule:
        """Stage I module over frozen speech embeddings ``(D,)`` (``layers`` None) or ``(layers, D)``:
        ``forward(x) -> (logits [B,C], features [B,H])`` with attribute ``feature_dim``; ``mean``/``std``
        are the training split's per-dimension statistics, for heads that standardise. Optimiser settings a
        head's authors fixed belong in the spec (``[training.stage1.speech]``), where they are logged and
        keyed, not in the head."""
        ...


@dataclass
class SystemContext:
    """What a whole system is given besides its data: the run's seed (seed every generator from it), the
    device (``"cpu"`` or ``"cuda"``), a folder of its own in the run's cache for anything worth keeping
    across runs (API answers, downloaded models), and ``progress(done, total)`` for long loops (or None)."""

    seed: int
    device: str
    cache_dir: str
    progress: Any = None


@runtime_checkable
class System(Component, Protocol):
    """A whole ERC system that is not staged like MERITS-L (an LLM that labels each utterance from its
    conversation, a model a third party trains its own way). The engine gives ``fit`` the train and
    validation splits only (selection on validation is the system's business), then asks ``predict`` for
    the validation and test conversations with their labels removed, scores the answers, caches and logs
    them like any stage; leaderboard, ``compare`` and the report show it like any system."""

    def fit(self, data: DatasetSplits, context: SystemContext) -> None:
        """Learn from ``data.splits["train"]`` (and ``["validation"]``); ``data.labels`` is the label set."""
        ...

    def predict(self, conversations: list[Conversation], context: SystemContext) -> dict[str, str]:
        """Utterance id -> one of ``data.labels`` for every utterance it can label (the others count as
        missed); labels are absent from the utterances it is given."""
        ...


@runtime_checkable
class StagedSystem(Protocol):
    """A system the engine runs as a staged recipe (MERITS-L: pre-training, Stages I-III, each cached and
    logged as its own nested run) rather than through ``fit`` / ``predict``; ``run_benchmark`` and
    ``predict`` recognise it by these two methods, never by its name."""

    def recipe(self, loaded: Any, console: Any) -> Any:
        """The runner (a ``runs.benchmark.BenchmarkRun``) whose ``run(tracking_uri, cache_dir, limit)`` runs
        the spec ``loaded``."""
        ...

    def predict_saved(self, manifest: dict[str, Any], conversations: list[Any], cache: Any,
                      progress: Any = None) -> list[Any]:
        """``erc-bench predict``: one dataset-seed run's system (its ``system.json`` ``manifest``) rebuilt
        from the cache and applied to ``conversations``; a list of ``runs.predict.Prediction``."""
        ...


# --------------------------------------------------------------------- the kinds


@dataclass(frozen=True)
class Kind:
    """One kind of component: the spec/registry key, the Protocol a class must meet (or, where given, the
    alternative Protocol), its pluggy hook."""

    name: str
    protocol: type
    hook: str
    description: str
    alternative: type | None = None


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("dataset", Dataset, "erc_bench_register_datasets", "datasets (corpora split into train/validation/test)"),
    Kind("asr", ASR, "erc_bench_register_asr", "speech recognisers"),
    Kind("labeller", Labeller, "erc_bench_register_labellers", "transcript labellers (silver sentiment labels)"),
    Kind("text_encoder", TextEncoder, "erc_bench_register_text_encoders", "fine-tunable text encoders"),
    Kind("speech_encoder", SpeechEncoder, "erc_bench_register_speech_encoders", "frozen speech encoders"),
    Kind("context_model", ContextModel, "erc_bench_register_context_models", "conversation context models"),
    Kind("fusion_head", FusionHead, "erc_bench_register_fusion_heads", "modality fusion heads"),
    Kind("speech_head", SpeechHead, "erc_bench_register_speech_heads", "Stage I speech heads"),
    Kind("system", System, "erc_bench_register_systems", "whole systems (fit on train/validation, predict test)",
         alternative=StagedSystem),
)}
"""The one table of component kinds. Iterating it gives the kind names; hookspecs, registries and the
spec's component slots are all derived from it, so a new kind is added here and nowhere else."""

PROTOCOLS: dict[str, type] = {name: kind.protocol for name, kind in KINDS.items()}
