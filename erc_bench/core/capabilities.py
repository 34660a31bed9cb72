"""Optional abilities a component may have beyond its kind's Protocol, each a small Protocol.

The engine asks ``isinstance(component, Preflight)`` and calls the method; it
never probes with ``getattr`` and never reads a plugin's params (a plugin's
param names are the plugin's business). A component that lacks a capability
simply gets the engine's default behaviour, named in each docstring.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Fingerprinted(Protocol):
    """A component that adds to its identity what its params cannot say (e.g. the digest of a checkpoint a
    param points at). The engine's identity of a component (plugin, validated params, distribution, version
    and, for a working-tree install, its sources' digest: ``erc_bench.core.code_identity``) is complete
    without it; default: nothing added."""

    def fingerprint(self) -> str: ...


@runtime_checkable
class Preflight(Protocol):
    """Checks its prerequisites (an API key, a server) before hours of other work; default: none."""

    def check_ready(self) -> None:
        """Raise a ``UserError`` naming what is missing."""
        ...


@runtime_checkable
class CostEstimate(Protocol):
    """What a dry run prints: requests, tokens, price."""

    def summary(self) -> str: ...


@runtime_checkable
class CostEstimating(Protocol):
    """A labeller that can say what labelling ``texts`` would send and cost; default: local, free."""

    def estimate(self, texts: list[str]) -> CostEstimate: ...


@runtime_checkable
class UsageReporting(Protocol):
    """A labeller that counts what it sent (requests, tokens, cost) for the run's summary; default: nothing."""

    usage: Any  # has ``as_dict() -> dict``


@runtime_checkable
class ChunkedLabelling(Protocol):
    """A labeller that wants texts in chunks of its own size (a provider batch takes them all at once)."""

    def label_chunk(self, total: int) -> int:
        """Texts per ``label`` call when ``total`` are to be labelled; the engine's default is 512."""
        ...


@runtime_checkable
class Describing(Protocol):
    """A component with a short human-readable name for tables (plugin and model); default: its ``name``."""

    def describe(self) -> str: ...


@runtime_checkable
class LabelledClassifier(Protocol):
    """A text encoder whose classifier takes the label names (a checkpoint can then keep its output layer
    when the labels match); default: ``build_classifier(len(labels))``."""

    def build_labelled_classifier(self, labels: Sequence[str]) -> Any: ...


@runtime_checkable
class SavesPretrained(Protocol):
    """A text classifier that saves itself as a directory its encoder can load again; default: the state dict
    as ``classifier.pt``."""

    def save_pretrained(self, directory: Any) -> Any: ...


@runtime_checkable
class LoadsCheckpoint(Protocol):
    """A text encoder that can be pointed at the checkpoint LLM-guided pre-training saved.

    Without it the recipe cannot hand the pre-trained weights on and says so
    (``model.use_pretrained_text = false`` runs without them).
    """

    def checkpoint_params(self, checkpoint: str) -> dict[str, Any]:
        """This component's params, changed to load the weights saved in ``checkpoint``."""
        ...


@runtime_checkable
class PartiallyTrainable(Protocol):
    """A classifier that can freeze all but its top encoder layers (``training.train_layers``); without it
    that setting is refused with one line."""

    def train_top_layers(self, count: int) -> int:
        """Freeze every encoder layer below the top ``count`` (0: only the head trains); returns the count."""
        ...


@runtime_checkable
class FrozenEncoderSplit(Protocol):
    """A classifier whose encoder, frozen (``train_layers = 0``), is a feature extractor: ``encode(texts)``
    runs the encoder alone (the engine calls it once per text, in eval mode, without gradients, and caches
    the result) and ``trainable_head()`` is the module that trains on those encodings,
    ``head(encodings) -> (logits, features)``, sharing its parameters (and their state-dict names) with the
    classifier. Without it a frozen encoder still runs in every batch of every epoch."""

    def encode(self, texts: Sequence[str]) -> Any: ...

    def trainable_head(self) -> Any: ...


@runtime_checkable
class ReportsLayerWeights(Protocol):
    """A speech head with learnt weights over encoder layers, logged beside its stage's scores; default: none."""

    def layer_weights(self) -> list[float]: ...


@runtime_checkable
class KeepsLabelStore(Protocol):
    """A labeller that keeps its answers in a label store on disk; the engine offers the run's cache
    (``--cache-dir``) as its place, which the labeller uses unless its spec names one; default: no store."""

    def place_label_store(self, path: str) -> None: ...


@runtime_checkable
class BacksUpLabelStore(Protocol):
    """A labeller whose store is backed up after a successful labelling run; returns a line worth showing
    (e.g. how many questions were asked again because a damaged store lost their answers) or None."""

    def finish_labelling(self) -> str | None: ...


@runtime_checkable
class ThreadBudgeted(Protocol):
    """A component whose CPU thread count is a setting: a Ray actor gives it the CPUs Ray reserved for the
    actor rather than letting it use the whole node's; default: the component's own choice."""

    def params_for_threads(self, threads: int) -> dict[str, Any]:
        """This component's params for an actor with ``threads`` CPUs (an explicit setting stays)."""
        ...


@runtime_checkable
class Batched(Protocol):
    """A speech component that processes ``batch_size`` clips per call; the engine streams audio in
    chunks of at least that many (default: 16)."""

    @property
    def batch_size(self) -> int: ...


@runtime_checkable
class Persistent(Protocol):
    """A whole system that can save what ``fit`` learned and load it again, so ``erc-bench predict`` can apply
    a trained run to new conversations; default: the system is used as built (a system without learned state,
    such as a zero-shot LLM classifier)."""

    def save(self, directory: str) -> None: ...

    def load(self, directory: str) -> None: ...


@runtime_checkable
class StreamsAudio(Protocol):
    """A speech encoder that featurises one clip given as consecutive windows of 16 kHz samples (any sizes),
    with the same result as ``encode([whole clip])``: the engine then never decodes a long clip whole;
    default: a long clip is decoded whole (or only the span ``ReadsSpan`` names)."""

    def encode_stream(self, windows: Iterable[Any]) -> Any: ...


@runtime_checkable
class ReadsSpan(Protocol):
    """A speech encoder that uses only part of a long clip (e.g. Whisper's centre 30 s): given the clip's
    length in samples and ``head(n)`` (its first n samples, decoded on demand), the [start, end) samples it
    would keep, or None for all; the engine decodes only that span. Default: the whole clip."""

    def input_span(self, samples: int, head: Callable[[int], Any]) -> tuple[int, int] | None: ...


@runtime_checkable
class SpeakerAware(Protocol):
    """A context model, fusion head or whole system whose predictions depend on who is speaking (DialogueRNN's
    party states, DialogueGCN's speaker relations, speaker embeddings). The MERITS-L paper leaves such systems
    out of its comparison, so the leaderboard, report and ``compare`` mark them; on a corpus that names no
    speakers the run says so and every utterance counts as one speaker's. Default: not speaker-aware."""

    def uses_speaker_identity(self) -> bool: ...


@runtime_checkable
class ReportsMetrics(Protocol):
    """A whole system that counts something about its last ``predict`` call worth logging beside the scores (an
    LLM system's fallbacks to the majority label, its unparsable answers): the engine adds them to that split's
    metrics (MLflow ``system/<split>/<name>``, the stage result and its cache) under names that are not a
    score's; default: nothing added."""

    def metrics(self) -> dict[str, float]: ...


@runtime_checkable
class DisplayNamed(Protocol):
    """A whole system that names itself in tables ("LLM 8-shot (gpt-4o-mini)"): its runs are tagged with this
    name instead of the spec's ``benchmark.name`` (which still names the experiment), so the leaderboard,
    ``compare`` and the report show it; default: ``benchmark.name``."""

    def display_name(self) -> str: ...


@runtime_checkable
class SystemCostEstimating(Protocol):
    """A whole system that sends paid requests and can say what a run would send and cost, sending nothing
    (``erc-bench run SPEC --dry-run``): given a corpus (validation and test labels removed) and the spec's
    seeds; default: the dry run says the system has nothing to estimate."""

    def estimate_cost(self, data: Any, seeds: Sequence[int], context: Any) -> CostEstimate: ...
