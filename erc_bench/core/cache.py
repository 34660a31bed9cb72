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

import errno
import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erc_bench import __version__
from erc_bench.core.errors import UserError
from erc_bench.core.secrets import redact_secrets

_TMP_PREFIX = ".tmp-"
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
QUARANTINE = "quarantine"
"""Folder under the cache root that damaged entries are moved to (a namespace in ``cache ls|du|clear``)."""
_MANIFEST_FORMAT = 1

log = logging.getLogger("erc_bench.cache")


class CacheFull(UserError):
    """The disk the cache lives on is full: one line naming the path and the space needed."""


def _hash_bytes(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def _hash_file(path: Path) -> str:
    h = hashlib.blake2b(digest_size=20)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_of(path: Path) -> dict[str, list[Any]]:
    """``{relative file: [size, blake2b]}`` of a file (key ``""``) or of every file under a folder."""
    if path.is_dir():
        return {f.relative_to(path).as_posix(): [f.stat().st_size, _hash_file(f)]
                for f in sorted(path.rglob("*")) if f.is_file()}
    return {"": [path.stat().st_size, _hash_file(path)]}


def check_manifest(path: Path, manifest: dict[str, list[Any]], data: bytes | None = None) -> str | None:
    """What differs between ``path`` and its manifest (``file: what failed``), or None when it matches.
    Sizes are compared first (free), digests only when every size matches. ``data``: a file's bytes
    already read (no second read)."""
    if not path.is_dir():
        size, digest = manifest.get("", [None, None])
        actual = len(data) if data is not None else path.stat().st_size
        if actual != size:
            return f"{path.name}: {actual} bytes, the manifest says {size}"
        if (_hash_bytes(data) if data is not None else _hash_file(path)) != digest:
            return f"{path.name}: content differs from its manifest digest"
        return None
    present = {f.relative_to(path).as_posix(): f for f in path.rglob("*") if f.is_file()}
    for name in sorted(set(manifest) - set(present)):
        return f"{name}: missing"
    for name in sorted(set(present) - set(manifest)):
        return f"{name}: not in the manifest"
    for name, (size, _digest) in sorted(manifest.items()):
        actual = present[name].stat().st_size
        if actual != size:
            return f"{name}: {actual} bytes, the manifest says {size}"
    for name, (_size, digest) in sorted(manifest.items()):
        if _hash_file(present[name]) != digest:
            return f"{name}: content differs from its manifest digest"
    return None


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
        self._write_meta(target, suffix, meta, {"": [len(data), _hash_bytes(data)]})
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
                raise_if_disk_full(exc, target.parent, _size(Path(source)))
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

    def verify(self, repair: bool = False) -> tuple[int, list[str], int]:
        """Check every entry against its manifest: (entries checked, one line per damaged one, entries
        without a manifest). ``repair``: damaged entries are quarantined (the next run recomputes them) and
        entries without a manifest are loaded and adopted, or quarantined when they do not load."""
        checked, damaged, legacy = 0, [], 0
        report, self.report = self.report, lambda line: None
        try:
            for entry in list(self.entries()):
                if entry.namespace == QUARANTINE or entry.path.parent == self.root:
                    continue
                checked += 1
                suffix = entry.meta.get("suffix", "")
                manifest, broken = self._manifest(entry.path)
                failure = broken or (check_manifest(entry.path, manifest) if manifest is not None else None)
                if manifest is None and failure is None:
                    failure = _load_check(entry.path)
                    if failure is None:
                        legacy += 1
                        if repair:
                            self.adopt(entry.namespace, entry.key, suffix)
                        continue
                if failure:
                    damaged.append(f"{entry.namespace}/{entry.key[:16]}{suffix}: {failure}")
                    if repair:
                        self._quarantine(entry.namespace, entry.path)
        finally:
            self.report = report
        return checked, damaged, legacy

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
            if path.name.endswith(_SQLITE_SIDECARS) or (namespace and path.stem != namespace) or \
                    (path.suffix == ".keys" and path.with_suffix(".sqlite").exists()):  # a store's key journal
                continue
            size = sum(_size(s) for s in [path, path.with_suffix(".keys"),
                                          *(path.with_name(path.name + x) for x in _SQLITE_SIDECARS)]
                       if s.exists() and (s == path or path.suffix == ".sqlite"))
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
                if entry.path.suffix == ".sqlite":  # its key journal goes with it
                    entry.path.with_suffix(".keys").unlink(missing_ok=True)
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


def _meta_path(target: Path) -> Path:
    return target.with_name(f"{target.name}.meta.json")


def with_suppress(action: Any, *args: Any) -> None:
    try:
        action(*args)
    except (OSError, ValueError):
        pass


def _load_check(path: Path) -> str | None:
    """Parse an entry written before manifests by its file kinds (JSON, .npy, .npz, torch weights)."""
    import numpy as np

    files = [f for f in sorted(path.rglob("*")) if f.is_file()] if path.is_dir() else [path]
    for f in files:
        try:
            if f.suffix == ".json":
                json.loads(f.read_bytes())
            elif f.suffix == ".npy":
                np.load(f, allow_pickle=False)
            elif f.suffix == ".npz":
                with np.load(f, allow_pickle=False) as arrays:
                    for name in arrays.files:
                        arrays[name]
            elif f.suffix == ".pt":
                import torch

                torch.load(f, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
            return f"{f.name}: does not load ({type(exc).__name__})"
    return None


def raise_if_disk_full(exc: BaseException, where: Path, needed: int) -> None:
    """A full disk (or quota) is one line naming the folder, the bytes needed and the bytes free."""
    errors = [exc]
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        errors += [e for e in exc.args[0] if isinstance(e, BaseException)]
    full = any(isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT) for e in errors)
    full = full or (isinstance(exc, shutil.Error) and "No space left" in str(exc))
    if not full:
        return
    try:
        free = shutil.disk_usage(where).free
    except OSError:
        free = 0
    raise CacheFull(f"no space left on the device of {where}: writing {_human(needed)} there failed "
                    f"({_human(free)} free); free at least that much, or point --cache-dir / ERC_BENCH_CACHE "
                    "at a larger disk, and rerun (finished work is cached)") from None


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} TiB"
