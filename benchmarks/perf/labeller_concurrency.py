"""Labeller throughput: concurrent vs sequential, and a cached rerun, against a loopback server.

Starts the loopback OpenAI-compatible server from tests/llm_servers.py with
``--latency`` seconds added to every chat completion, then labels ``--n``
distinct transcripts through the real ``openai`` SDK three ways, side by side
in one run: sequentially (concurrency 1), concurrently (``--concurrency``),
and again from the SQLite label cache. Targets: concurrent >= 10x faster than
sequential, cached rerun < 2 s (exit status 1 if either is missed).

    python benchmarks/perf/labeller_concurrency.py [--n 1000] [--latency 0.2] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from llm_servers import LLMServer  # noqa: E402

from erc_bench import build  # noqa: E402


def timed_label(server: LLMServer, texts: list[str], cache_path: str, concurrency: int) -> tuple[float, int, int]:
    labeller = build("labeller", "openai", {"base_url": server.url + "/v1", "api_key_env": "",
                                            "cache_path": cache_path, "concurrency": concurrency})
    before = server.chat_requests()
    started = time.perf_counter()
    outcomes = labeller.label(texts)
    elapsed = time.perf_counter() - started
    ok = sum(o.status == "ok" for o in outcomes)
    return elapsed, server.chat_requests() - before, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts = [f"benchmark utterance number {i}" for i in range(args.n)]
    with tempfile.TemporaryDirectory() as tmp, LLMServer(latency=args.latency) as server:
        server.answers = {t: ("Positive." if i % 3 == 0 else "negative" if i % 3 == 1 else "neutral")
                          for i, t in enumerate(texts)}
        seq = timed_label(server, texts, f"{tmp}/sequential.db", 1)
        conc = timed_label(server, texts, f"{tmp}/concurrent.db", args.concurrency)
        server.max_in_flight = 0
        cached = timed_label(server, texts, f"{tmp}/concurrent.db", args.concurrency)
        in_flight = server.max_in_flight
    speedup = seq[0] / conc[0]
    numbers = {"n": args.n, "latency_s": args.latency, "concurrency": args.concurrency,
               "sequential_s": round(seq[0], 3), "concurrent_s": round(conc[0], 3), "speedup": round(speedup, 1),
               "cached_rerun_s": round(cached[0], 3), "cached_rerun_requests": cached[1],
               "labelled_ok": [seq[2], conc[2], cached[2]], "requests": [seq[1], conc[1], cached[1]]}
    print(json.dumps(numbers, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2))
    passed = speedup >= 10 and cached[0] < 2.0 and cached[1] == 0 and in_flight == 0
    print("PASS" if passed else "FAIL", f"(concurrent {speedup:.1f}x faster; cached rerun {cached[0]:.2f} s)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
