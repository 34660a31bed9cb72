"""CMU-MOSEI plugin on fixtures in the publisher's formats: the SDK's HDF5 label computational sequence
(``CMU_MOSEI_Labels.csd``, written here with h5py the way ``mmsdk``'s ``write_CSD`` writes it), the raw
release's segmented transcripts and full-video WAVs, and MMSA's ``label.csv`` with its per-clip videos."""

from __future__ import annotations

import csv
import json
import sys
import wave
from pathlib import Path

import pytest
from erc_bench_datasets.mosei import SEVEN_CLASS, binary_label, fold_of, seven_class_label
from erc_bench_datasets.mosei_folds import STANDARD_TEST, STANDARD_TRAIN, STANDARD_VALIDATION

from erc_bench.core.cards import card_of
from erc_bench.core.errors import DataError
from erc_bench.core.extras import MissingExtra
from erc_bench.core.plugin_host import build, host

h5py = pytest.importorskip("h5py")

TRAIN, VALID, TEST = STANDARD_TRAIN[0], STANDARD_VALIDATION[0], STANDARD_TEST[0]  # VALID is a numeric id
WAVS = "Raw/Audio/Full/WAV_16000"
TRANSCRIPTS = "Raw/Transcript/Segmented/Combined"


def _write_csd(path: Path, data: dict[str, tuple[list[list[float]], list[list[float]]]]) -> None:
    """The SDK's layout: <root name>/data/<video>/{features, intervals} and <root name>/metadata/<key>."""
    with h5py.File(path, "w") as handle:
        root = handle.create_group("All Labels")
        group = root.create_group("data")
        for video, (features, intervals) in data.items():
            entry = group.create_group(video)
            entry.create_dataset("features", data=features)
            entry.create_dataset("intervals", data=intervals)
        metadata = root.create_group("metadata")
        for key, value in {"root name": "All Labels",
                           "dimension names": ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
                           }.items():
            metadata.create_dataset(key, (1,), dtype=h5py.special_dtype(vlen=str))
            metadata[key][0] = json.dumps(value)


def _write_wav(path: Path, seconds: float = 12.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * int(16000 * seconds))


def _emotions(sentiment: float) -> list[float]:
    return [sentiment, 1.0, 0.0, 0.333, 0.0, 0.0, 0.666]


def _sdk_release(root: Path) -> None:
    _write_csd(root / "CMU_MOSEI_Labels.csd", {
        TRAIN: ([_emotions(s) for s in (0.0, -0.333, 2.6, 1.5)],
                [[0.5, 3.25], [3.25, 7.0], [7.0, 9.5], [9.5, 11.0]]),
        VALID: ([_emotions(-3.0), _emotions(3.5)], [[1.0, 2.0], [2.0, 4.0]]),
        f"{TEST}[4]": ([_emotions(-2.5)], [[10.0, 11.5]]),  # an aligned sequence names segments video[i]
        "notAMoseiVideo": ([_emotions(1.0)], [[0.0, 1.0]]),
    })
    (root / TRANSCRIPTS).mkdir(parents=True)
    (root / TRANSCRIPTS / f"{TRAIN}.txt").write_text(
        f"{TRAIN}___1___0.5___3.25___so I saw the movie\n{TRAIN}___2___3.25___7.0___and it was, well, fine\n"
        f"{TRAIN}___3___7.0___9.5___the ending___was great\n", encoding="utf-8")  # no line for 9.5-11.0
    (root / TRANSCRIPTS / f"{TEST}.txt").write_text(f"{TEST}___5___10.0___11.5___honestly awful\n", encoding="utf-8")
    (root / TRANSCRIPTS / f"{VALID}.txt").write_text(f"{VALID}___1___1.0___2.0___terrible\n", encoding="utf-8")
    _write_wav(root / WAVS / f"{TRAIN}.wav")
    _write_wav(root / WAVS / f"{TEST}.wav")  # VALID's WAV is missing


def test_standard_fold_lists_and_label_rules() -> None:
    assert (len(STANDARD_TRAIN), len(STANDARD_VALIDATION), len(STANDARD_TEST)) == (2249, 300, 678)
    assert len(set(STANDARD_TRAIN) | set(STANDARD_VALIDATION) | set(STANDARD_TEST)) == 3227
    fold = fold_of("standard")
    assert (fold[TRAIN], fold[VALID], fold[TEST]) == ("train", "validation", "test")
    assert fold["hh04W3xXa5s"] == "train" and fold["188343"] == "validation" and fold["7l3BNtSE0xc"] == "test"
    assert binary_label(-0.01) == "negative" and binary_label(0.0) == "positive" and binary_label(3.0) == "positive"
    assert len(SEVEN_CLASS) == 7 and SEVEN_CLASS[3] == "0 neutral"
    cases = {-3.0: "-3 strongly negative", -2.6: "-3 strongly negative", -2.5: "-2 negative", -0.333: "0 neutral",
             0.5: "0 neutral", 0.666: "+1 weakly positive", 1.5: "+2 positive", 2.5: "+2 positive",
             2.6: "+3 strongly positive", 3.0: "+3 strongly positive"}
    assert {score: seven_class_label(score) for score in cases} == cases  # round half to even, as MulT / MMSA


def test_sdk_label_file_binary(tmp_path: Path) -> None:
    _sdk_release(tmp_path)
    data = build("dataset", "mosei", {"root": str(tmp_path)}).load()
    assert data.labels == ["negative", "positive"]
    [conv] = data.splits["train"]
    assert conv.id == TRAIN and [u.id for u in conv.utterances] == [f"{TRAIN}_{i}" for i in range(4)]
    assert [u.position for u in conv.utterances] == [0, 1, 2, 3]
    assert [u.label for u in conv.utterances] == ["positive", "negative", "positive", "positive"]
    assert [u.text for u in conv.utterances] == ["so I saw the movie", "and it was, well, fine",
                                                "the ending___was great", ""]
    first = conv.utterances[0]
    assert first.audio is not None and first.audio.path == str(tmp_path / WAVS / f"{TRAIN}.wav")
    assert (first.audio.start, first.audio.end) == (0.5, 3.25)
    assert first.meta["sdk_id"] == f"{TRAIN}[0]" and first.meta["score"] == 0.0
    assert first.meta["emotions"] == {"happy": 1.0, "sad": 0.0, "anger": 0.333, "surprise": 0.0, "disgust": 0.0,
                                      "fear": 0.666}
    [valid] = data.utterances("validation")
    assert valid.id == f"{VALID}_0" and valid.label == "negative" and valid.text == "terrible" and valid.audio is None
    [test] = data.utterances("test")
    assert test.id == f"{TEST}_4" and test.text == "honestly awful" and test.audio is not None
    assert {(p.kind, p.item_id) for p in data.problems} == {
        ("unknown-video", "notAMoseiVideo"), ("unknown-label", f"{VALID}_1"), ("missing-audio", f"{VALID}_0"),
        ("empty-text", f"{TRAIN}_3")}


def test_sdk_label_file_seven_classes_text_only(tmp_path: Path) -> None:
    _sdk_release(tmp_path)
    data = build("dataset", "mosei", {"root": str(tmp_path), "labels": "7-class", "audio": "off"}).load()
    assert data.labels == SEVEN_CLASS
    assert [u.label for u in data.utterances("train")] == ["0 neutral", "0 neutral", "+3 strongly positive",
                                                           "+2 positive"]
    assert [u.label for u in data.utterances("test")] == ["-2 negative"]
    assert [u.label for u in data.utterances("validation")] == ["-3 strongly negative"]
    assert all(u.audio is None for u in data.utterances("train"))
    assert not any(p.kind.startswith("missing-audio") for p in data.problems)


def _mmsa_release(root: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    with open(root / "label.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["video_id", "clip_id", "text", "label", "label_T", "label_A", "label_V", "annotation",
                         "mode"])
        for video, clip, text, label, mode in rows:
            writer.writerow([video, clip, text, label, "", "", "", "Neutral", mode])
            (root / "Raw" / video).mkdir(parents=True, exist_ok=True)
            (root / "Raw" / video / f"{clip}.mp4").write_bytes(b"\0\0\0\x18ftypmp42")


def test_csv_label_file_standard_and_label_file_folds(tmp_path: Path) -> None:
    _mmsa_release(tmp_path, [
        (TRAIN, "10", "and then it ended", "-1.2", "valid"),
        (TRAIN, "2", "I loved the start", "2.4", "train"),
        (TEST, "1", "meh", "-0.4", "test"),
        (TEST, "2", "way off", "-4", "test"),
        ("notAMoseiVideo", "1", "hello", "1.0", "train"),
    ])
    (tmp_path / "Raw" / TRAIN / "2.mp4").unlink()
    data = build("dataset", "mosei", {"root": str(tmp_path), "label_file": "label.csv", "labels": "7-class"}).load()
    [conv] = data.splits["train"]
    assert [u.id for u in conv.utterances] == [f"{TRAIN}_2", f"{TRAIN}_10"]
    assert [u.label for u in conv.utterances] == ["+2 positive", "-1 weakly negative"]
    assert conv.utterances[0].audio is None and conv.utterances[1].audio is not None
    assert conv.utterances[1].audio.path == str(tmp_path / "Raw" / TRAIN / "10.mp4")
    assert conv.utterances[1].audio.start is None
    assert [u.label for u in data.utterances("test")] == ["0 neutral"]
    assert {(p.kind, p.item_id) for p in data.problems} == {
        ("missing-audio", f"{TRAIN}_2"), ("unknown-label", f"{TEST}_2"), ("unknown-video", "notAMoseiVideo")}
    by_mode = build("dataset", "mosei", {"root": str(tmp_path), "label_file": "label.csv", "fold": "label-file",
                                         "audio": "off"}).load()
    assert [u.id for u in by_mode.utterances("validation")] == [f"{TRAIN}_10"]
    assert [u.id for u in by_mode.utterances("train")] == [f"{TRAIN}_2", "notAMoseiVideo_1"]


def test_flat_folder_of_cut_clips(tmp_path: Path) -> None:
    _mmsa_release(tmp_path, [(TRAIN, "3", "fine", "0.5", "train")])
    _write_wav(tmp_path / "clips" / f"{TRAIN}_3.wav", 1.0)
    data = build("dataset", "mosei", {"root": str(tmp_path), "label_file": "label.csv", "audio_dir": "clips",
                                      "clip_name": "{video_id}_{clip_id}.wav"}).load()
    [utt] = data.utterances("train")
    assert utt.audio is not None and utt.audio.path == str(tmp_path / "clips" / f"{TRAIN}_3.wav")
    assert not data.problems


def test_layout_errors_and_missing_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError, match=r"CMU-MOSEI: expected .*MultimodalSDK.*research use") as raised:
        build("dataset", "mosei", {"root": str(tmp_path / "missing")}).load()
    assert raised.value.obtain == card_of(host().get("dataset", "mosei").cls).obtain
    with pytest.raises(DataError, match=r"CMU_MOSEI_Labels\.csd"):
        build("dataset", "mosei", {"root": str(tmp_path)}).load()
    (tmp_path / "CMU_MOSEI_Labels.csd").write_bytes(b"not an hdf5 file")
    with pytest.raises(DataError, match="cannot read .* as an HDF5 computational sequence"):
        build("dataset", "mosei", {"root": str(tmp_path)}).load()
    with pytest.raises(DataError, match="fold 'label-file' needs a CSV"):
        build("dataset", "mosei", {"root": str(tmp_path), "fold": "label-file"}).load()
    _mmsa_release(tmp_path, [(TRAIN, "1", "fine", "0.5", "train")])
    with pytest.raises(DataError, match="audio_layout 'full' needs the .csd's intervals"):
        build("dataset", "mosei", {"root": str(tmp_path), "label_file": "label.csv", "audio_layout": "full"}).load()
    with pytest.raises(DataError, match="clip_name"):
        build("dataset", "mosei", {"root": str(tmp_path), "label_file": "label.csv", "clip_name": "{speaker}.wav"}
              ).load()
    monkeypatch.setitem(sys.modules, "h5py", None)  # as if the mosei extra were not installed
    with pytest.raises(MissingExtra, match=r"erc-bench\[mosei\]"):
        build("dataset", "mosei", {"root": str(tmp_path)}).load()


def test_card_matches_the_sdk_folds(cli) -> None:  # noqa: ANN001
    card = card_of(host().get("dataset", "mosei").cls)
    assert card is not None
    assert {c.split: c.conversations for c in card.counts} == {
        "train": len(STANDARD_TRAIN), "validation": len(STANDARD_VALIDATION), "test": len(STANDARD_TEST)}
    code, out = cli(["data", "card", "mosei"])
    assert code == 0, out
    assert "@inproceedings{zadeh2018mosei" in out and "2249 conversations" in out and "+3 strongly positive" in out
