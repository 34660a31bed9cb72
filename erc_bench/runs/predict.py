"""``erc-bench predict``: apply a trained system to new conversations, with the path it was trained on.

Every dataset-seed run logs ``system.json`` (``system_manifest``): the resolved
spec, the text encoder actually used (the pre-training checkpoint when there
was one), the label set and the cache key of every stage's selected weights.
``predict`` reads it back, rebuilds each stage's network, loads those weights
from the cache and runs new utterances through the same chain: ASR with the
system's ASR component where it was trained on transcripts (or where an
utterance has audio but no text), the same frozen speech encoder, Stage I per
modality, Stage II over each conversation in order, then Stage III fusion (or
the joint model). Nothing is trained.

Input: a CSV with ``utterance_id`` and ``text`` and/or ``audio`` (a path,
relative to the CSV), optionally ``conversation_id``, ``position`` and ``speaker``; or a
folder of audio files, one conversation per sub-folder, in file-name order.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from erc_bench.core.audio import AUDIO_SUFFIXES
from erc_bench.core.csv_safe import SafeWriter
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import AudioSource, Conversation, Utterance

if TYPE_CHECKING:  # pragma: no cover - typing only
    from erc_bench.core.cache import Cache
    from erc_bench.core.interfaces import DatasetSplits
    from erc_bench.core.spec import ComponentRef, DatasetEntry, LoadedSpec

SYSTEM_ARTIFACT = "system.json"
_FORMAT = 1


def system_manifest(loaded: LoadedSpec, entry: DatasetEntry, data: DatasetSplits, text_ref: ComponentRef | None,
                    seed: int, device: str, stage_keys: dict[str, str]) -> dict[str, Any]:
    """What ``predict`` needs to rebuild the system of one dataset-seed run."""
    return {"format": _FORMAT, "spec": loaded.raw, "dataset": data.name, "text_source": entry.text_source,
            "labels": list(data.labels), "seed": seed, "device": device, "stages": dict(stage_keys),
            "text_encoder": text_ref.model_dump() if text_ref is not None else None}


@dataclass
class Prediction:
    utterance: Utterance
    text: str | None
    stages: dict[str, str]  # stage -> predicted label
    final_stage: str
    probabilities: list[float]


def read_inputs(source: Path) -> list[Conversation]:
    """Conversations from a CSV (text and/or audio per row) or a folder of audio files."""
    if source.is_dir():
        return _folder_conversations(source)
    if not source.is_file():
        raise UserError(f"--input {source}: no such file or folder")
    with source.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "utterance_id" not in rows[0]:
        raise UserError(f"--input {source}: a CSV needs an utterance_id column and text and/or audio")
    if "text" not in rows[0] and "audio" not in rows[0]:
        raise UserError(f"--input {source}: no text or audio column")
    by_conversation: dict[str, list[Utterance]] = {}
    for n, row in enumerate(rows):
        conversation = row.get("conversation_id") or "(input)"
        audio = (row.get("audio") or "").strip()
        position = int(row["position"]) if (row.get("position") or "").strip() else n
        path = (source.parent / audio) if audio else None
        by_conversation.setdefault(conversation, []).append(
            Utterance(row["utterance_id"], conversation, position, (row.get("text") or "").strip(), None,
                      speaker=(row.get("speaker") or "").strip() or None,
                      audio=AudioSource(str(path)) if path else None))
    return [Conversation(cid, sorted(utts, key=lambda u: u.position)) for cid, utts in by_conversation.items()]


def _folder_conversations(folder: Path) -> list[Conversation]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise UserError(f"--input {folder}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
    grouped: dict[str, list[Path]] = {}
    for path in files:
        grouped.setdefault(path.parent.relative_to(folder).as_posix(), []).append(path)
    return [Conversation(cid, [Utterance(p.relative_to(folder).with_suffix("").as_posix(), cid, i, "", None,
                                         audio=AudioSource(str(p))) for i, p in enumerate(paths)])
            for cid, paths in grouped.items()]


def predict(manifest: dict[str, Any], conversations: list[Conversation], cache: Cache,
            progress: Any = None) -> list[Prediction]:
    """Run ``conversations`` through the system described by ``manifest``: a ``StagedSystem`` rebuilds its
    stages itself (MERITS-L: ``recipes/merits_l/predict.py``), any other system is reloaded and asked."""
    from erc_bench.core.interfaces import StagedSystem
    from erc_bench.core.plugin_host import build
    from erc_bench.core.spec import STAGED_SYSTEM

    if manifest.get("format") != _FORMAT:
        raise UserError("this run's system.json was written by another erc-bench version; re-run the benchmark")
    ref = manifest["spec"].get("system") or {"plugin": STAGED_SYSTEM}
    system = build("system", ref["plugin"], ref.get("params", {}), slot="system")
    if isinstance(system, StagedSystem):
        predictions: list[Prediction] = system.predict_saved(manifest, conversations, cache, progress)
        return predictions
    return _predict_with_system(manifest, conversations, cache)


def _predict_with_system(manifest: dict[str, Any], conversations: list[Conversation], cache: Cache
                         ) -> list[Prediction]:
    """A whole system's answers (its labels; probability 1 for the label it names, as it gives no others)."""
    from erc_bench.runs.system_run import SYSTEM_STAGE, load_system, system_context

    system = load_system(manifest, cache)
    answers = system.predict(conversations, system_context(manifest, cache, system))
    labels = manifest["labels"]
    return [Prediction(u, u.text or None, {SYSTEM_STAGE: answers[u.id]}, SYSTEM_STAGE,
                       [1.0 if label == answers[u.id] else 0.0 for label in labels])
            for c in conversations for u in c.utterances if answers.get(u.id) in labels]


def write_predictions(predictions: list[Prediction], labels: list[str], out: Path) -> None:
    """One row per utterance: the final stage's label and probabilities, and every stage's label."""
    stages = list(predictions[0].stages) if predictions else []
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = SafeWriter(fh)
        writer.writerow(["conversation_id", "position", "utterance_id", "text", "predicted", "stage",
                         *(f"p_{label}" for label in labels), *(f"predicted_{s}" for s in stages)])
        for p in predictions:
            u = p.utterance
            writer.writerow([u.conversation_id, u.position, u.id, p.text or "", p.stages[p.final_stage],
                             p.final_stage, *(f"{x:.6f}" for x in p.probabilities),
                             *(p.stages.get(s, "") for s in stages)])
