"""What a large encoder needs from the training loop: schedule, accumulation, clipping, precision, early stop.

RoBERTa-large fine-tuning is unstable without a warm-up and clipped gradients,
needs accumulation to reach batch 32 on one GPU, and is twice as fast in bf16;
the small Stage II/III heads need none of it. ``UpdatePlan`` keeps all of that
out of the loop's body: the loop asks it for an autocast context, hands it each
micro-batch loss with that micro-batch's share of the update, and calls
``step`` once per update. ``EarlyStop`` counts epochs without a validation gain.

Defaults reproduce plain AdamW at a constant rate (the paper's stated setting);
the training section turns each piece on.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

    from erc_bench.core.spec import StageTraining


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto``: bf16 on a CUDA device that supports it, else fp16 on CUDA; never on CPU (slow and lossy there)."""
    import torch

    if precision == "auto":
        if device.type != "cuda":
            return "no"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return precision


def lr_factor(update: int, total: int, warmup: int, schedule: str) -> float:
    """Multiplier of the base rate at optimiser update ``update`` (0-based): linear warm-up, then constant or
    linear decay to zero at the last update."""
    if warmup and update < warmup:
        return (update + 1) / warmup
    if schedule == "linear":
        return max(0.0, (total - update) / max(1, total - warmup))
    return 1.0


class UpdatePlan:
    """Optimiser, schedule, gradient scaling and clipping for one ``fit``, or for a loop of its own that counts
    updates rather than epochs (CARE pre-training: ``total_updates``).

    ``clip_groups``, when given, are the parameters (``parameters`` is then ignored) in groups whose gradient
    norms are clipped separately: CARE's authors train two optimisers, one per branch, and one AdamW with a
    param group each is the same update, since AdamW's state is per parameter. ``betas`` / ``eps``: torch's."""

    def __init__(self, parameters: Iterable[torch.nn.Parameter], cfg: StageTraining, batches_per_epoch: int,
                 device: torch.device, *, clip_groups: Sequence[Iterable[torch.nn.Parameter]] | None = None,
                 total_updates: int | None = None, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        import torch

        self.cfg, self.device = cfg, device
        groups = [[p for p in group if p.requires_grad] for group in (clip_groups or [parameters])]
        self.groups = [group for group in groups if group]
        self.parameters = [p for group in self.groups for p in group]
        self.optimiser = torch.optim.AdamW([{"params": group} for group in self.groups], lr=cfg.lr, betas=betas,
                                           eps=eps, weight_decay=cfg.weight_decay)
        self.total_updates = total_updates or math.ceil(batches_per_epoch / cfg.grad_accum_steps) * cfg.epochs
        warmup = round(cfg.warmup_ratio * self.total_updates)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimiser, lambda update: lr_factor(update, self.total_updates, warmup, cfg.schedule))
        self.precision = resolve_precision(cfg.precision, device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.precision == "fp16")

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        import torch

        if self.precision == "no":
            yield
            return
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        with torch.autocast(device_type=self.device.type, dtype=dtype):
            yield

    def backward(self, loss: torch.Tensor, share: float) -> None:
        """Accumulate ``share`` (this micro-batch's fraction of the update's items) of a mean loss."""
        self.scaler.scale(loss * share).backward()

    def step(self) -> None:
        """One optimiser update: unscale, clip, step, advance the schedule, clear gradients."""
        import torch

        self.scaler.unscale_(self.optimiser)
        if self.cfg.max_grad_norm is not None:
            for group in self.groups:
                torch.nn.utils.clip_grad_norm_(group, self.cfg.max_grad_norm)
        self.scaler.step(self.optimiser)
        self.scaler.update()
        self.scheduler.step()
        self.optimiser.zero_grad(set_to_none=True)

    def state_dict(self) -> dict[str, Any]:
        """Optimiser, schedule and gradient scaler: what a resumed run needs to continue exactly."""
        return {"optimiser": self.optimiser.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimiser.load_state_dict(state["optimiser"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])

    @property
    def lr(self) -> float:
        return float(self.optimiser.param_groups[0]["lr"])


class EarlyStop:
    """Stop after ``patience`` epochs without a better validation score (None: never)."""

    def __init__(self, patience: int | None) -> None:
        self.patience, self.stale = patience, 0

    def update(self, improved: bool) -> bool:
        """Record an epoch; True when training should stop."""
        self.stale = 0 if improved else self.stale + 1
        return self.patience is not None and self.stale >= self.patience
