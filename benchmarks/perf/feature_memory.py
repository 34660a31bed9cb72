"""Peak memory of feature extraction: 10x the demo corpus vs 1x (target: within 1.5x).

``embed_utterances`` streams: it sorts utterances by header duration, decodes one
chunk of audio at a time and writes each embedding to the cache, so memory should
not grow with corpus size beyond the small per-utterance results. The 10x corpus
is made of copies of every demo clip, each copy at a slightly different gain so
every file has distinct content and nothing is served from the cache. Each size
runs in a fresh child process with an empty cache; reported: peak resident
memory of the child (ru_maxrss), its growth over the child's RSS just before
extraction (imports and model load done), and the peak Python/numpy heap during
extraction (tracemalloc). Encoder: ``acoustic-stats`` by default (any
registered speech encoder with ``--encoder``).

    python benchmarks/perf/feature_memory.py [--scale 10] [--encoder acoustic-stats]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEMO = Path(__file__).resolve().parents[2] / "plugins" / "erc_bench_datasets" / "demo_data"


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


def child(folder: Path, cache_dir: Path, encoder_name: str) -> None:
    """Extract features for every clip under ``folder``; print the memory figures as JSON."""
    import tracemalloc

    from erc_bench import AUDIO_SUFFIXES, AudioSource, Cache, Utterance, build, embed_utterances

    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    utterances = [Utterance(f"u{i}", "c", i, "", None, audio=AudioSource(str(p))) for i, p in enumerate(files)]
    encoder = build("speech_encoder", encoder_name, {})
    encoder.encode([__import__("numpy").zeros(16_000, dtype="float32")])  # load weights before measuring
    before = rss_kib()
    tracemalloc.start()
    started = time.perf_counter()
    found, problems = embed_utterances(encoder, utterances, Cache(cache_dir))
    elapsed = time.perf_counter() - started
    _, heap_peak = tracemalloc.get_traced_memory()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"utterances": len(utterances), "embedded": len(found), "problems": len(problems),
                      "rss_before_kib": before, "peak_rss_kib": peak, "heap_peak_kib": heap_peak // 1024,
                      "seconds": elapsed}))


def make_corpus(target: Path, copies: int) -> int:
    clips = sorted((DEMO / "audio").glob("*"))
    if not clips:
        sys.exit(f"no demo corpus under {DEMO}; generate it first (benchmarks/perf/make_demo_corpus.py)")
    import soundfile as sf

    for k in range(copies):
        sub = target / f"copy{k}"
        sub.mkdir(parents=True)
        for clip in clips:
            # a per-copy gain makes every file's content (and so its cache key) distinct
            samples, rate = sf.read(str(clip), dtype="float32")
            sf.write(str(sub / f"{clip.stem}.flac"), samples * (1.0 - 0.01 * k), rate)
    return len(clips) * copies


def measure(workdir: Path, copies: int, encoder: str) -> dict[str, float]:
    corpus = workdir / f"x{copies}"
    make_corpus(corpus, copies)
    cmd = [sys.executable, __file__, "--child", str(corpus), str(workdir / f"cache{copies}"), encoder]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--encoder", default="acoustic-stats")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="feature-memory-"))
    try:
        small = measure(workdir, 1, args.encoder)
        large = measure(workdir, args.scale, args.encoder)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"encoder {args.encoder}; growth = peak RSS minus RSS after imports and model load")
    print(f"{'corpus':>8s} {'utts':>6s} {'peak RSS MiB':>13s} {'growth MiB':>11s} {'heap peak MiB':>14s} {'s':>7s}")
    for label, row in (("1x", small), (f"{args.scale}x", large)):
        growth = (row["peak_rss_kib"] - row["rss_before_kib"]) / 1024
        print(f"{label:>8s} {row['utterances']:6d} {row['peak_rss_kib'] / 1024:13.1f} {growth:11.1f} "
              f"{row['heap_peak_kib'] / 1024:14.1f} {row['seconds']:7.1f}")
    ratio = large["peak_rss_kib"] / small["peak_rss_kib"]
    print(f"peak RSS {args.scale}x / 1x: {ratio:.2f} (target <= 1.5); heap peak ratio "
          f"{large['heap_peak_kib'] / max(1, small['heap_peak_kib']):.2f}")
    if ratio > 1.5:
        sys.exit("peak memory grew more than 1.5x")


if __name__ == "__main__":
    main()
