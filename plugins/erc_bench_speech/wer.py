"""Word error rate, and the ``asr-eval`` report: WER per split and per emotion class.

Emotional speech is known to raise ASR error rates (the paper's motivation for
noisy transcripts), so the report breaks WER down by label. Scoring follows
Whisper's published evaluation so numbers compare with the literature: both
sides go through Whisper's English text normaliser (transformers'
``EnglishTextNormalizer``: case, punctuation, numbers written as digits,
contractions, British -> American spelling) and ``jiwer`` counts the edits.
Corpus WER is total edits over total reference words, not a mean of
per-utterance rates. ``jiwer`` and the spelling map ship with the ``asr`` extra.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from erc_bench import DatasetSplits, Transcript, require

# The British -> American spelling map Whisper's normaliser needs. OpenAI publishes it as
# whisper/normalizers/english.json (Hugging Face copies it into each Whisper repo as normalizer.json); the
# whisper-normalizer package ships the same file, so it is read from there, offline. Its digest is that of
# OpenAI's file: a different map would silently change every WER.
SPELLING_MAP_SHA256 = "6607f948be9824d2e1b2fa2223cd94c06c45afa4e05ea0e3d5e1f2bdffde2465"


@lru_cache(maxsize=1)
def _normaliser() -> Callable[[str], str]:
    require("whisper_normalizer", "asr", "WER scoring")
    from importlib.resources import files

    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    raw = (files("whisper_normalizer") / "normalizers" / "english.json").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SPELLING_MAP_SHA256:
        from erc_bench import UserError

        raise UserError(f"whisper-normalizer's english.json has SHA-256 {digest[:12]}..., not OpenAI's spelling map; "
                        "reinstall the asr extra with the project's constraints file")
    return EnglishTextNormalizer(json.loads(raw))


def normalise_text(text: str) -> list[str]:
    """Words of ``text`` after Whisper's English normalisation."""
    return _normaliser()(text).split()


def word_edits(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions), counted by jiwer."""
    if not reference:
        return len(hypothesis)
    if not hypothesis:
        return len(reference)
    require("jiwer", "asr", "WER scoring")
    import jiwer

    out = jiwer.process_words(" ".join(reference), " ".join(hypothesis))
    return out.substitutions + out.deletions + out.insertions


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER of one pair; an empty reference scores 0 if the hypothesis is empty too, else 1."""
    ref, hyp = normalise_text(reference), normalise_text(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return word_edits(ref, hyp) / len(ref)


@dataclass
class WerTally:
    """Edits and reference words accumulated over a group of utterances."""

    edits: int = 0
    words: int = 0
    utterances: int = 0

    def add(self, reference: str, hypothesis: str) -> None:
        ref = normalise_text(reference)
        self.edits += word_edits(ref, normalise_text(hypothesis))
        self.words += len(ref)
        self.utterances += 1

    @property
    def wer(self) -> float:
        return self.edits / self.words if self.words else 0.0


@dataclass
class WerReport:
    by_split: dict[str, WerTally] = field(default_factory=dict)
    by_label: dict[str, dict[str, WerTally]] = field(default_factory=dict)  # split -> label -> tally
    skipped: int = 0  # utterances without a transcript (their audio problems are reported separately)

    def as_dict(self) -> dict[str, object]:
        return {
            "by_split": {s: {"wer": t.wer, "words": t.words, "utterances": t.utterances}
                         for s, t in self.by_split.items()},
            "by_label": {s: {lab: {"wer": t.wer, "words": t.words, "utterances": t.utterances}
                             for lab, t in labels.items()} for s, labels in self.by_label.items()},
            "skipped": self.skipped,
        }


def wer_report(data: DatasetSplits, transcripts: Mapping[str, Transcript], splits: Sequence[str]) -> WerReport:
    """Score transcripts against each utterance's reference text, per split and per label."""
    report = WerReport()
    for split in splits:
        overall = report.by_split.setdefault(split, WerTally())
        per_label = report.by_label.setdefault(split, {})
        for utt in data.utterances(split):
            hyp = transcripts.get(utt.id)
            if hyp is None:
                report.skipped += 1
                continue
            overall.add(utt.text, hyp.text)
            per_label.setdefault(utt.label or "(unlabelled)", WerTally()).add(utt.text, hyp.text)
    return report
