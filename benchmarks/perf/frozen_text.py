"""Frozen text encoder (``train_layers = 0``): the encoder in every batch (old) vs encoded once and cached (new).

Both paths run Stage I text on the same corpus, settings and seed in this one
process, one after the other, and the script prints seconds for each and the
ratio. The old path runs ``--old-epochs`` epochs (default 1: an epoch of it is
minutes on MELD); its time for ``--epochs`` is extrapolated from its measured
per-epoch time plus its measured set-up and final evaluation, and the output
says so. The new path runs all ``--epochs`` epochs with an empty cache (the
one-off encoding included), then once more from the warm cache.

Corpus: ``--meld ROOT`` (a folder with MELD's ``train_sent_emo.csv``,
``dev_sent_emo.csv`` and ``test_sent_emo.csv``; text only, ``audio = "off"``);
without it the bundled demo corpus. The test split is dropped before training:
this measures time, and nothing here may look at test.

    python benchmarks/perf/frozen_text.py --meld /tmp/meld [--epochs 10] [--old-epochs 1] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def corpus(meld: str | None) -> Any:
    from erc_bench import build

    data = build("dataset", "meld", {"root": meld, "audio": "off"}) if meld else build("dataset", "demo")
    splits = data.load()
    splits.splits["test"] = []  # time only: never look at test
    return splits


def timed(data: Any, texts: dict[str, str], cfg: Any, frozen_as_features: bool, cache: Any) -> dict[str, Any]:
    """Seconds of one Stage I run, with the wall time at the end of each epoch (from the loop's listener)."""
    from erc_bench import build
    from erc_bench.recipes.merits_l.stages import train_text_stage1
    from erc_bench.train.events import epoch_listener

    encoder = build("text_encoder", "hf-text", {"model": MODEL, "pooling": "mean"})
    ends: list[float] = []
    started = time.perf_counter()
    with epoch_listener(lambda stage, record: ends.append(time.perf_counter() - started)):
        result = train_text_stage1(encoder, data, texts, cfg, seed=0, device="cpu", cache=cache,
                                   frozen_as_features=frozen_as_features)
    total = time.perf_counter() - started
    return {"total": total, "ends": ends, "val_wf1": result.metrics["validation"]["weighted_f1"],
            "best_epoch": result.best_epoch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meld", help="folder holding MELD's three *_sent_emo.csv files (default: demo corpus)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--old-epochs", type=int, default=1, help="epochs actually run on the old path")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from erc_bench.core.cache import Cache
    from erc_bench.core.spec import StageTraining

    torch.set_num_threads(args.threads)
    data = corpus(args.meld)
    texts = {u.id: u.text for split in ("train", "validation") for u in data.utterances(split)}
    n_train = sum(1 for _ in data.utterances("train"))
    print(f"corpus: {data.name}, {n_train} training and {len(texts) - n_train} validation utterances; "
          f"{MODEL} (mean pooling, max_length 128), train_layers = 0, batch {args.batch_size}, {args.threads} threads")

    def settings(epochs: int) -> Any:
        return StageTraining(epochs=epochs, lr=1e-3, batch_size=args.batch_size, train_layers=0)

    old = timed(data, texts, settings(args.old_epochs), False, None)
    ends = old["ends"]
    per_epoch = ends[-1] / len(ends)  # set-up (model build) counted into the epochs: slightly pessimistic
    final_eval = old["total"] - ends[-1]
    old_full = per_epoch * args.epochs + final_eval
    print(f"old path (encoder in every batch): ran {len(ends)} epoch(s) in {old['total']:.1f} s "
          f"({per_epoch:.1f} s per epoch, final evaluation {final_eval:.1f} s); "
          f"{args.epochs} epochs extrapolated: {old_full:.1f} s")

    with tempfile.TemporaryDirectory() as root:
        cache = Cache(root)
        cold = timed(data, texts, settings(args.epochs), True, cache)
        warm = timed(data, texts, settings(args.epochs), True, cache)
    print(f"new path (encoded once, cached): {args.epochs} epochs in {cold['total']:.1f} s with an empty cache "
          f"(encoding included), {warm['total']:.1f} s from the warm cache; "
          f"best epoch {cold['best_epoch']}, val WF1 {100 * cold['val_wf1']:.2f}")
    print(f"ratio old/new for {args.epochs} epochs: {old_full / cold['total']:.1f}x with an empty cache, "
          f"{old_full / warm['total']:.1f}x warm (old path extrapolated from {len(ends)} measured epoch(s))")


if __name__ == "__main__":
    main()
