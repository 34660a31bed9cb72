"""One progress vocabulary for every long loop.

Engine functions take ``progress`` as either a rich ``Progress`` (the caller's
live display; a task is added per loop) or a plain ``progress(done, total)``
callback (a log line, a test counter), or None. ``as_callback`` turns any of
these into the callback form; ``progress_bar`` is the display the commands
open, so every bar in erc-bench has the same columns and ETA.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

ProgressCallback = Callable[[int, int], None]


@contextlib.contextmanager
def progress_bar(console: Console | None = None, transient: bool = False) -> Iterator[Progress]:
    """The shared rich display: description, bar, done/total, elapsed, ETA."""
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=transient) as progress:
        yield progress


def as_callback(progress: Any, description: str) -> ProgressCallback | None:
    """A rich Progress gets a new task named ``description``; a callback or None passes through."""
    if progress is None or not hasattr(progress, "add_task"):
        return progress
    task = progress.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return update


@contextlib.contextmanager
def rich_progress(description: str) -> Iterator[ProgressCallback]:
    """A standalone bar (for a single-loop command) exposed as a ``progress(done, total)`` callback."""
    with progress_bar() as bar:
        callback = as_callback(bar, description)
        assert callback is not None
        yield callback
