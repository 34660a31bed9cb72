"""Bring-your-own corpus: one CSV manifest row per utterance.

Columns: ``conversation_id, utterance_id, text, label, split`` (required) and
``speaker, audio`` (optional). ``audio`` is a path relative to the manifest's folder
(absolute paths work too); ``split`` is train / validation / test (dev, val, valid
accepted). Any further column lands in ``Utterance.meta``. Row order inside a
conversation is utterance order.

Labels: ``labels`` fixes the label set and its order; a row whose label is not in it
is an ``unknown-label`` problem. Without ``labels`` the set is every label seen, sorted.
Rows with no label or an unknown split are reported and left out; a conversation
whose rows name different splits stays in its first split (``split-conflict``).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import AudioSource, DataError, DatasetCard, DatasetSplits, Problem, Utterance

from .common import check_text, conversation_list, empty_splits, finish, normalise_split, read_csv_rows

REQUIRED_COLUMNS = ("conversation_id", "utterance_id", "text", "label", "split")
KNOWN_COLUMNS = set(REQUIRED_COLUMNS) | {"speaker", "audio"}
CARD = DatasetCard(
    title="CSV manifest (bring your own corpus)",
    citation="(cite the corpus the manifest describes)",
    licence="that of the corpus you describe",
    obtain=("write a CSV with one row per utterance: conversation_id, utterance_id, text, label, split "
            "(+ optional speaker, audio); point params.manifest at it",),
    layout=("<manifest>.csv  (conversation_id, utterance_id, text, label, split[, speaker, audio, ...])",
            "audio paths relative to the manifest's folder, or absolute"),
    splits="the manifest's split column: train / validation / test (dev, val, valid accepted)",
    label_map=(("label column", "as written; params.labels fixes the set and order"),),
    defects=("rows without a label, with an unknown split or label, or conflicting splits are reported",),
    tasks=("any labelled task",),
    modalities=("text", "speech"),
)


class CsvParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifest: str = Field(description="path to the manifest CSV")
    labels: list[str] | None = Field(None, description="fixed label set and order; default: sorted labels seen")


def load_manifest(manifest: Path, labels: list[str] | None, name: str) -> DatasetSplits:
    """Parse a manifest into splits; shared by the ``csv`` and ``demo`` datasets."""
    if not manifest.is_file():
        raise DataError(f"{name}: expected a manifest CSV at {manifest} with columns "
                        f"{', '.join(REQUIRED_COLUMNS)} (+ optional speaker, audio)")
    problems: list[Problem] = []
    header, rows = read_csv_rows(manifest, name, problems)
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise DataError(f"{name}: manifest {manifest} lacks column(s) {', '.join(missing)}; "
                        f"expected {', '.join(REQUIRED_COLUMNS)} (+ optional speaker, audio)")
    base = manifest.parent
    groups: dict[str, dict[str, list[Utterance]]] = {s: {} for s in empty_splits()}
    conversation_split: dict[str, str] = {}
    seen_labels: set[str] = set()
    allowed = set(labels) if labels else None
    for line_no, row in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        utt_id = row["utterance_id"] or f"{manifest.name}:{line_no}"
        label, split = row["label"], normalise_split(row["split"])
        if not label:
            problems.append(Problem("missing-label", utt_id, f"line {line_no}"))
            continue
        if allowed is not None and label not in allowed:
            problems.append(Problem("unknown-label", utt_id, f"label '{label}' not in {sorted(allowed)}"))
            continue
        if split is None:
            problems.append(Problem("unknown-split", utt_id, f"split '{row['split']}'"))
            continue
        conv_id = row["conversation_id"] or utt_id
        first_split = conversation_split.setdefault(conv_id, split)
        if first_split != split:
            problems.append(Problem("split-conflict", utt_id, f"conversation {conv_id} is in {first_split}"))
            split = first_split
        audio = None
        if row.get("audio"):
            path = Path(row["audio"])
            path = path if path.is_absolute() else base / path
            if path.is_file():
                audio = AudioSource(str(path))
            else:
                problems.append(Problem("missing-audio", utt_id, str(path)))
        utterance = Utterance(id=utt_id, conversation_id=conv_id, position=0, text=row["text"], label=label,
                              speaker=row.get("speaker") or None, audio=audio,
                              meta={k: v for k, v in row.items() if k not in KNOWN_COLUMNS})
        check_text(utterance, problems)
        seen_labels.add(label)
        groups[split].setdefault(conv_id, []).append(utterance)
    splits = {split: conversation_list(by_conv) for split, by_conv in groups.items()}
    return finish(name, list(labels) if labels else sorted(seen_labels), splits, problems)


class CsvManifest:
    """Any labelled corpus described by a CSV manifest."""

    name: ClassVar[str] = "csv"
    card: ClassVar[DatasetCard] = CARD
    Params: ClassVar[type[BaseModel]] = CsvParams

    def __init__(self, params: CsvParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        return load_manifest(Path(self.params.manifest).expanduser(), self.params.labels, self.name)
