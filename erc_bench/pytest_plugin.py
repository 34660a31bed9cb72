"""pytest fixtures for plugin authors, registered with pytest through erc-bench's ``pytest11`` entry point.

In a plugin package's tests::

    def test_my_fusion_head_meets_the_contract(erc_bench_contract):
        erc_bench_contract("fusion_head", "my-fusion", {"hidden": 16})

    def test_my_fusion_head_runs_end_to_end(erc_bench_tiny_run):
        outcome = erc_bench_tiny_run(fusion_head={"plugin": "my-fusion"})
        assert any(s.stage == "stage3-fusion" for s in outcome.scores)

Importing this module is cheap (no torch): pytest loads it in every session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def erc_bench_contract() -> Callable[..., Any]:
    """``check(kind, name, params=None, num_labels=4)``: strict params, constructor, module contract."""
    from erc_bench.testing import check_component

    return check_component


@pytest.fixture
def erc_bench_tiny_run(tmp_path: Path) -> Callable[..., Any]:
    """``run(**slots)``: the tiny recipe on the demo corpus with these slots, in a fresh cache and store."""
    from erc_bench.testing import run_tiny_spec

    def run(**slots: dict[str, Any]) -> Any:
        return run_tiny_spec(tmp_path, "tiny-plugin-check", **slots)

    return run
