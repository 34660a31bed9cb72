"""hf-llm: peak memory and seconds per training step with LoRA against full fine-tuning of the same model.

Each configuration trains in a fresh subprocess (so one's allocations cannot hide the other's peak): it loads
the model, runs one untimed warm-up step and then ``--steps`` timed AdamW steps (forward, cross-entropy,
backward, update) on batches of ``--batch`` utterances of about ``--tokens`` tokens, the way Stage I trains the
classifier. Memory on a CPU is the process's peak resident set (``resource.getrusage`` maxrss; tracemalloc does
not see torch's allocations), reported whole and as the increase over the loaded model; on CUDA it is
``torch.cuda.max_memory_allocated``. Both configurations run in this one invocation and the ratios printed
compare them; the trainable-parameter fraction is LoRA's (adapters + head) over all parameters.

Default model: a random Llama (hidden 256, 4 layers) written to a temporary folder (``erc_bench_models.llm_tiny``).
With a GPU, e.g.: ``python benchmarks/perf/hf_llm_memory.py --model Qwen/Qwen2.5-0.5B --batch 32``.

    nice python benchmarks/perf/hf_llm_memory.py [--model NAME_OR_DIR] [--batch 8] [--steps 5] [--tokens 48]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LABELS = ["happy", "sad", "angry", "neutral"]
WORDS = "i am so happy glad sad sorry angry furious okay fine the today this feel very not really we they".split()


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _classifier(mode: str, args: argparse.Namespace) -> Any:
    from erc_bench import build

    params = {"model": args.model, "hidden_dim": args.hidden_dim, "lora_rank": args.rank, "lora_alpha": 2 * args.rank,
              "max_length": args.tokens + 8, "pooling": "last-token", "dtype": args.dtype,
              "gradient_checkpointing": args.checkpointing}
    if mode == "lora":
        return build("text_encoder", "hf-llm", params).build_labelled_classifier(LABELS)
    from erc_bench_models.llm import HFLLMEncoder
    from erc_bench_models.llm_module import HFLLMClassifier, load_base, load_tokenizer

    p = HFLLMEncoder.Params(**params)
    base = load_base(args.model, p)
    for param in base.parameters():
        param.requires_grad_(True)  # full fine-tuning: every weight of the same base, the same head
    return HFLLMClassifier(base, load_tokenizer(args.model, None), int(base.config.hidden_size), len(LABELS),
                           p.hidden_dim, p.dropout, p.pooling, p.max_length, LABELS, base=args.model)


def worker(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    """One configuration, in this (fresh) process: memory and time of ``args.steps`` training steps."""
    import random

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cuda = torch.cuda.is_available() and args.device != "cpu"
    device = torch.device("cuda" if cuda else "cpu")
    model = _classifier(mode, args).to(device)
    loaded = torch.cuda.memory_allocated() / 2**20 if cuda else _rss_mb()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    rng = random.Random(0)
    model.train()

    def step() -> None:
        texts = [" ".join(rng.choice(WORDS) for _ in range(args.tokens)) for _ in range(args.batch)]
        gold = torch.tensor([rng.randrange(len(LABELS)) for _ in texts], device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = torch.nn.functional.cross_entropy(model(texts)[0].float(), gold)
        loss.backward()
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)

    step()  # warm-up: optimiser state allocated, kernels chosen
    if cuda:
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    if cuda:
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / args.steps
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _rss_mb()
    return {"mode": mode, "device": device.type, "seconds_per_step": seconds, "peak_mb": peak, "loaded_mb": loaded,
            "training_mb": peak - loaded, "trainable": trainable, "total": total}


def _median(rows: list[dict[str, Any]]) -> dict[str, Any]:
    import statistics

    keys = ("seconds_per_step", "peak_mb", "loaded_mb", "training_mb")
    return rows[0] | {k: statistics.median(r[k] for r in rows) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="hub id or folder (default: a random Llama, --hidden x --layers)")
    parser.add_argument("--hidden", type=int, default=256, help="the random Llama's width")
    parser.add_argument("--layers", type=int, default=4, help="the random Llama's depth")
    parser.add_argument("--repeats", type=int, default=3, help="runs per configuration, alternating; medians shown")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=48, help="words per utterance (about as many tokens)")
    parser.add_argument("--rank", type=int, default=8, help="LoRA rank")
    parser.add_argument("--hidden-dim", type=int, default=64, help="the head's hidden layer")
    parser.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float32"])
    parser.add_argument("--checkpointing", action="store_true", help="gradient checkpointing in both runs")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", choices=["lora", "full"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    with tempfile.TemporaryDirectory(prefix="hf-llm-perf-") as tmp:
        if args.model is None:
            from erc_bench_models.llm_tiny import make_tiny_llm

            args.model = str(make_tiny_llm(tmp, "llama", hidden=args.hidden, layers=args.layers, heads=4))
        forwarded = [a for a in sys.argv[1:] if a != "--model"]
        if "--model" in sys.argv:
            forwarded.remove(sys.argv[sys.argv.index("--model") + 1])
        runs: dict[str, list[dict[str, Any]]] = {"lora": [], "full": []}
        for _ in range(args.repeats):  # alternating, so a busy spell of a shared machine hits both
            for mode in ("lora", "full"):
                out = subprocess.run([sys.executable, __file__, "--worker", mode, "--model", args.model, *forwarded],
                                     capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    sys.exit(f"{mode} run failed:\n{out.stderr[-3000:]}")
                runs[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))
    results = {mode: _median(rows) for mode, rows in runs.items()}
    lora, full = results["lora"], results["full"]
    unit = "CUDA max_memory_allocated" if lora["device"] == "cuda" else "peak RSS (getrusage maxrss)"
    name = f"random Llama {args.hidden}x{args.layers}" if args.model.startswith(tempfile.gettempdir()) else args.model
    print(f"model {name}, batch {args.batch}, ~{args.tokens} tokens, {args.steps} timed steps, {lora['device']}, "
          f"memory = {unit}; medians of {args.repeats} runs each; s/step per run: "
          f"lora {[round(r['seconds_per_step'], 2) for r in runs['lora']]}, "
          f"full {[round(r['seconds_per_step'], 2) for r in runs['full']]}")
    for r in (lora, full):
        print(f"  {r['mode']:4}  {r['seconds_per_step']:.3f} s/step  peak {r['peak_mb']:.0f} MB  "
              f"(loaded model {r['loaded_mb']:.0f} MB, training +{r['training_mb']:.0f} MB)  "
              f"trainable {r['trainable']:,} of {r['total']:,} ({100 * r['trainable'] / r['total']:.2f} %)")
    print(f"LoRA / full: time per step {lora['seconds_per_step'] / full['seconds_per_step']:.2f}, peak memory "
          f"{lora['peak_mb'] / full['peak_mb']:.2f}, training memory over the loaded model "
          f"{lora['training_mb'] / max(full['training_mb'], 1e-9):.2f}; LoRA trains "
          f"{100 * lora['trainable'] / lora['total']:.2f} % of the parameters")


if __name__ == "__main__":
    main()
