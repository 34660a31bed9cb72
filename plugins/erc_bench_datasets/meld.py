"""MELD (Poria et al. 2019): multi-party dialogues from *Friends*, official splits.

Layout under ``root`` (the extracted ``MELD.Raw`` folder)::

    train_sent_emo.csv  dev_sent_emo.csv  test_sent_emo.csv
    train_splits/dia{D}_utt{U}.mp4
    dev_splits_complete/dia{D}_utt{U}.mp4
    output_repeated_splits_test/dia{D}_utt{U}.mp4

CSV columns: ``Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID, Utterance_ID,
Season, Episode, StartTime, EndTime``. Seven classes: neutral, joy, surprise, anger,
sadness, disgust, fear; official splits train / dev (-> validation) / test
(9989 / 1109 / 2610 utterances on the real release).

``labels = "sentiment"``: the release's own ``Sentiment`` column instead (positive, negative,
neutral; 3 classes), same utterances and splits; a value outside the three is ``unknown-label``.

Text is kept as written (typographic quotes stay); only the known mojibake of the
release (UTF-8 read as cp1252, e.g. ``Iâ€™m``) is repaired. Dialogue ids restart in
every split, so ids are prefixed with the split: ``dev_dia110_utt7``.

``audio`` param: ``auto`` (default) uses the clip folders that exist - a missing
clip (the real dev ``dia110_utt7``) is a ``missing-audio`` problem and that utterance
keeps ``audio=None``; an absent folder is one ``missing-audio-folder`` problem.
``require`` turns an absent folder into a DataError. ``off`` reads the CSVs only,
for text-only specs. Clips are not decoded here; ``erc-bench data info --check-audio``
probes them (the real train ``dia125_utt3`` is corrupt).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import SENTIMENT_LABELS, DatasetCard, DatasetSplits, Problem, SplitCount, Utterance

from .common import (
    AudioPolicy,
    check_text,
    clip_index,
    clip_source,
    conversation_list,
    empty_splits,
    finish,
    layout_error,
    read_csv_rows,
    resolve_root,
)

LAYOUT = ("MELD.Raw with {train,dev,test}_sent_emo.csv and clip folders train_splits/, dev_splits_complete/, "
          "output_repeated_splits_test/")
LABELS = ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]
FILES = {  # split -> (csv, clip folder, id prefix)
    "train": ("train_sent_emo.csv", "train_splits", "train"),
    "validation": ("dev_sent_emo.csv", "dev_splits_complete", "dev"),
    "test": ("test_sent_emo.csv", "output_repeated_splits_test", "test"),
}
REQUIRED_COLUMNS = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID")
CARD = DatasetCard(
    title="MELD",
    url="https://affective-meld.github.io/",
    citation="""@inproceedings{poria2019meld,
  title     = {{MELD}: A Multimodal Multi-Party Dataset for Emotion Recognition in Conversations},
  author    = {Poria, Soujanya and Hazarika, Devamanyu and Majumder, Navonil and Naik, Gautam and
               Cambria, Erik and Mihalcea, Rada},
  booktitle = {Proceedings of the 57th Annual Meeting of the Association for Computational Linguistics},
  pages     = {527--536}, year = {2019}
}""",
    licence="GPL-3.0",
    obtain=("download MELD.Raw from https://github.com/declare-lab/MELD "
            "(https://web.eecs.umich.edu/~mihalcea/downloads/MELD.Raw.tar.gz)",
            "unpack MELD.Raw.tar.gz and the train/dev/test tarballs inside it; point params.root at MELD.Raw"),
    layout=("train_sent_emo.csv  dev_sent_emo.csv  test_sent_emo.csv  (Sr No., Utterance, Speaker, Emotion, "
            "Sentiment, Dialogue_ID, Utterance_ID, Season, Episode, StartTime, EndTime; UTF-8)",
            "train_splits/dia{D}_utt{U}.mp4", "dev_splits_complete/dia{D}_utt{U}.mp4",
            "output_repeated_splits_test/dia{D}_utt{U}.mp4"),
    splits="the release's official train / dev / test (dev is this project's validation); ids prefixed by split",
    counts=(SplitCount("train", 9989, 1039, "train"), SplitCount("validation", 1109, 114, "dev"),
            SplitCount("test", 2610, 280, "test")),
    label_map=tuple((e, e) for e in LABELS) + tuple((f"Sentiment {s}", s) for s in SENTIMENT_LABELS),
    defects=("dev dia110_utt7 has no clip (a 'missing-audio' problem)",
             "train dia125_utt3 is corrupt ('unreadable-audio' under data info --check-audio)",
             "some texts carry UTF-8-read-as-cp1252 mojibake (Iâ€™m), repaired on load"),
    tasks=("emotion, 7 classes (labels = 'emotion', default)", "sentiment, 3 classes (labels = 'sentiment')"),
    modalities=("text", "speech"),
    notes=("emotions in train: neutral 4710, joy 1743, surprise 1205, anger 1109, sadness 683, disgust 271, "
           "fear 268",
           "sentiment (train / dev / test): neutral 4710 / 470 / 1256, negative 2945 / 406 / 833, "
           "positive 2334 / 233 / 521"),
)
_MOJIBAKE_MARKERS = ("â€", "Ã", "Â", "\u00e2\u0080")


def fix_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 damage (``â€™`` -> ``’``); leave any other text untouched."""
    if not any(marker in text for marker in _MOJIBAKE_MARKERS):
        return text
    for encoding in ("cp1252", "latin-1"):
        try:
            return text.encode(encoding).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


class MeldParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = Field(None, description="path to the extracted MELD.Raw folder")
    audio: AudioPolicy = "auto"
    labels: Literal["emotion", "sentiment"] = Field(
        "emotion", description="'emotion' (7 classes, the Emotion column) or 'sentiment' (3, the Sentiment column)")


class Meld:
    """MELD with its official train / dev / test splits, 7 emotions or 3 sentiments."""

    name: ClassVar[str] = "meld"
    card: ClassVar[DatasetCard] = CARD
    Params: ClassVar[type[BaseModel]] = MeldParams

    def __init__(self, params: MeldParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        root = resolve_root(self.params.root, CARD, LAYOUT)
        splits, problems = empty_splits(), []
        for split, (csv_name, clip_dir, prefix) in FILES.items():
            csv_path = root / csv_name
            if not csv_path.is_file():
                raise layout_error(CARD, csv_path, LAYOUT)
            clips = clip_index(root / clip_dir, self.params.audio, CARD, LAYOUT, problems)
            splits[split] = conversation_list(self._read_split(csv_path, root / clip_dir, prefix, clips, problems,
                                                               self.params.labels))
        return finish(self.name, LABELS if self.params.labels == "emotion" else list(SENTIMENT_LABELS), splits,
                      problems)

    @staticmethod
    def _read_split(csv_path: Path, clip_dir: Path, prefix: str, clips: set[str] | None,
                    problems: list[Problem], task: str = "emotion") -> dict[str, list[Utterance]]:
        header, rows = read_csv_rows(csv_path, "MELD", problems)
        required = REQUIRED_COLUMNS + (("Sentiment",) if task == "sentiment" else ())
        missing = [c for c in required if c not in header]
        if missing:
            raise layout_error(CARD, csv_path, f"a CSV with columns {', '.join(required)}; "
                                                      f"missing {', '.join(missing)}")
        keyed: list[tuple[int, int, Utterance]] = []
        for line_no, row in enumerate(rows, start=2):
            row = {(k or "").strip(): (v or "") for k, v in row.items()}
            try:
                dia, utt = int(row["Dialogue_ID"]), int(row["Utterance_ID"])
            except ValueError:
                problems.append(Problem("malformed-row", f"{csv_path.name}:{line_no}", "non-integer ids"))
                continue
            utt_id = f"{prefix}_dia{dia}_utt{utt}"
            column, allowed = ("Emotion", LABELS) if task == "emotion" else ("Sentiment", SENTIMENT_LABELS)
            label = row[column].strip().lower()
            if label not in allowed:
                problems.append(Problem("unknown-label", utt_id, f"{column.lower()} '{row[column]}'"))
                continue
            clip_name = f"dia{dia}_utt{utt}.mp4"
            audio = clip_source(clips, clip_dir, clip_name, utt_id, problems)
            utterance = Utterance(
                id=utt_id, conversation_id=f"{prefix}_dia{dia}", position=utt,
                text=fix_mojibake(row["Utterance"]).strip(), label=label,
                speaker=fix_mojibake(row["Speaker"]).strip() or None, audio=audio,
                meta={k: row.get(v, "") for k, v in (("sentiment", "Sentiment"), ("season", "Season"),
                                                      ("episode", "Episode"), ("start_time", "StartTime"),
                                                      ("end_time", "EndTime"))},
            )
            check_text(utterance, problems)
            keyed.append((dia, utt, utterance))
        groups: dict[str, list[Utterance]] = {}
        for _, _, utterance in sorted(keyed, key=lambda item: (item[0], item[1])):
            groups.setdefault(utterance.conversation_id, []).append(utterance)
        return groups
