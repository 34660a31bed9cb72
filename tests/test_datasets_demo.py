"""The bundled demo corpus, ``data info`` and the plugin registrations."""

from __future__ import annotations

import csv
import re
import time
from collections import Counter
from pathlib import Path

import soundfile as sf
import typer
from erc_bench_datasets.demo import DEMO_DIR
from typer.testing import CliRunner

from erc_bench.cli.data import data_app
from erc_bench.core.errors import UserError
from erc_bench.core.plugin_host import build, host
from erc_bench.report.datainfo import dataset_info, parse_param, resolve_params


def test_all_datasets_registered() -> None:
    names = set(host().registries["dataset"].names())
    assert {"iemocap", "meld", "mosi", "csv", "audio-folder", "demo", "demo-unlabelled"} <= names


def test_demo_loads_fast_with_required_counts() -> None:
    start = time.perf_counter()
    data = build("dataset", "demo").load()
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0
    assert data.labels == ["angry", "happy", "sad", "neutral"] and not data.problems
    conversations = [c for s in data.splits.values() for c in s]
    utterances = [u for c in conversations for u in c.utterances]
    assert len(conversations) >= 40 and len(utterances) >= 400
    assert {s: len(c) for s, c in data.splits.items()} == {"train": 28, "validation": 10, "test": 10}
    for split in data.splits:  # every class present in every split
        assert set(Counter(u.label for u in data.utterances(split))) == set(data.labels)
    assert all(len({u.speaker for u in c.utterances}) == 2 for c in conversations)
    assert all(u.audio is not None and Path(u.audio.path).is_file() for u in utterances)
    cues = Counter(u.meta["cue"] for u in utterances)
    assert cues["voice"] >= 60 and cues["words"] >= 30 and cues["none"] >= 10  # emotion not always in the words
    labels_of_text: dict[tuple[str, str], set[str]] = {}
    for split in data.splits:
        for u in data.utterances(split):
            labels_of_text.setdefault((split, u.text), set()).add(u.label)
    assert max(len(labels) for labels in labels_of_text.values()) >= 3  # same words, different emotions


def _normalised(sentence: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", sentence.lower()).split())


def test_demo_splits_are_honest() -> None:
    """No sentence shared between train, validation, test and the pool; each has its own speakers."""
    data = build("dataset", "demo").load()
    sentences = {s: {_normalised(u.text) for u in data.utterances(s)} for s in data.splits}
    speakers = {s: {u.speaker for u in data.utterances(s)} for s in data.splits}
    with open(DEMO_DIR / "pool" / "metadata.csv", newline="", encoding="utf-8") as fh:
        sentences["pool"] = {_normalised(row["Transcript"]) for row in csv.DictReader(fh)}
    parts = sorted(sentences)
    for i, first in enumerate(parts):
        for second in parts[i + 1:]:
            shared = sentences[first] & sentences[second]
            assert not shared, f"{first} and {second} share {sorted(shared)[:3]}"
    assert all(len(found) >= 25 for found in sentences.values())  # not honest by being tiny
    assert not speakers["test"] & (speakers["train"] | speakers["validation"])
    assert not speakers["validation"] & speakers["train"]
    assert len(speakers["train"]) >= 4 and len(speakers["test"]) >= 2


def test_demo_audio_and_size() -> None:
    info = sf.info(str(DEMO_DIR / "audio" / "demo_c01_u00.flac"))
    assert (info.samplerate, info.channels, info.format) == (16_000, 1, "FLAC")
    total = sum(p.stat().st_size for p in DEMO_DIR.rglob("*") if p.is_file())
    assert total <= 20 * 1024 * 1024


def test_demo_unlabelled_pool() -> None:
    pool = build("dataset", "demo-unlabelled").load()
    utts = pool.utterances("train")
    assert len(utts) >= 150 and not pool.problems
    assert all(u.label is None and u.text == "" and 1.0 <= u.meta["valence"] <= 7.0 for u in utts)
    with open(DEMO_DIR / "pool" / "metadata.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_word = {}
    for row in rows:  # valence follows word sentiment
        polarity = "pos" if "wonderful" in row["Transcript"] or "brilliant" in row["Transcript"] else \
            "neg" if "disaster" in row["Transcript"] or "awful" in row["Transcript"] else None
        if polarity:
            by_word.setdefault(polarity, []).append(float(row["EmoVal"]))
    assert min(by_word["pos"]) > max(by_word["neg"])


def test_data_info_counts_and_cli() -> None:
    report = dataset_info("demo")
    assert report.total_utterances == sum(c.utterances for c in report.splits.values()) >= 400
    assert sum(report.label_counts["test"].values()) == report.splits["test"].utterances
    app = typer.Typer()
    app.add_typer(data_app, name="data")
    result = CliRunner().invoke(app, ["data", "info", "demo"])
    assert result.exit_code == 0, result.output
    assert f"dataset 'demo' - {report.total_utterances} utterances" in result.output
    assert "neutral" in result.output and "problems: none" in result.output


def test_data_info_params_and_errors(tmp_path: Path) -> None:
    assert parse_param("classes=6") == ("classes", 6) and parse_param("fold=loso-2") == ("fold", "loso-2")
    cls, params = resolve_params("iemocap", root=str(tmp_path), params=["classes=6", "fold=loso-3"])
    assert cls.name == "iemocap" and (params.root, params.classes, params.fold) == (str(tmp_path), 6, "loso-3")
    for call, message in (
        (lambda: resolve_params("demo", root="x"), "has no 'root' param"),
        (lambda: resolve_params("iemocap", params=["classes=5"]), "dataset 'iemocap': classes"),
        (lambda: resolve_params("iemocap", params=["colour=red"]), "unknown param"),
        (lambda: resolve_params("iemcap"), "did you mean 'iemocap'"),
        (lambda: dataset_info("meld", root=str(tmp_path / "none")), "GPL-3.0"),
    ):
        try:
            call()
        except UserError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"expected a UserError with {message!r}")


def test_data_info_from_spec(tmp_path: Path, register_plugin) -> None:  # noqa: ANN001
    from pydantic import BaseModel, ConfigDict

    from erc_bench.core.hookspecs import hookimpl

    class _Params(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class _Encoder:  # a stand-in text encoder so the spec validates without the models plugin
        name, Params = "spec-test-encoder", _Params

        def __init__(self, params: _Params) -> None: ...
        def build_classifier(self, num_labels: int) -> None: ...
        def fingerprint(self) -> str: ...

    @hookimpl
    def erc_bench_register_text_encoders(register):  # noqa: ANN001, ANN202
        register(_Encoder)

    register_plugin("spec-test", erc_bench_register_text_encoders=erc_bench_register_text_encoders)
    manifest = tmp_path / "m.csv"
    manifest.write_text("conversation_id,utterance_id,text,label,split\nc,u,Hi.,calm,test\nc,v,Ho.,tense,test\n",
                        encoding="utf-8")
    spec = tmp_path / "spec.toml"
    spec.write_text(f'[benchmark]\nname = "t"\n\n[[datasets]]\nplugin = "csv"\n'
                    f'params = {{ manifest = "{manifest}", labels = ["tense", "calm"] }}\n\n'
                    '[model]\nmodalities = ["text"]\ntext_encoder = { plugin = "spec-test-encoder" }\n',
                    encoding="utf-8")
    report = dataset_info("csv", spec=str(spec))
    assert report.labels == ["tense", "calm"] and report.label_counts["test"] == {"tense": 1, "calm": 1}
    try:
        dataset_info("meld", spec=str(spec))
    except UserError as exc:
        assert "no dataset slot uses 'meld'" in str(exc)
    else:
        raise AssertionError("expected a UserError")


def test_shipped_manifest_is_what_the_generator_plans(monkeypatch) -> None:  # noqa: ANN001
    """The shipped corpus is the script's output (planning only; synthesis takes ~40 s, checked by hand)."""
    import random

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "scripts"))
    import make_demo_corpus as generator

    rng = random.Random(generator.SEED)
    conversations = generator.plan_conversations(rng)
    pool = generator.plan_pool(rng)
    generator.check_honest(conversations, pool)
    planned = [(conv_id, line.clip, line.speaker, line.text, line.label, split, line.cue)
               for conv_id, split, lines in conversations for line in lines]
    with open(DEMO_DIR / "manifest.csv", newline="", encoding="utf-8") as fh:
        shipped = [(r["conversation_id"], r["utterance_id"], r["speaker"], r["text"], r["label"], r["split"],
                    r["cue"]) for r in csv.DictReader(fh)]
    assert planned == shipped
