"""Fusion-head training cost: seconds per Stage III epoch, as a ratio to co-attention (MERITS-L) in the same run.

MELD-shaped synthetic Stage II features: 1,039 training conversations of 1 to 24 utterances (drawn with
MELD's mean of about 10), text and speech 256-d, 7 labels, batches of 32 conversations padded to their longest,
Adam, CPU, one training epoch per head after one warm-up batch. Each head is built with the sizes of its
``benchmarks/baselines/`` spec (co-attention, concat and late with ``merits_l_full.toml``'s). Target: no head
above 3x co-attention.

    python benchmarks/perf/fusion_heads.py [--threads 1] [--epochs 1] [--heads tfn,lmf]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CONVERSATIONS, MAX_LEN, MEAN_LEN, DIM, LABELS, BATCH = 1039, 24, 10, 256, 7, 32

HEADS: dict[str, dict[str, Any]] = {  # the baseline the ratios are against first
    "co-attention": {"d_model": 256, "heads": 4},
    "concat": {"hidden": 256},
    "late": {},
    "tfn": {"hidden": 32, "post_fusion": 64},
    "lmf": {"hidden": 32, "rank": 4},
    "mult": {"d_model": 30, "heads": 5, "layers": 2, "self_layers": 2},
    "mixture-of-experts": {"hidden": 64, "blocks": 2},
}


def batches(seed: int = 0) -> list[tuple[Any, Any]]:
    """(ConversationBatch, gold labels of its real utterances) per batch of 32 conversations."""
    import numpy as np
    import torch

    from erc_bench import ConversationBatch

    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.geometric(1 / MEAN_LEN, CONVERSATIONS), 1, MAX_LEN)
    order = rng.permutation(CONVERSATIONS)
    out = []
    for start in range(0, CONVERSATIONS, BATCH):
        sizes = lengths[order[start:start + BATCH]]
        steps = int(sizes.max())
        mask = torch.arange(steps)[None, :] < torch.as_tensor(sizes)[:, None]
        positions = torch.arange(steps).expand(len(sizes), steps).masked_fill(~mask, -1)
        features = {m: torch.randn(len(sizes), steps, DIM) * mask.unsqueeze(-1) for m in ("text", "speech")}
        batch = ConversationBatch(features, mask, (positions % 2).masked_fill(~mask, -1), positions)
        out.append((batch, torch.randint(0, LABELS, (int(mask.sum()),))))
    return out


def epoch_seconds(name: str, params: dict[str, Any], data: list[tuple[Any, Any]], epochs: int) -> float:
    import torch

    from erc_bench import check_component

    torch.manual_seed(0)
    module = check_component("fusion_head", name, params, num_labels=LABELS).build(
        {"text": DIM, "speech": DIM}, LABELS).train()
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-3)

    def step(batch: Any, gold: Any) -> None:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(batch)[batch.mask], gold)
        loss.backward()
        optimiser.step()

    step(*data[0])  # warm-up outside the timing
    started = time.perf_counter()
    for _ in range(epochs):
        for batch, gold in data:
            step(batch, gold)
    return (time.perf_counter() - started) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--heads", default=",".join(HEADS), help="comma-separated; co-attention is always run")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    chosen = ["co-attention"] + [h for h in args.heads.split(",") if h and h != "co-attention"]
    data = batches()
    utterances = sum(int(b.mask.sum()) for b, _ in data)
    print(f"{CONVERSATIONS} conversations, {utterances} utterances, {len(data)} batches of {BATCH}, "
          f"{DIM}-d text and speech, {args.threads} thread(s), load {os.getloadavg()[0]:.2f}")
    base = None
    for name in chosen:
        seconds = epoch_seconds(name, HEADS[name], data, args.epochs)
        base = base or seconds
        flag = "" if seconds / base <= 3 else "  ABOVE 3x"
        print(f"{name:20s} {seconds:7.2f} s/epoch  {seconds / base:5.2f}x co-attention{flag}")


if __name__ == "__main__":
    main()
