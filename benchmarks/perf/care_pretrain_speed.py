"""CARE pre-training step rate for a WavLM-base-sized trunk (random weights), against plain WavLM-base.

One CARE step = ``CareNetwork.branches`` on a batch of fixed-length crops, both MSE losses,
backward and the two AdamW updates, with the authors' trainable/frozen split (as
``erc_bench_speech.care_pretrain``). Baseline, same run and batch: a plain ``WavLMModel``
(WavLM-base shape) forward + backward + AdamW, i.e. fine-tuning WavLM-base. Printed: seconds
per step for both on this CPU, their ratio, the FLOPs of one CARE step (counted by
``torch.utils.flop_counter``), the process's peak memory, and an estimate of the GPU time per
step at an assumed sustained throughput (``--gpu-tflops``, default 40 TFLOP/s for bf16 on one
A100/H100-class GPU at modest utilisation): an ESTIMATE, not a measurement.

    python benchmarks/perf/care_pretrain_speed.py [--batch 2] [--seconds 5] [--steps 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _care_step(net, projection, optimisers, wavs, text, targets):  # noqa: ANN001, ANN202
    import torch

    out = net.branches(wavs, detach_acoustic=True)
    frames = out["acoustic"].shape[1]
    loss = torch.nn.functional.mse_loss(projection(out["pooled"]), text) + \
        torch.nn.functional.mse_loss(out["acoustic"], targets[:, :frames])
    loss.backward()
    for opt in optimisers:
        opt.step()
        opt.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gpu-tflops", type=float, default=40.0)
    args = parser.parse_args()

    import torch
    from erc_bench_speech.care_model import CareNetwork
    from erc_bench_speech.care_pretrain import ACOUSTIC_GROUP, COMMON_GROUP
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import WavLMConfig, WavLMModel

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    samples = int(args.seconds * 16_000)
    wavs = torch.randn(args.batch, samples) * 0.1
    net = CareNetwork({}, {}, 6, 256).train()  # WavLM-base + RoBERTa-base layer shapes, random weights
    groups: dict[str, list] = {"common": [], "acoustic": []}
    for name, param in net.named_parameters():
        group = "common" if name.startswith(COMMON_GROUP) else "acoustic" if name.startswith(ACOUSTIC_GROUP) else None
        param.requires_grad_(group is not None)
        if group:
            groups[group].append(param)
    projection = torch.nn.Identity()
    optimisers = [torch.optim.AdamW(p, lr=1e-5) for p in groups.values()]
    text, targets = torch.randn(args.batch, 768), torch.randn(args.batch, samples // 320 + 1, 256)

    with FlopCounterMode(display=False) as counter:
        _care_step(net, projection, optimisers, wavs, text, targets)  # also the warm-up
    flops = counter.get_total_flops()
    start = time.perf_counter()
    for _ in range(args.steps):
        _care_step(net, projection, optimisers, wavs, text, targets)
    care = (time.perf_counter() - start) / args.steps
    print(f"CARE (WavLM-base-sized, random weights): {care:.2f} s/step on CPU; {flops / 1e12:.2f} TFLOP/step",
          flush=True)
    del net, optimisers, groups  # free CARE before building the baseline (fits small machines)
    gc.collect()

    baseline_model = WavLMModel(WavLMConfig()).train()
    opt = torch.optim.AdamW(baseline_model.parameters(), lr=1e-5)

    def baseline_step() -> None:
        baseline_model(wavs).last_hidden_state.pow(2).mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    baseline_step()
    start = time.perf_counter()
    for _ in range(args.steps):
        baseline_step()
    base = (time.perf_counter() - start) / args.steps
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"batch {args.batch} x {args.seconds:g} s crops, {args.threads} CPU threads, {args.steps} timed steps")
    print(f"baseline WavLM-base fine-tuning step:   {base:.2f} s/step on CPU")
    print(f"ratio CARE / baseline: {care / base:.2f}x")
    print(f"CARE step: {flops / 1e12:.2f} TFLOP; peak process memory {peak_gib:.1f} GiB (CPU, both models)")
    per_item = flops / args.batch
    print(f"ESTIMATE at {args.gpu_tflops:g} TFLOP/s sustained on one GPU: {per_item * 8 / args.gpu_tflops / 1e12:.3f} "
          f"s/step at the authors' batch 8 of {args.seconds:g} s crops")


if __name__ == "__main__":
    main()
