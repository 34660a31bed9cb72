"""EmoDB, RAVDESS, CREMA-D, MSP-Podcast and hf-dataset on tiny fixtures in each publisher's layout and file-name
scheme (written here; never the real data)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from erc_bench_datasets.speech_emotion import CREMAD_SPLITS, EMODB_SPLITS, RAVDESS_SPLITS

from erc_bench.core.cards import card_of
from erc_bench.core.errors import DataError, UserError
from erc_bench.core.plugin_host import build, host
from erc_bench.report.datainfo import summarise


def _wav(path: Path, rate: int = 16_000, seconds: float = 0.2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def _sizes(data) -> dict[str, int]:  # noqa: ANN001
    return {s: len(data.utterances(s)) for s in ("train", "validation", "test")}


def test_speaker_lists_are_disjoint_and_match_the_cards() -> None:
    for name, table in (("emodb", EMODB_SPLITS), ("ravdess", RAVDESS_SPLITS), ("crema-d", CREMAD_SPLITS)):
        assert set(table.values()) == {"train", "validation", "test"}, name
        card = card_of(host().get("dataset", name).cls)
        assert card is not None and "speaker-independent" in card.splits
    assert len(RAVDESS_SPLITS) == 24 and len(CREMAD_SPLITS) == 91 and len(EMODB_SPLITS) == 10
    ravdess = card_of(host().get("dataset", "ravdess").cls)
    assert sum(ravdess.count_of(s) for s in ("train", "validation", "test")) == 1440  # 24 actors x 60 files
    cremad = card_of(host().get("dataset", "crema-d").cls)
    assert sum(cremad.count_of(s) for s in ("train", "validation", "test")) == 7442


def test_emodb_file_names(tmp_path: Path) -> None:
    root = tmp_path / "emodb"
    for name in ("03a01Fa.wav", "08a02Wb.wav", "09b03Tc.wav", "11a04Na.wav", "16b10Lb.wav", "12a05Qa.wav",
                 "readme.wav"):
        _wav(root / "wav" / name)
    (root / "wav" / "13a07Ea.wav").write_bytes(b"RIFF\x00\x00not audio")  # corrupt clip
    data = build("dataset", "emodb", {"root": str(root)}).load()
    assert data.labels == ["anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral"]
    assert _sizes(data) == {"train": 3, "validation": 1, "test": 2}
    first = data.utterances("test")[0]
    assert (first.id, first.speaker, first.label) == ("emodb_03a01Fa", "03", "happiness")
    assert first.text == "Der Lappen liegt auf dem Eisschrank." and first.meta == {"text_code": "a01", "version": "a"}
    assert all(len(c.utterances) == 1 for s in data.splits.values() for c in s)
    found = {(p.kind, p.item_id) for p in data.problems}
    assert found == {("unknown-label", "emodb_12a05Qa"), ("unrecognised-file", "readme.wav")}
    unreadable = [p.item_id for p in summarise(data, check_audio=True).problems if p.kind == "unreadable-audio"]
    assert unreadable == ["emodb_13a07Ea"]
    loso = build("dataset", "emodb", {"root": str(root), "fold": "loso-11"}).load()
    assert {u.speaker for u in loso.utterances("test")} == {"11"}
    assert {u.speaker for u in loso.utterances("validation")} == {"12"} or not loso.utterances("validation")
    with pytest.raises(UserError, match="loso-<speaker>"):
        build("dataset", "emodb", {"root": str(root), "fold": "loso-99"})
    with pytest.raises(DataError, match="emodb.bilderbar.info"):
        build("dataset", "emodb", {"root": str(tmp_path / "empty")}).load()


def test_ravdess_names_actors_and_48k_audio(tmp_path: Path) -> None:
    from erc_bench import load_audio

    root = tmp_path / "Audio_Speech_Actors_01-24"
    _wav(root / "Actor_01" / "03-01-05-02-01-01-01.wav", rate=48_000)
    _wav(root / "Actor_18" / "03-01-01-01-02-02-18.wav", rate=48_000)
    _wav(root / "Actor_24" / "03-01-08-01-01-01-24.wav", rate=48_000)
    _wav(root / "Actor_24" / "03-01-09-01-01-01-24.wav", rate=48_000)  # emotion 09 does not exist
    _wav(root / "Actor_02" / "03-02-05-01-01-01-02.wav", rate=48_000)  # song, not speech
    data = build("dataset", "ravdess", {"root": str(root)}).load()
    assert len(data.labels) == 8 and _sizes(data) == {"train": 1, "validation": 1, "test": 1}
    angry = data.utterances("train")[0]
    assert (angry.label, angry.speaker, angry.meta["intensity"]) == ("angry", "01", "strong")
    assert angry.text == "Kids are talking by the door."
    assert data.utterances("test")[0].label == "surprised"
    kinds = sorted((p.kind, p.item_id) for p in data.problems)
    assert kinds == [("unknown-label", "ravdess_03-01-09-01-01-01-24"),
                     ("unrecognised-file", "03-02-05-01-01-01-02.wav")]
    samples = load_audio(angry.audio)  # 48 kHz on disk, 16 kHz from the toolkit's decoder
    assert abs(len(samples) - 3200) <= 2


def _cremad(root: Path) -> None:
    for name in ("1001_DFA_ANG_XX", "1001_IEO_HAP_LO", "1064_TIE_NEU_XX", "1091_WSI_SAD_XX", "1091_ITS_XYZ_XX"):
        _wav(root / "AudioWAV" / f"{name}.wav")
    (root / "processedResults").mkdir(parents=True)
    with open(root / "processedResults" / "summaryTable.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(["", "FileName", "VoiceVote", "VoiceLevel", "FaceVote", "FaceLevel", "MultiModalVote",
                         "MultiModalLevel"])
        writer.writerow(["1", "1001_DFA_ANG_XX", "A", "60", "A", "70", "A", "65"])
        writer.writerow(["2", "1001_IEO_HAP_LO", "N:S", "50:50", "H", "57", "H", "57.38"])
        writer.writerow(["3", "1064_TIE_NEU_XX", "S", "40", "N", "92", "N", "64"])


def test_cremad_acted_and_voted(tmp_path: Path) -> None:
    root = tmp_path / "CREMA-D"
    _cremad(root)
    acted = build("dataset", "crema-d", {"root": str(root)}).load()
    assert acted.labels == ["anger", "disgust", "fear", "happy", "neutral", "sad"]
    assert _sizes(acted) == {"train": 2, "validation": 1, "test": 1}
    first = acted.utterances("train")[0]
    assert (first.id, first.label, first.speaker, first.text) == ("cremad_1001_DFA_ANG_XX", "anger", "1001",
                                                                  "Don't forget a jacket.")
    assert [(p.kind, p.item_id) for p in acted.problems] == [("unknown-label", "cremad_1091_ITS_XYZ_XX")]
    voted = build("dataset", "crema-d", {"root": str(root), "labels": "voted"}).load()
    assert [(u.id, u.label) for s in ("train", "validation") for u in voted.utterances(s)] == [
        ("cremad_1001_DFA_ANG_XX", "anger"), ("cremad_1064_TIE_NEU_XX", "sad")]  # the vote, not the acted label
    kinds = {(p.kind, p.item_id) for p in voted.problems}
    assert ("tied-vote", "cremad_1001_IEO_HAP_LO") in kinds and ("no-vote", "cremad_1091_WSI_SAD_XX") in kinds
    loso = build("dataset", "crema-d", {"root": str(root), "fold": "loso-1091"}).load()
    assert {u.speaker for u in loso.utterances("test")} == {"1091"}
    assert {u.speaker for u in loso.utterances("validation")} == {"1001"}  # the next actor, wrapping round


def test_msp_podcast_consensus_labels(tmp_path: Path) -> None:
    root = tmp_path / "MSP-Podcast"
    (root / "Labels").mkdir(parents=True)
    rows = [("MSP-PODCAST_0001_0008.wav", "A", "5.2", "2.0", "4.4", "127", "Female", "Train"),
            ("MSP-PODCAST_0001_0009.wav", "C", "3.0", "3.0", "3.0", "127", "Female", "Train"),
            ("MSP-PODCAST_0002_0001.wav", "N", "4.0", "4.2", "4.0", "Unknown", "Male", "Development"),
            ("MSP-PODCAST_0003_0001.wav", "H", "4.0", "6.0", "4.0", "55", "Male", "Test1"),
            ("MSP-PODCAST_0004_0001.wav", "S", "2.0", "1.5", "2.0", "56", "Male", "Test2"),
            ("MSP-PODCAST_0005_0001.wav", "X", "4.0", "4.0", "4.0", "57", "Male", "Train"),
            ("MSP-PODCAST_0006_0001.wav", "Z", "4.0", "4.0", "4.0", "58", "Male", "Train")]
    with open(root / "Labels" / "labels_consensus.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set"])
        writer.writerows(rows)
    for row in rows[:4]:
        if row[0] != "MSP-PODCAST_0002_0001.wav":  # a missing clip
            _wav(root / "Audios" / row[0])
    (root / "Transcripts").mkdir()
    (root / "Transcripts" / "MSP-PODCAST_0001_0008.txt").write_text("I can't believe it.\n", encoding="utf-8")
    four = build("dataset", "msp-podcast", {"root": str(root)}).load()
    assert four.labels == ["anger", "happiness", "sadness", "neutral"]
    assert _sizes(four) == {"train": 1, "validation": 1, "test": 1}
    clip = four.utterances("train")[0]
    assert clip.text == "I can't believe it." and clip.meta["valence"] == 2.0 and clip.meta["arousal"] == 5.2
    assert four.utterances("validation")[0].speaker is None
    assert {(p.kind, p.item_id) for p in four.problems} == {("unknown-label", "MSP-PODCAST_0006_0001"),
                                                            ("missing-audio", "MSP-PODCAST_0002_0001")}
    eight = build("dataset", "msp-podcast", {"root": str(root), "classes": 8, "test_set": "Test2"}).load()
    assert _sizes(eight) == {"train": 2, "validation": 1, "test": 1} and eight.utterances("test")[0].label == "sadness"


def test_hf_dataset_from_a_save_to_disk_folder(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"dialog": datasets.Value("string"), "turn": datasets.Value("int32"),
                                  "who": datasets.Value("string"), "utterance": datasets.Value("string"),
                                  "emotion": datasets.ClassLabel(names=["neutral", "joy", "anger"])})
    train = datasets.Dataset.from_dict({"dialog": ["d1", "d1", "d2"], "turn": [1, 0, 0], "who": ["B", "A", "A"],
                                        "utterance": ["Fine \u201cthanks\u201d.", "How are you?", "Ugh!"],
                                        "emotion": [1, 0, 2]}, features=features)
    dev = datasets.Dataset.from_dict({"dialog": ["d3"], "turn": [0], "who": ["C"], "utterance": ["Ok."],
                                      "emotion": [0]}, features=features)
    extra = datasets.Dataset.from_dict({"dialog": ["d4"], "turn": [0], "who": ["C"], "utterance": ["x"],
                                        "emotion": [0]}, features=features)
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": train, "dev": dev, "unlabeled": extra}).save_to_disk(str(folder))
    params = {"path": str(folder), "columns": {"conversation": "dialog", "position": "turn", "speaker": "who",
                                               "text": "utterance", "label": "emotion"}}
    component = build("dataset", "hf-dataset", params)
    data = component.load()
    assert data.labels == ["neutral", "joy", "anger"]
    assert _sizes(data) == {"train": 3, "validation": 1, "test": 0}
    d1 = data.splits["train"][0]
    assert d1.id == "d1" and [u.text for u in d1.utterances] == ["How are you?", "Fine \u201cthanks\u201d."]
    assert [u.label for u in d1.utterances] == ["neutral", "joy"] and d1.utterances[0].speaker == "A"
    assert [(p.kind, p.item_id) for p in data.problems] == [("skipped-split", "unlabeled")]
    assert len(component.fingerprint()) == 16
    with pytest.raises(UserError, match="unknown field"):
        build("dataset", "hf-dataset", {"path": str(folder), "columns": {"txt": "utterance", "label": "emotion"}})
    with pytest.raises(DataError, match="no column"):
        build("dataset", "hf-dataset", {"path": str(folder), "columns": {"text": "nope", "label": "emotion"}}).load()
