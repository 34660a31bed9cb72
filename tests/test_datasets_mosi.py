"""CMU-MOSI plugin: fold lists, binary labels, clip order, problems, on synthetic label files.

The paper-split test builds a label file with the real per-video utterance counts (from the
authors' files, see ``mosi_poria2017.csv``) so the published 1447 / 752 totals can be checked.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from erc_bench_datasets.mosi import binary_label, fold_of
from erc_bench_datasets.mosi_folds import (
    PAPER_TEST,
    PAPER_TRAIN_VALIDATION,
    PAPER_UTTERANCES,
    STANDARD_TEST,
    STANDARD_TRAIN,
    STANDARD_VALIDATION,
)

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


def test_standard_fold_lists() -> None:
    assert (len(STANDARD_TRAIN), len(STANDARD_VALIDATION), len(STANDARD_TEST)) == (52, 10, 31)
    assert len(set(STANDARD_TRAIN) | set(STANDARD_VALIDATION) | set(STANDARD_TEST)) == 93
    assert fold_of("52-10-31")["WKA5OygbEKI"] == "validation"
    assert binary_label(-0.01) == "negative" and binary_label(0.0) == "positive" and binary_label(3.0) == "positive"


def test_paper_fold_is_poria_2017() -> None:
    assert (len(PAPER_TRAIN_VALIDATION), len(PAPER_TEST)) == (62, 31)
    assert len(set(PAPER_TRAIN_VALIDATION)) == 62 and len(set(PAPER_TEST)) == 31
    assert not set(PAPER_TRAIN_VALIDATION) & set(PAPER_TEST)
    assert set(PAPER_TRAIN_VALIDATION) | set(PAPER_TEST) == set(STANDARD_TRAIN + STANDARD_VALIDATION + STANDARD_TEST)
    assert len(set(PAPER_TEST) & set(STANDARD_TEST)) == 7  # a different test set from the SDK's fold
    assert sum(PAPER_UTTERANCES[v] for v in PAPER_TRAIN_VALIDATION) == 1447
    assert sum(PAPER_UTTERANCES[v] for v in PAPER_TEST) == 752
    paper = fold_of("paper")
    counts = {s: sum(v == s for v in paper.values()) for s in ("train", "validation", "test")}
    assert counts == {"train": 49, "validation": 13, "test": 31}
    # video_no order: video 1 (fvVhgmXxadc) trains, videos 50-62 validate, 63 (9J25DZhivz8) tests
    assert paper["fvVhgmXxadc"] == "train" and paper["rnaNMUZpvvg"] == "train"  # video 49
    assert paper["pLTX3ipuDJI"] == "validation" and paper["BvYR0L6f2Ig"] == "validation"  # videos 50, 62
    assert paper["9J25DZhivz8"] == "test"


def _write_real_counts(root: Path) -> None:
    """A label file with every video's real number of clips (texts and scores synthetic)."""
    (root / AUDIO_DIR).mkdir(parents=True)
    with open(root / "label.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["video_id", "clip_id", "text", "label", "annotation", "mode"])
        for index, (video, clips) in enumerate(sorted(PAPER_UTTERANCES.items())):
            for clip in range(1, clips + 1):
                writer.writerow([video, clip, f"clip {clip}", (-1.5, 1.5)[(index + clip) % 2], "Neutral", ""])


def test_paper_fold_counts_1447_752(tmp_path: Path, cli) -> None:  # noqa: ANN001
    _write_real_counts(tmp_path)
    data = build("dataset", "mosi", {"root": str(tmp_path), "audio": "off"}).load()
    sizes = {s: len(data.utterances(s)) for s in ("train", "validation", "test")}
    assert sizes["train"] + sizes["validation"] == 1447 and sizes["test"] == 752
    assert [len(data.splits[s]) for s in ("train", "validation", "test")] == [49, 13, 31]
    standard = build("dataset", "mosi", {"root": str(tmp_path), "audio": "off", "fold": "52-10-31"}).load()
    assert len(standard.utterances("test")) == 686
    code, out = cli(["data", "info", "mosi", "--root", str(tmp_path)])
    assert code == 0, out
    cells = {c[0]: c for c in (re.findall(r"[\w-]+", line) for line in out.splitlines()) if c}
    assert int(cells["train"][2]) + int(cells["validation"][2]) == 1447 and int(cells["test"][2]) == 752, out


def test_load_paper_fold(tmp_path: Path) -> None:
    train_video, test_video = PAPER_TRAIN_VALIDATION[0], PAPER_TEST[0]
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
