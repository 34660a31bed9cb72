"""DailyDialog (Li et al. 2017): written dyadic daily-life dialogues, 7 emotion codes; text only.

Layout under ``root`` (the unpacked ``ijcnlp_dailydialog`` folder with its three split archives
unpacked), as the publisher ships it::

    train/dialogues_train.txt            train/dialogues_emotion_train.txt            train/dialogues_act_train.txt
    validation/dialogues_validation.txt  validation/dialogues_emotion_validation.txt  validation/dialogues_act_...
    test/dialogues_test.txt              test/dialogues_emotion_test.txt              test/dialogues_act_test.txt

(``dialogues_text.txt`` / ``dialogues_emotion.txt`` / ``dialogues_act.txt`` inside a split folder are
accepted too.) One dialogue per line: utterances end with ``__eou__``; the emotion and act files hold
one space-separated code per utterance. Emotion codes (publisher): 0 no emotion, 1 anger, 2 disgust,
3 fear, 4 happiness, 5 sadness, 6 surprise; acts 1 inform, 2 question, 3 directive, 4 commissive
(``meta["act"]``). The publisher's splits are the folders (11118 / 1000 / 1000 dialogues).

Scoring: "no emotion" is about 83 % of utterances, so DailyDialog ERC papers report micro F1 over
the six emotions. The dataset sets ``majority_label = "no emotion"`` and every stage reports
``micro_f1_excl_majority`` beside weighted F1 (``erc-bench run --metric micro_f1_excl_majority``,
``erc-bench leaderboard --metric micro_f1_excl_majority``).

This project's choices: speakers alternate (the corpus is dyadic and turn-based; the publisher does not
name them): ``<dialogue>_A`` for even positions, ``<dialogue>_B`` for odd. Ids are
``<split>_dia<line>_utt<i>`` (line numbers from 1). Text is kept as written, only the token spacing of
``__eou__`` stripped. Defects, each a ``Problem``: a dialogue whose emotion (or act) line has a different
number of codes than it has utterances (``length-mismatch``, dialogue left out: its codes cannot be
aligned), an unknown code (``unknown-label``, utterance left out), the same dialogue text in two splits
(``duplicate-dialogue``, kept: the release has such overlaps).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import DataError, DatasetCard, DatasetSplits, Problem, SplitCount, Utterance

from .common import check_text, conversation_list, empty_splits, finish, layout_error, resolve_root

EMOTIONS = {"0": "no emotion", "1": "anger", "2": "disgust", "3": "fear", "4": "happiness", "5": "sadness",
            "6": "surprise"}
ACTS = {"1": "inform", "2": "question", "3": "directive", "4": "commissive"}
LABELS = list(EMOTIONS.values())
MAJORITY = "no emotion"
LAYOUT = ("train/, validation/, test/ each with dialogues_<split>.txt, dialogues_emotion_<split>.txt, "
          "dialogues_act_<split>.txt")
CARD = DatasetCard(
    title="DailyDialog",
    url="http://yanran.li/dailydialog",
    citation="""@inproceedings{li2017dailydialog,
  title     = {{DailyDialog}: A Manually Labelled Multi-turn Dialogue Dataset},
  author    = {Li, Yanran and Su, Hui and Shen, Xiaoyu and Li, Wenjie and Cao, Ziqiang and Niu, Shuzi},
  booktitle = {Proceedings of the Eighth International Joint Conference on Natural Language Processing
               (Volume 1: Long Papers)},
  pages     = {986--995}, year = {2017}
}""",
    licence="CC BY-NC-SA 4.0",
    obtain=("download ijcnlp_dailydialog.zip from http://yanran.li/dailydialog",
            "unzip it and the train.zip, validation.zip, test.zip inside; point params.root at ijcnlp_dailydialog"),
    layout=("train/dialogues_train.txt  train/dialogues_emotion_train.txt  train/dialogues_act_train.txt",
            "validation/dialogues_validation.txt  ... _emotion_validation.txt  ... _act_validation.txt",
            "test/dialogues_test.txt  ... _emotion_test.txt  ... _act_test.txt",
            "one dialogue per line, utterances ending in __eou__; one code per utterance in the label files"),
    splits="the publisher's train / validation / test folders; a line is a conversation",
    counts=(SplitCount("train", 87170, 11118), SplitCount("validation", 8069, 1000), SplitCount("test", 7740, 1000)),
    label_map=tuple(EMOTIONS.items()),
    defects=("about 83 % of utterances are 'no emotion': score with micro_f1_excl_majority as ERC papers do",
             "some dialogues occur in more than one split ('duplicate-dialogue' problems)"),
    tasks=("emotion, 7 classes (micro F1 over the 6 emotions reported as micro_f1_excl_majority)",),
    modalities=("text",),
    notes=("utterance counts per split as reported by ERC work using the official split (e.g. COSMIC)",),
)


class DailyDialogParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = Field(None, description="the unpacked ijcnlp_dailydialog folder (train/ validation/ test/)")


def _find(folder: Path, kind: str, split: str) -> Path:
    """``dialogues[_kind]_<split>.txt`` (the release's names) or ``dialogues_<kind or text>.txt``."""
    stem = "dialogues" + (f"_{kind}" if kind else "")
    for name in (f"{stem}_{split}.txt", f"dialogues_{kind or 'text'}.txt"):
        if (folder / name).is_file():
            return folder / name
    raise layout_error(CARD, folder / f"{stem}_{split}.txt", LAYOUT)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


class DailyDialog:
    """DailyDialog: 7 emotion codes, the publisher's splits; text only; micro F1 without 'no emotion'."""

    name: ClassVar[str] = "dailydialog"
    Params: ClassVar[type[BaseModel]] = DailyDialogParams
    card: ClassVar[DatasetCard] = CARD

    def __init__(self, params: DailyDialogParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        root = resolve_root(self.params.root, CARD, LAYOUT)
        splits, problems = empty_splits(), []
        seen: dict[str, str] = {}
        for split in ("train", "validation", "test"):
            folder = root / split
            if not folder.is_dir():
                raise layout_error(CARD, folder, LAYOUT)
            texts, emotions = _lines(_find(folder, "", split)), _lines(_find(folder, "emotion", split))
            try:
                acts = _lines(_find(folder, "act", split))
            except DataError:  # the act file is optional for emotion recognition
                acts = []
            groups: dict[str, list[Utterance]] = {}
            for number, line in enumerate(texts, start=1):
                if not line.strip():
                    continue
                dia = f"{split}_dia{number}"
                turns = [t.strip() for t in line.split("__eou__")]
                turns = turns[:-1] if turns and not turns[-1] else turns
                codes = emotions[number - 1].split() if number <= len(emotions) else []
                act_codes = acts[number - 1].split() if number <= len(acts) else []
                if len(codes) != len(turns) or (acts and len(act_codes) != len(turns)):
                    problems.append(Problem("length-mismatch", dia, f"{len(turns)} utterances, {len(codes)} emotion "
                                                                    f"codes, {len(act_codes)} act codes"))
                    continue
                key = " ".join(line.split()).lower()
                if key in seen:
                    problems.append(Problem("duplicate-dialogue", dia, f"same text as {seen[key]}"))
                seen.setdefault(key, dia)
                for index, (text, code) in enumerate(zip(turns, codes, strict=True)):
                    utt_id = f"{dia}_utt{index}"
                    if code not in EMOTIONS:
                        problems.append(Problem("unknown-label", utt_id, f"emotion code '{code}'"))
                        continue
                    meta = {"act": ACTS.get(act_codes[index], act_codes[index])} if act_codes else {}
                    utterance = Utterance(id=utt_id, conversation_id=dia, position=index, text=text,
                                          label=EMOTIONS[code], speaker=f"{dia}_{'AB'[index % 2]}", meta=meta)
                    check_text(utterance, problems)
                    groups.setdefault(dia, []).append(utterance)
            splits[split] = conversation_list(groups)
        data = finish(self.name, LABELS, splits, problems)
        data.majority_label = MAJORITY
        return data
