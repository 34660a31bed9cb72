"""Small helpers shared by the speech encoders; torch is imported inside the functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from erc_bench import SAMPLE_RATE

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np


def centre_crop(wav: np.ndarray, max_seconds: float) -> np.ndarray:
    """Keep the middle ``max_seconds`` of a clip: deterministic, and emotion cues rarely sit only at the edges."""
    limit = int(max_seconds * SAMPLE_RATE)
    if wav.size <= limit:
        return wav
    start = (wav.size - limit) // 2
    return wav[start:start + limit]


def centre_span(samples: int, max_seconds: float) -> tuple[int, int] | None:
    """The [start, end) ``centre_crop`` keeps of a clip of ``samples`` (None: all of it), so the engine
    decodes only that stretch of a long clip (the ``ReadsSpan`` capability)."""
    limit = int(max_seconds * SAMPLE_RATE)
    if samples <= limit:
        return None
    start = (samples - limit) // 2
    return start, start + limit


def length_batches(sizes: list[int], batch_size: int, bucket: int | None = None) -> list[list[int]]:
    """Indexes grouped into batches of similar length (shortest first).

    With ``bucket`` (samples), a batch only holds clips whose lengths round up to
    the same multiple of ``bucket``, and callers pad every clip to that multiple:
    for encoders without a padding mask, a clip's embedding then depends on the
    clip alone, never on its batch neighbours, so cached embeddings are reproducible.
    """
    order = sorted(range(len(sizes)), key=lambda i: sizes[i])
    if bucket is None:
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    groups: dict[int, list[int]] = {}
    for i in order:
        groups.setdefault(bucket_width(sizes[i], bucket), []).append(i)
    return [members[i:i + batch_size] for _, members in sorted(groups.items())
            for i in range(0, len(members), batch_size)]


def bucket_width(size: int, bucket: int) -> int:
    """``size`` rounded up to a whole number of buckets (at least one)."""
    return max(1, -(-size // bucket)) * bucket
