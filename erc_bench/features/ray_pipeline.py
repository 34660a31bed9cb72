"""ASR and speech embeddings as Ray Data pipelines, for corpora one machine cannot finish.

``speech_features`` plans the work on the driver exactly as on the local path
(cache lookups, keys, utterances sorted by header duration and cut into the
same chunks), then hands the pending chunks to ``stream_chunks``. Each chunk is
one row of a Ray dataset; ``map_batches`` runs it through an actor pool where
every actor builds its component once (the model loads once per actor, not per
batch), decodes the chunk's audio from the shared filesystem and returns one
row per utterance. Rows stream back to the driver as batches finish, and the
driver writes each into the cache under the local path's key, so:

* a Ray run and a local run are interchangeable: same keys, same chunks, so the
  same batches and the same outputs;
* a killed driver resumes: everything streamed before the kill is cached;
* a worker that dies is restarted by Ray (``max_restarts``) and the chunk it held
  re-run (``max_task_retries``); Ray Data keeps only a task's successful output,
  and the driver checks every utterance arrives exactly once.

Audio paths are read by the workers, so they must be on a filesystem every node
sees (NFS, a cluster volume, the same path everywhere). A worker that cannot see
a path the driver could read stops the run with one line naming it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

from erc_bench.core.capabilities import ThreadBudgeted
from erc_bench.core.errors import UserError
from erc_bench.core.execution import ExecutionSection, StepExecution
from erc_bench.core.interfaces import AudioSource, Problem, Transcript, Utterance

RowObserver = Callable[[list[dict[str, Any]]], None]
OK, UNREADABLE, NOT_VISIBLE, LONG = "ok", "unreadable", "not-visible", "long-audio"
ACTOR_START_TIMEOUT_S = 900


class RayUnavailable(UserError):
    """``engine = "ray"`` without Ray installed, or a cluster that cannot be reached."""


def connect(execution: ExecutionSection) -> None:
    """Join the configured cluster once per process (a test's or a caller's ``ray.init`` is reused)."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable('execution.engine = "ray" needs Ray: pip install "erc-bench[ray]"') from None
    if ray.is_initialized():
        return
    address = None if execution.address == "auto" else execution.address
    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=True,
                 configure_logging=True)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise RayUnavailable(f"execution.address = {execution.address!r}: cannot reach a Ray cluster "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def _quiet_ray_data() -> None:
    """The driver's own bar counts utterances as they reach the cache; Ray Data's bars and periodic progress
    log lines would interleave with it."""
    import logging

    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    # every actor up before the first chunk is handed out, so chunks spread over all of them (and a cluster
    # too small for the requested actors says so instead of running on fewer)
    context.wait_for_min_actors_s = ACTOR_START_TIMEOUT_S
    logging.getLogger("ray.data").setLevel(logging.WARNING)


class ChunkWorker:
    """A Ray actor: one component (model loaded once), many chunks of utterances."""

    def __init__(self, kind: str, component_cls: type[Any], params: dict[str, Any], threads: int) -> None:
        import ray

        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:  # pragma: no cover - torch is a core dependency
            pass
        self.kind = kind
        self.component = component_cls(component_cls.Params(**params))
        self.node = ray.get_runtime_context().get_node_id()
        self.pid = os.getpid()

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"index": [], "status": [], "detail": [], "payload": [], "node": [], "pid": []}
        for items_json in batch["items"]:
            for row in self._run_chunk(json.loads(str(items_json))):
                for column, value in row.items():
                    out[column].append(value)
        return out

    def _run_chunk(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Decode and compute a chunk as the local engine does (``long_audio``: bounded memory, the policy)."""
        from erc_bench.core.audio import AudioError
        from erc_bench.features.long_audio import AudioPolicy, LongAudioSkipped, encode_sources, transcribe_sources

        rows, sources, kept = [], [], []
        for item in items:
            source = AudioSource(item["path"], item["start"], item["end"])
            if not os.access(source.path, os.R_OK):
                rows.append(self._row(item["index"], NOT_VISIBLE, source.path))
                continue
            sources.append(source)
            kept.append(item)
        policy = AudioPolicy(**(kept[0].get("policy") or {})) if kept else AudioPolicy()
        work = transcribe_sources if self.kind == "asr" else encode_sources
        for position, out in work(self.component, sources, policy):
            index = kept[position]["index"]
            if isinstance(out, AudioError):
                rows.append(self._row(index, LONG if isinstance(out, LongAudioSkipped) else UNREADABLE, str(out)))
            else:
                rows.append(self._row(index, OK, "", _serialise(out)))
        return rows

    def _row(self, index: int, status: str, detail: str, payload: bytes = b"") -> dict[str, Any]:
        return {"index": index, "status": status, "detail": detail, "payload": payload, "node": self.node,
                "pid": self.pid}


def _serialise(output: Any) -> bytes:
    if isinstance(output, Transcript):
        return json.dumps(asdict(output)).encode()
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(output), allow_pickle=False)
    return buffer.getvalue()


def _deserialise(kind: str, payload: bytes) -> Any:
    if kind == "asr":
        return Transcript(**json.loads(payload))
    import numpy as np

    return np.load(io.BytesIO(payload), allow_pickle=False)


def _batches(dataset: Any, kind: str, step: StepExecution) -> Iterator[Any]:
    import ray

    try:
        yield from dataset.iter_batches(batch_size=None, batch_format="pyarrow")
    except ray.exceptions.GetTimeoutError:
        section = "asr" if kind == "asr" else "speech_embeddings"
        raise RayUnavailable(f"execution.{section}: {step.actors} actors with {step.cpus_per_actor} CPU / "
                             f"{step.gpus_per_actor} GPU each did not start within {ACTOR_START_TIMEOUT_S} s; the "
                             "cluster lacks the resources (lower actors or the per-actor resources)") from None


def stream_chunks(kind: str, component: Any, chunks: Sequence[Sequence[tuple[Utterance, str]]],
                  execution: ExecutionSection, observe: RowObserver | None = None, policy: Any = None
                  ) -> Iterator[tuple[list[tuple[Utterance, str, Any]], list[Problem], int]]:
    """Run pending chunks on the cluster; yield (results, problems, utterances finished) as rows arrive.

    ``observe`` sees every raw row (index, status, node id, worker pid) as it arrives: the CLI and tests
    use it to record which node did what.
    """
    import ray

    connect(execution)
    _quiet_ray_data()
    step = execution.step(kind)  # the [execution] sub-section of this component kind
    flat = [pair for chunk in chunks for pair in chunk]
    items, index = [], 0
    for chunk in chunks:
        encoded = []
        for utt, _key in chunk:
            assert utt.audio is not None
            encoded.append({"index": index, "path": str(utt.audio.path), "start": utt.audio.start,
                            "end": utt.audio.end, "policy": policy.as_json() if policy is not None else None})
            index += 1
        items.append({"items": json.dumps(encoded)})
    if not items:
        return
    threads = max(1, int(step.cpus_per_actor))
    # use the CPUs Ray reserved for the actor, not the whole node's
    params = (component.params_for_threads(threads) if isinstance(component, ThreadBudgeted)
              else component.params.model_dump())
    with warnings.catch_warnings():
        # Ray 2.5x names no parameter for actor restarts yet and flags the generic remote args as deprecated
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            ChunkWorker, fn_constructor_args=(kind, type(component), params, threads), batch_size=1,
            # two chunks per actor: the next is queued while one computes (no idle gap), yet chunks still
            # spread over actors as they free up
            compute=ray.data.ActorPoolStrategy(size=step.actors, max_tasks_in_flight_per_actor=2),
            num_cpus=step.cpus_per_actor, num_gpus=step.gpus_per_actor or None,
            max_restarts=step.max_retries, max_task_retries=step.max_retries)
    seen: set[int] = set()
    for batch in _batches(dataset, kind, step):
        rows = batch.to_pylist()
        if observe:
            observe(rows)
        results, problems = [], []
        for row in rows:
            position = int(row["index"])
            if position in seen:  # a retried chunk's first attempt never reaches here; guard anyway
                continue
            seen.add(position)
            utt, key = flat[position]
            if row["status"] == NOT_VISIBLE:
                raise UserError(f"{row['detail']}: not readable on Ray worker node {row['node']}; audio must be on "
                                "a filesystem every worker sees (same path on every node)")
            if row["status"] in (UNREADABLE, LONG):
                problems.append(Problem("unreadable-audio" if row["status"] == UNREADABLE else "long-audio", utt.id,
                                        row["detail"]))
            else:
                results.append((utt, key, _deserialise(kind, row["payload"])))
        yield results, problems, len(rows)
    missing = [flat[i][0].id for i in range(len(flat)) if i not in seen]
    if missing:
        raise RuntimeError(f"Ray returned no result for {len(missing)} utterances (first: {missing[0]})")
