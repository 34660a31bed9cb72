"""Speech-encoder throughput: utterances/s per encoder, batched vs one-at-a-time, one run.

Clips: the demo corpus (decoded once, before timing), else espeak-ng. For
``hf-ssl`` and ``whisper-encoder`` the same component runs with length-sorted,
bucketed batches (``--batch-size``) and with ``batch_size = 1``; the ratio is the
speed-up (target >= 1.5x). ``whisper-encoder`` is also timed the way Whisper is
usually run, one clip per full 30-s window, as a second baseline.

Offline, no hub: ``hf-ssl`` uses a random-initialised wav2vec2 with the
wav2vec2-base shape (12 layers, 768 hidden, group-norm front end, no attention
mask) saved to a temporary folder: random weights, identical compute. ``care``
likewise runs random weights of its real shape (WavLM-base + RoBERTa-base layers).
``whisper-encoder`` is real Whisper-base from the offline package.

    python benchmarks/perf/encoder_speed.py [--n 96] [--n-torch 24] [--batch-size 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from asr_speed import speech_clips  # noqa: E402


def rate(encoder: Any, waves: list[Any]) -> float:
    encoder.encode(waves[:2])  # load weights and warm up outside the timing
    started = time.perf_counter()
    encoder.encode(waves)
    return len(waves) / (time.perf_counter() - started)


def batching_ceiling(model_dir: Path, waves: list, batch: int, repeats: int = 3) -> float:
    """What batching can give at all here: a plain transformers forward pass, no erc-bench code, on
    ``batch`` equal-length clips (the median demo length rounded up to whole seconds), batch vs one by one."""
    import statistics

    import torch
    from transformers import Wav2Vec2Model

    model = Wav2Vec2Model.from_pretrained(model_dir).eval()
    width = -(-int(statistics.median(w.size for w in waves)) // 16_000) * 16_000
    x = torch.randn(batch, width)
    with torch.inference_mode():
        model(x[:1])
        model(x)  # warm both shapes
        one = min(_timed(lambda: [model(x[i:i + 1]) for i in range(batch)]) for _ in range(repeats))
        together = min(_timed(lambda: model(x)) for _ in range(repeats))
    return one / together


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=96, help="clips for acoustic-stats and whisper-encoder")
    parser.add_argument("--n-torch", type=int, default=24, help="clips for the slower torch encoders")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-care", action="store_true")
    args = parser.parse_args()

    import torch
    from erc_bench_speech.acoustic_stats import AcousticStatsEncoder, AcousticStatsParams
    from erc_bench_speech.care import CareEncoder, CareParams
    from erc_bench_speech.hf_ssl import HfSslEncoder, HfSslParams
    from erc_bench_speech.whisper_encoder import WhisperEncoder, WhisperEncoderParams
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    from erc_bench import AudioSource, load_audio

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    workdir = Path(tempfile.mkdtemp(prefix="encoder-speed-"))
    waves = [load_audio(AudioSource(str(p))) for _, p in speech_clips(args.n, workdir)]
    seconds = sum(w.size for w in waves) / 16_000
    ssl_dir = workdir / "wav2vec2-base-shape"
    Wav2Vec2Model(Wav2Vec2Config()).save_pretrained(ssl_dir)  # defaults = wav2vec2-base shape
    Wav2Vec2FeatureExtractor(return_attention_mask=False, do_normalize=True).save_pretrained(ssl_dir)

    rows: list[tuple[str, float, float | None]] = []
    stats = rate(AcousticStatsEncoder(AcousticStatsParams()), waves)
    rows.append(("acoustic-stats", stats, None))
    for label, make, clips in (
        ("hf-ssl (wav2vec2-base shape)", lambda b: HfSslEncoder(HfSslParams(model=str(ssl_dir), batch_size=b)),
         waves[: args.n_torch]),
        ("whisper-encoder (base)", lambda b: WhisperEncoder(WhisperEncoderParams(batch_size=b,
                                                                                 cpu_threads=args.threads)), waves),
    ):
        single = rate(make(1), clips)
        batched = rate(make(args.batch_size), clips)
        rows.append((f"{label}, batch 1", single, None))
        rows.append((f"{label}, batch {args.batch_size}", batched, batched / single))
    full = rate(WhisperEncoder(WhisperEncoderParams(batch_size=1, full_window=True, cpu_threads=args.threads)),
                waves)
    rows.append(("whisper-encoder, 30-s window, batch 1", full, None))
    if not args.skip_care:
        rows.append(("care (random weights, real shape)", rate(CareEncoder(CareParams(allow_random_init=True)),
                                                             waves[: args.n_torch]), None))

    print(f"{len(waves)} clips ({args.n_torch} for hf-ssl and care), {seconds:.1f} s of audio, CPU, "
          f"{args.threads} threads")
    print(f"{'encoder':48s} {'utt/s':>8s} {'batched / one-at-a-time':>24s}")
    for label, value, ratio in rows:
        print(f"{label:48s} {value:8.2f} {'' if ratio is None else f'{ratio:.2f}x':>24s}")
    ceiling = batching_ceiling(ssl_dir, waves, args.batch_size)
    print(f"hf-ssl ceiling (plain transformers forward, batch {args.batch_size} vs 1, equal lengths): {ceiling:.2f}x")
    whisper_batched = next(v for label, v, _ in rows if label.startswith("whisper-encoder (base), batch ")
                           and not label.endswith(" 1"))
    print(f"whisper-encoder batched vs 30-s window one-at-a-time: {whisper_batched / full:.2f}x")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
