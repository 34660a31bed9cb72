"""Opening an MLflow store and experiment safely when several runs start at once.

Two ``erc-bench run`` started together on a fresh ``./mlruns`` both find no
tables and both run MLflow's schema migrations (one crashes), and two runs that
create the same new experiment collide on its unique name (IntegrityError).
So first-time set-up of a local store happens under a file lock beside the
database, and the experiment is got-or-created: whoever loses the creation race
reads the winner's experiment. A remote server does its own locking; there the
get-or-create alone suffices.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

LOCK_TIMEOUT_S = 600.0
"""First-time migrations of a SQLite store take seconds; ten minutes means another process is stuck."""


def local_store_path(uri: str) -> Path | None:
    """The database file or store folder a local URI names, else None (a server or a database server)."""
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///"):])
    if uri.startswith("file:"):
        return Path(urlparse(uri).path)
    if "://" not in uri:
        return Path(uri)
    return None


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive file lock on a local store's set-up (no-op for remote stores)."""
    store = local_store_path(uri)
    if store is None:
        yield
        return
    from filelock import FileLock, Timeout

    from erc_bench.core.errors import UserError

    store.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(store) + ".setup.lock")
    try:
        with lock.acquire(timeout=LOCK_TIMEOUT_S):
            yield
    except Timeout:
        raise UserError(f"tracking store {store}: another erc-bench process has held its set-up lock for "
                        f"{LOCK_TIMEOUT_S:.0f} s; if none is running, delete {lock.lock_file}") from None


def get_or_create_experiment(mlflow: Any, uri: str, name: str, artifact_location: str | None) -> str:
    """The experiment's id, creating it if needed; losing a creation race to another process is fine."""
    from mlflow.exceptions import MlflowException

    with store_lock(uri):
        mlflow.set_tracking_uri(uri)
        existing = mlflow.get_experiment_by_name(name)  # first use of a fresh store migrates it, under the lock
        if existing is not None:
            return str(existing.experiment_id)
        try:
            return str(mlflow.create_experiment(name, artifact_location=artifact_location))
        except MlflowException:
            winner = mlflow.get_experiment_by_name(name)  # a process outside our lock (a server) created it
            if winner is None:
                raise
            return str(winner.experiment_id)


def default_artifact_location(uri: str, tracking_env: str) -> str | None:
    """Artifacts of the default SQLite store live beside it, in ``artifacts/``."""
    if uri.startswith("sqlite:///") and not os.environ.get(tracking_env):
        return (Path(uri[len("sqlite:///"):]).resolve().parent / "artifacts").as_uri()  # a relative store too
    return None
