"""CMU-MOSI (Zadeh et al. 2016): 93 opinion monologues, 2199 clips, binary sentiment.

Layout under ``root``::

    label.csv                                   (``label_file``) columns video_id, clip_id, text, label,
                                                annotation, mode (extra columns are ignored)
    Audio/WAV_16000/Segmented/{video_id}_{clip_id}.wav      (``audio_dir``; the CMU_MOSI.zip layout)

Labels: sentiment score in [-3, 3]; ``negative`` for [-3, 0), ``positive`` for [0, 3]
(the raw score is kept in ``meta["score"]``). A score that is not a number in [-3, 3]
is an ``unknown-label`` problem. Each video is one conversation (a monologue), its
clips ordered by ``clip_id`` numerically.

Folds (video id lists in ``mosi_folds``; why two: see there):

* ``paper`` (default, MERITS-L): the split of Poria et al. (ACL 2017) that the paper
  follows - test = the authors' videos 63-93 (752 utterances); of videos 1-62 (1447
  utterances), taken in the authors' ``video_no`` order, the first 49 train and the
  **last 13 are validation** (the paper: "49 for training ... the rest 13 for
  validation"; which 13 it does not say, so this order is the project's choice).
* ``52-10-31``: the CMU MultimodalSDK's standard train / validation / test lists
  (686 test utterances; shares only 7 test videos with ``paper``).
* ``label-file``: the ``mode`` column of the label file (train / valid / test).

A video id in the label file that no fold list knows is an ``unknown-video`` problem.
``audio`` as for MELD: ``auto`` (default), ``require`` or ``off``.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import DatasetCard, DatasetSplits, Problem, SplitCount, Utterance

from .common import (
    SENTIMENT_BINARY,
    AudioPolicy,
    binary_sentiment,
    check_text,
    clip_index,
    clip_source,
    conversation_list,
    empty_splits,
    finish,
    layout_error,
    normalise_split,
    read_csv_rows,
    resolve_root,
)
from .mosi_folds import PAPER_TEST, PAPER_TRAIN_VALIDATION, STANDARD_TEST, STANDARD_TRAIN, STANDARD_VALIDATION

LABELS = list(SENTIMENT_BINARY)
REQUIRED_COLUMNS = ("video_id", "clip_id", "text", "label")
N_PAPER_VALIDATION = 13
CARD = DatasetCard(
    title="CMU-MOSI",
    url="http://multicomp.cs.cmu.edu/resources/cmu-mosi-dataset/",
    citation="""@article{zadeh2016mosi,
  title   = {Multimodal Sentiment Intensity Analysis in Videos: Facial Gestures and Verbal Messages},
  author  = {Zadeh, Amir and Zellers, Rowan and Pincus, Eli and Morency, Louis-Philippe},
  journal = {IEEE Intelligent Systems},
  volume  = {31}, number = {6}, pages = {82--88}, year = {2016}
}""",
    licence="research use only (CMU MultiComp Lab terms)",
    obtain=("download it with the CMU MultimodalSDK (https://github.com/CMU-MultiComp-Lab/CMU-MultimodalSDK)",
            "the raw CMU_MOSI.zip holds Audio/WAV_16000/Segmented/; write label.csv (video_id, clip_id, text, "
            "label, annotation, mode) from the SDK's label and transcript files"),
    layout=("label.csv  (video_id, clip_id, text, label, annotation, mode)",
            "Audio/WAV_16000/Segmented/{video_id}_{clip_id}.wav"),
    splits=("'paper' (default): Poria et al. 2017, videos 1-62 train+validation (49 / 13), 63-93 test; "
            "'52-10-31': the SDK's standard folds; 'label-file': the mode column"),
    counts=(SplitCount("train", None, 49, "paper fold", "1447 utterances train + validation together"),
            SplitCount("validation", None, 13, "paper fold", "the last 13 of videos 1-62 (this project's choice)"),
            SplitCount("test", 752, 31, "paper fold")),
    label_map=(("score in [-3, 0)", "negative"), ("score in [0, 3]", "positive")),
    defects=("a score outside [-3, 3] or not a number is 'unknown-label'; a video in no fold 'unknown-video'",),
    tasks=("sentiment, binary",),
    modalities=("text", "speech"),
    notes=("93 videos, 2199 segments in all",
           "fold '52-10-31': 52 / 10 / 31 videos, 686 test utterances (shares 7 test videos with 'paper')"),
)


def fold_of(fold: str) -> dict[str, str]:
    """Video id -> split for the ``paper`` or ``52-10-31`` fold."""
    if fold == "52-10-31":
        groups = {"train": STANDARD_TRAIN, "validation": STANDARD_VALIDATION, "test": STANDARD_TEST}
    else:
        first = PAPER_TRAIN_VALIDATION
        groups = {"train": first[:-N_PAPER_VALIDATION], "validation": first[-N_PAPER_VALIDATION:],
                  "test": PAPER_TEST}
    return {video: split for split, videos in groups.items() for video in videos}


binary_label = binary_sentiment  # the rule both corpora share (common.py)


class MosiParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = Field(None, description="CMU-MOSI folder holding the label file and audio")
    label_file: str = "label.csv"
    audio_dir: str = "Audio/WAV_16000/Segmented"
    fold: Literal["paper", "52-10-31", "label-file"] = "paper"
    audio: AudioPolicy = "auto"


class Mosi:
    """CMU-MOSI, binary sentiment, one conversation per video."""

    name: ClassVar[str] = "mosi"
    card: ClassVar[DatasetCard] = CARD
    Params: ClassVar[type[BaseModel]] = MosiParams

    def __init__(self, params: MosiParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        p = self.params
        layout = (f"{p.label_file} with columns video_id, clip_id, text, label, annotation, mode; "
                  f"audio in {p.audio_dir}/")
        root = resolve_root(p.root, CARD, layout)
        label_path = root / p.label_file
        if not label_path.is_file():
            raise layout_error(CARD, label_path, layout)
        problems: list[Problem] = []
        header, rows = read_csv_rows(label_path, "CMU-MOSI", problems)
        needed = REQUIRED_COLUMNS + (("mode",) if p.fold == "label-file" else ())
        missing = [c for c in needed if c not in header]
        if missing:
            raise layout_error(CARD, label_path, f"{layout}; missing column(s) {', '.join(missing)}")
        audio_dir = root / p.audio_dir
        clips = clip_index(audio_dir, p.audio, CARD, layout, problems)
        video_split = fold_of(p.fold) if p.fold != "label-file" else {}
        keyed: dict[str, list[tuple[int, Utterance]]] = {s: [] for s in ("train", "validation", "test")}
        for line_no, row in enumerate(rows, start=2):
            video, clip = (row.get("video_id") or "").strip(), (row.get("clip_id") or "").strip()
            utt_id = f"{video}_{clip}"
            split = normalise_split(row.get("mode") or "") if p.fold == "label-file" else video_split.get(video)
            if split is None:
                problems.append(Problem("unknown-video", utt_id, f"line {line_no}: video not in fold '{p.fold}'"))
                continue
            try:
                score = float(row["label"])
                clip_number = int(float(clip))
            except ValueError:
                problems.append(Problem("unknown-label", utt_id, f"line {line_no}: label '{row['label']}'"))
                continue
            if not math.isfinite(score) or not -3.0 <= score <= 3.0:
                problems.append(Problem("unknown-label", utt_id, f"score {score} outside [-3, 3]"))
                continue
            name = f"{utt_id}.wav"
            audio = clip_source(clips, audio_dir, name, utt_id, problems)
            utterance = Utterance(id=utt_id, conversation_id=video, position=clip_number,
                                  text=(row.get("text") or "").strip(), label=binary_label(score), speaker=video,
                                  audio=audio, meta={"score": score, "annotation": row.get("annotation", "")})
            check_text(utterance, problems)
            keyed[split].append((clip_number, utterance))
        splits = empty_splits()
        for split, items in keyed.items():
            groups: dict[str, list[Utterance]] = {}
            for _, utterance in sorted(items, key=lambda item: (item[1].conversation_id, item[0])):
                groups.setdefault(utterance.conversation_id, []).append(utterance)
            splits[split] = conversation_list(groups)
        return finish(self.name, LABELS, splits, problems)
