"""llm-erc throughput: requests per second at the default concurrency vs sequential, and tokens per request.

Starts the loopback OpenAI-compatible server from tests/llm_servers.py (``ERCServer``) with ``--latency``
seconds added to every chat completion, builds ``--n`` prompts from the demo corpus's conversations (the
same utterances repeated under distinct conversation ids, so every prompt is new), and asks them through
the real ``llm-erc`` system and ``openai`` SDK twice in one run: with ``concurrency = 1`` and with the
system's default concurrency, each into a fresh answer store. Prints requests per second of both, their
ratio (target >= 40x), and the mean prompt tokens per request of each template (chars/4 estimate, or
tiktoken where installed). Exit status 1 if the target is missed.

    python benchmarks/perf/llm_erc_throughput.py [--n 1000] [--latency 0.2]
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

from llm_servers import ERCServer  # noqa: E402

from erc_bench import Conversation, SystemContext, build  # noqa: E402


def conversations(n: int) -> tuple[object, list[Conversation]]:
    data = build("dataset", "demo", {}).load()
    source = [c for split in ("validation", "test", "train") for c in data.splits[split]]
    out: list[Conversation] = []
    copy = 0
    while sum(len(c.utterances) for c in out) < n:
        for c in source:
            out.append(Conversation(f"{c.id}-copy{copy}", [
                type(u)(f"{u.id}-copy{copy}", f"{c.id}-copy{copy}", u.position, f"{u.text} (take {copy})", None,
                        u.speaker) for u in c.utterances]))
        copy += 1
    return data, out


def timed(server: ERCServer, data: object, convs: list[Conversation], folder: str, **params: object
          ) -> tuple[float, int, int]:
    system = build("system", "llm-erc", {"base_url": server.url + "/v1", "api_key_env": "", "model": "demo-model",
                                         **params})
    context = SystemContext(0, "cpu", folder)
    system.fit(data, context)
    before = server.chat_requests()
    started = time.perf_counter()
    answers = system.predict(convs, context)
    return time.perf_counter() - started, server.chat_requests() - before, len(answers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data, convs = conversations(args.n)
    default_concurrency = build("system", "llm-erc", {}).params.concurrency
    tokens: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, ERCServer({"sad": "sad"}, latency=args.latency) as server:
        seq = timed(server, data, convs, f"{tmp}/seq", concurrency=1)
        conc = timed(server, data, convs, f"{tmp}/conc")
        for template in ("instructerc", "bioserc"):
            system = build("system", "llm-erc", {"template": template})
            system.fit(data, SystemContext(0, "cpu", f"{tmp}/est"))
            estimate = system.estimate_cost(data, [0], SystemContext(0, "cpu", f"{tmp}/est-{template}"))
            tokens[template] = round(estimate.estimate.prompt_tokens / max(estimate.estimate.requests, 1), 1)
            counted = estimate.counted
    rate_seq, rate_conc = seq[1] / seq[0], conc[1] / conc[0]
    numbers = {"n_requests": [seq[1], conc[1]], "latency_s": args.latency, "concurrency": default_concurrency,
               "sequential_s": round(seq[0], 2), "concurrent_s": round(conc[0], 2),
               "sequential_req_per_s": round(rate_seq, 2), "concurrent_req_per_s": round(rate_conc, 1),
               "speedup": round(rate_conc / rate_seq, 1), "prompt_tokens_per_request": tokens,
               "tokens_counted": counted}
    print(json.dumps(numbers, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2))
    passed = rate_conc / rate_seq >= 40 and seq[1] == conc[1] > 0
    print("PASS" if passed else "FAIL", f"(default concurrency {default_concurrency}: {rate_conc / rate_seq:.1f}x "
                                        "the sequential request rate; target >= 40x)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
