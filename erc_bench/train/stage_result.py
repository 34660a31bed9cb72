"""What one training stage returns, and its cache round trip.

A ``StageResult`` carries everything the next stage and the report need:
metrics, per-utterance predictions and confusion matrices per split, the output
features of every utterance (all splits, for the next stage), the training
history, the selected epoch and the selected weights. ``to_cache`` writes it as
one cache directory (``result.json``, ``features.npz``, ``state_dict.pt``)
renamed into place atomically, so a killed run never leaves half an entry; its
manifest (sizes and digests) is verified on every read, and an entry that
fails, or does not load, is quarantined and the stage trained again.
"""

from __future__ import annotations

import json
import pickle
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

    from erc_bench.core.cache import Cache

CACHE_NAMESPACE = "stages"
_FORMAT = 2  # 2: the build card


@dataclass
class StageResult:
    """The outcome of one stage trainer.

    ``metrics[split]``: ``weighted_f1``, ``accuracy``, ``f1/<label>``, ``n`` (fractions 0-1, ``n`` a count).
    ``predictions[split]``: ``(utterance id, gold label, predicted label)`` in corpus order.
    ``confusion[split]``: counts, rows gold / columns predicted, in ``labels`` order.
    ``features``: utterance id -> this stage's output feature, for every scored utterance of every split.
    ``history``: one record per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``val_weighted_f1``, ``val_accuracy``
    (logged to MLflow as ``epoch/train/loss`` etc.: see ``erc_bench.tracking.run_log``).
    ``best_epoch``: 1-based epoch whose weights were selected (by validation weighted F1 only).
    ``missing[split]``: ids left out because an input feature (text, audio embedding) was missing.
    ``unlabelled[split]``: count of utterances left out because they carry no label.
    ``extras``: JSON-able stage-specific facts (e.g. the speech head's learned ``layer_weights``).
    ``card``: how to build the stage's network again (network, components with their params, sizes), so that
    ``predict`` rebuilds it through the function training used (``recipes/merits_l/networks.py``).
    """

    stage: str
    labels: list[str]
    metrics: dict[str, dict[str, float]]
    predictions: dict[str, list[tuple[str, str, str]]]
    confusion: dict[str, list[list[int]]]
    features: dict[str, np.ndarray]
    best_epoch: int
    history: list[dict[str, Any]]
    state_dict: dict[str, Any]
    missing: dict[str, list[str]] = field(default_factory=dict)
    unlabelled: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    extras: dict[str, Any] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def n_missing(self) -> int:
        """Utterances excluded because a feature they need was missing (all splits)."""
        return sum(len(ids) for ids in self.missing.values())

    @property
    def feature_dim(self) -> int:
        first = next(iter(self.features.values()), None)
        return 0 if first is None else int(first.shape[-1])

    def summary(self) -> dict[str, Any]:
        """The JSON-able part (everything but features and weights)."""
        return {"format": _FORMAT, "stage": self.stage, "labels": self.labels, "metrics": self.metrics,
                "predictions": {s: [list(p) for p in rows] for s, rows in self.predictions.items()},
                "confusion": self.confusion, "best_epoch": self.best_epoch, "history": self.history,
                "missing": self.missing, "unlabelled": self.unlabelled, "seconds": self.seconds,
                "extras": self.extras, "card": self.card}

    # ------------------------------------------------------------------ cache
    def to_cache(self, cache: Cache, key: str) -> Path:
        """Store under ``(stages, key)``; the caller's key identifies inputs, components, config and seed."""
        import numpy as np
        import torch

        with tempfile.TemporaryDirectory(prefix="erc-stage-") as tmp:
            folder = Path(tmp)
            (folder / "result.json").write_text(json.dumps(self.summary()), encoding="utf-8")
            ids = list(self.features)
            matrix = np.stack([self.features[i] for i in ids]) if ids else np.zeros((0, 0), dtype=np.float32)
            with (folder / "features.npz").open("wb") as fh:
                np.savez(fh, ids=np.array(ids, dtype=str), features=matrix)
            torch.save({k: v.detach().cpu() if hasattr(v, "detach") else v for k, v in self.state_dict.items()},
                       folder / "state_dict.pt")
            return cache.put_dir(CACHE_NAMESPACE, key, folder, meta={"stage": self.stage})

    @classmethod
    def from_cache(cls, cache: Cache, key: str) -> StageResult | None:
        """The stored result, or None when absent (or written by an incompatible version)."""
        import numpy as np
        import torch

        folder = cache.get_dir(CACHE_NAMESPACE, key, adopt=False)  # verified against its manifest, if any
        if folder is None:
            return None
        reading = "result.json"
        try:
            summary = json.loads((folder / reading).read_text(encoding="utf-8"))
            if summary.get("format") != _FORMAT:
                return None  # an incompatible version's entry: recomputed, and ``put_dir`` replaces it
            reading = "features.npz"
            with np.load(folder / reading, allow_pickle=False) as arrays:
                ids = [str(i) for i in arrays["ids"]]
                matrix = arrays["features"]
                features = {i: matrix[n] for n, i in enumerate(ids)}
            reading = "state_dict.pt"
            state_dict = torch.load(folder / reading, map_location="cpu", weights_only=True)
        except (OSError, ValueError, KeyError, RuntimeError, EOFError, AttributeError, zipfile.BadZipFile,
                pickle.UnpicklingError) as exc:
            cache.reject(CACHE_NAMESPACE, key, ".dir", f"{reading}: does not load ({type(exc).__name__})")
            return None
        cache.adopt(CACHE_NAMESPACE, key, ".dir")  # an older version's entry that loads: trusted from now on
        return cls(stage=summary["stage"], labels=summary["labels"], metrics=summary["metrics"],
                   predictions={s: [tuple(p) for p in rows] for s, rows in summary["predictions"].items()},
                   confusion=summary["confusion"], features=features, best_epoch=summary["best_epoch"],
                   history=summary["history"], state_dict=state_dict, missing=summary["missing"],
                   unlabelled=summary["unlabelled"], seconds=summary["seconds"],
                   extras=summary.get("extras", {}), card=summary.get("card", {}))
