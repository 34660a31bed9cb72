"""The one place that decides where torch computations run.

``auto`` is CUDA when torch sees a GPU, else CPU; an explicit ``cuda`` on a
machine without one is a user error (one line), not a crash deep inside a model.
torch is imported inside the function so plugins can import this cheaply.
"""

from __future__ import annotations

from typing import Any

from erc_bench.core.errors import UserError


def resolve_device(device: Any) -> Any:
    """Return a ``torch.device`` for ``auto`` / ``cpu`` / ``cuda[:n]`` (or a torch.device)."""
    import torch

    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' was requested but no CUDA device is available; use device = \"auto\"")
    return resolved
