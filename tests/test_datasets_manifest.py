"""Bring-your-own CSV manifest and unlabelled audio-folder datasets."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from erc_bench.core.errors import DataError
from erc_bench.core.plugin_host import build


def _manifest(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header or ["conversation_id", "utterance_id", "speaker", "text", "audio", "label", "split",
                                   "extra"])
        writer.writerows(rows)
    return path


def test_csv_manifest(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a1.wav").write_bytes(b"RIFF")
    manifest = _manifest(tmp_path / "m.csv", [
        ["c1", "a1", "ann", "Hello there.", "clips/a1.wav", "calm", "train", "x"],
        ["c1", "a2", "bob", "Go away!", "clips/missing.wav", "tense", "train", ""],
        ["c1", "a3", "ann", "", "", "calm", "train", ""],
        ["c2", "b1", "", "Hm.", "", "calm", "dev", ""],
        ["c3", "d1", "", "Yes.", "", "calm", "val", ""],
        ["c3", "d2", "", "No.", "", "tense", "test", ""],
        ["c4", "e1", "", "What.", "", "", "test", ""],
        ["c5", "f1", "", "Who.", "", "calm", "holdout", ""],
    ])
    data = build("dataset", "csv", {"manifest": str(manifest)}).load()
    assert data.labels == ["calm", "tense"]
    conv = data.splits["train"][0]
    assert [u.id for u in conv.utterances] == ["a1", "a2", "a3"] and [u.position for u in conv.utterances] == [0, 1, 2]
    assert conv.utterances[0].audio.path == str(tmp_path / "clips" / "a1.wav")
    assert conv.utterances[0].meta == {"extra": "x"} and conv.utterances[2].speaker == "ann"
    assert [c.id for c in data.splits["validation"]] == ["c2", "c3"]
    assert [u.id for u in data.utterances("validation")] == ["b1", "d1", "d2"]  # d2 stays with its conversation
    kinds = sorted((p.kind, p.item_id) for p in data.problems)
    assert kinds == [("empty-text", "a3"), ("missing-audio", "a2"), ("missing-label", "e1"),
                     ("split-conflict", "d2"), ("unknown-split", "f1")]
    fixed = build("dataset", "csv", {"manifest": str(manifest), "labels": ["tense"]}).load()
    assert fixed.labels == ["tense"] and [p.item_id for p in fixed.problems if p.kind == "unknown-label"][:1] == ["a1"]


def test_csv_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="expected a manifest CSV at"):
        build("dataset", "csv", {"manifest": str(tmp_path / "none.csv")}).load()
    bad = _manifest(tmp_path / "bad.csv", [["c", "u", "hi"]], header=["conversation_id", "utterance_id", "text"])
    with pytest.raises(DataError, match="lacks column\\(s\\) label, split"):
        build("dataset", "csv", {"manifest": str(bad)}).load()


def test_audio_folder_with_valence(tmp_path: Path) -> None:
    wave = np.zeros(1600, dtype=np.float32)
    (tmp_path / "Audios" / "sub").mkdir(parents=True)
    sf.write(tmp_path / "Audios" / "p_0001.wav", wave, 16_000)
    sf.write(tmp_path / "Audios" / "sub" / "p_0002.flac", wave, 16_000)
    sf.write(tmp_path / "Audios" / "p_0003.ogg", wave, 16_000, format="OGG")
    (tmp_path / "Audios" / "notes.txt").write_text("not audio")
    with open(tmp_path / "labels.csv", "w", newline="") as fh:
        fh.write("FileName,EmoVal,EmoAct\np_0001.wav,6.2,3\np_0002.wav,2.0,4\np_0003.wav,n/a,1\np_9999.wav,4,4\n")
    data = build("dataset", "audio-folder", {"root": str(tmp_path / "Audios"),
                                             "metadata": str(tmp_path / "labels.csv")}).load()
    utts = data.utterances("train")
    assert [u.id for u in utts] == ["p_0001", "p_0003", "sub/p_0002"]
    assert all(u.label is None and u.text == "" and u.audio is not None for u in utts)
    assert utts[0].meta == {"valence": 6.2} and utts[2].meta == {"valence": 2.0}  # joined on the stem
    assert not data.utterances("validation") and not data.utterances("test") and data.labels == []
    assert sorted((p.kind, p.item_id) for p in data.problems) == [
        ("bad-valence", "p_0003.wav"), ("missing-audio", "p_9999.wav"), ("no-metadata", "p_0003")]
    with pytest.raises(DataError, match="no column 'Valence'"):
        build("dataset", "audio-folder", {"root": str(tmp_path / "Audios"), "metadata": str(tmp_path / "labels.csv"),
                                          "valence_column": "Valence"}).load()
    with pytest.raises(DataError, match="expected a folder of audio files"):
        build("dataset", "audio-folder", {"root": str(tmp_path / "nope")}).load()


def test_csv_manifest_not_utf8_is_read_as_cp1252(tmp_path: Path) -> None:
    manifest = tmp_path / "win.csv"
    manifest.write_bytes("conversation_id,utterance_id,text,label,split\nc,u,Caf\u00e9 \u2019ok\u2019,calm,train\n"
                         .encode("cp1252"))
    data = build("dataset", "csv", {"manifest": str(manifest)}).load()
    assert data.utterances("train")[0].text == "Caf\u00e9 \u2019ok\u2019"
