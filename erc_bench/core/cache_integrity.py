"""What keeps a cache entry honest once it is written: its manifest, the load check of entries older than
manifests, and a full disk reported as one line.

A manifest is ``{relative file: [size, blake2b]}`` of an entry's file or folder;
``check_manifest`` compares sizes first (free) and digests only when every size
matches, and says what failed as ``file: what``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from erc_bench.core.errors import UserError


class CacheFull(UserError):
    """The disk the cache lives on is full: one line naming the path and the space needed."""


def hash_bytes(data: bytes) -> str:
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
        if (hash_bytes(data) if data is not None else _hash_file(path)) != digest:
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


def load_check(path: Path) -> str | None:
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
