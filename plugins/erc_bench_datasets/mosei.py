"""CMU-MOSEI (Zadeh et al. 2018): 3228 opinion monologues (YouTube), about 23.5k sentences, sentiment in [-3, 3].

Layout under ``root`` (``CMU_MOSEI.zip`` unpacked, plus the SDK's label file)::

    CMU_MOSEI_Labels.csd                          (``label_file``) the SDK's HDF5 computational sequence:
                                                  <name>/data/<video_id>/{features (N x 7), intervals (N x 2 s)}
    Raw/Transcript/Segmented/Combined/{video_id}.txt   (``transcript_dir``) lines
                                                  ``{video_id}___{n}___{start}___{end}___{text}``
    Raw/Audio/Full/WAV_16000/{video_id}.wav       (``audio_dir``) one WAV per video; a segment's audio is its
                                                  interval of that file (``audio_layout = "full"``)

or a CSV label file (``label_file`` ending ``.csv``: MMSA's ``label.csv``, columns video_id, clip_id, text,
label, annotation, mode) with one clip per segment: ``{audio_dir}/{clip_name}``, by default MMSA's
``Raw/{video_id}/{clip_id}.mp4`` (``audio_layout = "segmented"``; ``clip_name = "{video_id}_{clip_id}.wav"``
for a flat folder of cut WAVs). ``audio_layout = "auto"`` (default) is ``full`` for a ``.csd`` label file and
``segmented`` for a CSV one, which has no intervals.

In the ``.csd``, ``features`` columns are [sentiment, happy, sad, anger, surprise, disgust, fear] (the SDK's
README); segment ``i`` of a video is row ``i`` (the SDK names it ``{video_id}[{i}]``); keys already of that
form (an aligned sequence) are read as one segment each. Transcripts are matched to segments by interval
(start and end to the millisecond), as the SDK's own alignment does; a segment without one has empty text
(an ``empty-text`` problem). The emotion intensities are kept in ``meta["emotions"]``.

Labels (the sentiment score, clipped to nothing: a score outside [-3, 3] or not a number is ``unknown-label``):

* ``binary`` (default): ``negative`` for [-3, 0), ``positive`` for [0, 3] (the MOSI rule; the SDK README's
  "negative / non-negative" binarisation).
* ``7-class``: ``round(score)`` (Python's and NumPy's round, half to even: MulT's and MMSA's Acc-7), named
  ``-3 strongly negative`` ... ``0 neutral`` ... ``+3 strongly positive`` (``SEVEN_CLASS``). Note the SDK
  README gives a different rounding (every non-zero score away from zero: 0.2 -> +1); not offered.

Folds: ``standard`` (the SDK's lists, ``mosei_folds``: 2249 / 300 / 678 videos) or ``label-file`` (the CSV's
``mode`` column). Each video is one conversation, its segments ordered by index. A video no fold knows is one
``unknown-video`` problem (its segments are left out). ``audio`` as for MOSI: ``auto``, ``require`` or ``off``.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from erc_bench import AudioSource, DataError, DatasetCard, DatasetSplits, Problem, SplitCount, Utterance, require

from .common import (
    SENTIMENT_BINARY,
    AudioPolicy,
    binary_sentiment,
    check_text,
    clip_index,
    conversation_list,
    empty_splits,
    finish,
    layout_error,
    normalise_split,
    read_csv_rows,
    resolve_root,
)
from .mosei_folds import STANDARD_TEST, STANDARD_TRAIN, STANDARD_VALIDATION

BINARY = list(SENTIMENT_BINARY)
SEVEN_CLASS = ["-3 strongly negative", "-2 negative", "-1 weakly negative", "0 neutral", "+1 weakly positive",
               "+2 positive", "+3 strongly positive"]
EMOTIONS = ("happy", "sad", "anger", "surprise", "disgust", "fear")
REQUIRED_COLUMNS = ("video_id", "clip_id", "text", "label")
HDF5_SUFFIXES = (".csd", ".h5", ".hdf5")
SDK_KEY = re.compile(r"^(?P<video>.+)\[(?P<index>\d+)\]$")
CARD = DatasetCard(
    title="CMU-MOSEI",
    url="http://multicomp.cs.cmu.edu/resources/cmu-mosei-dataset/",
    citation="""@inproceedings{zadeh2018mosei,
  title     = {Multimodal Language Analysis in the Wild: {CMU-MOSEI} Dataset and Interpretable Dynamic Fusion Graph},
  author    = {Zadeh, AmirAli Bagher and Liang, Paul Pu and Poria, Soujanya and Cambria, Erik and
               Morency, Louis-Philippe},
  booktitle = {Proceedings of the 56th Annual Meeting of the Association for Computational Linguistics},
  pages     = {2236--2246}, year = {2018}
}""",
    licence="research use only (CMU MultiComp Lab terms)",
    obtain=("download CMU_MOSEI_Labels.csd with the CMU MultimodalSDK (https://github.com/A2Zadeh/CMU-MultimodalSDK, "
            "http://immortal.multicomp.cs.cmu.edu/CMU-MOSEI/labels/CMU_MOSEI_Labels.csd) and unpack the raw "
            "release http://immortal.multicomp.cs.cmu.edu/raw_datasets/CMU_MOSEI.zip beside it",
            "or point label_file at MMSA's MOSEI label.csv (video_id, clip_id, text, label, annotation, mode) "
            "with its Raw/{video_id}/{clip_id}.mp4 clips"),
    layout=("CMU_MOSEI_Labels.csd  (HDF5: All Labels/data/{video_id}/features N x 7, intervals N x 2)",
            "Raw/Transcript/Segmented/Combined/{video_id}.txt  ({video_id}___{n}___{start}___{end}___{text})",
            "Raw/Audio/Full/WAV_16000/{video_id}.wav  (a segment = its interval of the video's WAV)",
            "or: label.csv + Raw/{video_id}/{clip_id}.mp4  (audio_layout 'segmented', clip_name)"),
    splits=("'standard' (default): the CMU MultimodalSDK's standard folds (cmu_mosei_std_folds.py), "
            "2249 / 300 / 678 videos; 'label-file': the CSV's mode column"),
    counts=(SplitCount("train", None, 2249, "standard_train_fold", "videos from the SDK's list"),
            SplitCount("validation", None, 300, "standard_valid_fold", "videos from the SDK's list"),
            SplitCount("test", None, 678, "standard_test_fold", "videos from the SDK's list")),
    label_map=(("score in [-3, 0)", "negative (binary)"), ("score in [0, 3]", "positive (binary)"),
               *((f"round(score) = {value}", f"{name} (7-class)") for value, name in zip(range(-3, 4), SEVEN_CLASS,
                                                                                          strict=True))),
    defects=("a score outside [-3, 3] or not a number is 'unknown-label'; a video in no fold 'unknown-video'",
             "an entry whose features are not N x 7 with N x 2 intervals is 'unreadable-label'",
             "a segment with no transcript line at its interval has empty text ('empty-text')"),
    tasks=("sentiment, binary", "sentiment, 7 classes (rounded score)"),
    modalities=("text", "speech"),
    notes=("the paper: 3228 videos, 23453 annotated sentences, 1000+ speakers; the SDK's folds list 3227 videos",
           "segments per split depend on the label file's version, so no utterance count is claimed; MMSA's "
           "label.csv is commonly reported as 16326 / 1871 / 4659 (third-party figure, not checked here)",
           "the six emotion intensities ([0, 3]) are kept in meta['emotions'], not used as labels"),
)


def fold_of(fold: str) -> dict[str, str]:
    """Video id -> split for the ``standard`` fold."""
    groups = {"train": STANDARD_TRAIN, "validation": STANDARD_VALIDATION, "test": STANDARD_TEST}
    return {video: split for split, videos in groups.items() for video in videos}


binary_label = binary_sentiment  # the rule both corpora share (common.py)


def seven_class_label(score: float) -> str:
    return SEVEN_CLASS[int(round(min(3.0, max(-3.0, score)))) + 3]


class MoseiParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str | None = Field(None, description="CMU-MOSEI folder holding the label file, transcripts and audio")
    label_file: str = Field("CMU_MOSEI_Labels.csd", description=".csd/.h5 (SDK, HDF5) or .csv (MMSA's label.csv)")
    labels: Literal["binary", "7-class"] = "binary"
    fold: Literal["standard", "label-file"] = "standard"
    transcript_dir: str = "Raw/Transcript/Segmented/Combined"
    audio: AudioPolicy = "auto"
    audio_layout: Literal["auto", "full", "segmented"] = "auto"
    audio_dir: str | None = Field(None, description="default Raw/Audio/Full/WAV_16000 (full) or Raw (segmented)")
    clip_name: str = Field("{video_id}/{clip_id}.mp4", description="segmented clips under audio_dir")


class Segment:
    """One labelled segment as read from either label file."""

    __slots__ = ("video", "index", "score", "text", "interval", "emotions", "split", "where")

    def __init__(self, video: str, index: int, score: float, *, text: str | None = None,
                 interval: tuple[float, float] | None = None, emotions: dict[str, float] | None = None,
                 split: str | None = None, where: str = "") -> None:
        self.video, self.index, self.score, self.text = video, index, score, text
        self.interval, self.emotions, self.split, self.where = interval, emotions, split, where


def read_csd(path: Path, problems: list[Problem]) -> list[Segment]:
    """Segments of an SDK label computational sequence (HDF5), in file order."""
    h5py = require("h5py", "mosei", "reading the CMU MultimodalSDK's .csd label file")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"CMU-MOSEI: cannot read {path} as an HDF5 computational sequence: {exc}") from None
    segments: list[Segment] = []
    with handle:
        names = ["All Labels"] + [k for k in handle if k != "All Labels"]
        group = next((handle[k]["data"] for k in names
                      if k in handle and isinstance(handle[k], h5py.Group) and "data" in handle[k]), None)
        if group is None:
            raise layout_error(CARD, path, f"an HDF5 computational sequence with <name>/data; groups {list(handle)}")
        for key in group:
            entry = group[key]
            try:
                features, intervals = entry["features"][()], entry["intervals"][()]
            except (KeyError, TypeError, OSError) as exc:
                problems.append(Problem("unreadable-label", key, f"no features/intervals: {exc}"))
                continue
            shape_ok = (getattr(features, "ndim", 0) == 2 and features.shape[1] >= 1
                        and getattr(intervals, "shape", ()) == (features.shape[0], 2))
            if not shape_ok:
                problems.append(Problem("unreadable-label", key, f"features {getattr(features, 'shape', '?')}, "
                                        f"intervals {getattr(intervals, 'shape', '?')}; expected N x 7 and N x 2"))
                continue
            match = SDK_KEY.match(key)
            video, first = (match["video"], int(match["index"])) if match else (key, 0)
            for row, (values, (start, end)) in enumerate(zip(features.tolist(), intervals.tolist(), strict=True)):
                emotions = dict(zip(EMOTIONS, (float(v) for v in values[1:]), strict=False))
                segments.append(Segment(video, first + row, float(values[0]), interval=(float(start), float(end)),
                                        emotions=emotions, where=f"{key} row {row}"))
    return segments


def read_label_csv(path: Path, fold: str, problems: list[Problem]) -> list[Segment]:
    header, rows = read_csv_rows(path, "CMU-MOSEI", problems)
    layout = "video_id, clip_id, text, label, annotation, mode"
    needed = REQUIRED_COLUMNS + (("mode",) if fold == "label-file" else ())
    missing = [c for c in needed if c not in header]
    if missing:
        raise layout_error(CARD, path, f"{layout}; missing column(s) {', '.join(missing)}")
    segments = []
    for line_no, row in enumerate(rows, start=2):
        video, clip = (row.get("video_id") or "").strip(), (row.get("clip_id") or "").strip()
        try:
            index, score = int(float(clip)), float(row["label"])
        except ValueError:
            problems.append(Problem("unknown-label", f"{video}_{clip}",
                                    f"line {line_no}: clip_id '{clip}', label '{row['label']}'"))
            continue
        split = normalise_split(row.get("mode") or "") if fold == "label-file" else None
        if fold == "label-file" and split is None:
            problems.append(Problem("unknown-video", f"{video}_{clip}", f"line {line_no}: mode '{row.get('mode')}'"))
            continue
        segments.append(Segment(video, index, score, text=(row.get("text") or "").strip(), split=split,
                                where=f"line {line_no}"))
    return segments


def read_transcripts(folder: Path, videos: set[str], problems: list[Problem]) -> dict[tuple[str, int, int], str]:
    """(video, start ms, end ms) -> text from the release's segmented transcripts."""
    if not folder.is_dir():
        problems.append(Problem("missing-transcript-folder", str(folder), "no transcripts; texts are empty"))
        return {}
    texts: dict[tuple[str, int, int], str] = {}
    for video in sorted(videos):
        path = folder / f"{video}.txt"
        if not path.is_file():
            continue  # each segment then reports empty text
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("___", 4)
            if len(parts) < 5:
                continue
            try:
                start, end = float(parts[2]), float(parts[3])
            except ValueError:
                continue
            texts[(video, round(start * 1000), round(end * 1000))] = parts[4].strip()
    return texts


class Mosei:
    """CMU-MOSEI, binary or 7-class sentiment, one conversation per video."""

    name: ClassVar[str] = "mosei"
    card: ClassVar[DatasetCard] = CARD
    Params: ClassVar[type[BaseModel]] = MoseiParams

    def __init__(self, params: MoseiParams) -> None:
        self.params = params

    def load(self) -> DatasetSplits:
        p = self.params
        is_hdf5 = Path(p.label_file).suffix.lower() in HDF5_SUFFIXES
        layout_kind = p.audio_layout if p.audio_layout != "auto" else ("full" if is_hdf5 else "segmented")
        audio_dir = p.audio_dir or ("Raw/Audio/Full/WAV_16000" if layout_kind == "full" else "Raw")
        clip_pattern = "{video_id}.wav + interval" if layout_kind == "full" else p.clip_name
        layout = f"{p.label_file} (CMU MultimodalSDK .csd or MMSA label.csv); audio {audio_dir}/{clip_pattern}"
        root = resolve_root(p.root, CARD, layout)
        label_path = root / p.label_file
        if not label_path.is_file():
            raise layout_error(CARD, label_path, layout)
        if p.fold == "label-file" and is_hdf5:
            raise layout_error(CARD, label_path, "fold 'label-file' needs a CSV label file with a mode column")
        if layout_kind == "full" and not is_hdf5 and p.audio != "off":
            raise layout_error(CARD, label_path, "audio_layout 'full' needs the .csd's intervals; use "
                               "audio_layout 'segmented' (or audio 'off') with a CSV label file")
        problems: list[Problem] = []
        segments = read_csd(label_path, problems) if is_hdf5 else read_label_csv(label_path, p.fold, problems)
        video_split = fold_of(p.fold) if p.fold == "standard" else {}
        if p.fold == "standard":
            unknown: dict[str, int] = {}
            for seg in segments:
                seg.split = video_split.get(seg.video)
                if seg.split is None:
                    unknown[seg.video] = unknown.get(seg.video, 0) + 1
            problems += [Problem("unknown-video", video, f"{n} segment(s); video not in the SDK's standard folds")
                         for video, n in unknown.items()]
        kept = [seg for seg in segments if seg.split is not None]
        texts = read_transcripts(root / p.transcript_dir, {s.video for s in kept}, problems) if is_hdf5 else {}
        audio = AudioFinder(root / audio_dir, p.audio, layout_kind, p.clip_name, layout, problems)
        label_of = binary_label if p.labels == "binary" else seven_class_label
        keyed: dict[str, list[tuple[str, int, Utterance]]] = {s: [] for s in ("train", "validation", "test")}
        seen: set[str] = set()
        for seg in kept:
            utt_id = f"{seg.video}_{seg.index}"
            if not math.isfinite(seg.score) or not -3.0 <= seg.score <= 3.0:
                problems.append(Problem("unknown-label", utt_id, f"{seg.where}: score {seg.score} outside [-3, 3]"))
                continue
            if utt_id in seen:
                problems.append(Problem("duplicate-utterance", utt_id, f"{seg.where}: segment listed twice"))
                continue
            seen.add(utt_id)
            text = seg.text
            if text is None and seg.interval is not None:
                text = texts.get((seg.video, round(seg.interval[0] * 1000), round(seg.interval[1] * 1000)), "")
            meta: dict[str, Any] = {"score": seg.score}
            if seg.interval is not None:
                meta.update(sdk_id=f"{seg.video}[{seg.index}]", interval=list(seg.interval), emotions=seg.emotions)
            utterance = Utterance(id=utt_id, conversation_id=seg.video, position=seg.index, text=text or "",
                                  label=label_of(seg.score), speaker=seg.video,
                                  audio=audio.source(seg, utt_id), meta=meta)
            check_text(utterance, problems)
            keyed[seg.split].append((seg.video, seg.index, utterance))  # type: ignore[index]
        splits = empty_splits()
        for split, items in keyed.items():
            groups: dict[str, list[Utterance]] = {}
            for _, _, utterance in sorted(items, key=lambda item: (item[0], item[1])):
                groups.setdefault(utterance.conversation_id, []).append(utterance)
            splits[split] = conversation_list(groups)
        return finish(self.name, BINARY if p.labels == "binary" else SEVEN_CLASS, splits, problems)


class AudioFinder:
    """A segment's audio: its interval of the video's WAV (``full``) or its own clip (``segmented``)."""

    def __init__(self, folder: Path, policy: str, layout_kind: str, clip_name: str, layout: str,
                 problems: list[Problem]) -> None:
        self.folder, self.layout_kind, self.clip_name, self.problems = folder, layout_kind, clip_name, problems
        self.top = clip_index(folder, policy, CARD, layout, problems)
        self.listings: dict[Path, set[str]] = {}
        try:
            clip_name.format(video_id="v", clip_id=0)
        except (KeyError, IndexError, ValueError) as exc:
            raise DataError(f"CMU-MOSEI: clip_name '{clip_name}' may use only {{video_id}} and {{clip_id}} "
                            f"({exc!r})") from None

    def _exists(self, relative: str) -> bool:
        path = self.folder / relative
        if path.parent == self.folder:
            return path.name in (self.top or set())
        if path.parent not in self.listings:
            try:
                self.listings[path.parent] = {e.name for e in os.scandir(path.parent)}
            except OSError:
                self.listings[path.parent] = set()
        return path.name in self.listings[path.parent]

    def source(self, seg: Segment, utt_id: str) -> AudioSource | None:
        if self.top is None:
            return None
        if self.layout_kind == "full":
            name = f"{seg.video}.wav"
            if self._exists(name) and seg.interval is not None:
                start, end = seg.interval
                if 0 <= start < end:
                    return AudioSource(str(self.folder / name), start=start, end=end)
                self.problems.append(Problem("bad-interval", utt_id, f"interval [{start}, {end}] in {name}"))
                return None
        else:
            name = self.clip_name.format(video_id=seg.video, clip_id=seg.index)
            if self._exists(name):
                return AudioSource(str(self.folder / name))
        self.problems.append(Problem("missing-audio", utt_id, str(self.folder / name)))
        return None
