"""Compare a run's results table with the committed expected numbers; print every difference.

    erc-bench run benchmarks/quickstart.toml --output results.json
    python scripts/check_expected.py results.json                     # against benchmarks/expected/quickstart.json
    python scripts/check_expected.py results.json --write             # record a new expected file (then update
                                                                      # the README's table with it)

Compared per stage and seed: test and validation weighted F1 (UA and macro F1 come from the same
predictions). On the platform the expected file was written on (same CPU model, torch, numpy, the
CPU kernels torch dispatches to and its thread count) the numbers must be equal to the last printed digit (1e-4 %, i.e.
1e-6 as a fraction: exact up to JSON's float round trip); elsewhere each may differ by up to the file's
``tolerance`` (a fraction, or per stage with a ``default``: what was measured across platforms, see the
README's "Do these numbers reproduce?"). A change that moves the
numbers fails here until the README and the expected file are updated with it.

Exit status: 0 when everything matches, 1 on a difference beyond the tolerance or a missing stage or seed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

EXPECTED = Path(__file__).resolve().parent.parent / "benchmarks" / "expected" / "quickstart.json"
EXACT = 1e-6
METRICS = ("test_weighted_f1", "validation_weighted_f1")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fingerprint() -> dict[str, str]:
    """What decides the last bits of a CPU run: the CPU model, the libraries and the kernels torch picks."""
    import numpy
    import torch

    return {"machine": platform.machine(), "cpu": _cpu_model(), "torch": torch.__version__,
            "numpy": numpy.__version__, "cpu_capability": str(torch.backends.cpu.get_cpu_capability()),
            "threads": str(torch.get_num_threads())}


def _table(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, dict[str, float]]]:
    return {(row["dataset"], row["stage"]): {m: row[m] for m in METRICS} for row in document["rows"]}


def compare(results: dict[str, Any], expected: dict[str, Any], tolerance: float | dict[str, float]) -> list[str]:
    """Lines naming every difference beyond ``tolerance`` (fractions; one for all, or per stage with a
    ``"default"``), and every missing stage or seed."""
    got, want = _table(results), _table(expected)
    problems = []
    for key in sorted(set(want) | set(got)):
        name = "/".join(key)
        if key not in got or key not in want:
            problems.append(f"{name}: {'missing from the run' if key not in got else 'not in the expected file'}")
            continue
        allowed = tolerance.get(key[1], tolerance["default"]) if isinstance(tolerance, dict) else float(tolerance)
        for metric in METRICS:
            for seed in sorted(set(want[key][metric]) | set(got[key][metric])):
                a, b = got[key][metric].get(seed), want[key][metric].get(seed)
                if a is None or b is None:
                    problems.append(f"{name} {metric} seed {seed}: {'missing' if a is None else 'unexpected'}")
                elif abs(a - b) > allowed:
                    problems.append(f"{name} {metric} seed {seed}: {100 * a:.2f} % here, expected {100 * b:.2f} % "
                                    f"(difference {100 * (a - b):+.2f} points, allowed {100 * allowed:.2f})")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the JSON written by erc-bench run --output")
    parser.add_argument("--expected", type=Path, default=EXPECTED)
    parser.add_argument("--write", action="store_true", help="write the expected file from these results")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    here = fingerprint()
    if args.write:
        old = json.loads(args.expected.read_text(encoding="utf-8")) if args.expected.exists() else {}
        document = {"about": old.get("about", "scripts/check_expected.py compares a run's table with this"),
                    "tolerance": old.get("tolerance", 0.0), "platform": here,
                    "rows": [{"dataset": r["dataset"], "stage": r["stage"], **{m: r[m] for m in METRICS}}
                             for r in results["rows"]]}
        args.expected.parent.mkdir(parents=True, exist_ok=True)
        args.expected.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.expected}")
        return 0
    expected = json.loads(args.expected.read_text(encoding="utf-8"))
    recorded = expected["platform"]
    same = all(here.get(k) == v for k, v in recorded.items())
    tolerance = EXACT if same else expected["tolerance"]
    if same:
        print(f"same platform as {args.expected.name} ({here['cpu']}, torch {here['torch']}, "
              f"{here['cpu_capability']}): numbers must be equal")
    else:
        differs = ", ".join(f"{k} {here.get(k)} vs {v}" for k, v in recorded.items() if here.get(k) != v)
        print(f"another platform ({differs}): numbers may differ by the expected file's tolerance "
              f"({json.dumps(tolerance)}, fractions)")
    problems = compare(results, expected, tolerance)
    for line in problems:
        print(line)
    n = sum(len(row[m]) for row in expected["rows"] for m in METRICS)
    print(f"{n - len(problems)} of {n} expected numbers match" if problems else f"all {n} expected numbers match")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
