"""One progress vocabulary for every long loop.

Engine functions take ``progress`` as either a rich ``Progress`` (the caller's
live display; a task is added per loop) or a plain ``progress(done, total)``
callback (a log line, a test counter), or None. ``as_callback`` turns any of
these into the callback form; ``progress_bar`` is the display the commands
open, so every bar in erc-bench has the same columns and ETA.

When stdout is not a terminal (CI logs, cluster batch jobs, ``| tee``) a live
bar would print nothing until the end, so ``progress_bar`` returns a
``PlainProgress`` instead: the same task API, writing one plain line per step
every few seconds (``ERC_BENCH_PROGRESS_SECONDS``, default 5: done/total, rate,
elapsed, ETA) and one when a step completes. Loops report in small units (the
training loop counts batches, ASR and embeddings chunks of 16 clips), and a
heartbeat thread prints the running step's line when it has printed none for an
interval (``still at ...`` when its count has not moved since), so a piped run is never
silent for longer than that.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

ProgressCallback = Callable[[int, int], None]


@dataclass
class _PlainTask:
    description: str
    total: float | None
    completed: float = 0.0
    started: float = field(default_factory=time.monotonic)
    last_line: float = 0.0
    finished: bool = False
    unit: str = ""
    printed: float = -1.0  # the count the last line showed


class PlainProgress:
    """The subset of rich's ``Progress`` API erc-bench uses, as periodic plain lines for non-terminals.

    ``heartbeat=True`` (what ``progress_bar`` opens) starts a daemon thread that, every ``interval``, prints
    the line of the task touched last (the step running now: the recipe's steps run one after another, and
    a task a step left unfinished must not chatter forever) when it is unfinished and printed nothing for
    that long; ``close()`` stops it. ``clock`` is
    injectable for tests.
    """

    def __init__(self, console: Console, interval: float | None = None, heartbeat: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.interval = interval if interval is not None else float(os.environ.get("ERC_BENCH_PROGRESS_SECONDS", 5))
        self.tasks: dict[int, _PlainTask] = {}
        self.active: int | None = None
        self.clock = clock
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if heartbeat and self.interval > 0:
            self._thread = threading.Thread(target=self._beat, name="erc-bench-progress", daemon=True)
            self._thread.start()

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        with self._lock:
            task_id = len(self.tasks)
            now = self.clock()
            self.tasks[task_id] = _PlainTask(description, total, started=now, last_line=now,
                                             unit=str(fields.get("unit", "")))
            self.active = task_id
            return task_id

    def update(self, task_id: int, *, completed: float | None = None, total: float | None = None,
               advance: float | None = None, description: str | None = None, **_: Any) -> None:
        with self._lock:
            task, self.active = self.tasks[task_id], task_id
            if total is not None:
                task.total = total
            if completed is not None:
                task.completed = completed
            if advance:
                task.completed += advance
            if description is not None:
                task.description = description
            self._maybe_print(task)

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 1)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def beat(self) -> None:
        """One heartbeat: repeat the active task's line when it has been quiet for ``interval``."""
        with self._lock:
            task = self.tasks.get(self.active) if self.active is not None else None
            if task is not None and not task.finished and self.clock() - task.last_line >= self.interval:
                self._print(task, self.clock(), still=task.completed == task.printed)

    def _maybe_print(self, task: _PlainTask) -> None:
        now = self.clock()
        done = task.total is not None and task.completed >= task.total
        if task.finished or (not done and now - task.last_line < self.interval):
            return
        task.finished = done
        self._print(task, now)

    def _print(self, task: _PlainTask, now: float, still: bool = False) -> None:
        task.last_line, task.printed = now, task.completed
        done = task.total is not None and task.completed >= task.total
        elapsed = now - task.started
        unit = f" {task.unit}" if task.unit else ""
        count = f"{task.completed:g}/{task.total:g}" if task.total is not None else f"{task.completed:g}"
        line = f"{task.description}: {'still at ' if still else ''}{count}{unit}"
        if task.total:
            line += f" ({100 * task.completed / task.total:.0f}%)"
        if task.completed > 0 and elapsed > 0 and not done:
            line += f", {task.completed / elapsed:.2g}{unit}/s"
        line += f", {elapsed:.0f} s"
        if task.total and not done and task.completed > 0:
            line += f", eta {elapsed * (task.total - task.completed) / task.completed:.0f} s"
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def progress_bar(console: Console | None = None, transient: bool = False) -> Iterator[Any]:
    """The shared rich display: description, bar, done/total, elapsed, ETA; plain lines when not a terminal."""
    console = console or Console()
    if not console.is_terminal:
        plain = PlainProgress(console, heartbeat=True)
        try:
            yield plain
        finally:
            plain.close()
        return
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



progress_callback = as_callback  # its public name: ``from erc_bench import progress_callback``

@contextlib.contextmanager
def rich_progress(description: str) -> Iterator[ProgressCallback]:
    """A standalone bar (for a single-loop command) exposed as a ``progress(done, total)`` callback."""
    with progress_bar() as bar:
        callback = as_callback(bar, description)
        assert callback is not None
        yield callback
