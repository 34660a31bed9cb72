"""Peak RSS of featurising one long clip, against clip length: ``python benchmarks/perf/long_audio.py``.

Each measurement runs in a fresh subprocess that imports the encoder, reads the clip and encodes it,
and reports ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (MiB); a 10-s clip is the baseline
(imports, model), so "over baseline" is what the clip's length costs. ``new`` is the engine's path
(``erc_bench.features.long_audio.encode_sources``: windows / only the span used); ``old`` decodes the
whole clip with ``load_audio`` and calls ``encode`` on it, as every run did before, with
acoustic-stats as it was at ``--old-ref`` (read from git: the whole clip's frames in float64); it
runs only up to ``--old-up-to`` seconds (old acoustic-stats needs some GB per 5 min), the rest is
marked "not run". The clips are 16-bit 16 kHz WAV, written in chunks.

    python benchmarks/perf/long_audio.py --lengths 60 1800 10800 --encoders acoustic-stats whisper-encoder
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

RATE = 16_000

_CHILD = r"""
import resource, sys
mode, encoder, path = sys.argv[1:4]
from erc_bench.core.interfaces import AudioSource
from erc_bench.core.plugin_host import host
encoder = host().get("speech_encoder", encoder).cls(host().get("speech_encoder", encoder).cls.Params())
if mode == "old" and len(sys.argv) > 4:  # acoustic-stats as it was before streaming
    import importlib.util
    spec = importlib.util.spec_from_file_location("acoustic_stats_old", sys.argv[4])
    old = importlib.util.module_from_spec(spec); spec.loader.exec_module(old)
    encoder = old.AcousticStatsEncoder(old.AcousticStatsParams())
if mode == "new":
    from erc_bench.features.long_audio import encode_sources
    (index, vector), = list(encode_sources(encoder, [AudioSource(path)]))
else:
    from erc_bench.core.audio import load_audio
    vector = encoder.encode([load_audio(AudioSource(path))])[0]
assert not isinstance(vector, Exception), vector
print(vector.shape)
"""


def write_clip(path: Path, seconds: float, pattern_seconds: int = 60) -> Path:
    """A speech-like 16-bit WAV (gliding harmonics, noise, pauses): a ``pattern_seconds`` stretch written
    again and again, so a 3-hour file takes seconds and never sits in memory whole."""
    import numpy as np
    import soundfile as sf

    t = np.arange(pattern_seconds * RATE) / RATE
    phase = 2 * np.pi * np.cumsum(140.0 + 30.0 * np.sin(t * 0.3)) / RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 5)) * (np.sin(t * 0.8) > -0.4)
    pattern = (0.2 * wave + np.random.default_rng(0).normal(scale=0.01, size=t.size)).astype(np.float32)
    total = int(seconds * RATE)
    with sf.SoundFile(str(path), "w", samplerate=RATE, channels=1, subtype="PCM_16") as out:
        for start in range(0, total, pattern.size):
            out.write(pattern[:min(pattern.size, total - start)])
    return path


def peak_rss_mib(mode: str, encoder: str, clip: Path, timeout: float = 900.0, old_code: Path | None = None) -> float:
    """Peak RSS (MiB) of a fresh process encoding ``clip`` (``old_code``: the encoder module to use instead,
    in mode "old"); raises if the child fails."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
    code = ("import resource, subprocess, sys; "
            f"r = subprocess.run([sys.executable, '-c', {_CHILD!r}, {mode!r}, {encoder!r}, {str(clip)!r}"
            f"{', ' + repr(str(old_code)) if old_code else ''}], "
            "capture_output=True, text=True); "
            "sys.stderr.write(r.stderr[-2000:]) if r.returncode else None; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else -1)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout)
    value = int(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else -1
    if value < 0:
        raise RuntimeError(f"{mode} {encoder} on {clip.name} failed: {out.stderr[-1500:]}")
    return value / 1024.0  # ru_maxrss is KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=float, nargs="+", default=[60, 1800, 10800], help="clip seconds")
    parser.add_argument("--encoders", nargs="+", default=["acoustic-stats", "whisper-encoder"])
    parser.add_argument("--old-up-to", type=float, default=300.0, help="longest clip the old path runs on")
    parser.add_argument("--old-ref", default="7caed3c", help="git commit with the pre-streaming acoustic-stats")
    args = parser.parse_args()
    print(f"{'encoder':18} {'clip':>8} {'new MiB':>9} {'old MiB':>9}  (baseline = same process on a 10-s clip)")
    with tempfile.TemporaryDirectory() as folder:
        base_clip = write_clip(Path(folder) / "base.wav", 10)
        old_stats = Path(folder) / "acoustic_stats_old.py"
        source = subprocess.run(["git", "show", f"{args.old_ref}:plugins/erc_bench_speech/acoustic_stats.py"],
                                capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2])
        old_stats.write_text(source.stdout)
        for encoder in args.encoders:
            old_code = old_stats if encoder == "acoustic-stats" else None
            base = peak_rss_mib("new", encoder, base_clip)
            old_base = peak_rss_mib("old", encoder, base_clip, old_code=old_code)
            print(f"{encoder:18} {'10 s':>8} {base:9.0f} {old_base:9.0f}")
            for seconds in args.lengths:
                clip = write_clip(Path(folder) / f"clip{int(seconds)}.wav", seconds)
                new = peak_rss_mib("new", encoder, clip)
                old = (f"{peak_rss_mib('old', encoder, clip, old_code=old_code):9.0f}" if seconds <= args.old_up_to
                       else f"{'not run':>9}")
                label = f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min" if seconds >= 60 \
                    else f"{seconds:g} s"
                print(f"{encoder:18} {label:>8} {new:9.0f} {old}   new over baseline: {new - base:+.0f} MiB",
                      flush=True)
                clip.unlink()
    print(f"(peak of this driver itself: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
