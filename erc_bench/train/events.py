"""Per-epoch records from the training loop to whoever listens (the tracker), without threading a callback
through every stage function: ``with epoch_listener(fn):`` around a stage, and ``fit`` calls
``fn(stage, record)`` after each epoch, so a long stage can be watched in MLflow while it trains."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

EpochListener = Callable[[str, dict[str, Any]], None]
_LISTENERS: ContextVar[tuple[EpochListener, ...]] = ContextVar("erc_bench_epoch_listeners", default=())


@contextlib.contextmanager
def epoch_listener(listener: EpochListener) -> Iterator[None]:
    token = _LISTENERS.set((*_LISTENERS.get(), listener))
    try:
        yield
    finally:
        _LISTENERS.reset(token)


def publish_epoch(stage: str, record: dict[str, Any]) -> None:
    for listener in _LISTENERS.get():
        listener(stage, record)
