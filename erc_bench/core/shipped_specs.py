"""The benchmark specs that ship with erc-bench, addressable by name (``erc-bench run quickstart``).

The repository's ``benchmarks/`` folder is the single source of truth. A wheel
carries it as the package data folder ``erc_bench/specs`` (pyproject maps that
package onto ``benchmarks/``), keeping its layout, so relative ``extends`` paths
such as ``../quickstart.toml`` resolve the same installed or in a checkout. In a
checkout (tests, PYTHONPATH runs) the folder is found next to the package.

A spec is named by its path below that folder without ``.toml``: ``quickstart``,
``merits_l_iemocap``, ``demo/joint``, ``ablations/text_only``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import tomllib

from erc_bench.core.errors import SpecError

_SKIPPED_DIRS = {"perf"}  # benchmarks/perf holds measurement scripts, not specs


@dataclass(frozen=True)
class ShippedSpec:
    name: str
    path: Path
    description: str


def specs_root() -> Path | None:
    """The installed ``erc_bench/specs`` folder, else the checkout's ``benchmarks/``."""
    installed = files("erc_bench") / "specs"
    if installed.is_dir() and (Path(str(installed)) / "quickstart.toml").is_file():
        return Path(str(installed))
    for parent in Path(__file__).resolve().parents[:3]:
        candidate = parent / "benchmarks"
        if (candidate / "quickstart.toml").is_file():
            return candidate
    return None


def _describe(path: Path) -> str:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return "(unreadable)"
    return str(raw.get("benchmark", {}).get("description", ""))


def shipped_specs() -> list[ShippedSpec]:
    """Every shipped spec, top-level ones first, then by folder."""
    root = specs_root()
    if root is None:
        return []
    found = [p for p in root.rglob("*.toml") if not (set(p.relative_to(root).parts[:-1]) & _SKIPPED_DIRS)]
    found.sort(key=lambda p: (len(p.relative_to(root).parts), p.relative_to(root).as_posix()))
    return [ShippedSpec(p.relative_to(root).with_suffix("").as_posix(), p, _describe(p)) for p in found]


def find_shipped(argument: str | Path) -> Path | None:
    """The shipped spec named ``argument`` (``quickstart``, ``demo/joint``, ``quickstart.toml``), if any."""
    name = str(argument).removesuffix(".toml").strip("/")
    return next((spec.path for spec in shipped_specs() if spec.name == name), None)


def resolve_spec(argument: str | Path) -> Path:
    """A spec file path as given, else the shipped spec of that name; neither is a one-line SpecError."""
    path = Path(argument).expanduser()
    if path.is_file():
        return path
    shipped = find_shipped(argument)
    if shipped is not None:
        return shipped
    if path.suffix == ".toml" or "/" in str(argument) and path.parent.is_dir():
        raise SpecError(str(argument), "", "no such spec file")
    names = ", ".join(s.name for s in shipped_specs() if "/" not in s.name)
    raise SpecError(str(argument), "", f"no such spec file or shipped spec (shipped: {names}; all: erc-bench specs)")
