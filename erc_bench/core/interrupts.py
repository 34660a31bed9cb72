"""SIGTERM as an exception, so a terminated run cleans up like a Ctrl-C'd one.

By default SIGTERM (what ``kill``, ``timeout``, Slurm and Docker send) ends
Python at once: MLflow runs stay RUNNING forever and ``finally`` blocks never
run. ``install`` turns it into ``Terminated``, a ``BaseException`` (like
``KeyboardInterrupt``, it is not caught by ``except Exception``), so runs are
closed as KILLED, in-flight requests finish and are stored, and the CLI exits
with 128 + the signal number, as a shell expects.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class Terminated(BaseException):  # noqa: N818 - named after the signal's meaning, like KeyboardInterrupt
    """The process received SIGTERM (or SIGHUP)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def install() -> None:
    """Route SIGTERM and SIGHUP to ``Terminated`` (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _raise)
