"""``execution.engine = "ray"`` on a real two-node Ray cluster (loopback, 1 CPU per node, one cluster per
module): transcripts equal the local path's exactly, speech embeddings to float tolerance, work lands on
both nodes, a worker killed mid-run still gives complete output, a killed driver resumes from the cache,
and an audio path the workers cannot read stops the run with one line naming it."""

from __future__ import annotations

import os
import shutil
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from erc_bench.core.cache import Cache
from erc_bench.core.errors import UserError
from erc_bench.core.execution import ExecutionSection
from erc_bench.core.interfaces import AudioSource, Utterance
from erc_bench.core.plugin_host import build
from erc_bench.features.speech import EMBEDDING_NAMESPACE, embed_utterances, transcribe_utterances

ray = pytest.importorskip("ray", reason='the Ray engine is the optional extra "erc-bench[ray]"')
pytestmark = pytest.mark.slow
QUICKSTART_ASR = {"model": "base", "beam_size": 1, "batch_size": 8, "trim_window": True}


@pytest.fixture(scope="module")
def execution() -> Iterator[ExecutionSection]:
    """Two raylets on this machine, each a 'node' with 1 CPU; the engine connects through its address."""
    from ray.cluster_utils import Cluster

    from erc_bench.features.ray_pipeline import connect

    # The test machine is shared: Ray's memory monitor would kill our workers for other processes' memory use.
    # Worker death is tested on purpose below (SIGKILL), so the monitor is off for this cluster only.
    saved = os.environ.get("RAY_memory_monitor_refresh_ms")
    os.environ["RAY_memory_monitor_refresh_ms"] = "0"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 80 * 2**20,
                                                            "include_dashboard": False})
    cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20)
    settings = ExecutionSection(engine="ray", address=cluster.address, asr={"actors": 2, "cpus_per_actor": 1},
                                speech_embeddings={"actors": 2, "cpus_per_actor": 1, "max_retries": 2})
    connect(settings)
    yield settings
    ray.shutdown()
    cluster.shutdown()
    if saved is None:
        os.environ.pop("RAY_memory_monitor_refresh_ms", None)
    else:
        os.environ["RAY_memory_monitor_refresh_ms"] = saved


@pytest.fixture(scope="module")
def demo_utterances() -> list[Utterance]:
    data = build("dataset", "demo", {}).load()
    return [u for split in data.splits for u in data.utterances(split)]


class RowLog:
    """Every row the driver receives: which node and worker process computed which utterance."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        self.rows += rows

    @property
    def nodes(self) -> Counter[str]:
        return Counter(r["node"] for r in self.rows)


def test_ray_transcripts_equal_local_and_work_lands_on_both_nodes(execution: ExecutionSection,
                                                                  demo_utterances: list[Utterance],
                                                                  tmp_path: Path) -> None:
    subset = demo_utterances[:48]  # 3 chunks of 16: enough for both actors, bounded in time
    asr = build("asr", "faster-whisper", QUICKSTART_ASR)
    local, local_problems = transcribe_utterances(asr, subset, Cache(tmp_path / "local"))
    log = RowLog()
    ray_cache = Cache(tmp_path / "ray")
    distributed, problems = transcribe_utterances(asr, subset, ray_cache, execution=execution, observe=log)
    assert problems == local_problems == []
    assert distributed == local  # text, mean log-prob and no-speech probability, bit for bit
    assert len(log.rows) == len(subset) and len({r["index"] for r in log.rows}) == len(subset)
    assert len(log.nodes) == 2, f"work landed on {dict(log.nodes)}"
    # same keys as the local path: a local rerun over the Ray-filled cache computes nothing
    rerun = build("asr", "faster-whisper", QUICKSTART_ASR)
    assert transcribe_utterances(rerun, subset, ray_cache)[0] == local and rerun.model_calls == 0


def test_ray_embeddings_of_whole_demo_corpus_survive_a_killed_worker(execution: ExecutionSection,
                                                                     demo_utterances: list[Utterance],
                                                                     tmp_path: Path) -> None:
    encoder = build("speech_encoder", "acoustic-stats", {})
    local, _ = embed_utterances(encoder, demo_utterances, Cache(tmp_path / "local"))
    log = RowLog()
    killed: list[int] = []

    def kill_first_worker(rows: list[dict[str, Any]]) -> None:
        log(rows)
        if not killed:  # SIGKILL the worker that sent the first chunk, while it works on its next one
            killed.append(int(rows[0]["pid"]))
            os.kill(killed[0], signal.SIGKILL)

    distributed, problems = embed_utterances(encoder, demo_utterances, Cache(tmp_path / "ray"), execution=execution,
                                             observe=kill_first_worker)
    assert problems == []
    assert sorted(distributed) == sorted(local) and len(local) == len(demo_utterances)
    for utterance_id, vector in local.items():
        np.testing.assert_allclose(distributed[utterance_id], vector, rtol=1e-5, atol=1e-6)
    indices = [r["index"] for r in log.rows]
    assert len(indices) == len(set(indices)) == len(demo_utterances)  # none lost, none duplicated
    assert len(log.nodes) == 2
    assert len({r["pid"] for r in log.rows}) >= 3, "the killed actor was never restarted"


class Interrupted(Exception):
    pass


def test_killed_driver_resumes_from_the_cache(execution: ExecutionSection, demo_utterances: list[Utterance],
                                              tmp_path: Path) -> None:
    encoder = build("speech_encoder", "acoustic-stats", {})
    subset, cache = demo_utterances[:80], Cache(tmp_path / "cache")

    def stop_after_two_chunks(done: int, total: int) -> None:
        if done >= 32:
            raise Interrupted

    with pytest.raises(Interrupted):
        embed_utterances(encoder, subset, cache, progress=stop_after_two_chunks, execution=execution)
    stored = sum(1 for _ in cache.entries(EMBEDDING_NAMESPACE))
    assert 32 <= stored < len(subset)
    log = RowLog()
    resumed, _ = embed_utterances(encoder, subset, cache, execution=execution, observe=log)
    assert len(resumed) == len(subset) and len(log.rows) == len(subset) - stored


def test_a_path_the_workers_cannot_read_is_named(execution: ExecutionSection, demo_utterances: list[Utterance],
                                                 tmp_path: Path) -> None:
    subset = []
    for utt in demo_utterances[:20]:
        assert utt.audio is not None
        copy = tmp_path / Path(utt.audio.path).name
        shutil.copy(utt.audio.path, copy)
        subset.append(replace(utt, audio=AudioSource(str(copy))))
    gone = Path(subset[0].audio.path)  # type: ignore[union-attr]

    def vanish_after_planning(done: int, total: int) -> None:
        if done == 0:  # the driver has read every file; now the workers' view of one differs
            gone.unlink()

    with pytest.raises(UserError) as error:
        embed_utterances(build("speech_encoder", "acoustic-stats", {}), subset, Cache(tmp_path / "c"),
                         progress=vanish_after_planning, execution=execution)
    message = str(error.value)
    assert str(gone) in message and "every worker sees" in message and "\n" not in message
