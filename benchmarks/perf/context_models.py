"""Training cost of every context model (and fusion head) per epoch, as a ratio to the Bi-GRU + attention.

MELD-shaped synthetic data: 1,039 training conversations of 1 to 24 utterances, 256-d features, each
conversation's speakers drawn among up to 9 and numbered by first turn (as the engine numbers them), 7
classes; batches of 32, Adam, cross-entropy on real utterances, CPU. Each entry of ``CASES`` is a
``(kind, name, params)`` measured the same way: one warm-up batch, then ``--epochs`` timed epochs. Target: no
family above 3x the Bi-GRU + attention of the same run. The machine's load changes the absolute figures;
the ratios are what to read.

    python benchmarks/perf/context_models.py [--epochs 1] [--threads 2] [--only dialogue-rnn,...]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

DIM, CLASSES, CONVERSATIONS, MAX_LENGTH, MAX_SPEAKERS, BATCH = 256, 7, 1039, 24, 9, 32

# (kind, name, params): the defaults of each family unless noted; the first is the baseline.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("context_model", "bigru-attention", {"hidden": 128, "heads": 4}),
    ("context_model", "none", {}),
    ("context_model", "mean-pool", {}),
    ("context_model", "bc-lstm", {}),
    ("context_model", "dialogue-rnn", {}),
    ("context_model", "dialogue-rnn", {"listener_state": True}),
    ("context_model", "dialogue-rnn", {"bidirectional": True, "emotion_attention": True}),
    ("context_model", "dialogue-gcn", {}),
    ("context_model", "dialogue-gcn", {"max_speakers": 9, "bases": 30}),
    ("context_model", "transformer", {}),
    ("context_model", "transformer", {"speaker_embeddings": True}),
]


def batches(seed: int = 0) -> list[Any]:
    """The epoch's batches (built once): ``(ConversationBatch with text and speech, labels [B, T])``."""
    import torch

    from erc_bench import ConversationBatch

    gen = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, CONVERSATIONS, BATCH):
        size = min(BATCH, CONVERSATIONS - start)
        lengths = torch.randint(1, MAX_LENGTH + 1, (size,), generator=gen)
        steps = int(lengths.max())
        mask = torch.arange(steps).expand(size, steps) < lengths.unsqueeze(1)
        raw = torch.randint(0, MAX_SPEAKERS, (size, steps), generator=gen) % torch.randint(
            1, MAX_SPEAKERS + 1, (size, 1), generator=gen)
        speakers = torch.full((size, steps), -1, dtype=torch.int64)
        for b in range(size):  # number speakers by first turn, as the engine does
            order: dict[int, int] = {}
            for t in range(int(lengths[b])):
                speakers[b, t] = order.setdefault(int(raw[b, t]), len(order))
        positions = torch.arange(steps).expand(size, steps).masked_fill(~mask, -1)
        features = {m: torch.randn(size, steps, DIM, generator=gen) * mask.unsqueeze(-1) for m in ("text", "speech")}
        labels = torch.randint(0, CLASSES, (size, steps), generator=gen)
        out.append((ConversationBatch(features, mask, speakers, positions), labels))
    return out


def module_for(kind: str, name: str, params: dict[str, Any]) -> Any:
    from erc_bench import build

    component = build(kind, name, params)
    if kind == "context_model":
        return component.build(DIM, CLASSES)
    return component.build({"text": DIM, "speech": DIM}, CLASSES)


def epoch_seconds(kind: str, module: Any, data: list[Any], epochs: int) -> float:
    import torch

    optimiser = torch.optim.Adam(module.parameters(), lr=1e-3)
    module.train()

    def step(batch: Any, labels: Any) -> None:
        if kind == "context_model":
            batch = batch.with_features({"text": batch.features["text"]})
        output = module(batch)
        logits = output[0] if isinstance(output, tuple) else output
        loss = torch.nn.functional.cross_entropy(logits[batch.mask], labels[batch.mask])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    step(*data[0])  # warm-up
    started = time.perf_counter()
    for _ in range(epochs):
        for batch, labels in data:
            step(batch, labels)
    return (time.perf_counter() - started) / epochs


def main() -> None:
    import os

    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated names to time besides the baseline")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = batches()
    wanted = set(filter(None, args.only.split(",")))
    cases = [c for i, c in enumerate(CASES) if i == 0 or not wanted or c[1] in wanted]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{CONVERSATIONS} conversations, <= {MAX_LENGTH} utterances, {DIM}-d, batch {BATCH}, "
          f"{args.threads} threads, load {load:.1f}")
    baseline = None
    for kind, name, params in cases:
        module = module_for(kind, name, params)
        seconds = epoch_seconds(kind, module, data, args.epochs)
        baseline = baseline or seconds
        label = f"{name} {params}" if params else name
        print(f"{kind:14s} {label:70s} {seconds:7.2f} s/epoch  {seconds / baseline:5.2f}x", flush=True)


if __name__ == "__main__":
    main()
