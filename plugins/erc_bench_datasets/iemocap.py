"""IEMOCAP (Busso et al. 2008): five sessions of dyadic dialogues, split by session.

Layout under ``root`` (the ``IEMOCAP_full_release`` folder)::

    SessionN/dialog/EmoEvaluation/<dialog>.txt     [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[...]
    SessionN/dialog/transcriptions/<dialog>.txt    Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.
    SessionN/sentences/wav/<dialog>/<utterance>.wav

Classes: ``classes = 4`` (default, the paper's): angry (ang), happy (hap + exc merged),
sad, neutral - 5531 utterances on the real corpus; every other label (frustrated,
surprised, ...) is left out by design. ``classes = 6``: happy, sad, neutral, angry,
excited, frustrated. A label code outside IEMOCAP's own set is reported as
``unknown-label``.

Folds: ``paper`` (default) trains on sessions 2-4, validates on session 1, tests on
session 5. ``loso-N`` (N = 1..5, leave one session out) tests on session N, validates
on the *next* session (N+1, and session 1 after session 5) and trains on the other three.

A conversation is one dialogue file, utterances ordered by start time; the speaker is
the session plus the F/M letter of the utterance id's last part (``Ses01F_impro01_M003``
-> ``Ses01M``): in IEMOCAP the letter names the actor, not the dialogue's lead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from erc_bench import AudioSource, DatasetCard, DatasetSplits, Problem, SplitCount, Utterance

from .common import check_text, conversation_list, empty_splits, finish, layout_error, resolve_root

LAYOUT = "IEMOCAP_full_release with Session1..Session5/{dialog/EmoEvaluation,dialog/transcriptions,sentences/wav}"
SESSIONS = (1, 2, 3, 4, 5)
IEMOCAP_CODES = {"neu", "fru", "sad", "sur", "ang", "hap", "exc", "fea", "dis", "oth", "xxx"}
LABEL_MAPS: dict[int, dict[str, str]] = {
    4: {"ang": "angry", "hap": "happy", "exc": "happy", "sad": "sad", "neu": "neutral"},
    6: {"hap": "happy", "sad": "sad", "neu": "neutral", "ang": "angry", "exc": "excited", "fru": "frustrated"},
}
LABEL_ORDER = {4: ["angry", "happy", "sad", "neutral"],
               6: ["happy", "sad", "neutral", "angry", "excited", "frustrated"]}

CARD = DatasetCard(
    title="IEMOCAP",
    url="https://sail.usc.edu/iemocap/",
    citation="""@article{busso2008iemocap,
  title   = {{IEMOCAP}: Interactive emotional dyadic motion capture database},
  author  = {Busso, Carlos and Bulut, Murtaza and Lee, Chi-Chun and Kazemzadeh, Abe and Mower, Emily and
             Kim, Samuel and Chang, Jeannette N. and Lee, Sungbok and Narayanan, Shrikanth S.},
  journal = {Language Resources and Evaluation},
  volume  = {42}, number = {4}, pages = {335--359}, year = {2008}
}""",
    licence="research licence from USC SAIL (release form; no redistribution)",
    obtain=("request it with the release form at https://sail.usc.edu/iemocap/ (USC SAIL lab)",
            "unpack IEMOCAP_full_release and point params.root at it"),
    layout=("Session1..Session5/dialog/EmoEvaluation/<dialog>.txt  "
            "([6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5, 2.5, 2.5])",
            "Session1..Session5/dialog/transcriptions/<dialog>.txt  "
            "(Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.)",
            "Session1..Session5/sentences/wav/<dialog>/<utterance>.wav"),
    splits=("by session (this project's folds; IEMOCAP defines none): 'paper' = MERITS-L's sessions 2-4 train, "
            "1 validation, 5 test; 'loso-N' tests on session N, validates on N+1"),
    counts=(SplitCount("train", 3205, source="sessions 2-4", note="4 classes"),
            SplitCount("validation", 1085, source="session 1", note="4 classes"),
            SplitCount("test", 1241, source="session 5", note="4 classes")),
    label_map=(("ang", "angry"), ("hap", "happy"), ("exc", "happy (4 classes) / excited (6 classes)"),
               ("sad", "sad"), ("neu", "neutral"), ("fru", "frustrated (6 classes only)"),
               ("sur fea dis oth xxx", "left out by design")),
    defects=("a label code outside IEMOCAP's set is an 'unknown-label' problem; a missing wav a 'missing-audio' one",),
    tasks=("emotion, 4 classes (default) or 6 classes",),
    modalities=("text", "speech"),
    notes=("5531 utterances in 4 classes (happy + excited merged), the usual IEMOCAP-4 benchmark",),
)

_EVAL_LINE = re.compile(r"^\[(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\]\s+(\S+)\s+(\S+)")
_TRANSCRIPT_LINE = re.compile(r"^(Ses\S+)\s+\[[^\]]*\]:\s?(.*)$")


def session_roles(fold: str) -> dict[int, str]:
    """Session number -> split for a fold name (see the module docstring for the rule)."""
    if fold == "paper":
        return {1: "validation", 2: "train", 3: "train", 4: "train", 5: "test"}
    test = int(fold.split("-", 1)[1])
    validation = test % 5 + 1
    return {s: "test" if s == test else "validation" if s == validation else "train" for s in SESSIONS}


class IemocapParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = Field(None, description="path to IEMOCAP_full_release")
    classes: Literal[4, 6] = 4
    fold: str = "paper"

    @field_validator("fold")
    @classmethod
    def _check_fold(cls, value: str) -> str:
        if value == "paper" or re.fullmatch(r"loso-[1-5]", value):
            return value
        raise ValueError("fold must be 'paper' or 'loso-N' with N in 1..5")


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def _dialog_files(folder: Path) -> list[Path]:
    """Per-dialogue text files; skips sub-folders (Categorical/, Attribute/) and macOS ``._`` files."""
    return sorted(p for p in folder.glob("*.txt") if p.is_file() and not p.name.startswith("."))


def _transcripts(folder: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in _dialog_files(folder):
        for line in _read_lines(path):
            match = _TRANSCRIPT_LINE.match(line.strip())
            if match:
                texts[match.group(1)] = match.group(2).strip()
    return texts


def speaker_of(utterance_id: str, session: int) -> str:
    letter = utterance_id.rsplit("_", 1)[-1][:1].upper()
    return f"Ses{session:02d}{letter}"


class Iemocap:
    """IEMOCAP, 4 or 6 classes, paper or leave-one-session-out fold."""

    name: ClassVar[str] = "iemocap"
    card: ClassVar[DatasetCard] = CARD
    Params: ClassVar[type[BaseModel]] = IemocapParams

    def __init__(self, params: IemocapParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        root = resolve_root(self.params.root, CARD, LAYOUT)
        label_map = LABEL_MAPS[self.params.classes]
        roles = session_roles(self.params.fold)
        splits, problems = empty_splits(), []
        for session in SESSIONS:
            session_dir = root / f"Session{session}"
            eval_dir = session_dir / "dialog" / "EmoEvaluation"
            if not eval_dir.is_dir():
                raise layout_error(CARD, eval_dir, LAYOUT)
            texts = _transcripts(session_dir / "dialog" / "transcriptions")
            wav_dir = session_dir / "sentences" / "wav"
            groups: dict[str, list[Utterance]] = {}
            for eval_file in _dialog_files(eval_dir):
                dialog = eval_file.stem
                rows = []
                for line in _read_lines(eval_file):
                    match = _EVAL_LINE.match(line.strip())
                    if match:
                        rows.append((float(match.group(1)), match.group(3), match.group(4).lower()))
                utterances = []
                for start, utt_id, code in sorted(rows):
                    if code not in IEMOCAP_CODES:
                        problems.append(Problem("unknown-label", utt_id, f"label code '{code}'"))
                        continue
                    if code not in label_map:
                        continue  # outside the chosen class set, left out by design
                    wav = wav_dir / dialog / f"{utt_id}.wav"
                    audio = AudioSource(str(wav)) if wav.is_file() else None
                    if audio is None:
                        problems.append(Problem("missing-audio", utt_id, str(wav)))
                    utt = Utterance(id=utt_id, conversation_id=dialog, position=0, text=texts.get(utt_id, ""),
                                    label=label_map[code], speaker=speaker_of(utt_id, session), audio=audio,
                                    meta={"session": session, "start": start, "code": code})
                    check_text(utt, problems)
                    utterances.append(utt)
                if utterances:
                    groups[dialog] = utterances
            splits[roles[session]].extend(conversation_list(groups))
        return finish(self.name, LABEL_ORDER[self.params.classes], splits, problems)
