"""The content-addressed cache: keys, atomic writes under SIGKILL, concurrent writers."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from erc_bench.core.cache import Cache


def test_key_depends_on_every_part() -> None:
    base = Cache.key("emb", "hf-ssl", {"layer": 3}, "abc", "1.0")
    assert base == Cache.key("emb", "hf-ssl", {"layer": 3}, "abc", "1.0")
    assert base != Cache.key("emb2", "hf-ssl", {"layer": 3}, "abc", "1.0")
    assert base != Cache.key("emb", "care", {"layer": 3}, "abc", "1.0")
    assert base != Cache.key("emb", "hf-ssl", {"layer": 4}, "abc", "1.0")
    assert base != Cache.key("emb", "hf-ssl", {"layer": 3}, "abd", "1.0")
    assert base != Cache.key("emb", "hf-ssl", {"layer": 3}, "abc", "1.1")


def test_round_trips_and_management(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put_json("transcripts", "k1", {"text": "hello"}, meta={"component": "faster-whisper"})
    cache.put_array("embeddings", "k2", np.arange(6, dtype=np.float32).reshape(2, 3))
    source = tmp_path / "ckpt"
    source.mkdir()
    (source / "weights.bin").write_bytes(b"w" * 100)
    cache.put_dir("checkpoints", "k3", source)
    assert cache.get_json("transcripts", "k1") == {"text": "hello"}
    assert cache.get_array("embeddings", "k2").tolist() == [[0, 1, 2], [3, 4, 5]]
    assert (cache.get_dir("checkpoints", "k3") / "weights.bin").read_bytes() == b"w" * 100
    assert cache.get_json("transcripts", "missing") is None
    usage = cache.usage()
    assert usage["checkpoints"] == (1, 100) and usage["transcripts"][0] == 1
    assert [e.meta["component"] for e in cache.entries("transcripts")] == ["faster-whisper"]
    assert cache.clear("embeddings") == 1
    assert cache.get_array("embeddings", "k2") is None
    assert cache.clear() == 2 and list(cache.entries()) == []


WRITER = textwrap.dedent("""
    import hashlib, sys
    from erc_bench.core.cache import Cache
    cache = Cache(sys.argv[1])
    tag = sys.argv[2]
    for round_ in range(int(sys.argv[3])):
        for i in range(40):
            # deterministic content per key: both writers write the same bytes for a key
            payload = hashlib.sha256(f"entry-{i}".encode()).digest() * 20000
            cache.put_bytes("stress", f"{i:04d}", payload, meta={"writer": tag})
""")


def _valid(cache: Cache) -> int:
    count = 0
    for i in range(40):
        data = cache.get_bytes("stress", f"{i:04d}")
        if data is None:
            continue
        assert data == hashlib.sha256(f"entry-{i}".encode()).digest() * 20000, f"entry {i} corrupt"
        count += 1
    return count


def test_killed_writer_leaves_no_corrupt_entry(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), "killed", "1000"])
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    cache = Cache(tmp_path)
    assert _valid(cache) > 0  # something was written, and everything readable is complete
    cache.clear()
    assert not list((tmp_path / "stress").rglob(".tmp-*"))  # clear also sweeps stray temporaries


def test_two_runs_sharing_a_cache_do_not_corrupt_it(tmp_path: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag, "3"]) for tag in ("a", "b")]
    deadline = time.time() + 60
    cache = Cache(tmp_path)
    while any(p.poll() is None for p in procs) and time.time() < deadline:
        _valid(cache)  # concurrent reads never see a partial entry
    assert all(p.wait(timeout=60) == 0 for p in procs)
    assert _valid(cache) == 40


def test_cache_commands(cli, tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put_json("transcripts", "a" * 64, {"text": "hi"}, meta={"component": "faster-whisper"})
    cache.put_array("speech-embeddings", "b" * 64, np.zeros((4, 256), dtype=np.float32))

    def run(*argv: str) -> str:
        code, output = cli(["cache", *argv, "--cache-dir", str(tmp_path)])
        assert code == 0, output
        return output

    listing = run("ls")
    assert "transcripts" in listing and "faster-whisper" in listing and "aaaaaaaaaaaaaaaa" in listing
    usage = run("du")
    assert "speech-embeddings" in usage and "4.1 KiB" in usage and "total" in usage
    assert "removed 1 entries" in run("clear", "transcripts", "--yes")
    assert [e.namespace for e in cache.entries()] == ["speech-embeddings"]
    assert "removed 1 entries" in run("clear", "--yes")


def test_a_checkpoint_and_its_summary_under_one_key_are_both_listed_sized_and_cleared(tmp_path: Path, cli) -> None:
    """Pre-training stores its checkpoint (a directory) and its summary (JSON) under the same key."""
    cache = Cache(tmp_path / "c")
    weights = tmp_path / "ckpt"
    weights.mkdir()
    (weights / "model.safetensors").write_bytes(b"w" * 5000)
    cache.put_dir("pretrain", "k" * 64, weights, meta={"kind": "text-pretrain"})
    cache.put_json("pretrain", "k" * 64, {"val_accuracy": 0.5})
    listed = {e.path.suffix: e for e in cache.entries("pretrain")}
    assert set(listed) == {".dir", ".json"} and listed[".dir"].size == 5000
    assert listed[".dir"].meta["kind"] == "text-pretrain"
    assert cache.usage()["pretrain"] == (2, 5000 + listed[".json"].size)
    code, output = cli(["cache", "ls", "--cache-dir", str(cache.root)])
    assert code == 0 and output.count("pretrain") >= 2
    assert cache.clear("pretrain") == 2
    assert cache.get_dir("pretrain", "k" * 64) is None and not list((cache.root / "pretrain").rglob("*.*"))


def test_artifacts_written_by_the_old_layout_and_the_label_store_are_listed_and_cleared(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    folder = cache.root / "pretrain" / "ab"
    (folder / f"{'ab' * 32}.dir").mkdir(parents=True)
    (folder / f"{'ab' * 32}.dir" / "w.bin").write_bytes(b"x" * 300)
    (folder / f"{'ab' * 32}.json").write_text("{}")
    (folder / f"{'ab' * 32}.meta.json").write_text('{"suffix": ".json"}')  # the dir's meta, overwritten
    (cache.root / "labels.sqlite").write_bytes(b"s" * 100)
    (cache.root / "labels.sqlite-wal").write_bytes(b"w" * 50)
    usage = cache.usage()
    assert usage["pretrain"] == (2, 302) and usage["labels"] == (1, 150)
    assert cache.clear() == 3
    assert not (cache.root / "labels.sqlite").exists() and not (cache.root / "labels.sqlite-wal").exists()
    assert not any(p.is_file() or p.suffix == ".dir" for p in (cache.root / "pretrain").rglob("*"))

