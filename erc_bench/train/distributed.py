"""Data-parallel training across processes: ``accelerate launch`` or ``torchrun`` around ``erc-bench run``.

Both launchers start one process per GPU (or per CPU slot) with ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR/PORT`` set; ``init_from_env``
joins them into one process group (NCCL on GPUs, gloo on CPU). Every process runs
the same recipe on the same data in the same order; the training loop gives each
its shard of every global batch and DDP averages the gradients, so a run on N
processes follows the single-process run with the same global batch. Only the
main process (rank 0) logs to MLflow and writes the cache; the others compute
the same results and discard them. Without a launcher nothing here does
anything, and nothing imports torch.distributed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from erc_bench.core.cache import Cache


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    """True in a single process and in rank 0 of a launched group: the one that logs and writes."""
    return rank() == 0


def init_from_env() -> bool:
    """Join the launcher's process group once; True when running data-parallel."""
    if world_size() <= 1:
        return False
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))  # "cuda" now means this rank's GPU
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return True


def active() -> bool:
    if world_size() <= 1:
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def broadcast_parameters(model: Any) -> None:
    """Every process starts from rank 0's weights (seeding makes them equal already; this makes it certain)."""
    if not active():
        return
    import torch.distributed as dist

    for tensor in model.state_dict().values():
        dist.broadcast(tensor, src=0)


def all_reduce_gradients(parameters: list[Any]) -> None:
    """Sum the gradients over processes in one flat buffer (each process's losses are already weighted by its
    share of the global batch, so the sum is the global batch's gradient). Done per update, not per micro-batch,
    so processes may hold different numbers of micro-batches."""
    import torch
    import torch.distributed as dist

    grads = []
    for param in parameters:
        if param.grad is None:
            param.grad = torch.zeros_like(param)
        grads.append(param.grad)
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    offset = 0
    for grad in grads:
        grad.copy_(flat[offset:offset + grad.numel()].view_as(grad))
        offset += grad.numel()


def sum_over_processes(value: float) -> float:
    """The sum of ``value`` over every process (itself when single-process)."""
    if not active():
        return value
    import torch
    import torch.distributed as dist

    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return float(tensor.item())


def shard(items: list[Any]) -> list[Any]:
    """This process's contiguous share of a global batch (shares differ by at most one item)."""
    size, index = world_size(), rank()
    if size <= 1:
        return items
    per, extra = divmod(len(items), size)
    start = index * per + min(index, extra)
    return items[start:start + per + (1 if index < extra else 0)]


class SilentTracker:
    """What a non-main process logs to: nothing (rank 0 logs the run once)."""

    logs = False  # code that talks to MLflow beyond the log_* calls checks this (``Tracker.logs`` is True)

    def __init__(self, uri: str | None, experiment: str) -> None:
        self.uri, self.experiment, self.experiment_id = uri or "", experiment, ""

    def artifact_uri(self, artifact_file: str) -> str:
        return ""

    @contextlib.contextmanager
    def run(self, name: str, tags: dict[str, str] | None = None, nested: bool = False) -> Iterator[str]:
        yield ""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("log_") or name == "set_tags":
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def process_cache(root: str | Path | None) -> Cache:
    """The cache this process uses: the shared one on the main process; on the others a view that reads the
    shared cache and writes a private scratch folder, so only rank 0 ever writes the shared cache."""
    if is_main():
        return Cache(root)
    scratch = Path(tempfile.mkdtemp(prefix=f"erc-bench-rank{rank()}-"))
    atexit.register(shutil.rmtree, scratch, True)  # what this rank computed is rank 0's to keep, not ours
    return _ScratchOverlay(Cache(root), scratch)


class _ScratchOverlay(Cache):
    def __init__(self, shared: Cache, scratch: Path) -> None:
        super().__init__(scratch)
        self.shared = shared

    def get_bytes(self, namespace: str, key: str, suffix: str = ".bin") -> bytes | None:
        own = super().get_bytes(namespace, key, suffix)
        return own if own is not None else self.shared.get_bytes(namespace, key, suffix)

    def get_dir(self, namespace: str, key: str, adopt: bool = True) -> Path | None:
        return super().get_dir(namespace, key, adopt) or self.shared.get_dir(namespace, key, adopt)
