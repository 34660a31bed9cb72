"""Shared pieces of the dataset plugins: corpus facts, layout errors, split assembly.

Kept free of numpy/torch so ``erc-bench plugins`` stays fast; no audio is decoded
while loading a dataset (only paths are recorded), which keeps ``load()`` cheap.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Literal

from erc_bench import SPLITS, AudioSource, Conversation, DataError, DatasetCard, DatasetSplits, Problem, Utterance

SPLIT_ALIASES = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
                 "val": "validation", "dev": "validation", "development": "validation", "test": "test"}


def layout_error(card: DatasetCard, expected: Path | str, layout: str) -> DataError:
    """One-line DataError: which path was expected, the layout, where to get the corpus, its licence;
    the card's "how to obtain" lines ride along (``DataError.obtain``) and the CLI prints them below."""
    return DataError(f"{card.title}: expected {expected} ({layout}); {card.obtain[0]} - licence: {card.licence}",
                     obtain=card.obtain)


def require_dir(source: DatasetCard, path: Path, layout: str) -> Path:
    if not path.is_dir():
        raise layout_error(source, path, layout)
    return path


def resolve_root(root: str | None, source: DatasetCard, layout: str) -> Path:
    """The corpus root as a Path; a missing/unset root is a DataError, never a traceback."""
    if not root:
        raise layout_error(source, "params.root (unset)", layout)
    return require_dir(source, Path(root).expanduser(), layout)


def normalise_split(value: str) -> str | None:
    return SPLIT_ALIASES.get(value.strip().lower())


def read_csv_rows(path: Path, what: str, problems: list[Problem]) -> tuple[list[str], list[dict[str, str]]]:
    """Header + rows of a CSV; unreadable -> DataError naming the file.

    UTF-8 (a BOM is tolerated); a file that is not valid UTF-8 is read as cp1252, the
    usual encoding of spreadsheet exports, rather than refused. A row with more
    fields than the header (an unquoted comma in a transcript, say) is an
    ``extra-fields`` problem naming its line and is left out: its columns may be
    shifted, so no value in it can be trusted.
    """
    try:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip() for h in (reader.fieldnames or [])]
        rows = []
        for row in reader:
            extra = row.pop(None, None)  # type: ignore[call-overload]
            if extra is not None:
                problems.append(Problem("extra-fields", f"{path.name}:{reader.line_num}",
                                        f"{len(extra)} field(s) beyond the header's {len(header)} columns: "
                                        f"{extra[:3]!r}; quote values that contain commas"))
                continue
            rows.append(row)
        return header, rows
    except (OSError, csv.Error) as exc:
        raise DataError(f"{what}: cannot read {path}: {exc}") from None


def conversation_list(groups: dict[str, list[Utterance]]) -> list[Conversation]:
    """Conversations in first-seen order; utterance ``position`` renumbered 0..n-1 in order."""
    conversations = []
    for conv_id, utterances in groups.items():
        for pos, utt in enumerate(utterances):
            utt.position = pos
        conversations.append(Conversation(conv_id, utterances))
    return conversations


def empty_splits() -> dict[str, list[Conversation]]:
    return {split: [] for split in SPLITS}


def check_text(utt: Utterance, problems: list[Problem]) -> None:
    """Empty reference text is reported (the utterance is kept: ASR or speech may still use it)."""
    if not utt.text.strip():
        problems.append(Problem("empty-text", utt.id, "no reference transcript"))


def finish(name: str, labels: list[str], splits: dict[str, list[Conversation]],
           problems: list[Problem]) -> DatasetSplits:
    """Drop empty conversations and wrap the result."""
    cleaned = {s: [c for c in convs if c.utterances] for s, convs in splits.items()}
    return DatasetSplits(name=name, labels=list(labels), splits=cleaned, problems=problems)


AudioPolicy = Literal["auto", "require", "off"]

AUDIO_POLICY_DOC = ("'auto' uses the clip folder when present (a missing folder is one problem, a missing clip one "
                    "problem each); 'require' makes a missing folder a DataError; 'off' never looks (text-only)")


def clip_index(folder: Path, policy: str, source: DatasetCard, layout: str,
               problems: list[Problem]) -> set[str] | None:
    """File names in a clip folder, or None when audio is off or (policy 'auto') the folder is absent."""
    if policy == "off":
        return None
    if not folder.is_dir():
        if policy == "require":
            raise layout_error(source, folder, layout)
        problems.append(Problem("missing-audio-folder", str(folder), "no clips; utterances are text-only"))
        return None
    return {entry.name for entry in os.scandir(folder)}


def clip_source(clips: set[str] | None, folder: Path, name: str, utt_id: str,
                problems: list[Problem]) -> AudioSource | None:
    """The utterance's clip from a ``clip_index``; a clip absent from a present folder is a problem."""
    if clips is None:
        return None
    if name in clips:
        return AudioSource(str(folder / name))
    problems.append(Problem("missing-audio", utt_id, str(folder / name)))
    return None


SENTIMENT_BINARY = ["negative", "positive"]


def binary_sentiment(score: float) -> str:
    """CMU-MOSI / MOSEI's binary rule: ``negative`` for a score in [-3, 0), ``positive`` for [0, 3] (the SDK's
    "negative / non-negative"; Poria et al. 2017 and MERITS-L use it for MOSI)."""
    return "negative" if score < 0 else "positive"
