"""Shared fixtures. Tests never reach the network: Hugging Face runs offline."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_stores(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own cache and MLflow store unless it sets one itself."""
    base = tmp_path_factory.mktemp("stores")
    monkeypatch.setenv("ERC_BENCH_CACHE", str(base / "cache"))
    monkeypatch.setenv("ERC_BENCH_TRACKING_URI", f"sqlite:///{base / 'mlflow.db'}")


@pytest.fixture
def plugin_host() -> Iterator[object]:
    """The process-wide plugin host, reset afterwards so registrations never leak between tests."""
    from erc_bench.core import plugin_host as plugins

    plugins.reset_host()
    yield plugins.host()
    plugins.reset_host()


@pytest.fixture
def register_plugin(plugin_host):  # noqa: ANN001, ANN201
    """Register a throwaway plugin object (hookimpls as attributes); always unregistered afterwards."""
    from erc_bench.core.plugin_host import Source

    added = []

    def _register(name: str, **hooks: object) -> types.SimpleNamespace:
        plugin = types.SimpleNamespace(**hooks)
        plugin_host.register(plugin, Source(name, f"test-{name}", "0.0"))
        added.append(plugin)
        return plugin

    yield _register
    for plugin in added:
        plugin_host.unregister(plugin)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Run the real ``erc-bench`` entry point in-process: ``cli([...]) -> (exit code, stdout + stderr)``."""
    from erc_bench.cli import main

    def run(argv: list[str]) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["erc-bench", *argv])
        monkeypatch.setenv("COLUMNS", "200")
        with pytest.raises(SystemExit) as exit_info:
            main()
        captured = capsys.readouterr()
        return int(exit_info.value.code or 0), captured.out + captured.err

    return run
