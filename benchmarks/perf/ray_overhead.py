"""Ray engine overhead: ASR throughput through Ray Data vs the local path, same cores, same clips, one run.

Local: ``transcribe_utterances`` in this process, faster-whisper with ``--cores``
threads. Ray: the same call with ``execution.engine = "ray"`` on a one-machine
Ray started with ``--cores`` CPUs, ``--cores`` actors of 1 CPU each (one
faster-whisper thread each). Both use the quickstart's ASR settings (Whisper-base
offline package, int8, beam 1, batched with trim_window), a fresh cache, and
are timed end to end (model loading and actor start-up included) and in steady
state (from the first finished chunk to the last, measured the same way for both
through the progress callback: the throughput a long corpus sees). Runs alternate
local / Ray ``--repeats`` times so that load from other processes hits both alike;
the best run of each is compared. Ray's cluster start is printed apart: a cluster
is started once, not per job. Transcripts are checked to be identical.

    python benchmarks/perf/ray_overhead.py [--n 160] [--cores 2] [--repeats 2]

Prints utterances/s and audio-seconds/s of each, per actor for Ray, and the
ratio Ray / local (target >= 0.85).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ASR = {"model": "base", "beam_size": 1, "batch_size": 8, "trim_window": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=160, help="demo-corpus utterances (chunks of 16)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    import ray

    from erc_bench.core.audio import audio_duration
    from erc_bench.core.cache import Cache
    from erc_bench.core.execution import ExecutionSection
    from erc_bench.core.plugin_host import build
    from erc_bench.features.speech import transcribe_utterances

    data = build("dataset", "demo", {}).load()
    utterances = [u for split in data.splits for u in data.utterances(split)][:args.n]
    audio_seconds = sum(audio_duration(u.audio) for u in utterances if u.audio is not None)
    started = time.perf_counter()
    ray.init(num_cpus=args.cores, include_dashboard=False, logging_level="WARNING")
    cluster_start = time.perf_counter() - started
    execution = ExecutionSection(engine="ray", asr={"actors": args.cores, "cpus_per_actor": 1})

    def timed(engine: str) -> tuple[float, float, dict]:
        """(wall seconds, steady-state utterances/s, transcripts); steady state = after the first chunk arrives,
        which excludes model loading (and, for Ray, actor start-up) the same way for both engines."""
        asr = build("asr", "faster-whisper", ASR | {"cpu_threads": args.cores if engine == "local" else 0})
        marks: list[tuple[float, int]] = []
        with tempfile.TemporaryDirectory() as cache_dir:
            begin = time.perf_counter()
            found, _ = transcribe_utterances(asr, utterances, Cache(cache_dir),
                                             progress=lambda done, total: marks.append((time.perf_counter(), done)),
                                             execution=execution if engine == "ray" else None)
            wall = time.perf_counter() - begin
        (t_first, n_first), (t_last, n_last) = marks[1], marks[-1]
        return wall, (n_last - n_first) / max(t_last - t_first, 1e-9), found

    walls: dict[str, list[float]] = {"local": [], "ray": []}
    rates: dict[str, list[float]] = {"local": [], "ray": []}
    outputs = {}
    for _ in range(args.repeats):
        for engine in ("local", "ray"):
            wall, rate, outputs[engine] = timed(engine)
            walls[engine].append(wall)
            rates[engine].append(rate)
            print(f"  {engine:5s} wall {wall:7.2f} s   steady {rate:5.2f} utt/s", flush=True)
    ray.shutdown()

    print(f"\n{len(utterances)} utterances, {audio_seconds:.0f} s of audio, {args.cores} cores, best of "
          f"{args.repeats}; Ray cluster start {cluster_start:.1f} s (once per cluster, not counted)")
    per_utt_audio = audio_seconds / len(utterances)
    for engine in ("local", "ray"):
        wall, rate = min(walls[engine]), max(rates[engine])
        extra = f"  per actor {rate / args.cores:.2f} utt/s" if engine == "ray" else ""
        print(f"{engine:5s} wall {wall:6.2f} s ({len(utterances) / wall:5.2f} utt/s)  steady {rate:5.2f} utt/s = "
              f"{rate * per_utt_audio:5.2f} audio-s/s{extra}")
    print(f"transcripts identical: {outputs['local'] == outputs['ray']}")
    print(f"throughput ratio Ray / local: steady state {max(rates['ray']) / max(rates['local']):.2f}, "
          f"end to end {min(walls['local']) / min(walls['ray']):.2f}  (target >= 0.85)")


if __name__ == "__main__":
    main()
