"""Which code a component is: its distribution, version and, for a working-tree install, its sources' digest.

A cached result is only honest if the code that produced it is part of its key.
A plugin under development changes without its version changing, so for a
distribution installed from a folder (``pip install -e .`` or ``pip install
./dir``: PEP 610's ``direct_url.json`` has ``dir_info``) and for a class that
belongs to no installed distribution at all (registered by hand), the digest of
every ``.py`` file of the class's top-level package is part of its identity.
A release installed from an index or a wheel is identified by its version.

The digest is per top-level package, not per module: a component's module
imports its helpers from the same package, and a change there must retrain it
too; another package's edit retrains nothing of this one.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata as md
import json
import sys
from pathlib import Path
from typing import Any

from erc_bench.core.capabilities import Fingerprinted

SOURCE_DIGEST_CHARS = 16


@functools.lru_cache(maxsize=1)
def _distributions_by_package() -> dict[str, list[str]]:
    return dict(md.packages_distributions())


def _distribution(top_level: str) -> md.Distribution | None:
    if top_level not in _distributions_by_package():  # installed since the map was read (a plugin put on sys.path)
        _distributions_by_package.cache_clear()
    for name in _distributions_by_package().get(top_level, []):
        try:
            return md.distribution(name)
        except md.PackageNotFoundError:
            continue
    return None


def _installed_from_folder(dist: md.Distribution) -> bool:
    text = dist.read_text("direct_url.json")
    if not text:
        return False
    try:
        return "dir_info" in json.loads(text)
    except ValueError:
        return False


def _package_files(top_level: str) -> list[Path]:
    module = sys.modules.get(top_level)
    if module is None:
        return []
    paths = getattr(module, "__path__", None)
    if paths:  # a package: every .py below each of its folders
        return sorted({p for folder in paths for p in Path(folder).rglob("*.py")
                       if "__pycache__" not in p.parts})
    file = getattr(module, "__file__", None)
    return [Path(file)] if file else []


def source_digest(top_level: str) -> str:
    """Digest of the relative paths and bytes of a top-level package's ``.py`` files (a module: its file)."""
    h = hashlib.sha256()
    files = _package_files(top_level)
    roots = [Path(p) for p in getattr(sys.modules.get(top_level), "__path__", [])] or [f.parent for f in files]
    for path in files:
        rel = next((path.relative_to(r).as_posix() for r in roots if path.is_relative_to(r)), path.name)
        h.update(rel.encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:SOURCE_DIGEST_CHARS]


_CODE_IDENTITIES: dict[type, dict[str, str]] = {}


def code_identity(cls: type) -> dict[str, str]:
    """``{"package", "version"}`` and, for a working-tree install or an unpackaged class, ``"source"``.

    Memoised per class for the process: a run reads its code once, at set-up (a file edited while
    a run is going does not change the run's code, which was imported before).
    """
    if cls not in _CODE_IDENTITIES:
        _CODE_IDENTITIES[cls] = _code_identity(cls)
    return _CODE_IDENTITIES[cls]


def _code_identity(cls: type) -> dict[str, str]:
    top_level = cls.__module__.split(".", 1)[0]
    dist = _distribution(top_level)
    if dist is None:
        return {"package": "?", "version": "?", "source": source_digest(top_level)}
    out = {"package": dist.metadata["Name"] or top_level, "version": dist.version or "?"}
    if _installed_from_folder(dist):
        out["source"] = source_digest(top_level)
    return out


def describe_code(identity: dict[str, str]) -> str:
    """``pkg 1.0`` or ``pkg 1.0 (source 0123abcd...)`` for messages and MLflow params."""
    text = f"{identity.get('package', '?')} {identity.get('version', '?')}"
    return f"{text} (source {identity['source']})" if "source" in identity else text


def component_identity(plugin: str, params: Any, component: Any) -> dict[str, Any]:
    """What names a built component in a cache key or a leaderboard digest: plugin name, validated params
    (defaults filled in), code identity, and the component's own ``fingerprint()`` when it has one (for
    what params cannot say, e.g. the digest of a checkpoint the params point at)."""
    if hasattr(params, "model_dump"):
        params = params.model_dump(mode="json")
    identity: dict[str, Any] = {"plugin": plugin, "params": params, "code": code_identity(type(component))}
    if isinstance(component, Fingerprinted):
        identity["fingerprint"] = component.fingerprint()
    return identity


def reset() -> None:
    """Forget memoised identities (tests edit a plugin's source within one process)."""
    _CODE_IDENTITIES.clear()
    _distributions_by_package.cache_clear()
