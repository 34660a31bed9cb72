"""What every seed of a dataset shares: its texts and frozen speech embeddings, and content digests.

``prepare_inputs`` gives the texts (reference, or ASR transcripts) and the
frozen speech embeddings, both cached by content (``speech_inputs``, locally or
as Ray pipelines per the spec's ``[execution]``). The digests name what a stage
consumed, so a stage's cache key changes exactly when its inputs do.
``first_conversations`` trims a corpus for ``--limit`` smoke runs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from rich.progress import Progress

from erc_bench.core.cache import Cache, canonical_json, digest_text
from erc_bench.core.interfaces import DatasetSplits, Problem
from erc_bench.core.plugin_host import build
from erc_bench.core.spec import DatasetEntry, Spec


def digest_features(features: dict[str, Any]) -> str:
    """Content digest of an {utterance id: array} mapping, for stage cache keys."""
    h = hashlib.sha256()
    for key in sorted(features):
        array = features[key]
        h.update(key.encode())
        h.update(str(array.shape).encode())
        h.update(array.tobytes())
    return h.hexdigest()


def digest_dataset(data: DatasetSplits) -> str:
    """Digest of ids, labels, split membership and order (not audio: embeddings carry that)."""
    rows = [(split, c.id, u.id, u.label) for split, convs in sorted(data.splits.items()) for c in convs
            for u in c.utterances]
    payload: dict[str, object] = {"labels": data.labels, "rows": rows}
    if data.majority_label is not None:  # what is scored changes; absent otherwise, so older keys stand
        payload["majority_label"] = data.majority_label
    return digest_text(canonical_json(payload))


@dataclass
class Inputs:
    texts: dict[str, str] = field(default_factory=dict)
    speech: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)


def prepare_inputs(spec: Spec, entry: DatasetEntry, data: DatasetSplits, cache: Cache, progress: Progress) -> Inputs:
    """Texts (reference or ASR) and frozen speech embeddings; both cached by content."""
    from erc_bench.features.long_audio import AudioPolicy
    from erc_bench.features.speech import embed_utterances, transcribe_utterances

    utterances = [u for split in data.splits for u in data.utterances(split)]
    inputs = Inputs(texts={u.id: u.text for u in utterances})
    if "text" in spec.model.modalities and entry.text_source == "asr":
        assert spec.model.asr is not None
        asr = build("asr", spec.model.asr.plugin, spec.model.asr.params)
        transcripts, problems = transcribe_utterances(asr, utterances, cache, progress, spec.execution,
                                                      policy=AudioPolicy(entry.max_seconds, entry.long_audio))
        inputs.texts = {uid: t.text for uid, t in transcripts.items()}
        inputs.problems += problems
    if "speech" in spec.model.modalities:
        assert spec.model.speech_encoder is not None
        ref = spec.model.speech_encoder
        encoder = build("speech_encoder", ref.plugin, ref.params)
        inputs.speech, problems = embed_utterances(encoder, utterances, cache, progress, spec.execution,
                                                   policy=AudioPolicy(entry.max_seconds, entry.long_audio))
        inputs.problems += problems
    return inputs


def first_conversations(data: DatasetSplits, limit: int) -> DatasetSplits:
    """The first ``limit`` conversations of every split (corpus order); problems of dropped ones are dropped too."""
    splits = {split: conversations[:limit] for split, conversations in data.splits.items()}
    dropped = {u.id for split, conversations in data.splits.items() for c in conversations[limit:]
               for u in c.utterances}
    problems = [p for p in data.problems if p.item_id not in dropped]
    return DatasetSplits(data.name, data.labels, splits, problems, data.majority_label)
