"""CMU-MOSI plugin: fold lists, binary labels, clip order, problems, on a synthetic label file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from erc_bench_datasets.mosi import binary_label, fold_of
from erc_bench_datasets.mosi_folds import STANDARD_TEST, STANDARD_TRAIN, STANDARD_VALIDATION

from erc_bench.core.errors import DataError
from erc_bench.core.plugin_host import build

AUDIO_DIR = "Audio/WAV_16000/Segmented"


def _write(root: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    (root / AUDIO_DIR).mkdir(parents=True)
    with open(root / "label.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["video_id", "clip_id", "text", "label", "annotation", "mode"])
        for video, clip, text, label, mode in rows:
            writer.writerow([video, clip, text, label, "Neutral", mode])
            (root / AUDIO_DIR / f"{video}_{clip}.wav").write_bytes(b"RIFF")


def test_fold_lists_are_the_standard_ones() -> None:
    assert (len(STANDARD_TRAIN), len(STANDARD_VALIDATION), len(STANDARD_TEST)) == (52, 10, 31)
    assert len(set(STANDARD_TRAIN) | set(STANDARD_VALIDATION) | set(STANDARD_TEST)) == 93
    paper = fold_of("paper")
    counts = {s: sum(v == s for v in paper.values()) for s in ("train", "validation", "test")}
    assert counts == {"train": 49, "validation": 13, "test": 31}
    rest = sorted(STANDARD_TRAIN + STANDARD_VALIDATION)
    assert {v for v, s in paper.items() if s == "validation"} == set(rest[-13:])
    assert fold_of("52-10-31")["WKA5OygbEKI"] == "validation"
    assert binary_label(-0.01) == "negative" and binary_label(0.0) == "positive" and binary_label(3.0) == "positive"


def test_load_paper_fold(tmp_path: Path) -> None:
    train_video, test_video = sorted(STANDARD_TRAIN + STANDARD_VALIDATION)[0], STANDARD_TEST[0]
    _write(tmp_path, [
        (train_video, "10", "and then it ended", "-1.2", "train"),
        (train_video, "2", "i loved the start", "2.4", "train"),
        (train_video, "1", "so", "0.0", "train"),
        (test_video, "1", "", "-3.0", "test"),
        (test_video, "2", "meh", "4.5", "test"),
        ("notAMosiVideo", "1", "hello", "1.0", "train"),
    ])
    (tmp_path / AUDIO_DIR / f"{train_video}_2.wav").unlink()
    data = build("dataset", "mosi", {"root": str(tmp_path)}).load()
    assert data.labels == ["negative", "positive"]
    conv = data.splits["train"][0]
    assert conv.id == train_video and [u.id for u in conv.utterances] == [f"{train_video}_{c}" for c in (1, 2, 10)]
    assert [u.label for u in conv.utterances] == ["positive", "positive", "negative"]
    assert conv.utterances[2].meta["score"] == -1.2 and conv.utterances[1].audio is None
    assert [u.id for u in data.utterances("test")] == [f"{test_video}_1"]
    found = {(p.kind, p.item_id) for p in data.problems}
    assert found == {("missing-audio", f"{train_video}_2"), ("empty-text", f"{test_video}_1"),
                     ("unknown-label", f"{test_video}_2"), ("unknown-video", "notAMosiVideo_1")}


def test_label_file_fold_and_errors(tmp_path: Path) -> None:
    _write(tmp_path, [("anyVideo", "1", "fine", "1.0", "valid"), ("other", "1", "bad", "-2", "test")])
    data = build("dataset", "mosi", {"root": str(tmp_path), "fold": "label-file"}).load()
    assert [u.id for u in data.utterances("validation")] == ["anyVideo_1"]
    assert [u.label for u in data.utterances("test")] == ["negative"]
    with pytest.raises(DataError, match=r"CMU-MOSI: expected .*nolabels\.csv.*MultimodalSDK.*research use"):
        build("dataset", "mosi", {"root": str(tmp_path), "label_file": "nolabels.csv"}).load()
    with pytest.raises(DataError, match="CMU-MOSI: expected"):
        build("dataset", "mosi", {"root": str(tmp_path / "missing")}).load()
