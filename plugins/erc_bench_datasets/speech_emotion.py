"""Acted speech-emotion corpora: EmoDB, RAVDESS (speech), CREMA-D; labels and speakers from the file names.

Each clip is its own one-utterance conversation (there is no dialogue context), so Stage I is the
figure that matters; the utterance's text is the corpus's sentence where the file name says which
(EmoDB, CREMA-D, RAVDESS statements), kept as the publisher wrote it.

**Splits are this project's choice**: none of the three publishers defines one, and acted corpora
repeat the same sentences with every speaker, so a random split would put each test speaker's voice in
training. The default ``fold = "speakers"`` is speaker-independent, with a fixed, documented list of
speakers per split (``SPEAKER_SPLITS`` of each class, shown on its card); ``fold = "loso-<speaker>"``
(leave one speaker out) tests on that speaker, validates on the next speaker in the corpus's sorted
speaker list (the first after the last) and trains on the rest. Sample rates other than 16 kHz (EmoDB's
16 kHz is native; RAVDESS is 48 kHz) are resampled by ``erc_bench.load_audio`` when the clip is read.

Defects, each a ``Problem``: a file whose name does not follow the scheme (``unrecognised-file``), an
unknown emotion code (``unknown-label``), a CREMA-D vote tie or a clip without a vote row (``tied-vote``,
``no-vote``); unreadable clips are found by ``erc-bench data info --check-audio``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from erc_bench import AudioSource, Conversation, DatasetCard, DatasetSplits, Problem, SplitCount, Utterance

from .common import empty_splits, finish, layout_error, read_csv_rows, resolve_root


@dataclass
class Clip:
    utt_id: str
    speaker: str
    code: str
    path: Path
    text: str = ""
    meta: dict | None = None


def _wav_files(folder: Path) -> list[Path]:
    found = []
    for current, dirs, files in os.walk(folder):
        dirs.sort()
        found.extend(Path(current) / f for f in sorted(files) if f.lower().endswith(".wav") and not f.startswith("."))
    return found


def speaker_roles(fold: str, speakers: list[str], default: dict[str, str]) -> dict[str, str]:
    """Speaker -> split: the fixed default lists, or leave-one-speaker-out (see the module docstring)."""
    if fold == "speakers":
        return dict(default)
    test = fold.split("-", 1)[1]
    order = sorted(speakers)
    validation = order[(order.index(test) + 1) % len(order)]
    return {s: "test" if s == test else "validation" if s == validation else "train" for s in order}


def _fold_validator(speakers: tuple[str, ...]):  # noqa: ANN202 - a pydantic validator factory
    def check(cls: type, value: str) -> str:  # noqa: ARG001
        if value == "speakers" or (value.startswith("loso-") and value[5:] in speakers):
            return value
        raise ValueError(f"fold must be 'speakers' or 'loso-<speaker>' with a speaker in {', '.join(speakers)}")
    return field_validator("fold")(classmethod(check))


def assemble(name: str, labels: list[str], label_of: dict[str, str], clips: list[Clip], roles: dict[str, str],
             problems: list[Problem]) -> DatasetSplits:
    """One conversation per clip, in the split its speaker's role names; unknown codes reported."""
    splits = empty_splits()
    for clip in clips:
        if clip.code not in label_of:
            problems.append(Problem("unknown-label", clip.utt_id, f"emotion code '{clip.code}' in {clip.path.name}"))
            continue
        split = roles.get(clip.speaker)
        if split is None:
            problems.append(Problem("unknown-speaker", clip.utt_id, f"speaker {clip.speaker} is in no split"))
            continue
        utterance = Utterance(id=clip.utt_id, conversation_id=clip.utt_id, position=0, text=clip.text,
                              label=label_of[clip.code], speaker=clip.speaker, audio=AudioSource(str(clip.path)),
                              meta=clip.meta or {})
        splits[split].append(Conversation(clip.utt_id, [utterance]))
    return finish(name, labels, splits, problems)


# ----------------------------------------------------------------------------------------------- EmoDB

EMODB_SPEAKERS = ("03", "08", "09", "10", "11", "12", "13", "14", "15", "16")  # 03 10 11 12 15 male
EMODB_SPLITS = {"03": "test", "08": "test", "09": "validation", "10": "validation",
                **{s: "train" for s in ("11", "12", "13", "14", "15", "16")}}
EMODB_CODES = {"W": "anger", "L": "boredom", "E": "disgust", "A": "fear", "F": "happiness", "T": "sadness",
               "N": "neutral"}
EMODB_TEXTS = {  # the publisher's ten sentences (German, as written on the EmoDB site)
    "a01": "Der Lappen liegt auf dem Eisschrank.", "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.", "a05": "Das schwarze Stück Papier befindet sich da oben "
    "neben dem Holzstück.", "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}
_EMODB_NAME = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])\.wav$")
EMODB_LAYOUT = "wav/<speaker><text><emotion><version>.wav, e.g. wav/03a01Fa.wav"
EMODB_CARD = DatasetCard(
    title="EmoDB (Berlin Database of Emotional Speech)",
    url="http://emodb.bilderbar.info/",
    citation="""@inproceedings{burkhardt2005emodb,
  title     = {A database of {German} emotional speech},
  author    = {Burkhardt, Felix and Paeschke, Astrid and Rolfes, Miriam and Sendlmeier, Walter F. and Weiss, Benjamin},
  booktitle = {Proc. Interspeech 2005},
  pages     = {1517--1520}, year = {2005}
}""",
    licence="free for research from the authors' site (see its terms; no redistribution by erc-bench)",
    obtain=("download download.zip from http://emodb.bilderbar.info/download/",
            "unzip it; point params.root at the folder holding wav/"),
    layout=("wav/03a01Fa.wav: speaker 03, text a01, emotion F, version a (16 kHz mono)",),
    splits=("this project's speaker-independent split (EmoDB defines none): test speakers 03 (m), 08 (f); "
            "validation 09 (f), 10 (m); train 11 12 13 14 15 16; fold 'loso-<speaker>' leaves one out"),
    counts=(SplitCount("train", None, None, "speakers 11-16"), SplitCount("validation", None, None, "speakers 09 10"),
            SplitCount("test", None, None, "speakers 03 08")),
    label_map=tuple(EMODB_CODES.items()),
    defects=("a file name outside the scheme is 'unrecognised-file'; an emotion letter outside WLEAFTN is "
             "'unknown-label'",),
    tasks=("emotion, 7 classes (acted, German)",),
    modalities=("speech", "text"),
    notes=("535 utterances, 10 speakers (5 f, 5 m), 10 sentences; per-split counts: run erc-bench data info",),
)


class SpeechParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = Field(None, description="the corpus folder as the publisher ships it")
    fold: str = Field("speakers", description="'speakers' (fixed speaker-independent lists) or 'loso-<speaker>'")


class EmoDbParams(SpeechParams):
    _check_fold = _fold_validator(EMODB_SPEAKERS)


class EmoDb:
    """EmoDB: 7 emotions from the file-name letter, speaker-independent split (this project's)."""

    name: ClassVar[str] = "emodb"
    Params: ClassVar[type[BaseModel]] = EmoDbParams
    card: ClassVar[DatasetCard] = EMODB_CARD
    SPEAKER_SPLITS: ClassVar[dict[str, str]] = EMODB_SPLITS

    def __init__(self, params: EmoDbParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        root = resolve_root(self.params.root, EMODB_CARD, EMODB_LAYOUT)
        folder = root / "wav" if (root / "wav").is_dir() else root
        files = _wav_files(folder)
        if not files:
            raise layout_error(EMODB_CARD, folder / "03a01Fa.wav", EMODB_LAYOUT)
        problems: list[Problem] = []
        clips = []
        for path in files:
            match = _EMODB_NAME.match(path.name)
            if match is None:
                problems.append(Problem("unrecognised-file", path.name, "not <speaker><text><emotion><version>.wav"))
                continue
            speaker, text, code, version = match.groups()
            clips.append(Clip(f"emodb_{path.stem}", speaker, code, path, EMODB_TEXTS.get(text, ""),
                              {"text_code": text, "version": version}))
        roles = speaker_roles(self.params.fold, list(EMODB_SPEAKERS), EMODB_SPLITS)
        return assemble(self.name, list(EMODB_CODES.values()), EMODB_CODES, clips, roles, problems)


# --------------------------------------------------------------------------------------------- RAVDESS

RAVDESS_ACTORS = tuple(f"{n:02d}" for n in range(1, 25))  # odd male, even female
RAVDESS_SPLITS = {a: "test" if int(a) >= 21 else "validation" if int(a) >= 17 else "train" for a in RAVDESS_ACTORS}
RAVDESS_CODES = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry", "06": "fearful",
                 "07": "disgust", "08": "surprised"}
RAVDESS_STATEMENTS = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}
_RAVDESS_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.wav$")
RAVDESS_LAYOUT = "Actor_01..Actor_24/03-01-EE-II-SS-RR-AA.wav (Audio_Speech_Actors_01-24.zip)"
RAVDESS_CARD = DatasetCard(
    title="RAVDESS (speech)",
    url="https://zenodo.org/records/1188976",
    citation="""@article{livingstone2018ravdess,
  title   = {The {Ryerson} Audio-Visual Database of Emotional Speech and Song ({RAVDESS}): A dynamic, multimodal
             set of facial and vocal expressions in {North American English}},
  author  = {Livingstone, Steven R. and Russo, Frank A.},
  journal = {PLoS ONE}, volume = {13}, number = {5}, pages = {e0196391}, year = {2018}
}""",
    licence="CC BY-NC-SA 4.0",
    obtain=("download Audio_Speech_Actors_01-24.zip from https://zenodo.org/records/1188976",
            "unzip it; point params.root at the folder holding Actor_01 ... Actor_24"),
    layout=("Actor_NN/MM-VV-EE-II-SS-RR-AA.wav: modality (03 audio-only), vocal channel (01 speech), emotion, "
            "intensity (01 normal, 02 strong), statement (01/02), repetition, actor (48 kHz)",),
    splits=("this project's speaker-independent split (RAVDESS defines none): actors 01-16 train, 17-20 "
            "validation, 21-24 test (2 f + 2 m each); fold 'loso-NN' leaves one actor out"),
    counts=(SplitCount("train", 960, 960, "actors 01-16"), SplitCount("validation", 240, 240, "actors 17-20"),
            SplitCount("test", 240, 240, "actors 21-24")),
    label_map=tuple(RAVDESS_CODES.items()),
    defects=("song files (vocal channel 02) and video files are not speech-audio and are left out "
             "('unrecognised-file' when found)",),
    tasks=("emotion, 8 classes (acted, English)",),
    modalities=("speech", "text"),
    notes=("1440 speech files: 24 actors x 60; neutral has no strong intensity (96 files, the others 192)",),
)


class RavdessParams(SpeechParams):
    _check_fold = _fold_validator(RAVDESS_ACTORS)


class Ravdess:
    """RAVDESS speech: 8 emotions, actors and labels from the file name, speaker-independent split."""

    name: ClassVar[str] = "ravdess"
    Params: ClassVar[type[BaseModel]] = RavdessParams
    card: ClassVar[DatasetCard] = RAVDESS_CARD
    SPEAKER_SPLITS: ClassVar[dict[str, str]] = RAVDESS_SPLITS

    def __init__(self, params: RavdessParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        root = resolve_root(self.params.root, RAVDESS_CARD, RAVDESS_LAYOUT)
        files = _wav_files(root)
        if not files:
            raise layout_error(RAVDESS_CARD, root / "Actor_01", RAVDESS_LAYOUT)
        problems: list[Problem] = []
        clips = []
        for path in files:
            match = _RAVDESS_NAME.match(path.name)
            if match is None or match.group(1) != "03" or match.group(2) != "01":
                problems.append(Problem("unrecognised-file", path.name, "not an audio-only speech file "
                                                                        "03-01-EE-II-SS-RR-AA.wav"))
                continue
            _, _, emotion, intensity, statement, repetition, actor = match.groups()
            clips.append(Clip(f"ravdess_{path.stem}", actor, emotion, path, RAVDESS_STATEMENTS.get(statement, ""),
                              {"intensity": "strong" if intensity == "02" else "normal", "statement": statement,
                               "repetition": repetition}))
        roles = speaker_roles(self.params.fold, list(RAVDESS_ACTORS), RAVDESS_SPLITS)
        return assemble(self.name, list(RAVDESS_CODES.values()), RAVDESS_CODES, clips, roles, problems)


# --------------------------------------------------------------------------------------------- CREMA-D

CREMAD_ACTORS = tuple(str(n) for n in range(1001, 1092))
CREMAD_SPLITS = {a: "test" if int(a) >= 1078 else "validation" if int(a) >= 1064 else "train" for a in CREMAD_ACTORS}
CREMAD_CODES = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
CREMAD_VOTES = {"A": "ANG", "D": "DIS", "F": "FEA", "H": "HAP", "N": "NEU", "S": "SAD"}
CREMAD_SENTENCES = {
    "IEO": "It's eleven o'clock.", "TIE": "That is exactly what happened.", "IOM": "I'm on my way to the meeting.",
    "IWW": "I wonder what this is about.", "TAI": "The airplane is almost full.",
    "MTI": "Maybe tomorrow it will be cold.", "IWL": "I would like a new alarm clock.",
    "ITH": "I think I have a doctor's appointment.", "DFA": "Don't forget a jacket.",
    "ITS": "I think I've seen this before.", "TSI": "The surface is slick.",
    "WSI": "We'll stop in a couple of minutes.",
}
_CREMAD_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.wav$")
CREMAD_LAYOUT = "AudioWAV/<actor>_<sentence>_<emotion>_<level>.wav (+ processedResults/summaryTable.csv for votes)"
CREMAD_CARD = DatasetCard(
    title="CREMA-D",
    url="https://github.com/CheyneyComputerScience/CREMA-D",
    citation="""@article{cao2014crema,
  title   = {{CREMA-D}: Crowd-sourced Emotional Multimodal Actors Dataset},
  author  = {Cao, Houwei and Cooper, David G. and Keutmann, Michael K. and Gur, Ruben C. and Nenkova, Ani and
             Verma, Ragini},
  journal = {IEEE Transactions on Affective Computing},
  volume  = {5}, number = {4}, pages = {377--390}, year = {2014}
}""",
    licence="Open Database License (ODbL 1.0); contents under the Database Contents License (DbCL 1.0)",
    obtain=("git lfs clone https://github.com/CheyneyComputerScience/CREMA-D (the zip holds LFS stubs only; "
            "mirror: https://gitlab.com/cs-cooper-lab/crema-d-mirror)",
            "point params.root at the clone (AudioWAV/ and processedResults/)"),
    layout=("AudioWAV/1001_DFA_ANG_XX.wav: actor 1001-1091, sentence code, emotion (ANG DIS FEA HAP NEU SAD), "
            "level (LO MD HI XX); 16 kHz",
            "processedResults/summaryTable.csv: FileName, VoiceVote (A D F H N S; ties joined by ':'), ..."),
    splits=("this project's speaker-independent split (CREMA-D defines none): actors 1001-1063 train, "
            "1064-1077 validation, 1078-1091 test; fold 'loso-<actor>' leaves one out"),
    counts=(SplitCount("train", 5147, 5147, "actors 1001-1063"),
            SplitCount("validation", 1147, 1147, "actors 1064-1077"),
            SplitCount("test", 1148, 1148, "actors 1078-1091")),
    label_map=tuple(CREMAD_CODES.items()) + tuple((f"VoiceVote {k}", CREMAD_CODES[v]) for k, v in CREMAD_VOTES.items()),
    defects=("labels = 'voted': clips whose audio-only vote is a tie (e.g. 'N:S') are left out ('tied-vote'); "
             "about 9 % of clips",
             "publisher's README: 1076_MTI_NEU_XX and 1076_MTI_SAD_XX are very short with no audio, 1064_TIE_SAD_XX "
             "has no duration, 1064_IEO_DIS_MD is a minute long with every display (found by data info "
             "--check-audio as silent or unreadable clips)"),
    tasks=("emotion, 6 classes: the acted emotion (labels = 'acted', default) or the audio-only crowd vote "
           "(labels = 'voted')",),
    modalities=("speech", "text"),
    notes=("7442 clips of 91 actors (48 m, 43 f), 12 sentences; split counts computed from the publisher's "
           "AudioWAV file list",),
)


class CremaDParams(SpeechParams):
    labels: Literal["acted", "voted"] = Field(
        "acted", description="'acted': the emotion in the file name; 'voted': processedResults/summaryTable.csv "
                             "VoiceVote (audio-only crowd majority; ties left out)")
    _check_fold = _fold_validator(CREMAD_ACTORS)


class CremaD:
    """CREMA-D: 6 emotions, acted (file name) or voted (audio-only crowd vote), speaker-independent split."""

    name: ClassVar[str] = "crema-d"
    Params: ClassVar[type[BaseModel]] = CremaDParams
    card: ClassVar[DatasetCard] = CREMAD_CARD
    SPEAKER_SPLITS: ClassVar[dict[str, str]] = CREMAD_SPLITS

    def __init__(self, params: CremaDParams) -> None:
        self.params = params

    def _votes(self, root: Path, problems: list[Problem]) -> dict[str, str]:
        path = root / "processedResults" / "summaryTable.csv"
        if not path.is_file():
            raise layout_error(CREMAD_CARD, path, "labels = 'voted' needs processedResults/summaryTable.csv")
        header, rows = read_csv_rows(path, "CREMA-D", problems)
        if "FileName" not in header or "VoiceVote" not in header:
            raise layout_error(CREMAD_CARD, path, "a CSV with columns FileName, VoiceVote")
        return {(row.get("FileName") or "").strip(): (row.get("VoiceVote") or "").strip() for row in rows}

    def load(self) -> DatasetSplits:
        root = resolve_root(self.params.root, CREMAD_CARD, CREMAD_LAYOUT)
        folder = root / "AudioWAV"
        if not folder.is_dir():
            raise layout_error(CREMAD_CARD, folder, CREMAD_LAYOUT)
        problems: list[Problem] = []
        votes = self._votes(root, problems) if self.params.labels == "voted" else None
        clips = []
        for path in _wav_files(folder):
            match = _CREMAD_NAME.match(path.name)
            if match is None:
                problems.append(Problem("unrecognised-file", path.name, "not <actor>_<sentence>_<emotion>_<level>.wav"))
                continue
            actor, sentence, code, level = match.groups()
            meta = {"sentence": sentence, "level": level, "acted": CREMAD_CODES.get(code, code)}
            utt_id = f"cremad_{path.stem}"
            if votes is not None:
                vote = votes.get(path.stem)
                if vote is None:
                    problems.append(Problem("no-vote", utt_id, "no row in summaryTable.csv"))
                    continue
                if ":" in vote:
                    problems.append(Problem("tied-vote", utt_id, f"VoiceVote '{vote}'"))
                    continue
                meta["vote"] = vote
                code = CREMAD_VOTES.get(vote, f"vote {vote}")
            clips.append(Clip(utt_id, actor, code, path, CREMAD_SENTENCES.get(sentence, ""), meta))
        roles = speaker_roles(self.params.fold, list(CREMAD_ACTORS), CREMAD_SPLITS)
        return assemble(self.name, list(CREMAD_CODES.values()), CREMAD_CODES, clips, roles, problems)
