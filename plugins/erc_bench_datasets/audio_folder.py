"""Unlabelled speech for LLM-guided pre-training (MSP-Podcast-like corpora).

Every audio file under ``root`` (recursively; wav flac mp3 ogg m4a mp4) becomes one
utterance in a conversation of its own (id: its path under ``root`` without the
extension, or with it when ``x.wav`` and ``x.flac`` share a folder), in split ``train`` with ``label=None`` and
``text=""`` - the ASR step fills the text and the labeller the label. Pre-training
makes its own train/validation split (``pretrain.val_fraction``, 80/20 by default),
so nothing is put in validation or test here.

``metadata`` (optional, a CSV path, relative to ``root`` or absolute) is joined on the
file name (``file_column``, default ``FileName``; matched on the base name, then on the
name without extension). Its ``valence_column`` (default ``EmoVal``, 1-7 on
MSP-Podcast) lands in ``Utterance.meta["valence"]`` for the oracle labeller. Metadata
rows without a file (``missing-audio``), files without a row (``no-metadata``) and
non-numeric valence (``bad-valence``) are reported.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import AudioSource, Conversation, DataError, DatasetCard, DatasetSplits, Problem, Utterance

from .common import empty_splits, finish, read_csv_rows

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".mp4")
CARD = DatasetCard(
    title="Audio folder (unlabelled speech for pre-training)",
    citation="(cite the corpus the folder holds; for MSP-Podcast see: erc-bench data card msp-podcast)",
    licence="that of the corpus in the folder",
    obtain=("any folder of audio files (wav flac mp3 ogg m4a mp4), searched recursively; an optional metadata CSV "
            "with per-file valence (MSP-Podcast's Labels/labels_consensus.csv: FileName, EmoVal)",),
    layout=("<root>/**/<clip>.{wav,flac,mp3,ogg,m4a,mp4}", "optional <metadata>.csv (FileName, EmoVal)"),
    splits="everything is train; pre-training draws its own 80/20 train/validation split",
    label_map=(("(none)", "unlabelled: ASR fills the text, an LLM labeller the label"),),
    defects=("metadata rows without a file, files without a row, non-numeric valence are reported",),
    tasks=("pre-training pool (unlabelled)",),
    modalities=("speech",),
)


class AudioFolderParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = Field(None, description="folder searched recursively for audio files")
    metadata: str | None = Field(None, description="optional CSV with per-file valence")
    file_column: str = "FileName"
    valence_column: str = "EmoVal"


def _audio_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found.extend(Path(folder) / f for f in sorted(files)
                     if f.lower().endswith(AUDIO_EXTENSIONS) and not f.startswith("."))
    return found


def _read_valence(path: Path, params: AudioFolderParams, problems: list[Problem]) -> dict[str, float]:
    header, rows = read_csv_rows(path, "audio-folder metadata", problems)
    for column in (params.file_column, params.valence_column):
        if column not in header:
            raise DataError(f"audio-folder: metadata {path} has no column '{column}' (columns: {', '.join(header)})")
    valence: dict[str, float] = {}
    for row in rows:
        name = Path((row.get(params.file_column) or "").strip()).name
        try:
            valence[name] = float(row.get(params.valence_column) or "")
        except ValueError:
            problems.append(Problem("bad-valence", name, f"{params.valence_column}={row.get(params.valence_column)!r}"))
    return valence


def load_audio_folder(params: AudioFolderParams, name: str) -> DatasetSplits:
    """Scan ``root``, join the metadata; shared by ``audio-folder`` and ``demo-unlabelled``."""
    if not params.root:
        raise DataError(f"{name}: params.root is not set; expected a folder of audio files "
                        f"({', '.join(AUDIO_EXTENSIONS)})")
    root = Path(params.root).expanduser()
    if not root.is_dir():
        raise DataError(f"{name}: expected a folder of audio files ({', '.join(AUDIO_EXTENSIONS)}) at {root}")
    problems: list[Problem] = []
    valence: dict[str, float] | None = None
    if params.metadata:
        meta_path = Path(params.metadata).expanduser()
        meta_path = meta_path if meta_path.is_absolute() else root / meta_path
        if not meta_path.is_file():
            raise DataError(f"{name}: metadata CSV not found at {meta_path}")
        valence = _read_valence(meta_path, params, problems)
    by_stem = {Path(k).stem: v for k, v in (valence or {}).items()}
    matched: set[str] = set()
    conversations = []
    files = _audio_files(root)
    stems = Counter(path.with_suffix("") for path in files)
    for path in files:
        # x.wav beside x.flac are two recordings: they keep their extension so their ids differ
        relative = path.relative_to(root)
        utt_id = (relative if stems[path.with_suffix("")] > 1 else relative.with_suffix("")).as_posix()
        meta: dict[str, float] = {}
        if valence is not None:
            key = path.name if path.name in valence else path.stem if path.stem in by_stem else None
            if key is None:
                problems.append(Problem("no-metadata", utt_id, f"{path.name} has no row in the metadata"))
            else:
                meta["valence"] = valence[key] if key == path.name else by_stem[key]
                matched.add(Path(key).stem)
        conversations.append(Conversation(utt_id, [Utterance(id=utt_id, conversation_id=utt_id, position=0, text="",
                                                             label=None, audio=AudioSource(str(path)), meta=meta)]))
    for file_name in sorted(valence or {}):
        if Path(file_name).stem not in matched:
            problems.append(Problem("missing-audio", file_name, "listed in the metadata, no such file under root"))
    splits = empty_splits()
    splits["train"] = conversations
    return finish(name, [], splits, problems)


class AudioFolder:
    """Unlabelled audio files, optionally with valence metadata."""

    name: ClassVar[str] = "audio-folder"
    card: ClassVar[DatasetCard] = CARD
    Params: ClassVar[type[BaseModel]] = AudioFolderParams

    def __init__(self, params: AudioFolderParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        return load_audio_folder(self.params, self.name)
