"""A damaged cache is detected, reported in one line, quarantined, recomputed and replaced; the rerun reports
the numbers of the undamaged run. Real cache files of a real (tiny) run are damaged the ways disks and people
damage them: one digit changed, truncation, zero bytes, random bytes, finite bit damage."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from test_recipe_end_to_end import SPEC, write_tiny_corpus

from erc_bench.core.cache import Cache


@pytest.fixture
def tiny_run(tmp_path: Path, cli):  # noqa: ANN001, ANN201
    """A one-seed tiny run with its own cache and store; returns (run(), cache root, first results)."""
    manifest = write_tiny_corpus(tmp_path)
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC.format(manifest=manifest, fusion="co-attention", fusion_params="d_model = 8, heads = 2")
                    .replace("seeds = [0, 1]", "seeds = [0]"))
    cache_dir, uri = tmp_path / "cache", f"sqlite:///{tmp_path / 'mlflow.db'}"
    counter = iter(range(100))

    def run() -> tuple[str, list[dict]]:
        out = tmp_path / f"results-{next(counter)}.json"
        code, output = cli(["run", str(spec), "--tracking-uri", uri, "--cache-dir", str(cache_dir),
                            "--output", str(out)])
        assert code == 0, output
        return output, _numbers(out)

    _, first = run()
    return run, cache_dir, first


def _numbers(path: Path) -> list[dict]:
    rows = json.loads(path.read_text())["rows"]
    return [{k: r[k] for k in ("stage", "test_weighted_f1", "validation_weighted_f1")} for r in rows]


def _stage_dir(cache_dir: Path, stage: str) -> Path:
    for entry in Cache(cache_dir).entries("stages"):
        if entry.meta.get("stage") == stage:
            return entry.path
    raise AssertionError(f"no cached {stage}")


def _embeddings(cache_dir: Path) -> list[Path]:
    return sorted(e.path for e in Cache(cache_dir).entries("speech-embeddings"))


def _change_one_digit(path: Path) -> None:
    text = path.read_text()
    at = text.index('"weighted_f1":') + len('"weighted_f1":') + 3  # inside the first score's digits
    digit = text[at]
    assert digit.isdigit()
    path.write_text(text[:at] + str((int(digit) + 1) % 10) + text[at + 1:])


def test_every_damage_is_detected_repaired_and_the_original_numbers_reported(tiny_run) -> None:
    run, cache_dir, first = tiny_run
    rng = np.random.default_rng(1)
    # Round 1: a digit in a stage's scores, random bytes in weights, truncated / emptied / bit-damaged embeddings.
    _change_one_digit(_stage_dir(cache_dir, "stage2-speech") / "result.json")
    weights = _stage_dir(cache_dir, "stage1-text") / "state_dict.pt"
    weights.write_bytes(rng.bytes(weights.stat().st_size))
    emb = _embeddings(cache_dir)
    emb[0].write_bytes(emb[0].read_bytes()[:300])
    emb[1].write_bytes(b"")
    damaged = bytearray(emb[2].read_bytes())
    damaged[-3] ^= 0x01  # a low mantissa bit of the last float: finite, silently wrong without a digest
    emb[2].write_bytes(bytes(damaged))
    assert np.isfinite(np.load(emb[2])).all()

    output, numbers = run()
    assert numbers == first, output
    lines = [line for line in output.splitlines() if "damaged entry" in line]
    assert len(lines) == 5, output
    assert any("stages/" in line and "result.json: content differs" in line for line in lines)
    assert any("state_dict.pt: content differs" in line for line in lines)
    assert any(".npy: 300 bytes, the manifest says" in line for line in lines)
    assert any(".npy: 0 bytes, the manifest says" in line for line in lines)
    assert sum(".npy: content differs" in line for line in lines) == 1
    assert "Traceback" not in output
    quarantine = cache_dir / "quarantine"
    assert len(list((quarantine / "speech-embeddings").glob("*.npy"))) == 3
    assert len(list((quarantine / "stages").glob("*.dir"))) == 2

    # Round 2: the repaired entries replaced the damaged ones: nothing to report, the same numbers again.
    output, numbers = run()
    assert numbers == first and "damaged entry" not in output

    # Round 3: random bytes in features.npz, garbage metadata, a file added to a stage folder.
    feats = _stage_dir(cache_dir, "stage1-speech") / "features.npz"
    feats.write_bytes(rng.bytes(feats.stat().st_size))
    stage3 = _stage_dir(cache_dir, "stage3-fusion")
    Path(f"{stage3}.meta.json").write_bytes(b"\x00garbage")
    (_stage_dir(cache_dir, "stage2-text") / "extra.bin").write_bytes(b"x")
    output, numbers = run()
    assert numbers == first, output
    assert "features.npz: content differs" in output and "meta.json: unreadable" in output
    assert "extra.bin: not in the manifest" in output


def test_entries_written_before_manifests_are_checked_by_loading_and_adopted(tiny_run) -> None:
    run, cache_dir, first = tiny_run
    for meta in cache_dir.glob("*/*/*.meta.json"):  # what an older version left: metadata without manifests
        record = json.loads(meta.read_text())
        record.pop("manifest")
        meta.write_text(json.dumps(record))
    emb = _embeddings(cache_dir)
    emb[0].write_bytes(emb[0].read_bytes()[:300])  # does not load: quarantined, recomputed
    weights = _stage_dir(cache_dir, "stage2-text") / "state_dict.pt"
    weights.write_bytes(b"")
    output, numbers = run()
    assert numbers == first, output
    assert "does not load (ValueError" in output and "state_dict.pt: does not load" in output
    adopted = [json.loads(m.read_text()) for m in cache_dir.glob("[!q]*/*/*.meta.json")]
    assert adopted and all("manifest" in record for record in adopted)  # every entry verified from now on


def test_cache_verify_reports_damage_and_repair_quarantines_it(tiny_run, cli) -> None:
    run, cache_dir, first = tiny_run
    result = _stage_dir(cache_dir, "stage3-fusion") / "result.json"
    _change_one_digit(result)
    code, output = cli(["cache", "verify", "--cache-dir", str(cache_dir)])
    assert code == 1, output
    assert "result.json: content differs from its manifest digest" in output and "1 damaged" in output
    code, output = cli(["cache", "verify", "--repair", "--cache-dir", str(cache_dir)])
    assert code == 0 and "quarantined" in output, output
    code, output = cli(["cache", "verify", "--cache-dir", str(cache_dir)])
    assert code == 0 and "0 damaged" in output, output
    output, numbers = run()
    assert numbers == first and "damaged entry" not in output


def test_a_full_disk_is_one_line_naming_the_path(tiny_run, cli, monkeypatch) -> None:
    import errno

    run, cache_dir, _first = tiny_run
    for entry in list(Cache(cache_dir).entries("stages")):
        if entry.meta.get("stage") == "stage3-fusion":
            Cache(cache_dir).reject("stages", entry.key, ".dir", "test")

    def no_space(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("shutil.copytree", no_space)
    code, output = cli(["run", str(next(cache_dir.parent.glob("tiny.toml"))), "--cache-dir", str(cache_dir),
                        "--tracking-uri", f"sqlite:///{cache_dir.parent / 'mlflow.db'}"])
    assert code == 2, output
    error = [line for line in output.splitlines() if line.startswith("error")]
    assert len(error) == 1 and "no space left on the device of" in error[0] and str(cache_dir) in error[0]
    assert "Traceback" not in output
    assert not list((cache_dir / "stages").glob("*/.tmp-*"))  # no partial entry left behind


def _labels_db(tmp_path: Path) -> Path:
    from erc_bench_labellers.store import LabelStore, label_key

    from erc_bench import LabelOutcome

    path = tmp_path / "labels.sqlite"
    store = LabelStore(path)
    store.put_many("p", "m", [(label_key("p", "m", "t", f"x{i}"), LabelOutcome("positive", "ok"), 3, 1)
                              for i in range(10)])
    assert store.backup() is not None
    store.put_many("p", "m", [(label_key("p", "m", "t", "late"), LabelOutcome("negative", "ok"), 3, 1)])
    store.close()
    return path


@pytest.mark.parametrize("damage", ["garbage", "truncated", "zero-bytes"])
def test_a_damaged_label_store_is_restored_from_its_backup_and_lost_answers_counted(tmp_path, damage, caplog
                                                                                   ) -> None:
    from erc_bench_labellers.store import LabelStore, label_key

    path = _labels_db(tmp_path)
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink(missing_ok=True)
    data = path.read_bytes()
    path.write_bytes({"garbage": os.urandom(len(data)), "truncated": data[:1500], "zero-bytes": b""}[damage])
    store = LabelStore(path)
    assert len(store.get_many([label_key("p", "m", "t", f"x{i}") for i in range(10)])) == 10
    assert store.lost == {label_key("p", "m", "t", "late")}  # stored after the backup: will be re-asked
    line = next(r.getMessage() for r in caplog.records if "restored from its backup" in r.getMessage())
    assert "damaged" in line and "labels.backup.sqlite" in line and "1 answers stored after that backup" in line
    assert list((tmp_path / "quarantine").glob("labels.sqlite.*"))


def test_a_store_and_backup_both_damaged_is_one_error_naming_both(tmp_path) -> None:
    from erc_bench_labellers.store import LabelStore

    from erc_bench.core.sqlite_guard import StoreDamaged, backup_path

    path = _labels_db(tmp_path)
    path.write_bytes(b"garbage" * 100)
    backup_path(path).write_bytes(b"")
    with pytest.raises(StoreDamaged) as info:
        LabelStore(path)
    message = str(info.value)
    assert str(path) in message and str(backup_path(path)) in message and "\n" not in message
    assert sqlite3.connect(backup_path(path))  # nothing was deleted
    assert path.read_bytes() == b"garbage" * 100
