"""Write constraints.txt: the exact versions of erc-bench's dependency closure in the environment tests ran in.

Rather than a raw ``pip freeze`` (which would also pin whatever else happens to be installed), this walks the
requirements of erc-bench with every extra (``all`` and ``test``) through the installed distributions' metadata,
so the file pins exactly what an install of erc-bench can pull in. torch is left out: its build (CPU or CUDA)
is the user's choice and tox pins it on its own. Run it inside the environment the suite passed in:

    python scripts/freeze_constraints.py            # writes constraints.txt at the repository root
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import sys
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = {"torch", "erc-bench"}


def closure(requirements: list[Requirement]) -> dict[str, str]:
    """Every installed distribution reachable from ``requirements`` (markers evaluated with their extras)."""
    pinned: dict[str, str] = {}
    queue = [(req, "") for req in requirements]
    seen: set[tuple[str, str]] = set()
    while queue:
        req, extra = queue.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        for wanted in sorted(req.extras) or [""]:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            try:
                dist = md.distribution(name)
            except md.PackageNotFoundError:
                sys.exit(f"{name} is not installed in this environment: install erc-bench[all,test] first")
            pinned[name] = dist.version
            queue.extend((Requirement(r), wanted) for r in dist.requires or [])
    return pinned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "constraints.txt")
    args = parser.parse_args()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for items in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in items if not r.startswith("erc-bench[")]
    pinned = {n: v for n, v in closure(reqs).items() if n not in LEFT_OUT}
    python = ".".join(map(str, sys.version_info[:2]))
    lines = [f"# Versions the erc-bench test suite passed with (Python {python}, Linux x86_64, CPU torch).",
             "# Regenerate with: python scripts/freeze_constraints.py",
             *(f"{name}=={version}" for name, version in sorted(pinned.items()))]
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(pinned)} pins -> {args.out}")


if __name__ == "__main__":
    main()
