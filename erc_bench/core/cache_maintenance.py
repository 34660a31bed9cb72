"""Maintaining a cache (``erc-bench cache ls|du|clear|verify``), apart from reading and writing its entries
(``cache.py``): every data file with its metadata, files an older version wrote without any, and the stores
kept beside the namespaces (the SQLite label store with its WAL files and key journal); checking every entry
against its manifest."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erc_bench.core.cache_integrity import check_manifest, load_check

_TMP_PREFIX = ".tmp-"
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")
QUARANTINE = "quarantine"
"""Folder under the cache root that damaged entries are moved to (a namespace in ``cache ls|du|clear``)."""


@dataclass(frozen=True)
class Entry:
    namespace: str
    key: str
    path: Path
    size: int
    modified: float
    meta: dict[str, Any]


class CacheMaintenance:
    """The maintenance half of ``Cache``; reading, writing and quarantining entries are ``Cache``'s."""

    root: Path
    report: Any
    # Cache's own methods that ``verify`` uses
    _manifest: Callable[[Path], tuple[dict[str, list[Any]] | None, str | None]]
    adopt: Callable[[str, str, str], None]
    _quarantine: Callable[[str, Path], Path | None]

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
                    failure = load_check(entry.path)
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
            yield Entry(ns, key, data, size_of(data), data.stat().st_mtime, meta)
        yield from self._root_files(namespace)
        for data in sorted(self.root.glob("*/*/*")):
            ns = data.parent.parent.name
            if (namespace and ns != namespace) or data in claimed or data.name.endswith(".meta.json") \
                    or data.name.startswith(_TMP_PREFIX):
                continue
            key, _, suffix = data.name.partition(".")
            yield Entry(ns, key, data, size_of(data), data.stat().st_mtime, {"suffix": f".{suffix}"})

    def _root_files(self, namespace: str | None) -> Iterator[Entry]:
        """Stores kept beside the namespaces (the SQLite label store): namespace = file stem, WAL files included."""
        for path in sorted(p for p in self.root.iterdir() if p.is_file() and not p.name.startswith(_TMP_PREFIX)):
            if path.name.endswith(_SQLITE_SIDECARS) or (namespace and path.stem != namespace) or \
                    (path.suffix == ".keys" and path.with_suffix(".sqlite").exists()):  # a store's key journal
                continue
            size = sum(size_of(s) for s in [path, path.with_suffix(".keys"),
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


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
