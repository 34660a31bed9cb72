"""MELD plugin on a synthetic MELD.Raw tree: splits, order, defects, text-only path, audio probing."""

from __future__ import annotations

import csv
from pathlib import Path

import av
import numpy as np
import pytest
from erc_bench_datasets.meld import fix_mojibake

from erc_bench.core.errors import DataError
from erc_bench.core.plugin_host import build
from erc_bench.report.datainfo import summarise

HEADER = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season",
          "Episode", "StartTime", "EndTime"]
ROWS = {  # csv name -> rows (dialogue, utterance, speaker, emotion, text); deliberately out of order
    "train_sent_emo.csv": [(0, 1, "Ross", "joy", "I\u2019m fine \u201cthanks\u201d."),
                           (0, 0, "Rachel", "neutral", "Hi."), (1, 0, "Joey", "anger", "Hey!"),
                           (1, 1, "Joey", "Happiness", "Wait."),
                           (1, 2, "Monica", "sadness", "  ")],
    "dev_sent_emo.csv": [(110, 6, "Phoebe", "surprise", "What?"), (110, 7, "Phoebe", "fear", "Oh no.")],
    "test_sent_emo.csv": [(3, 0, "Chandler", "disgust", "Ew.")],
}
FOLDERS = {"train_sent_emo.csv": "train_splits", "dev_sent_emo.csv": "dev_splits_complete",
           "test_sent_emo.csv": "output_repeated_splits_test"}


def _write_mp4(path: Path, rate: int = 16_000) -> None:
    """A real (tiny) AAC-in-MP4 clip, as MELD ships, encoded with PyAV."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray((0.1 * np.sin(np.arange(3200) * 0.1)).astype(np.float32)[None, :],
                                           format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in list(stream.encode(frame)) + list(stream.encode(None)):
            out.mux(packet)


def _write_corpus(root: Path, with_clips: bool) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in ROWS.items():
        with open(root / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            for i, (dia, utt, speaker, emotion, text) in enumerate(rows, start=1):
                writer.writerow([i, text, speaker, emotion, "neutral", dia, utt, 3, 7, "00:14:38,127", "00:14:40,378"])
        if with_clips:
            folder = root / FOLDERS[name]
            folder.mkdir()
            for dia, utt, *_ in rows:
                if (dia, utt) == (110, 7):
                    continue  # the real release misses dev dia110_utt7
                clip = folder / f"dia{dia}_utt{utt}.mp4"
                if (dia, utt) == (1, 0):
                    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42 definitely not a video")  # corrupt clip
                else:
                    _write_mp4(clip)


@pytest.fixture
def meld_root(tmp_path: Path) -> Path:
    root = tmp_path / "MELD.Raw"
    _write_corpus(root, with_clips=True)
    return root


def test_splits_labels_order_and_text(meld_root: Path) -> None:
    data = build("dataset", "meld", {"root": str(meld_root)}).load()
    assert data.labels == ["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]
    assert {s: len(data.utterances(s)) for s in data.splits} == {"train": 4, "validation": 2, "test": 1}
    first = data.splits["train"][0]
    assert first.id == "train_dia0" and [u.id for u in first.utterances] == ["train_dia0_utt0", "train_dia0_utt1"]
    assert [u.speaker for u in first.utterances] == ["Rachel", "Ross"]
    assert first.utterances[1].text == "I\u2019m fine \u201cthanks\u201d."  # typographic quotes kept
    assert data.splits["validation"][0].id == "dev_dia110"
    clip = first.utterances[0].audio
    assert clip is not None and clip.path.endswith("train_splits/dia0_utt0.mp4")


def test_defects_are_reported_not_dropped(meld_root: Path) -> None:
    data = build("dataset", "meld", {"root": str(meld_root)}).load()
    found = {(p.kind, p.item_id) for p in data.problems}
    assert ("missing-audio", "dev_dia110_utt7") in found
    assert ("unknown-label", "train_dia1_utt1") in found
    assert ("empty-text", "train_dia1_utt2") in found
    missing = [u for u in data.utterances("validation") if u.id == "dev_dia110_utt7"]
    assert len(missing) == 1 and missing[0].audio is None and missing[0].label == "fear"


def test_check_audio_reports_corrupt_clip(meld_root: Path) -> None:
    data = build("dataset", "meld", {"root": str(meld_root)}).load()
    report = summarise(data, check_audio=True)
    unreadable = [p for p in report.problems if p.kind == "unreadable-audio"]
    assert [p.item_id for p in unreadable] == ["train_dia1_utt0"]
    assert report.problem_counts["missing-audio"] == 1


def test_text_only_from_csvs(tmp_path: Path) -> None:
    root = tmp_path / "csv_only"
    _write_corpus(root, with_clips=False)
    auto = build("dataset", "meld", {"root": str(root)}).load()
    assert sum(u.audio is None for s in auto.splits for u in auto.utterances(s)) == 7
    assert [p.kind for p in auto.problems].count("missing-audio-folder") == 3  # one per folder, not per clip
    off = build("dataset", "meld", {"root": str(root), "audio": "off"}).load()
    assert len(off.utterances("train")) == 4 and not [p for p in off.problems if "audio" in p.kind]
    with pytest.raises(DataError, match="train_splits"):
        build("dataset", "meld", {"root": str(root), "audio": "require"}).load()


def test_layout_errors(tmp_path: Path, meld_root: Path) -> None:
    with pytest.raises(DataError, match=r"MELD: expected .*declare-lab/MELD.*GPL-3\.0"):
        build("dataset", "meld", {"root": str(tmp_path / "absent")}).load()
    (meld_root / "dev_sent_emo.csv").unlink()
    with pytest.raises(DataError, match="dev_sent_emo.csv"):
        build("dataset", "meld", {"root": str(meld_root)}).load()
    (meld_root / "dev_sent_emo.csv").write_text("Utterance,Speaker\nhi,Ross\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing Emotion, Dialogue_ID, Utterance_ID"):
        build("dataset", "meld", {"root": str(meld_root)}).load()


def test_mojibake_repair() -> None:
    assert fix_mojibake("I\u00e2\u20ac\u2122m here") == "I\u2019m here"  # cp1252 reading
    assert fix_mojibake("must\u00e2\u0080\u0099ve") == "must\u2019ve"  # latin-1 reading (C1 controls)
    assert fix_mojibake("caf\u00e9 \u201cok\u201d") == "caf\u00e9 \u201cok\u201d"
