"""IEMOCAP plugin on a synthetic tree in the real layout (written here, no corpus needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from erc_bench_datasets.iemocap import session_roles

from erc_bench.core.errors import DataError
from erc_bench.core.plugin_host import build

# per dialogue: (utterance suffix, start, label code, text); written out of time order on purpose
DIALOGUE = [
    ("F002", 9.5, "ang", "Why would you do that?"),
    ("F000", 1.0, "neu", "Excuse me."),
    ("M001", 4.2, "exc", "We did it!"),
    ("M003", 12.0, "fru", "This never works."),
    ("F004", 15.0, "hap", "Lovely."),
    ("M005", 18.0, "sad", "I miss it."),
    ("F006", 21.0, "xxx", "Hmm."),
]


def _write_session(root: Path, session: int, *, bad_code: bool = False, drop_text: bool = False,
                   drop_wav: bool = False) -> None:
    base = root / f"Session{session}"
    dialog = f"Ses0{session}F_impro01"
    evaluation, transcripts = base / "dialog" / "EmoEvaluation", base / "dialog" / "transcriptions"
    wav_dir = base / "sentences" / "wav" / dialog
    for folder in (evaluation / "Categorical", transcripts, wav_dir):
        folder.mkdir(parents=True, exist_ok=True)
    rows = list(DIALOGUE) + ([("M007", 25.0, "zzz", "Odd.")] if bad_code else [])
    eval_lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    text_lines = []
    for suffix, start, code, text in rows:
        utt = f"{dialog}_{suffix}"
        eval_lines += [f"[{start:.4f} - {start + 2:.4f}]\t{utt}\t{code}\t[2.5000, 2.5000, 2.5000]",
                       f"C-E1:\t{code};\t()", ""]
        if not (drop_text and suffix == "F004"):
            text_lines.append(f"{utt} [{start:08.4f}-{start + 2:08.4f}]: {text}")
        if not (drop_wav and suffix == "F000"):
            (wav_dir / f"{utt}.wav").write_bytes(b"RIFF")
    text_lines.append("M: [BREATHING]")
    (evaluation / f"{dialog}.txt").write_text("\n".join(eval_lines), encoding="utf-8")
    (evaluation / f"._{dialog}.txt").write_bytes(b"\x00\x05macos")  # resource fork junk is ignored
    (transcripts / f"{dialog}.txt").write_text("\n".join(text_lines), encoding="utf-8")


@pytest.fixture
def iemocap_root(tmp_path: Path) -> Path:
    root = tmp_path / "IEMOCAP_full_release"
    for session in range(1, 6):
        _write_session(root, session, bad_code=session == 2, drop_text=session == 3, drop_wav=session == 4)
    return root


def test_four_classes_paper_fold(iemocap_root: Path) -> None:
    data = build("dataset", "iemocap", {"root": str(iemocap_root)}).load()
    assert data.labels == ["angry", "happy", "sad", "neutral"]
    assert {s: len(data.splits[s]) for s in data.splits} == {"train": 3, "validation": 1, "test": 1}
    assert {c.id[:5] for c in data.splits["validation"]} == {"Ses01"}
    assert {c.id[:5] for c in data.splits["test"]} == {"Ses05"}
    conv = data.splits["test"][0]
    # fru and xxx are outside the 4 classes; exc merged into happy; ordered by start time
    assert [u.id.rsplit("_", 1)[1] for u in conv.utterances] == ["F000", "M001", "F002", "F004", "M005"]
    assert [u.label for u in conv.utterances] == ["neutral", "happy", "angry", "happy", "sad"]
    assert [u.position for u in conv.utterances] == [0, 1, 2, 3, 4]
    assert [u.speaker for u in conv.utterances] == ["Ses05F", "Ses05M", "Ses05F", "Ses05F", "Ses05M"]
    first = conv.utterances[0]
    assert first.text == "Excuse me." and first.conversation_id == "Ses05F_impro01"
    assert first.audio is not None and first.audio.path.endswith("Ses05F_impro01/Ses05F_impro01_F000.wav")
    assert len(data.utterances("train")) == 15


def test_problems_are_reported(iemocap_root: Path) -> None:
    data = build("dataset", "iemocap", {"root": str(iemocap_root)}).load()
    found = {(p.kind, p.item_id) for p in data.problems}
    assert ("unknown-label", "Ses02F_impro01_M007") in found
    assert ("empty-text", "Ses03F_impro01_F004") in found
    assert ("missing-audio", "Ses04F_impro01_F000") in found
    kept = {u.id: u for u in data.utterances("train")}
    assert kept["Ses04F_impro01_F000"].audio is None  # kept, text still usable
    assert kept["Ses03F_impro01_F004"].text == ""


def test_six_classes_and_loso(iemocap_root: Path) -> None:
    data = build("dataset", "iemocap", {"root": str(iemocap_root), "classes": 6, "fold": "loso-5"}).load()
    assert data.labels == ["happy", "sad", "neutral", "angry", "excited", "frustrated"]
    labels = [u.label for u in data.utterances("test")]
    assert labels.count("excited") == 1 and labels.count("frustrated") == 1 and len(labels) == 6
    assert {c.id[:5] for c in data.splits["validation"]} == {"Ses01"}  # the session after 5 wraps to 1
    assert session_roles("loso-2") == {1: "train", 2: "test", 3: "validation", 4: "train", 5: "train"}


def test_bad_params_and_layout(tmp_path: Path, iemocap_root: Path) -> None:
    with pytest.raises(DataError, match=r"IEMOCAP: expected .*nowhere.*sail\.usc\.edu.*licence"):
        build("dataset", "iemocap", {"root": str(tmp_path / "nowhere")}).load()
    with pytest.raises(DataError, match="params.root"):
        build("dataset", "iemocap", {}).load()
    (iemocap_root / "Session3" / "dialog" / "EmoEvaluation").rename(iemocap_root / "Session3" / "dialog" / "Emo")
    with pytest.raises(DataError, match=r"Session3/dialog/EmoEvaluation"):
        build("dataset", "iemocap", {"root": str(iemocap_root)}).load()
    with pytest.raises(ValueError, match="loso-N"):
        build("dataset", "iemocap", {"root": str(iemocap_root), "fold": "loso-9"})
