"""Content-addressed artifact cache: transcripts, labels, embeddings, checkpoints.

A key is the SHA-256 of (namespace, component name, its params, code version,
input content digest), so changing any of them misses the cache and nothing
stale is ever read. Writes go to a temporary file in the same directory and are
renamed into place (``os.replace`` is atomic on POSIX): a killed run leaves at
worst a stray temporary file, never a truncated entry, and two runs writing the
same key concurrently both produce the same complete file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erc_bench import __version__
from erc_bench.core.secrets import redact_secrets

_TMP_PREFIX = ".tmp-"
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def default_cache_dir() -> Path:
    """``$ERC_BENCH_CACHE`` or ``$XDG_CACHE_HOME/erc-bench`` (``~/.cache/erc-bench``)."""
    if os.environ.get("ERC_BENCH_CACHE"):
        return Path(os.environ["ERC_BENCH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "erc-bench"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_text(text: str) -> str:
    return digest_bytes(text.encode("utf-8"))


_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}


def digest_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, memoised per (path, size, mtime) within a process."""
    p = Path(path)
    st = p.stat()
    memo_key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if memo_key not in _FILE_DIGESTS:
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _FILE_DIGESTS[memo_key] = h.hexdigest()
    return _FILE_DIGESTS[memo_key]


@dataclass(frozen=True)
class Entry:
    namespace: str
    key: str
    path: Path
    size: int
    modified: float
    meta: dict[str, Any]


class Cache:
    """A directory of namespaced, content-addressed entries."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    # ------------------------------------------------------------------ keys
    @staticmethod
    def key(namespace: str, component: str, params: Any, input_digest: str, code_version: str | None = None) -> str:
        payload = canonical_json(
            {"ns": namespace, "component": component, "params": params, "code": code_version or __version__,
             "input": input_digest}
        )
        return digest_text(payload)

    def _path(self, namespace: str, key: str, suffix: str) -> Path:
        return self.root / namespace / key[:2] / f"{key}{suffix}"

    # --------------------------------------------------------------- atomic io
    def _atomic_write(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_bytes(self, namespace: str, key: str, data: bytes, meta: dict[str, Any] | None = None,
                  suffix: str = ".bin") -> Path:
        target = self._path(namespace, key, suffix)
        self._atomic_write(target, data)
        self._write_meta(target, suffix, meta)
        return target

    def _write_meta(self, target: Path, suffix: str, meta: dict[str, Any] | None) -> None:
        """``<key><suffix>.meta.json``: one per artifact, so a checkpoint and its summary (same key, another
        suffix) never overwrite each other's metadata and both stay listed, sized and clearable."""
        record = redact_secrets({"suffix": suffix, "created": time.time(), **(meta or {})})
        self._atomic_write(target.with_name(f"{target.name}.meta.json"), canonical_json(record).encode())

    def get_bytes(self, namespace: str, key: str, suffix: str = ".bin") -> bytes | None:
        target = self._path(namespace, key, suffix)
        try:
            return target.read_bytes()
        except FileNotFoundError:
            return None

    def put_json(self, namespace: str, key: str, value: Any, meta: dict[str, Any] | None = None) -> Path:
        return self.put_bytes(namespace, key, canonical_json(value).encode("utf-8"), meta, suffix=".json")

    def get_json(self, namespace: str, key: str) -> Any | None:
        data = self.get_bytes(namespace, key, suffix=".json")
        return None if data is None else json.loads(data)

    def put_array(self, namespace: str, key: str, array: Any, meta: dict[str, Any] | None = None) -> Path:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, np.asarray(array), allow_pickle=False)
        return self.put_bytes(namespace, key, buffer.getvalue(), meta, suffix=".npy")

    def get_array(self, namespace: str, key: str) -> Any | None:
        data = self.get_bytes(namespace, key, suffix=".npy")
        if data is None:
            return None
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)

    def put_dir(self, namespace: str, key: str, source: str | Path, meta: dict[str, Any] | None = None) -> Path:
        """Copy a directory (e.g. a checkpoint) in, then rename it into place atomically."""
        target = self._path(namespace, key, ".dir")
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=target.parent))
        try:
            shutil.copytree(source, tmp, dirs_exist_ok=True)
            try:
                os.rename(tmp, target)
            except OSError:  # another run put the same content first
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._write_meta(target, ".dir", meta)
        return target

    def get_dir(self, namespace: str, key: str) -> Path | None:
        target = self._path(namespace, key, ".dir")
        return target if target.is_dir() else None

    # ------------------------------------------------------------ management
    def entries(self, namespace: str | None = None) -> Iterator[Entry]:
        """Every artifact: those with metadata, and any data without (written by an older version)."""
        if not self.root.is_dir():
            return
        claimed: set[Path] = set()
        for meta_file in sorted(self.root.glob("*/*/*.meta.json")):
            ns = meta_file.parent.parent.name
            if namespace and ns != namespace:
                continue
            try:
                meta = json.loads(meta_file.read_text())
            except (OSError, ValueError):
                continue
            key = meta_file.name.split(".", 1)[0]
            data = meta_file.with_name(key + meta.get("suffix", ".bin"))
            if not data.exists() or data in claimed:
                continue
            claimed.add(data)
            yield Entry(ns, key, data, _size(data), data.stat().st_mtime, meta)
        yield from self._root_files(namespace)
        for data in sorted(self.root.glob("*/*/*")):
            ns = data.parent.parent.name
            if (namespace and ns != namespace) or data in claimed or data.name.endswith(".meta.json") \
                    or data.name.startswith(_TMP_PREFIX):
                continue
            key, _, suffix = data.name.partition(".")
            yield Entry(ns, key, data, _size(data), data.stat().st_mtime, {"suffix": f".{suffix}"})

    def _root_files(self, namespace: str | None) -> Iterator[Entry]:
        """Stores kept beside the namespaces (the SQLite label store): namespace = file stem, WAL files included."""
        for path in sorted(p for p in self.root.iterdir() if p.is_file() and not p.name.startswith(_TMP_PREFIX)):
            if path.name.endswith(_SQLITE_SIDECARS) or (namespace and path.stem != namespace):
                continue
            size = sum(_size(s) for s in [path, *(path.with_name(path.name + x) for x in _SQLITE_SIDECARS)]
                       if s.exists())
            yield Entry(path.stem, path.name, path, size, path.stat().st_mtime, {"suffix": path.suffix})

    def usage(self) -> dict[str, tuple[int, int]]:
        """Per namespace: (entry count, bytes)."""
        out: dict[str, tuple[int, int]] = {}
        for entry in self.entries():
            count, size = out.get(entry.namespace, (0, 0))
            out[entry.namespace] = (count + 1, size + entry.size)
        return out

    def clear(self, namespace: str | None = None) -> int:
        """Delete entries (all, or one namespace); returns how many were removed."""
        removed = 0
        for entry in list(self.entries(namespace)):
            if entry.path.is_dir():
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                entry.path.unlink(missing_ok=True)
                for sidecar in _SQLITE_SIDECARS:
                    entry.path.with_name(entry.path.name + sidecar).unlink(missing_ok=True)
            entry.path.with_name(f"{entry.path.name}.meta.json").unlink(missing_ok=True)
            legacy = entry.path.with_name(f"{entry.key}.meta.json")  # older versions: one meta per key
            if not [p for p in entry.path.parent.glob(f"{entry.key}.*") if not p.name.endswith(".meta.json")]:
                legacy.unlink(missing_ok=True)
            removed += 1
        for stray in self.root.glob(f"*/*/{_TMP_PREFIX}*") if self.root.is_dir() else []:
            shutil.rmtree(stray, ignore_errors=True) if stray.is_dir() else stray.unlink(missing_ok=True)
        return removed


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
