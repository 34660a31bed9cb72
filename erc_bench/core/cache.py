"""Content-addressed artifact cache: transcripts, labels, embeddings, checkpoints.

A key is the SHA-256 of (namespace, component name, its params, code version,
input content digest), so changing any of them misses the cache and nothing
stale is ever read. Writes go to a temporary file in the same directory and are
renamed into place (``os.replace`` is atomic on POSIX): a killed run leaves at
worst a stray temporary file, never a truncated entry, and two runs writing the
same key concurrently both produce the same complete file.

Atomic writes do not protect an entry once it is written (a disk error, a bad
copy, a hand edit): every entry's metadata therefore carries a manifest of its
files' sizes and BLAKE2b digests, written last. Reading verifies it; an entry that
fails is reported in one line, moved to ``<root>/quarantine/`` and missed, so the
caller recomputes it and the recomputed entry replaces it. An entry written
before manifests existed (no ``manifest`` in its metadata) is checked by loading
it (JSON, arrays, stage results) and, when it loads, adopted: a manifest is
written for it then (the README's migration note).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from erc_bench import __version__
from erc_bench.core.cache_integrity import (  # noqa: F401 - CacheFull re-exported: callers catch it from here
    CacheFull,
    check_manifest,
    hash_bytes,
    load_check,
    manifest_of,
    raise_if_disk_full,
)
from erc_bench.core.cache_maintenance import _TMP_PREFIX, QUARANTINE, CacheMaintenance, Entry, size_of  # noqa: F401
from erc_bench.core.secrets import redact_secrets

_MANIFEST_FORMAT = 1

log = logging.getLogger("erc_bench.cache")


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


class Cache(CacheMaintenance):
    """A directory of namespaced, content-addressed entries."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.repairs: list[str] = []  # one line per damaged entry met by this process
        self.report: Any = log.warning  # where those lines go (the run prints them on its console)

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
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            raise_if_disk_full(exc, target.parent, len(data))
            raise

    def put_bytes(self, namespace: str, key: str, data: bytes, meta: dict[str, Any] | None = None,
                  suffix: str = ".bin") -> Path:
        target = self._path(namespace, key, suffix)
        self._atomic_write(target, data)
        self._write_meta(target, suffix, meta, {"": [len(data), hash_bytes(data)]})
        return target

    def _write_meta(self, target: Path, suffix: str, meta: dict[str, Any] | None,
                    manifest: dict[str, list[Any]]) -> None:
        """``<key><suffix>.meta.json``: one per artifact, so a checkpoint and its summary (same key, another
        suffix) never overwrite each other's metadata and both stay listed, sized and clearable. It carries the
        entry's manifest and is written last: an entry is complete once its manifest exists."""
        record = redact_secrets({"suffix": suffix, "created": time.time(), **(meta or {})})
        record |= {"manifest": manifest, "manifest_format": _MANIFEST_FORMAT}
        self._atomic_write(_meta_path(target), canonical_json(record).encode())

    def _manifest(self, target: Path) -> tuple[dict[str, list[Any]] | None, str | None]:
        """(manifest, None); (None, None) for an entry written before manifests; (None, why) if unreadable."""
        meta_file = _meta_path(target)
        try:
            record = json.loads(meta_file.read_bytes())
        except FileNotFoundError:
            return None, None
        except (OSError, ValueError) as exc:
            return None, f"{meta_file.name}: unreadable ({type(exc).__name__})"
        if not isinstance(record, dict):
            return None, f"{meta_file.name}: not a metadata record"
        manifest = record.get("manifest")
        if manifest is None:
            return None, None
        if not isinstance(manifest, dict):
            return None, f"{meta_file.name}: damaged manifest"
        return manifest, None

    def _read(self, namespace: str, key: str, suffix: str) -> tuple[bytes | None, bool]:
        """(bytes, verified): verified against the manifest; an entry that fails is quarantined and missed."""
        target = self._path(namespace, key, suffix)
        for attempt in range(2):  # a second look: a concurrent writer may be between the data and its manifest
            try:
                data = target.read_bytes()
            except FileNotFoundError:
                return None, False
            manifest, broken = self._manifest(target)
            failure = broken or (check_manifest(target, manifest, data) if manifest is not None else None)
            if not failure:
                break
            if attempt == 0:
                time.sleep(0.05)
        if failure:
            self.reject(namespace, key, suffix, failure)
            return None, False
        return data, manifest is not None

    def get_bytes(self, namespace: str, key: str, suffix: str = ".bin") -> bytes | None:
        data, verified = self._read(namespace, key, suffix)
        if data is not None and not verified:
            self.adopt(namespace, key, suffix)  # raw bytes: nothing to parse, trusted once (README)
        return data

    def _load(self, namespace: str, key: str, suffix: str, parse: Any) -> Any | None:
        """Read, verify, parse; an entry that does not parse is quarantined too (older entries' only check)."""
        data, verified = self._read(namespace, key, suffix)
        if data is None:
            return None
        try:
            value = parse(data)
        except Exception as exc:  # noqa: BLE001 - any parse failure means the entry is unusable
            self.reject(namespace, key, suffix, f"{key}{suffix}: does not load ({type(exc).__name__}: "
                                                f"{str(exc)[:80]})")
            return None
        if not verified:
            self.adopt(namespace, key, suffix)
        return value

    def put_json(self, namespace: str, key: str, value: Any, meta: dict[str, Any] | None = None) -> Path:
        return self.put_bytes(namespace, key, canonical_json(value).encode("utf-8"), meta, suffix=".json")

    def get_json(self, namespace: str, key: str) -> Any | None:
        return self._load(namespace, key, ".json", json.loads)

    def put_array(self, namespace: str, key: str, array: Any, meta: dict[str, Any] | None = None) -> Path:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, np.asarray(array), allow_pickle=False)
        return self.put_bytes(namespace, key, buffer.getvalue(), meta, suffix=".npy")

    def get_array(self, namespace: str, key: str) -> Any | None:
        import numpy as np

        return self._load(namespace, key, ".npy", lambda data: np.load(io.BytesIO(data), allow_pickle=False))

    def put_dir(self, namespace: str, key: str, source: str | Path, meta: dict[str, Any] | None = None) -> Path:
        """Copy a directory (e.g. a checkpoint) in, then rename it into place atomically. A folder already
        there (one that failed to load, or an incompatible version's) is replaced, never kept."""
        target = self._path(namespace, key, ".dir")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=target.parent))
        try:
            try:
                shutil.copytree(source, tmp, dirs_exist_ok=True)
            except (OSError, shutil.Error) as exc:
                raise_if_disk_full(exc, target.parent, size_of(Path(source)))
                raise
            manifest = manifest_of(tmp)
            for _attempt in range(5):
                if target.exists():  # move the old folder aside first: rename cannot replace a non-empty one
                    old = target.with_name(f"{_TMP_PREFIX}old-{os.getpid()}-{time.monotonic_ns()}")
                    with_suppress(os.rename, target, old)
                    shutil.rmtree(old, ignore_errors=True)
                try:
                    os.rename(tmp, target)
                    break
                except OSError:  # another run put the same content in between: try again
                    continue
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._write_meta(target, ".dir", meta, manifest)
        return target

    def get_dir(self, namespace: str, key: str, adopt: bool = True) -> Path | None:
        """The verified folder, or None (absent, or damaged: then quarantined). A folder written before
        manifests is returned as it is; ``adopt=False`` leaves adopting it to a caller that loads it first
        (``StageResult.from_cache``), otherwise it is adopted now."""
        target = self._path(namespace, key, ".dir")
        for attempt in range(2):  # a second look, as in ``_read``
            if not target.is_dir():
                return None
            manifest, broken = self._manifest(target)
            failure = broken or (check_manifest(target, manifest) if manifest is not None else None)
            if not failure:
                break
            if attempt == 0:
                time.sleep(0.05)
        if failure:
            self.reject(namespace, key, ".dir", failure)
            return None
        if manifest is None and adopt:
            self.adopt(namespace, key, ".dir")
        return target

    # ------------------------------------------------------------- damage
    def reject(self, namespace: str, key: str, suffix: str, why: str) -> None:
        """Report a damaged entry in one line and move it (with its metadata) to ``quarantine/``."""
        target = self._path(namespace, key, suffix)
        moved = self._quarantine(namespace, target)
        line = (f"cache: damaged entry {namespace}/{key[:16]}{suffix}: {why}; "
                + (f"moved to {moved.parent}, recomputing it" if moved else "recomputing it"))
        self.repairs.append(line)
        self.report(line)

    def _quarantine(self, namespace: str, target: Path) -> Path | None:
        folder = self.root / QUARANTINE / namespace
        folder.mkdir(parents=True, exist_ok=True)
        moved = None
        for path in (target, _meta_path(target)):
            dest = folder / path.name
            if dest.is_dir():
                shutil.rmtree(dest, ignore_errors=True)
            try:
                os.replace(path, dest)
            except FileNotFoundError:  # another run moved it first, or there was no metadata
                continue
            except OSError:  # replacing a non-empty folder, or another file system: drop it instead
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                continue
            moved = moved or dest
        return moved

    def adopt(self, namespace: str, key: str, suffix: str) -> None:
        """Write the manifest of an entry an older version wrote, once it has loaded (trusted from now on)."""
        target = self._path(namespace, key, suffix)
        if not target.exists() or self._manifest(target) != (None, None):
            return  # gone, already has a manifest, or unreadable metadata (then it is rejected on its read)
        meta: dict[str, Any] = {}
        with_suppress(lambda: meta.update(json.loads(_meta_path(target).read_bytes())))
        meta.pop("suffix", None)
        meta.pop("created", None)
        self._write_meta(target, suffix, meta | {"adopted": True}, manifest_of(target))

def _meta_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.meta.json")


def with_suppress(action: Any, *args: Any) -> None:
    try:
        action(*args)
    except (OSError, ValueError):
        pass


