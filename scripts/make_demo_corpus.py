"""Regenerate the bundled synthetic demo corpus (espeak-ng voices, FLAC, 16 kHz mono).

Why synthetic: erc-bench must run end to end with no licensed corpus. The demo corpus
is built so that each part of MERITS-L has something to learn:

* emotion lives in the words (clear sentences) *and* in the voice (pitch, rate,
  loudness, word gaps chosen per emotion), but often only in one of them: per
  utterance a *cue* decides - ``both``, ``voice`` (ambiguous words, emotional voice),
  ``words`` (clear words, flat voice) or ``none`` (ambiguous words, flat voice);
  so text-only and speech-only models are imperfect and fusion helps;
* labels follow conversation-level mood runs (3-5 utterances of one emotion), so
  conversation context helps, above all for ``none`` utterances;
* an unlabelled pool with MSP-Podcast-like valence (1-7) in ``pool/metadata.csv``
  for the LLM-guided pre-training step; valence follows word sentiment and voice;
* honest splits: train, validation, test and the pool each have their own sentences
  (no sentence shared, case- and punctuation-insensitive) and their own speakers
  (speaker-independent, like IEMOCAP's session split); ``check_honest`` refuses to
  write a corpus that breaks this, so scores measure generalisation, not recall.

Usage: ``python scripts/make_demo_corpus.py [--out DIR]`` (needs ``espeak-ng`` on PATH:
``apt-get install espeak-ng``). A fixed seed makes the output identical on every run
with the same espeak-ng version. All sentences (``demo_sentences.py``) were written for this corpus.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from demo_sentences import AMBIGUOUS, CLEAR, POOL_PLAIN, POOL_PREDICATES, POOL_SUBJECTS
from scipy.signal import resample_poly

SEED = 20240671  # the first seed from 20240650 giving every class >= 20 % of every split (no score looked at)
N_CONVERSATIONS = 48
SPLIT_COUNTS = {"train": 28, "validation": 10, "test": 10}
SENTENCE_SHARES = {"train": 0.56, "validation": 0.22, "test": 0.22}  # of each sentence bank, disjoint parts
POOL_SIZE = 160
EMOTIONS = ("angry", "happy", "sad", "neutral")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "plugins" / "erc_bench_datasets" / "demo_data"

# speaker id -> (espeak voice, personal pitch offset); each split has its own speakers (speaker-independent
# evaluation, like IEMOCAP's session split), and the pre-training pool has two more.
SPEAKERS = {
    "spk1": ("en-us+m3", -4), "spk2": ("en-gb+f3", 3), "spk3": ("en-us+f2", 0),
    "spk4": ("en-gb-x-rp+m1", 2), "spk5": ("en-us+f4", -3), "spk6": ("en-029+m2", 4),
    "spk7": ("en-gb-scotland+m4", 0), "spk8": ("en-us-nyc+f1", -2), "spk9": ("en-gb+m6", 2),
    "spk10": ("en-gb-x-gbclan+f5", 1), "spk11": ("en-us+m7", -2), "spk12": ("en-gb-x-gbcwmd+f2", 3),
    "spk13": ("en-us+m5", 1), "spk14": ("en-gb+f4", -1),
}
SPLIT_SPEAKERS = {"train": ("spk1", "spk2", "spk3", "spk4", "spk5", "spk6"),
                  "validation": ("spk7", "spk8", "spk9"), "test": ("spk10", "spk11", "spk12"),
                  "pool": ("spk13", "spk14")}

# emotion -> (pitch 0-99, speed wpm, amplitude 0-200, word gap in 10 ms units)
# Far apart on every axis and jittered less than the gaps between emotions, so that the voice alone separates
# the classes for unseen speakers (the test speakers' personal pitch offsets stay within the jitter).
PROSODY = {
    "neutral": (45, 160, 100, 0),
    "angry": (62, 235, 195, 0),
    "happy": (88, 195, 135, 1),
    "sad": (12, 105, 45, 6),
}
JITTER = (4, 8, 8)  # +- uniform jitter on pitch, speed, amplitude
# cue probabilities for emotional labels: both, voice only, words only, none
CUES = (("both", 0.35), ("voice", 0.35), ("words", 0.20), ("none", 0.10))
POOL_BASE_VALENCE = {"positive": 6.0, "negative": 2.0, "neutral": 4.0}
VOICE_VALENCE_SHIFT = {"happy": 0.6, "neutral": 0.0, "sad": -0.6, "angry": -0.6}


def normalise(sentence: str) -> str:
    """Case- and punctuation-insensitive form used for the no-sharing rule."""
    return " ".join(re.sub(r"[^\w\s]", " ", sentence.lower()).split())


def partition(bank: list[str], rng: random.Random) -> dict[str, list[str]]:
    """Disjoint train / validation / test parts of one sentence bank (shares as SENTENCE_SHARES)."""
    shuffled = rng.sample(bank, len(bank))
    n_val = round(len(bank) * SENTENCE_SHARES["validation"])
    n_test = round(len(bank) * SENTENCE_SHARES["test"])
    return {"validation": shuffled[:n_val], "test": shuffled[n_val:n_val + n_test],
            "train": shuffled[n_val + n_test:]}


@dataclass
class Line:
    """One clip to synthesise: who says what, in which voice, and its annotations."""

    clip: str
    speaker: str
    text: str
    voice_emotion: str
    label: str | None = None
    cue: str = ""
    valence: float | None = None


def _pick_run_emotion(rng: random.Random, previous: str | None, counts: dict[str, int]) -> str:
    """A run emotion different from the previous run, favouring the least used so far."""
    options = [e for e in EMOTIONS if e != previous]
    weights = [1.0 / (1 + counts[e]) ** 2 for e in options]
    return rng.choices(options, weights=weights)[0]


def _cue(rng: random.Random) -> str:
    return rng.choices([c for c, _ in CUES], weights=[w for _, w in CUES])[0]


def plan_conversations(rng: random.Random) -> list[tuple[str, str, list[Line]]]:
    """(conversation id, split, lines): mood runs, two alternating speakers of the split, cue per utterance.

    Each split draws its sentences from its own part of every bank and its speakers from its own set.
    """
    clear = {emotion: partition(bank, rng) for emotion, bank in CLEAR.items()}
    ambiguous = partition(AMBIGUOUS, rng)
    splits = [s for s, n in SPLIT_COUNTS.items() for _ in range(n)]
    rng.shuffle(splits)
    counts = {e: 0 for e in EMOTIONS}
    plans = []
    for c in range(N_CONVERSATIONS):
        conv_id, split = f"demo_c{c + 1:02d}", splits[c]
        speakers = rng.sample(SPLIT_SPEAKERS[split], 2)
        length = rng.randint(9, 12)
        labels: list[str] = []
        previous = None
        while len(labels) < length:
            emotion = _pick_run_emotion(rng, previous, counts)
            run = min(rng.randint(3, 5), length - len(labels))
            for _ in range(run):
                # now and then the other party stays calm inside an emotional run
                label = "neutral" if emotion != "neutral" and rng.random() < 0.1 else emotion
                labels.append(label)
                counts[label] += 1
            previous = emotion
        lines = []
        for pos, label in enumerate(labels):
            speaker = speakers[pos % 2] if rng.random() < 0.85 else speakers[(pos + 1) % 2]
            if label == "neutral":
                cue, text, voice = "neutral", rng.choice(ambiguous[split]), "neutral"
            else:
                cue = _cue(rng)
                words = clear[label][split] if cue in ("both", "words") else ambiguous[split]
                text = rng.choice(words)
                voice = label if cue in ("both", "voice") else "neutral"
            lines.append(Line(f"{conv_id}_u{pos:02d}", speaker, text, voice, label, cue))
        plans.append((conv_id, split, lines))
    return plans


def plan_pool(rng: random.Random) -> list[Line]:
    """Unlabelled clips with valence from word polarity + voice, plus some plain statements."""
    combos = [(s, pol, p) for s in POOL_SUBJECTS for pol, preds in POOL_PREDICATES.items() for p in preds]
    rng.shuffle(combos)
    n_templated = POOL_SIZE - 30
    lines = []
    congruent = {"positive": ["happy"], "negative": ["sad", "angry"], "neutral": ["neutral"]}
    speakers = SPLIT_SPEAKERS["pool"]
    for i, (subject, polarity, predicate) in enumerate(combos[:n_templated]):
        voice = rng.choice(congruent[polarity]) if rng.random() < 0.7 else "neutral"
        valence = POOL_BASE_VALENCE[polarity] + VOICE_VALENCE_SHIFT[voice] + rng.gauss(0, 0.4)
        lines.append(Line(f"pool_{i:04d}", rng.choice(speakers), f"{subject} {predicate}.", voice,
                          valence=round(min(7.0, max(1.0, valence)), 1)))
    for i in range(n_templated, POOL_SIZE):
        voice = rng.choice(EMOTIONS)
        valence = 4.0 + 2.0 * VOICE_VALENCE_SHIFT[voice] + rng.gauss(0, 0.4)
        lines.append(Line(f"pool_{i:04d}", rng.choice(speakers), rng.choice(POOL_PLAIN), voice,
                          valence=round(min(7.0, max(1.0, valence)), 1)))
    return lines


def check_honest(conversations: list[tuple[str, str, list[Line]]], pool: list[Line]) -> None:
    """Refuse to write a corpus that shares a sentence or a speaker across parts, or misses a class."""
    sentences: dict[str, set[str]] = {"pool": {normalise(line.text) for line in pool}}
    speakers: dict[str, set[str]] = {"pool": {line.speaker for line in pool}}
    labels: dict[str, set[str]] = {}
    for _, split, lines in conversations:
        sentences.setdefault(split, set()).update(normalise(line.text) for line in lines)
        speakers.setdefault(split, set()).update(line.speaker for line in lines)
        labels.setdefault(split, set()).update(line.label or "" for line in lines)
    parts = sorted(sentences)
    for i, first in enumerate(parts):
        for second in parts[i + 1:]:
            if sentences[first] & sentences[second] or speakers[first] & speakers[second]:
                raise SystemExit(f"demo corpus: {first} and {second} share a sentence or a speaker")
    if any(found != set(EMOTIONS) for found in labels.values()):
        raise SystemExit("demo corpus: a split misses a class; choose another SEED")


def synthesise(line: Line, rng: random.Random) -> np.ndarray:
    """espeak-ng -> 16 kHz mono float32, leading/trailing silence trimmed."""
    voice, offset = SPEAKERS[line.speaker]
    pitch, speed, amp, gap = PROSODY[line.voice_emotion]
    jp, js, ja = JITTER
    pitch = int(min(99, max(0, pitch + offset + rng.randint(-jp, jp))))
    speed = int(speed + rng.randint(-js, js))
    amp = int(min(200, max(10, amp + rng.randint(-ja, ja))))
    cmd = ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-a", str(amp), "-g", str(gap),
           "--stdout", line.text]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    data, rate = sf.read(io.BytesIO(raw), dtype="float32")
    if data.ndim > 1:
        data = data.mean(axis=1)
    if rate != 16_000:
        data = resample_poly(data, 16_000, rate).astype(np.float32)
    loud = np.flatnonzero(np.abs(data) > 0.01)
    if loud.size:
        pad = 1_600  # 0.1 s
        data = data[max(0, loud[0] - pad): loud[-1] + pad]
    # 12 significant bits in the 16-bit container: FLAC stores the 4 zero low bits for free
    # ("wasted bits"), about 25 % smaller, still 72 dB of dynamic range
    steps = np.round(np.clip(data, -1.0, 1.0) * 2047.0)
    return (steps * 16.0 / 32768.0).astype(np.float32)


def write(out: Path) -> None:
    """Plan everything from one seeded generator, synthesise, write FLAC + CSVs."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng not found: apt-get install espeak-ng")
    rng = random.Random(SEED)
    conversations = plan_conversations(rng)
    pool = plan_pool(rng)
    check_honest(conversations, pool)
    voice_rng = random.Random(SEED + 1)
    for sub in ("audio", "pool"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    (out / "audio").mkdir(parents=True)
    (out / "pool" / "audio").mkdir(parents=True)
    with open(out / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["conversation_id", "utterance_id", "speaker", "text", "audio", "label", "split", "cue"])
        for conv_id, split, lines in conversations:
            for line in lines:
                rel = f"audio/{line.clip}.flac"
                sf.write(out / rel, synthesise(line, voice_rng), 16_000, format="FLAC", subtype="PCM_16")
                writer.writerow([conv_id, line.clip, line.speaker, line.text, rel, line.label, split, line.cue])
    with open(out / "pool" / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["FileName", "EmoVal", "Transcript"])
        for line in pool:
            name = f"{line.clip}.flac"
            sf.write(out / "pool" / "audio" / name, synthesise(line, voice_rng), 16_000, format="FLAC",
                     subtype="PCM_16")
            writer.writerow([name, f"{line.valence:.1f}", line.text])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    write(args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {args.out} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
