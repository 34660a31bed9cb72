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
  for the LLM-guided pre-training step; valence follows word sentiment and voice.

Usage: ``python scripts/make_demo_corpus.py [--out DIR]`` (needs ``espeak-ng`` on PATH:
``apt-get install espeak-ng``). A fixed seed makes the output identical on every run
with the same espeak-ng version. All sentences below were written for this corpus.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SEED = 20240650  # chosen among seeds for balanced classes in every split
N_CONVERSATIONS = 48
SPLIT_COUNTS = {"train": 28, "validation": 10, "test": 10}
POOL_SIZE = 160
EMOTIONS = ("angry", "happy", "sad", "neutral")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "plugins" / "erc_bench_datasets" / "demo_data"

# speaker id -> (espeak voice, personal pitch offset)
SPEAKERS = {
    "spk1": ("en-us+m3", -4),
    "spk2": ("en-gb+f3", 3),
    "spk3": ("en-us+f2", 0),
    "spk4": ("en-gb-x-rp+m1", 2),
    "spk5": ("en-us+f4", -3),
    "spk6": ("en-029+m2", 4),
}

# emotion -> (pitch 0-99, speed wpm, amplitude 0-200, word gap in 10 ms units)
PROSODY = {
    "neutral": (48, 165, 100, 0),
    "angry": (60, 215, 180, 0),
    "happy": (78, 190, 130, 0),
    "sad": (24, 120, 60, 3),
}
JITTER = (7, 14, 14)  # +- uniform jitter on pitch, speed, amplitude

CLEAR = {
    "angry": [
        "This is completely unacceptable.", "I told you a hundred times to stop doing that!",
        "Don't you dare walk away from me.", "You broke it again and you don't even care.",
        "I am sick and tired of your excuses.", "Get out of my office right now.",
        "Who gave you permission to touch my things?", "That is the last straw, I am furious.",
        "Stop lying to me!", "You ruined everything we worked for.", "How dare you talk to me like that?",
        "I can't stand this nonsense any longer.", "You never listen, not once!",
        "This is an outrage and someone will pay for it.", "I'm so angry I could scream.",
        "You wasted my entire afternoon.", "Enough! I have heard enough.",
        "Why on earth would you do something so stupid?", "Keep your hands off my car.",
        "I hate the way you treat people.",
    ],
    "happy": [
        "This is the best news I have heard all year!", "I am so happy for you.",
        "We won the match, can you believe it?", "What a wonderful surprise, thank you so much.",
        "I love this place, it is perfect.", "That was absolutely delightful.", "I got the job!",
        "You made my day, really.", "This is fantastic, let's celebrate tonight.", "I can't stop smiling.",
        "Everything turned out great in the end.", "What a lovely gift.", "I'm thrilled that you came.",
        "Hooray, the holidays start tomorrow!", "That joke was hilarious.", "We are going to have so much fun.",
        "I feel wonderful today.", "Congratulations, you totally deserve it.",
        "The baby is healthy and beautiful.", "Best birthday ever!",
    ],
    "sad": [
        "I miss her so much.", "Nobody came to the party.", "I lost my job this morning.",
        "He passed away last night.", "I feel so lonely here.", "Everything I try seems to fail.",
        "I don't think things will ever get better.", "We had to give the dog away.",
        "I cried all the way home.", "She said goodbye and never called again.",
        "I'm sorry, I just feel empty.", "The house feels so quiet without them.", "I wish I could go back.",
        "It hurts to even talk about it.", "My grandfather is very ill.", "I failed the exam again.",
        "There is nothing left for me here.", "I'm tired of being alone.", "We lost everything in the fire.",
        "I guess nobody really cares.",
    ],
}
# Words that carry no emotion by themselves: neutral utterances, and emotional ones whose
# emotion is only in the voice (or only in the context).
AMBIGUOUS = [
    "Okay.", "I see what you did there.", "Right, so that is it then.", "Fine.", "Really?",
    "Well, here we are.", "So you finally called.", "That is what he said.", "I will think about it.",
    "Is that so.", "You did it again.", "Let me check the calendar.", "The meeting is at nine tomorrow.",
    "I read your message.", "We need to talk about the budget.", "The train leaves at six fifteen.",
    "She moved to another city.", "They changed the plan.", "It is raining outside.",
    "The results came in today.", "Tell me what happened next.", "He sold the old house.",
    "You can take the blue folder.", "I just got back from the store.", "It's exactly as I expected.",
    "Did you hear the news?", "We are leaving on Friday.", "That was quick.", "Sure, if you say so.",
    "Hmm, interesting.", "Whatever you think is best.", "I know.", "Here is the report.", "No, not yet.",
    "Yes, that is right.", "Look at this.",
]
# cue probabilities for emotional labels: both, voice only, words only, none
CUES = (("both", 0.35), ("voice", 0.35), ("words", 0.20), ("none", 0.10))

POOL_SUBJECTS = [
    "The new cafe", "My weekend", "The concert", "This phone", "Our trip", "The weather today", "His speech",
    "The hotel", "That movie", "The service", "My new job", "The neighbourhood", "The food", "Their new album",
    "The meeting",
]
POOL_PREDICATES = {
    "positive": ["was absolutely wonderful", "made me really happy", "is a real delight",
                 "went better than I hoped", "was a lovely experience", "is brilliant"],
    "negative": ["was a total disaster", "made me miserable", "is awful", "was a huge disappointment",
                 "left me furious", "is terrible"],
    "neutral": ["was on Tuesday", "is near the station", "took about two hours", "is what we discussed",
                "was mentioned in the report", "starts at noon"],
}
POOL_BASE_VALENCE = {"positive": 6.0, "negative": 2.0, "neutral": 4.0}
VOICE_VALENCE_SHIFT = {"happy": 0.6, "neutral": 0.0, "sad": -0.6, "angry": -0.6}


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
    """(conversation id, split, lines): mood runs, two alternating speakers, cue per utterance."""
    splits = [s for s, n in SPLIT_COUNTS.items() for _ in range(n)]
    rng.shuffle(splits)
    counts = {e: 0 for e in EMOTIONS}
    plans = []
    for c in range(N_CONVERSATIONS):
        conv_id = f"demo_c{c + 1:02d}"
        speakers = rng.sample(sorted(SPEAKERS), 2)
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
                cue, text, voice = "neutral", rng.choice(AMBIGUOUS), "neutral"
            else:
                cue = _cue(rng)
                text = rng.choice(CLEAR[label]) if cue in ("both", "words") else rng.choice(AMBIGUOUS)
                voice = label if cue in ("both", "voice") else "neutral"
            lines.append(Line(f"{conv_id}_u{pos:02d}", speaker, text, voice, label, cue))
        plans.append((conv_id, splits[c], lines))
    return plans


def plan_pool(rng: random.Random) -> list[Line]:
    """Unlabelled clips with valence from word polarity + voice, plus some ambiguous words."""
    combos = [(s, pol, p) for s in POOL_SUBJECTS for pol, preds in POOL_PREDICATES.items() for p in preds]
    rng.shuffle(combos)
    n_templated = POOL_SIZE - 30
    lines = []
    congruent = {"positive": ["happy"], "negative": ["sad", "angry"], "neutral": ["neutral"]}
    for i, (subject, polarity, predicate) in enumerate(combos[:n_templated]):
        voice = rng.choice(congruent[polarity]) if rng.random() < 0.7 else "neutral"
        valence = POOL_BASE_VALENCE[polarity] + VOICE_VALENCE_SHIFT[voice] + rng.gauss(0, 0.4)
        lines.append(Line(f"pool_{i:04d}", rng.choice(sorted(SPEAKERS)), f"{subject} {predicate}.", voice,
                          valence=round(min(7.0, max(1.0, valence)), 1)))
    for i in range(n_templated, POOL_SIZE):
        voice = rng.choice(EMOTIONS)
        valence = 4.0 + 2.0 * VOICE_VALENCE_SHIFT[voice] + rng.gauss(0, 0.4)
        lines.append(Line(f"pool_{i:04d}", rng.choice(sorted(SPEAKERS)), rng.choice(AMBIGUOUS), voice,
                          valence=round(min(7.0, max(1.0, valence)), 1)))
    return lines


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
