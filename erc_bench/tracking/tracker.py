"""The ``Tracker``: MLflow behind a small interface, and what it does when the tracking server stops answering.

One experiment per benchmark, one run per dataset and seed, nested runs per stage (``tracking.py`` holds the
names every run uses). MLflow is imported lazily: ``erc-bench --help`` must not pay for it.
"""

from __future__ import annotations

import contextlib
import os
import platform
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from erc_bench.core.errors import UserError
from erc_bench.core.secrets import redact_secrets
from erc_bench.core.spec_checks import check_tracking_uri
from erc_bench.tracking.tags import NOTE_TAG, TRACKING_ENV, default_tracking_uri, flatten

HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "10", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
"""MLflow's own defaults (120 s timeout, 7 retries with exponential backoff) turn a dead server into 12 minutes
of silence per call; these detect one in seconds. A value the user set in the environment wins."""
PID_TAG = "erc_bench.pid"
HOST_TAG = "erc_bench.host"


class TrackingUnreachable(UserError):
    """The tracking server stopped answering: one line; what finished is cached and a rerun resumes."""

    exit_code = 75  # EX_TEMPFAIL: try again later


class Tracker:
    """A thin wrapper over the MLflow fluent API, with nested runs as context managers.

    Against an HTTP server every call has short timeouts and few retries (``HTTP_DEFAULTS``). The first call
    that fails because the server does not answer marks the tracker unreachable; from then on calls cost
    nothing, and ``log_metrics_soft`` (per-epoch metrics, inside a training loop) never raises, so the stage in
    training finishes and is cached; the next logging call outside the loop raises ``TrackingUnreachable``."""

    logs = True  # False on a launcher's non-main processes (``distributed.SilentTracker``)

    def __init__(self, uri: str | None, experiment: str) -> None:
        self.uri = uri or default_tracking_uri()
        problem = check_tracking_uri(self.uri)
        if problem:
            raise UserError(f"tracking URI: {problem}")
        self.remote = self.uri.startswith(("http://", "https://"))
        if self.remote:
            for name, value in HTTP_DEFAULTS.items():
                os.environ.setdefault(name, value)
        import mlflow

        self.mlflow = mlflow
        self.unreachable: str | None = None
        from erc_bench.tracking.store import default_artifact_location, get_or_create_experiment

        self.experiment_id = self._call(get_or_create_experiment, mlflow, self.uri, experiment,
                                        default_artifact_location(self.uri, TRACKING_ENV))
        self.experiment = experiment
        self.closed_stale = self._call(self._close_stale_runs)

    # ------------------------------------------------------------ failures
    def _call(self, action: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one MLflow call; a server that does not answer marks the tracker unreachable and raises."""
        if self.unreachable:
            raise TrackingUnreachable(self._unreachable_line())
        try:
            return action(*args, **kwargs)
        except Exception as exc:
            if not self._is_unreachable(exc):
                raise
            self.unreachable = _first_line(exc)
            raise TrackingUnreachable(self._unreachable_line()) from None

    def _is_unreachable(self, exc: BaseException) -> bool:
        if not self.remote:
            return False
        text = f"{type(exc).__name__}: {exc}"
        return any(marker in text for marker in ("Max retries exceeded", "Connection refused", "ConnectionError",
                                                 "timed out", "Timeout", "RemoteDisconnected", "Connection aborted",
                                                 "API request to", "503", "502", "504"))

    def _unreachable_line(self) -> str:
        return (f"the tracking server {self.uri} stopped answering ({self.unreachable}); the stage in progress "
                "finished and everything finished is cached: rerun the same command when the server is back "
                "and it resumes from the cache")

    def _close_stale_runs(self) -> int:
        """Runs this machine left RUNNING (their process is gone: killed, or its server died under it) are
        closed as FAILED, so the store shows no run as running for good. Runs of live processes, and of other
        machines, are left alone."""
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.uri)
        closed = 0
        for run in client.search_runs([self.experiment_id], "attributes.status = 'RUNNING'", max_results=500):
            tags = run.data.tags
            pid = tags.get(PID_TAG, "")
            if tags.get(HOST_TAG) != platform.node() or not pid.isdigit() or _alive(int(pid)):
                continue
            client.set_tag(run.info.run_id, NOTE_TAG, tags.get(NOTE_TAG, "") + " (closed as FAILED by a later run: "
                           "its process ended while the run was open)")
            client.set_terminated(run.info.run_id, status="FAILED")
            closed += 1
        return closed

    @contextlib.contextmanager
    def run(self, name: str, tags: dict[str, str] | None = None, nested: bool = False,
            resume: str | None = None) -> Iterator[str]:
        """A run ended FINISHED, FAILED on an error, or KILLED on Ctrl-C / SIGTERM - never left RUNNING
        (while the server answers; one left RUNNING by a dead server is closed by the next run). ``resume``:
        reopen that run id (a resumable job continuing the run it began) instead of starting one."""
        from erc_bench.core.interrupts import Terminated

        owner = {PID_TAG: str(os.getpid()), HOST_TAG: platform.node()}
        where = {"run_id": resume} if resume else {"run_name": name, "experiment_id": self.experiment_id}
        active = self._call(self.mlflow.start_run, nested=nested, tags=(tags or {}) | owner, **where)
        try:
            yield active.info.run_id
        except (KeyboardInterrupt, Terminated):
            self._end("KILLED")
            raise
        except BaseException:
            self._end("FAILED")
            raise
        self._end("FINISHED")

    def _end(self, status: str) -> None:
        if self.unreachable:  # nothing to tell a dead server; forget the run locally (the next run closes it)
            with contextlib.suppress(Exception):
                self.mlflow.tracking.fluent._active_run_stack.get().pop()
            return
        try:
            self._call(self.mlflow.end_run, status=status)
        except TrackingUnreachable:
            self._end(status)
            if status == "FINISHED":
                raise

    def log_metrics_soft(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Per-epoch metrics from inside a training loop: never raises (a dead server must not stop training;
        the epochs are kept in the stage's history and replayed to MLflow by the rerun that reads it back)."""
        if self.unreachable:
            return
        try:
            self.log_metrics(metrics, step=step)
        except Exception:  # noqa: BLE001 - logged or not, training goes on
            return

    def log_params(self, params: dict[str, Any]) -> None:
        flat = redact_secrets(flatten(params))  # a value from a secret-named ${VAR} is logged as ${VAR}
        items = list(flat.items())
        for start in range(0, len(items), 100):  # MLflow caps a batch at 100 params
            self._call(self.mlflow.log_params, dict(items[start:start + 100]))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        clean = {k: float(v) for k, v in metrics.items() if v is not None}
        if clean:
            self._call(self.mlflow.log_metrics, clean, step=step)

    def log_metric_steps(self, steps: list[tuple[dict[str, float], int]]) -> None:
        """Metrics of many steps at once (a stage's epochs replayed from the cache): the same keys, values and
        steps as one ``log_metrics`` per epoch, in one store call per 1000 values instead of one per epoch (a
        warm quickstart replays 306 epochs; each call is a store transaction)."""
        import time

        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient

        active = self.mlflow.active_run()
        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, step) for values, step in steps for k, v in values.items() if v is not None]
        if active is None or not metrics:
            return
        client = MlflowClient(tracking_uri=self.uri)
        for start in range(0, len(metrics), 1000):  # MLflow caps a batch at 1000 metrics
            self._call(client.log_batch, active.info.run_id, metrics=metrics[start:start + 1000])

    def set_tags(self, tags: dict[str, str]) -> None:
        self._call(self.mlflow.set_tags, redact_secrets(tags))

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._call(self.mlflow.log_artifact, str(path), artifact_path=artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        self._call(self.mlflow.log_text, redact_secrets(text), artifact_file)

    def log_dict(self, value: dict[str, Any], artifact_file: str) -> None:
        self._call(self.mlflow.log_dict, redact_secrets(value), artifact_file)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Log in-memory content (a rendered PNG) under ``artifact_file`` of the active run."""
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / Path(artifact_file).name
            target.write_bytes(data)
            parent = str(Path(artifact_file).parent)
            self.log_artifact(target, None if parent == "." else parent)

    def artifact_uri(self, artifact_file: str) -> str:
        """Where an artifact of the active run lives (shown in run notes)."""
        return str(self.mlflow.get_artifact_uri(artifact_file))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160] if text else ''}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
