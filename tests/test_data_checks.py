"""Corpus defects that used to pass silently or crash: each is now a named problem (or a refusal)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import soundfile as sf
from test_recipe_end_to_end import SPEC, write_tiny_corpus

from erc_bench import build
from erc_bench.core.data_checks import duplicate_ids, truncation

HEADER = ["conversation_id", "utterance_id", "text", "label", "split", "audio"]


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([HEADER, *rows])
    return path


def _kinds(problems) -> list[tuple[str, str]]:
    return sorted((p.kind, p.item_id) for p in problems)


def test_duplicate_ids_within_and_across_splits_are_reported_by_data_info(cli, tmp_path) -> None:
    manifest = _write(tmp_path / "m.csv", [
        ["c1", "a1", "hi", "x", "train", ""], ["c1", "a1", "hi again", "x", "train", ""],
        ["c2", "b1", "yes", "y", "train", ""], ["c3", "b1", "yes", "y", "test", ""],
        ["c4", "d1", "no", "y", "validation", ""]])
    data = build("dataset", "csv", {"manifest": str(manifest)}).load()
    found = duplicate_ids(data)
    assert _kinds(found) == [("duplicate-id", "a1"), ("duplicate-id", "b1")]
    assert "2 times in train" in found[0].detail and "train and test" in found[1].detail
    code, output = cli(["data", "info", "csv", "--param", f"manifest={manifest}"])
    assert code == 0 and "duplicate-id" in output and "b1" in output


def test_run_refuses_a_corpus_with_duplicate_ids_before_any_work(cli, tmp_path) -> None:
    manifest = write_tiny_corpus(tmp_path)
    rows = manifest.read_text().splitlines()
    leaked = rows[1].rsplit(",", 1)[0].replace("c0,", "c99,", 1) + ",test"  # c0_u0 again, in the test split
    manifest.write_text("\n".join([*rows, leaked]) + "\n")
    spec = tmp_path / "dup.toml"
    spec.write_text(SPEC.format(manifest=manifest, fusion="concat", fusion_params=""))
    code, output = cli(["run", str(spec), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
    assert code == 2 and "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "'c0_u0'" in errors[0] and "train and test" in errors[0], output
    assert not (Path(os.environ["ERC_BENCH_CACHE"]) / "speech-embeddings").exists()  # refused before any work


def test_same_name_wav_and_flac_in_one_folder_get_distinct_ids(tmp_path) -> None:
    tone = (0.2 * np.sin(np.arange(8000) / 10)).astype(np.float32)
    sf.write(tmp_path / "x.wav", tone, 16000)
    sf.write(tmp_path / "x.flac", tone, 16000)
    sf.write(tmp_path / "y.wav", tone, 16000)
    data = build("dataset", "audio-folder", {"root": str(tmp_path)}).load()
    ids = sorted(u.id for u in data.utterances("train"))
    assert ids == ["x.flac", "x.wav", "y"] and not duplicate_ids(data)


def test_csv_row_with_extra_fields_is_a_problem_not_a_traceback(cli, tmp_path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(",".join(HEADER) + "\n"
                        "c1,a1,hello,x,train,\n"
                        "c1,a2,well, I never,x,train,\n"  # an unquoted comma shifts every column after it
                        "c1,a3,bye,y,train,\n")
    data = build("dataset", "csv", {"manifest": str(manifest)}).load()
    assert [u.id for u in data.utterances("train")] == ["a1", "a3"]
    assert _kinds(data.problems) == [("extra-fields", "m.csv:3")]
    code, output = cli(["data", "info", "csv", "--param", f"manifest={manifest}"])
    assert code == 0 and "extra-fields" in output and "Traceback" not in output


def test_truncated_and_silent_audio_are_reported_by_data_info_check_audio(cli, tmp_path) -> None:
    tone = (0.2 * np.sin(np.arange(16000) / 10)).astype(np.float32)
    rows = []
    for name, suffix in [("whole", ".wav"), ("cut", ".wav"), ("cutflac", ".flac"), ("quiet", ".wav")]:
        path = tmp_path / f"{name}{suffix}"
        sf.write(path, np.zeros(16000, np.float32) if name == "quiet" else tone, 16000)
        if name.startswith("cut"):
            data = path.read_bytes()
            path.write_bytes(data[: len(data) * 2 // 3])
        rows.append(["c1", name, "words here", "x", "train", path.name])
    assert truncation(tmp_path / "whole.wav") is None
    assert "header declares 16000 frames" in (truncation(tmp_path / "cut.wav") or "")
    manifest = _write(tmp_path / "m.csv", rows)
    code, output = cli(["data", "info", "csv", "--param", f"manifest={manifest}", "--check-audio"])
    assert code == 0 and "Traceback" not in output
    lines = [line.strip() for line in output.splitlines()]
    assert any(line.startswith("truncated-audio: cut -") for line in lines), output
    assert any(line.startswith("silent-audio: quiet") for line in lines), output
    assert any(line.startswith(("truncated-audio: cutflac", "unreadable-audio: cutflac")) for line in lines), output
    assert not any(": whole" in line for line in lines)
