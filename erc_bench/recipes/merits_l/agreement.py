"""Label-agreement oracle (MERITS-L section IV-D): labeller vs valence-derived labels.

MSP-Podcast carries valence on a 1-7 scale; the paper maps (5, 7] to
positive, [1, 3) to negative and the rest ([3, 5]) to neutral, then reports
how often each LLM's label overlaps: GPT-3.5 Turbo 52.98 %, Llama-3-8b-chat-hf
50.91 %, Mixtral-8x7B-Instruct-v0.1 44.98 %. We add Cohen's kappa (overlap
corrected for chance, since neutral dominates) and the confusion matrix.
Utterances without valence, or without a label (ASR failure, labeller failure,
unparsable answer), are excluded and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from erc_bench.core.cache import Cache
from erc_bench.core.capabilities import Describing
from erc_bench.core.errors import DataError
from erc_bench.core.interfaces import SENTIMENT_LABELS
from erc_bench.core.spec import PretrainSection

REFERENCE_AGREEMENT: dict[str, float] = {
    "GPT-3.5 Turbo": 52.98,
    "Llama-3-8b-chat-hf": 50.91,
    "Mixtral-8x7B-Instruct-v0.1": 44.98,
}
"""Label overlap (%) with the valence oracle on MSP-Podcast, as the paper reports it."""


def valence_label(valence: float) -> str:
    """(5, 7] -> positive, [1, 3) -> negative, otherwise neutral (paper, section IV-D)."""
    if valence > 5:
        return "positive"
    if valence < 3:
        return "negative"
    return "neutral"


@dataclass
class AgreementResult:
    labels: list[str]
    n_compared: int
    overlap_pct: float
    kappa: float
    confusion: list[list[int]]
    """Rows: oracle (valence) label; columns: labeller label; order of ``labels``."""
    excluded: dict[str, int] = field(default_factory=dict)
    labeller: str = ""
    description: str = ""
    """The labeller as shown in tables (plugin and model, ``Describing``), else its plugin name."""

    def as_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "n_compared": self.n_compared, "overlap_pct": self.overlap_pct,
                "kappa": self.kappa, "confusion": self.confusion, "excluded": self.excluded,
                "labeller": self.labeller}


def compare_labels(oracle: list[str], predicted: list[str], labels: tuple[str, ...] = SENTIMENT_LABELS
                   ) -> AgreementResult:
    """Overlap %, Cohen's kappa and confusion matrix of two equally long label lists."""
    if len(oracle) != len(predicted):
        raise ValueError(f"{len(oracle)} oracle labels but {len(predicted)} predicted")
    index = {label: i for i, label in enumerate(labels)}
    confusion = [[0] * len(labels) for _ in labels]
    for gold, guess in zip(oracle, predicted, strict=True):
        confusion[index[gold]][index[guess]] += 1
    n = len(oracle)
    if n == 0:
        return AgreementResult(list(labels), 0, 0.0, 0.0, confusion)
    observed = sum(confusion[i][i] for i in range(len(labels))) / n
    rows = [sum(r) / n for r in confusion]
    cols = [sum(confusion[r][c] for r in range(len(labels))) / n for c in range(len(labels))]
    expected = sum(r * c for r, c in zip(rows, cols, strict=True))
    kappa = 1.0 if expected >= 1.0 else (observed - expected) / (1.0 - expected)
    return AgreementResult(list(labels), n, 100.0 * observed, kappa, confusion)


def run_label_agreement(section: PretrainSection, cache: Cache | None = None, progress: Any = None
                        ) -> AgreementResult:
    """Transcribe and label the pre-training corpus (both cached), then compare with its valence."""
    from erc_bench.recipes.merits_l.pretrain import collect_silver_labels

    silver = collect_silver_labels(section, cache or Cache(), progress)
    oracle, predicted = [], []
    no_valence = no_label = 0
    for utt, outcome in zip(silver.utterances, silver.outcomes, strict=True):
        valence = utt.meta.get("valence")
        if valence is None:
            no_valence += 1
        elif outcome.status != "ok" or outcome.label is None:
            no_label += 1
        else:
            oracle.append(valence_label(float(valence)))
            predicted.append(outcome.label)
    if not oracle and no_valence:
        raise DataError(f"corpus '{section.corpus.plugin}' has no valence values (Utterance.meta['valence']); "
                        f"the agreement oracle needs valence, e.g. MSP-Podcast's EmoVal column given to the "
                        f"audio-folder dataset as its metadata CSV")
    result = compare_labels(oracle, predicted)
    result.excluded = {"no_valence": no_valence, "no_label": no_label, "asr": len(silver.problems)}
    result.labeller = silver.labeller_fingerprint
    labeller = silver.labeller
    result.description = labeller.describe() if isinstance(labeller, Describing) else section.labeller.plugin
    return result
