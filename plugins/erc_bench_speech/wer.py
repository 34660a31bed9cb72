"""Word error rate, and the ``asr-eval`` report: WER per split and per emotion class.

Emotional speech is known to raise ASR error rates (the paper's motivation for
noisy transcripts), so the report breaks WER down by label. Text is normalised
before scoring (lower case, punctuation dropped except in-word apostrophes,
whitespace collapsed) so that "Okay." and "okay" count as a match. Corpus WER is
total edits over total reference words, not a mean of per-utterance rates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from erc_bench import DatasetSplits, Transcript

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})
_NON_WORD = re.compile(r"[^\w\s']|(?<!\w)'|'(?!\w)")


def normalise_text(text: str) -> list[str]:
    """Words of ``text`` after case, quote and punctuation normalisation."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).lower()
    return _NON_WORD.sub(" ", text).split()


def word_edits(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions), O(len(ref)) memory."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1]


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
