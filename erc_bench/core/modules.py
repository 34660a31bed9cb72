"""What the module kinds build and receive: the ``ConversationBatch`` of Stages II and III, and the typed
contracts of the torch modules that context models, fusion heads and speech heads build.

Plain types, no torch at import (annotations only), like ``interfaces``, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


@dataclass
class ConversationBatch:
    """What a context model (Stage II) and a fusion head (Stage III) receive: a batch of whole conversations.

    Row ``b`` is one conversation, column ``t`` its ``t``-th scored utterance in order; shorter conversations
    are padded at the end. Every tensor is on the run's device:

    * ``features``: modality (``"text"``, ``"speech"``) -> ``float32 [B, T, D]``, zero at padding. A context
      model gets its one modality (``batch.x``); a fusion head gets every modality it fuses.
    * ``mask``: ``bool [B, T]``, True at a real utterance. Nothing at a padded position may change an output
      at a real one (losses and scores read only real positions).
    * ``speakers``: ``int64 [B, T]``, who speaks, numbered within the conversation in order of first turn
      (0 = whoever speaks first, 1 = the next new voice, ...); ``-1`` where the corpus does not say, and at
      padding. Consistently renaming speakers leaves these indices unchanged.
    * ``positions``: ``int64 [B, T]``, each utterance's position in its conversation as the corpus numbers it
      (gaps where an utterance lacks an input); ``-1`` at padding.
    """

    features: dict[str, torch.Tensor]
    mask: torch.Tensor
    speakers: torch.Tensor
    positions: torch.Tensor

    @property
    def x(self) -> torch.Tensor:
        """The one modality's features (what a context model reads)."""
        if len(self.features) != 1:
            raise ValueError(f"batch.x: the batch holds {sorted(self.features)}; read batch.features[name]")
        return next(iter(self.features.values()))

    def with_features(self, features: dict[str, torch.Tensor]) -> ConversationBatch:
        """The same conversations (mask, speakers, positions) with other features."""
        return ConversationBatch(features, self.mask, self.speakers, self.positions)


class ContextModule(Protocol):
    """The module a context model builds: ``(logits [B,T,C], features [B,T,H])`` per utterance, and
    ``feature_dim = H`` (what Stage III receives)."""

    feature_dim: int

    def __call__(self, batch: ConversationBatch) -> tuple[torch.Tensor, torch.Tensor]: ...


class FusionModule(Protocol):
    """The module a fusion head builds: ``logits [B,T,C]`` from the batch's modalities."""

    def __call__(self, batch: ConversationBatch) -> torch.Tensor: ...


class SpeechHeadModule(Protocol):
    """The Stage I module over frozen speech embeddings: ``x [B,D]`` or ``[B,layers,D]`` ->
    ``(logits [B,C], features [B,H])``, ``feature_dim = H``."""

    feature_dim: int

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...
