"""``StageContext``: what every stage trainer needs besides its own inputs, decided once.

A trainer used to take ``data, cfg, seed, device, progress`` and resolve the
device and seed the generators itself, each in its own way. Now the recipe (or a
trainer called directly) makes one context per (dataset, seed): the corpus, the
stage's optimiser settings, the seed, the device (resolved here, once: ``auto``
becomes CUDA or CPU, an unavailable ``cuda`` is a one-line user error) and the
progress display; ``with_settings`` hands the same context to the next stage.
``begin()`` seeds python, numpy and torch from the context's seed: every trainer
calls it before it builds its model, so a stage's result depends only on its
inputs and seed, never on which stages ran (or were read from the cache) before.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from erc_bench.core.interfaces import DatasetSplits
    from erc_bench.core.spec import StageTraining


def seed_everything(seed: int) -> None:
    """Seed python, numpy, torch (CPU and every CUDA device); deterministic cuDNN."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


@dataclass(frozen=True)
class StageContext:
    """``data``: the corpus; ``settings``: the stage's optimiser settings; ``device``: a ``torch.device``;
    ``progress``: a rich ``Progress``, a ``callback(stage, epoch_record)`` or None."""

    data: DatasetSplits
    settings: StageTraining
    seed: int
    device: Any
    progress: Any = None

    @classmethod
    def create(cls, data: DatasetSplits, settings: StageTraining, seed: int, device: Any = "auto",
               progress: Any = None) -> StageContext:
        """Resolve ``device`` (``auto`` / ``cpu`` / ``cuda[:n]`` / a ``torch.device``) once for this context."""
        from erc_bench.core.devices import resolve_device

        return cls(data, settings, seed, resolve_device(device), progress)

    def with_settings(self, settings: StageTraining) -> StageContext:
        return dataclasses.replace(self, settings=settings)

    @property
    def labels(self) -> list[str]:
        return list(self.data.labels)

    def begin(self) -> None:
        """Seed every generator from ``seed``: called by each trainer before it builds its model."""
        seed_everything(self.seed)
