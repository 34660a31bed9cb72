"""ASR speed on CPU: the toolkit path vs a plain faster-whisper loop, same clips, same model, one run.

Baseline: ``WhisperModel.transcribe(path)`` file by file with faster-whisper's
defaults (beam 5, timestamps, temperature fallback), the loop most users write.
Toolkit: ``transcribe_utterances`` with the ``faster-whisper`` component
(beam 5), batched across utterances (``--batch-size``), and again with
``batch_size = 1`` (faster-whisper's own per-file path) to show what batching
buys, and with ``trim_window`` (encoder fed ~clip length instead of 30 s; faster,
but check WER). All use Whisper-base from the offline package, int8, ``--threads``
threads. Reports real-time factor (compute seconds per audio second),
utterances/s, ratios against the baseline, WER of each against the reference
text, and a cached rerun. Clips: the demo corpus, else espeak-ng.

    python benchmarks/perf/asr_speed.py [--n 24] [--batch-size 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "plugins" / "erc_bench_datasets" / "demo_data"


def speech_clips(n: int, workdir: Path) -> list[tuple[str, Path]]:
    """(reference text, path) for n clips: demo corpus rows, else sentences spoken by espeak-ng."""
    manifest = DEMO / "manifest.csv"
    if manifest.is_file():
        with manifest.open(encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r.get("audio") and (DEMO / r["audio"]).is_file()]
        if rows:
            return [(r["text"], DEMO / r["audio"]) for r in rows[:n]]
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("no demo corpus and no espeak-ng to synthesise clips")
    words = "the quick brown fox jumps over a lazy dog while we wait for the train to leave".split()
    out = []
    for i in range(n):
        text = " ".join(words[(i * 3) % len(words):][: 4 + i % 8]) or "hello there"
        path = workdir / f"clip{i}.wav"
        subprocess.run([espeak, "-w", str(path), text], check=True)
        out.append((text, path))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import soundfile as sf
    from erc_bench_speech.asr import FasterWhisperASR, FasterWhisperParams
    from erc_bench_speech.wer import normalise_text, word_edits
    from erc_bench_speech.whisper_model import resolve_model
    from faster_whisper import WhisperModel

    from erc_bench import AudioSource, Cache, Utterance, transcribe_utterances

    workdir = Path(tempfile.mkdtemp(prefix="asr-speed-"))
    clips = speech_clips(args.n, workdir)
    audio_seconds = sum(sf.info(str(p)).duration for _, p in clips)
    model_dir = resolve_model("base")
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=args.threads)

    def wer(texts: list[str]) -> float:
        refs = [normalise_text(t) for t, _ in clips]
        return sum(word_edits(r, normalise_text(h)) for r, h in zip(refs, texts, strict=True)) / sum(map(len, refs))

    started = time.perf_counter()
    plain = []
    for _, path in clips:
        segments, _info = model.transcribe(str(path), language="en", beam_size=5)
        plain.append("".join(s.text for s in segments))
    baseline = time.perf_counter() - started

    utterances = [Utterance(f"u{i}", "c", i, t, None, audio=AudioSource(str(p))) for i, (t, p) in enumerate(clips)]
    rows = [("plain faster-whisper loop (baseline)", baseline, wer(plain))]
    cache = None
    variants = ((f"toolkit, batch_size={args.batch_size}", args.batch_size, False),
                ("toolkit, batch_size=1 (CPU default)", 1, False),
                (f"toolkit, batch_size={args.batch_size}, trim_window", args.batch_size, True))
    for label, batch, trim in variants:
        asr = FasterWhisperASR(FasterWhisperParams(model="base", beam_size=5, batch_size=batch,
                                                   cpu_threads=args.threads, trim_window=trim))
        asr._model = model  # share the loaded weights: time transcription, not loading
        cache = Cache(workdir / f"cache-{batch}-{trim}")
        started = time.perf_counter()
        found, problems = transcribe_utterances(asr, utterances, cache)
        rows.append((label, time.perf_counter() - started, wer([found[u.id].text for u in utterances])))
        assert not problems, problems
    started = time.perf_counter()
    rerun = FasterWhisperASR(asr.params)  # same fingerprint as the last variant, model never loaded
    transcribe_utterances(rerun, utterances, cache)
    cached = time.perf_counter() - started
    assert rerun.model_calls == 0

    print(f"{len(clips)} clips, {audio_seconds:.1f} s of audio, Whisper-base int8, CPU, {args.threads} threads")
    print(f"{'path':40s} {'seconds':>8s} {'RTF':>7s} {'utt/s':>7s} {'speed-up':>9s} {'WER %':>7s}")
    for label, seconds, error in rows:
        print(f"{label:40s} {seconds:8.2f} {seconds / audio_seconds:7.3f} {len(clips) / seconds:7.2f} "
              f"{baseline / seconds:8.2f}x {100 * error:7.2f}")
    print(f"{'cached rerun (no model call)':40s} {cached:8.2f}")
    shutil.rmtree(workdir, ignore_errors=True)
    if min(seconds for _, seconds, _ in rows[1:3]) > baseline:
        sys.exit("toolkit path (default window) slower than the plain loop")


if __name__ == "__main__":
    main()
