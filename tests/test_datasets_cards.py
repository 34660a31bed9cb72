"""Dataset cards, `data list` / `data card`, the how-to-obtain lines, and the text corpora (EmoryNLP, DailyDialog,
MELD sentiment) on fixtures written in each publisher's exact format."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from erc_bench import DatasetCard
from erc_bench.core.cards import card_of
from erc_bench.core.errors import DataError
from erc_bench.core.metrics import classification_metrics
from erc_bench.core.plugin_host import build, host

BUILT_IN = ("iemocap", "meld", "mosi", "csv", "audio-folder", "demo", "demo-unlabelled", "emorynlp", "dailydialog",
            "emodb", "ravdess", "crema-d", "msp-podcast", "hf-dataset", "mosei")


def test_every_built_in_dataset_has_a_complete_card() -> None:
    registry = host().registries["dataset"]
    for name in BUILT_IN:
        card = card_of(registry.get(name).cls)
        assert isinstance(card, DatasetCard), name
        assert card.title and card.licence and card.obtain and card.tasks and card.modalities, name
        assert card.citation.strip(), name
        if not card.citation.startswith("("):  # a real corpus: BibTeX with a title and a year
            assert card.citation.lstrip().startswith("@") and "title" in card.citation and "year" in card.citation
        assert name in card.text(name) and card.obtain[0] in card.text(name)


def test_demo_card_counts_match_the_loader() -> None:
    data = build("dataset", "demo").load()
    card = card_of(host().get("dataset", "demo").cls)
    assert card is not None
    for split in ("train", "validation", "test"):
        assert len(data.utterances(split)) == card.count_of(split)


def test_data_list_and_card_through_the_cli(cli) -> None:  # noqa: ANN001
    code, out = cli(["data", "list"])
    assert code == 0, out
    for name in BUILT_IN:
        assert name in out, name
    code, out = cli(["data", "card", "dailydialog"])
    assert code == 0, out
    assert "CC BY-NC-SA 4.0" in out and "@inproceedings{li2017dailydialog" in out and "87170" in out
    assert "0 -> no emotion" in out
    code, out = cli(["data", "card", "meld"])
    assert "dev dia110_utt7" in out and "Sentiment positive -> positive" in out


def test_a_plugin_without_a_card_says_so(cli, register_plugin) -> None:  # noqa: ANN001
    from erc_bench import NoParams, hookimpl

    class Bare:
        name = "bare-corpus"
        Params = NoParams

        def __init__(self, params: NoParams) -> None:
            self.params = params

        def load(self):  # noqa: ANN201
            raise NotImplementedError

    @hookimpl
    def erc_bench_register_datasets(register):  # noqa: ANN001, ANN202
        register(Bare)

    register_plugin("bare", erc_bench_register_datasets=erc_bench_register_datasets)
    code, out = cli(["data", "card", "bare-corpus"])
    assert code == 0 and "has no card" in out
    code, out = cli(["data", "list"])
    assert "bare-corpus" in out and "(no card)" in out


def test_missing_root_prints_how_to_obtain(cli, tmp_path: Path) -> None:  # noqa: ANN001
    code, out = cli(["data", "info", "emorynlp", "--root", str(tmp_path / "absent")])
    assert code == 2
    assert "EmoryNLP" in out and "how to obtain it:" in out
    assert "git clone https://github.com/emorynlp/emotion-detection" in out
    assert "Traceback" not in out
    code, out = cli(["data", "info", "crema-d", "--root", str(tmp_path / "absent")])
    assert code == 2 and "git lfs clone" in out and "ODbL" in out


# ------------------------------------------------------------------------------------------------ EmoryNLP

def _emory_file(season: str, episodes: list[tuple[str, list[tuple[str, list[tuple[list[str], str, str]]]]]]) -> dict:
    return {"season_id": season, "episodes": [
        {"episode_id": ep, "scenes": [
            {"scene_id": scene, "utterances": [
                {"utterance_id": f"{scene}_u{i:03d}", "speakers": speakers, "transcript": text,
                 "tokens": [text.split()], "emotion": emotion}
                for i, (speakers, text, emotion) in enumerate(rows, start=1)]}
            for scene, rows in scenes]}
        for ep, scenes in episodes]}


@pytest.fixture
def emory_root(tmp_path: Path) -> Path:
    folder = tmp_path / "emotion-detection" / "json"
    folder.mkdir(parents=True)
    files = {
        "trn": _emory_file("trn", [("s01_e02", [
            ("s01_e02_c01", [(["Joey Tribbiani"], "Yeah, right!.......Y'serious?", "Neutral"),
                             (["Phoebe Buffay"], "Oh, yeah!", "Joyful"),
                             (["Rachel Green"], "Everything you need to know is in that first kiss.", "Powerful")]),
            ("s01_e02_c02", [(["Monica Geller", "Ross Geller"], "Caf\u00e9 \u201cnow\u201d!", "Mad"),
                             (["Chandler Bing"], "Whatever.", "Bored")])])]),
        "dev": _emory_file("dev", [("s01_e15", [("s01_e15_c01", [(["Rachel Green"], "Coffee.", "Neutral"),
                                                                 (["Joey Tribbiani"], "", "Scared")])])]),
        "tst": _emory_file("tst", [("s01_e01", [("s01_e01_c01", [(["Ross Geller"], "Hi.", "Sad"),
                                                                 ([], "Hmm.", "Peaceful")])])]),
    }
    for name, document in files.items():
        (folder / f"emotion-detection-{name}.json").write_text(json.dumps(document, indent=2, ensure_ascii=False),
                                                               encoding="utf-8")
    return folder.parent


def test_emorynlp_nested_json(emory_root: Path) -> None:
    data = build("dataset", "emorynlp", {"root": str(emory_root)}).load()
    assert data.labels == ["neutral", "joyful", "peaceful", "powerful", "scared", "mad", "sad"]
    assert {s: len(data.utterances(s)) for s in data.splits} == {"train": 4, "validation": 2, "test": 2}
    assert [c.id for c in data.splits["train"]] == ["s01_e02_c01", "s01_e02_c02"]
    second = data.splits["train"][1].utterances[0]
    assert second.text == "Caf\u00e9 \u201cnow\u201d!" and second.label == "mad"  # text kept as written
    assert second.speaker == "Monica Geller & Ross Geller" and second.meta["speakers"] == ["Monica Geller",
                                                                                          "Ross Geller"]
    found = {(p.kind, p.item_id) for p in data.problems}
    assert found == {("unknown-label", "s01_e02_c02_u002"), ("empty-text", "s01_e15_c01_u002")}
    assert data.utterances("test")[1].speaker is None
    # the json/ folder itself works as root too
    assert len(build("dataset", "emorynlp", {"root": str(emory_root / "json")}).load().utterances("train")) == 4


def test_emorynlp_layout_errors(emory_root: Path) -> None:
    (emory_root / "json" / "emotion-detection-dev.json").unlink()
    with pytest.raises(DataError, match=r"emotion-detection-dev\.json.*Apache-2\.0") as info:
        build("dataset", "emorynlp", {"root": str(emory_root)}).load()
    assert info.value.obtain and "emorynlp/emotion-detection" in info.value.obtain[0]
    (emory_root / "json" / "emotion-detection-dev.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="cannot read"):
        build("dataset", "emorynlp", {"root": str(emory_root)}).load()


# --------------------------------------------------------------------------------------------- DailyDialog

DD = {  # split -> (dialogue lines, emotion lines, act lines), the publisher's token spacing
    "train": (["Say , Jim , how about going for a few beers after dinner ? __eou__ You know that is tempting "
               "but is really not good for our fitness . __eou__ What do you mean ? __eou__",
               "I'm so angry ! __eou__ Why ? __eou__",
               "Hello . __eou__ Hi . __eou__"],
              ["0 0 4", "1 0", "0 9"], ["3 4 2", "1 2", "1 1"]),
    "validation": (["Good morning . __eou__ Morning ! __eou__", "Say , Jim , how about going for a few beers after "
                    "dinner ? __eou__ You know that is tempting but is really not good for our fitness . __eou__ "
                    "What do you mean ? __eou__"],
                   ["0 4", "0 0 0"], ["1 1", "3 4 2"]),
    "test": (["Oh no ! __eou__ What happened ? __eou__ I lost it . __eou__"], ["3 6"], ["1 2 1"]),
}


@pytest.fixture
def dd_root(tmp_path: Path) -> Path:
    root = tmp_path / "ijcnlp_dailydialog"
    for split, (texts, emotions, acts) in DD.items():
        folder = root / split
        folder.mkdir(parents=True)
        for name, lines in ((f"dialogues_{split}.txt", texts), (f"dialogues_emotion_{split}.txt", emotions),
                            (f"dialogues_act_{split}.txt", acts)):
            (folder / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return root


def test_dailydialog_official_files(dd_root: Path) -> None:
    data = build("dataset", "dailydialog", {"root": str(dd_root)}).load()
    assert data.labels == ["no emotion", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]
    assert data.majority_label == "no emotion"
    # train: 3 + 2 + 1 (code 9 is unknown); validation 2 + 3; test: emotion line has 2 codes for 3 turns
    assert {s: len(data.utterances(s)) for s in data.splits} == {"train": 6, "validation": 5, "test": 0}
    first = data.splits["train"][0]
    assert first.id == "train_dia1" and [u.label for u in first.utterances] == ["no emotion", "no emotion",
                                                                                  "happiness"]
    assert first.utterances[0].text == "Say , Jim , how about going for a few beers after dinner ?"
    assert [u.speaker for u in first.utterances] == ["train_dia1_A", "train_dia1_B", "train_dia1_A"]
    assert first.utterances[0].meta == {"act": "directive"}
    found = {(p.kind, p.item_id) for p in data.problems}
    assert found == {("unknown-label", "train_dia3_utt1"), ("length-mismatch", "test_dia1"),
                     ("duplicate-dialogue", "validation_dia2")}


def test_micro_f1_without_the_majority_class() -> None:
    labels = ["no emotion", "anger", "happiness"]
    gold = ["no emotion", "no emotion", "anger", "happiness", "happiness", "no emotion"]
    pred = ["no emotion", "anger", "anger", "no emotion", "happiness", "no emotion"]
    scores = classification_metrics(gold, pred, labels, majority="no emotion")
    # other-class TP = 2 (anger, happiness); predicted other = 3; gold other = 3 -> P = R = F1 = 2/3
    assert scores["micro_f1_excl_majority"] == pytest.approx(2 / 3)
    from sklearn.metrics import f1_score

    assert scores["micro_f1_excl_majority"] == pytest.approx(
        f1_score(gold, pred, labels=["anger", "happiness"], average="micro"))
    assert "micro_f1_excl_majority" not in classification_metrics(gold, pred, labels)
    from erc_bench.report.leaderboard import METRICS

    assert "micro_f1_excl_majority" in METRICS


# ----------------------------------------------------------------------------------------- MELD sentiment

def test_meld_sentiment_labels(tmp_path: Path) -> None:
    root = tmp_path / "MELD.Raw"
    root.mkdir()
    header = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID", "Season",
              "Episode", "StartTime", "EndTime"]
    rows = {"train_sent_emo.csv": [("Oh my God!", "joy", "positive", 0, 0), ("No.", "anger", "negative", 0, 1),
                                   ("Hm.", "neutral", "neutral", 0, 2), ("Eh.", "neutral", "mixed", 0, 3)],
            "dev_sent_emo.csv": [("What?", "surprise", "negative", 1, 0)],
            "test_sent_emo.csv": [("I\u2019m fine.", "joy", "positive", 2, 0)]}
    for name, items in rows.items():
        with open(root / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for i, (text, emotion, sentiment, dia, utt) in enumerate(items, start=1):
                writer.writerow([i, text, "Ross", emotion, sentiment, dia, utt, 1, 1, "0:0:1,0", "0:0:2,0"])
    data = build("dataset", "meld", {"root": str(root), "labels": "sentiment", "audio": "off"}).load()
    assert data.labels == ["positive", "negative", "neutral"]
    assert [u.label for u in data.utterances("train")] == ["positive", "negative", "neutral"]
    assert [(p.kind, p.item_id) for p in data.problems] == [("unknown-label", "train_dia0_utt3")]
    emotions = build("dataset", "meld", {"root": str(root), "audio": "off"}).load()
    assert [u.label for u in emotions.utterances("train")] == ["joy", "anger", "neutral", "neutral"]
