"""Small helpers shared by the speech encoders; torch is imported inside the functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erc_bench.interfaces import SAMPLE_RATE

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np


def torch_device(device: str) -> Any:
    """``auto`` is CUDA when torch sees a GPU, else CPU."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def centre_crop(wav: np.ndarray, max_seconds: float) -> np.ndarray:
    """Keep the middle ``max_seconds`` of a clip: deterministic, and emotion cues rarely sit only at the edges."""
    limit = int(max_seconds * SAMPLE_RATE)
    if wav.size <= limit:
        return wav
    start = (wav.size - limit) // 2
    return wav[start:start + limit]
