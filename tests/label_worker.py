"""A labelling process for the kill tests: ``python label_worker.py PROVIDER URL DB N MODE CONCURRENCY [kill-at]``.

It labels ``N`` distinct transcripts through the real labeller plugin against
the loopback server, as ``erc-bench pretrain`` would. ``kill-at=batch-done``
makes the process SIGKILL itself right after the batch journal says "done":
the worst moment for a batch's labels, so the test need not win a race.
"""

from __future__ import annotations

import os
import signal
import sys

from erc_bench import build


def main() -> None:
    provider, url, db, n, mode, concurrency = sys.argv[1:7]
    kill_at = sys.argv[7] if len(sys.argv) > 7 else ""
    if kill_at == "batch-done":
        from erc_bench_labellers.store import LabelStore

        close = LabelStore.close_batch

        def close_then_die(self: LabelStore, batch_id: str, state: str = "done") -> None:
            close(self, batch_id, state)
            os.kill(os.getpid(), signal.SIGKILL)

        LabelStore.close_batch = close_then_die  # type: ignore[method-assign]
    labeller = build("labeller", provider, {
        "base_url": url, "api_key_env": "ERC_TEST_LLM_KEY", "cache_path": db, "mode": mode,
        "concurrency": int(concurrency), "retry_base_delay": 0.01, "batch_poll_interval": 0.05})
    texts = [f"utterance number {i}" for i in range(int(n))]
    print("labelling", flush=True)
    outcomes = labeller.label(texts)
    print("done", sum(o.status == "ok" for o in outcomes), flush=True)


if __name__ == "__main__":
    main()
