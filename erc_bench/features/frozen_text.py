"""A frozen text encoder is a feature extractor: encode every text once, cache it, train only the head.

With ``training.stage1.train_layers = 0`` nothing in the encoder learns, yet the
classifier used to run it in every batch of every epoch (77-108 s per epoch on
the real MELD CSVs with MiniLM on a CPU). When the classifier can split at its
encoder (``FrozenEncoderSplit``), ``frozen_encodings`` runs the encoder once per
text (eval mode: a feature extractor has no dropout; no gradients) and keeps the
result in the cache like speech embeddings, keyed by the encoder component's
identity (plugin, validated params, code) and the digest of the texts, so the
stage's seeds, its reruns and other specs with the same encoder compute nothing.
Selection is unchanged: validation only, test evaluated once with the selected head.

Texts are encoded longest first in batches of ``ENCODE_BATCH`` (a constant in the
key: padding changes the last bits of a padded batch's output).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from erc_bench.core.cache import Cache, canonical_json, digest_text
from erc_bench.core.plugin_host import identity_of
from erc_bench.core.progress import as_callback

NAMESPACE = "frozen-text-encodings"
ENCODE_BATCH = 64
FORMAT = 1
"""Part of the key of the encodings and of the Stage I text result that trains on them (``merits_l``)."""


def frozen_encodings(classifier: Any, encoder: Any, texts: Mapping[str, str], ids: Sequence[str],
                     cache: Cache | None = None, progress: Any = None) -> dict[str, Any]:
    """``{utterance id: float32 encoding}`` for ``ids``, read from ``cache`` or computed once and stored there.

    ``progress``: a rich ``Progress`` (a task counting batches is added) or anything else (ignored: the
    stage's per-epoch callback has another signature).
    """
    import numpy as np

    order = sorted(set(ids))
    key = Cache.key(NAMESPACE, str(getattr(encoder, "name", type(encoder).__name__)),
                    {"format": FORMAT, "batch": ENCODE_BATCH, "encoder": identity_of(encoder)},
                    digest_text(canonical_json([[uid, texts[uid]] for uid in order])))
    matrix = cache.get_array(NAMESPACE, key) if cache is not None else None
    if matrix is None or matrix.shape[0] != len(order):
        matrix = _encode(classifier, [texts[uid] for uid in order],
                         as_callback(progress, "encoding texts (frozen encoder)")
                         if hasattr(progress, "add_task") else None)
        if cache is not None:
            cache.put_array(NAMESPACE, key, matrix, meta={"n": len(order)})
    return {uid: np.asarray(matrix[n], dtype=np.float32) for n, uid in enumerate(order)}


def _encode(classifier: Any, texts: list[str], report: Any) -> Any:
    """Encodings in the texts' order, on the classifier's device, longest texts batched together."""
    import numpy as np
    import torch

    was_training = classifier.training
    classifier.eval()
    by_length = sorted(range(len(texts)), key=lambda n: (-len(texts[n]), n))
    out: list[Any] = [None] * len(texts)
    batches = -(-len(texts) // ENCODE_BATCH)
    try:
        with torch.inference_mode():
            for b in range(batches):
                chunk = by_length[b * ENCODE_BATCH:(b + 1) * ENCODE_BATCH]
                encoded = classifier.encode([texts[n] for n in chunk]).float().cpu().numpy()
                for row, n in enumerate(chunk):
                    out[n] = encoded[row]
                if report is not None:
                    report(b + 1, batches)
    finally:
        classifier.train(was_training)
    return np.stack(out).astype(np.float32) if out else np.zeros((0, 0), dtype=np.float32)
