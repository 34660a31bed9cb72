"""What a plugin author tests a component with: its contract checks, and a tiny end-to-end run.

``check_component(kind, name, params)`` does what ``erc-bench run`` does at set-up
for every component a spec names: validates the params strictly, constructs the
component (a constructor that raises is one line naming it), and for context
models, fusion heads and speech heads builds the module and checks its contract
on a dummy batch (shapes, dtypes, finite values, padding ignored;
``erc_bench.core.contracts``).

``tiny_spec(folder, **slots)`` writes a spec that runs the whole recipe in
seconds on the bundled demo corpus (its first conversations, a randomly
initialised one-layer text encoder, acoustic statistics, one or two epochs per
stage) with the given slots replaced, e.g. ``fusion_head={"plugin": "mine"}``;
``run_tiny_spec`` runs it into a fresh cache and SQLite MLflow store in that
folder and returns the outcome (per stage and seed scores).

Installed with erc-bench, the pytest plugin ``erc_bench.pytest_plugin`` offers
both as fixtures: ``erc_bench_contract`` and ``erc_bench_tiny_run``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TINY_CONVERSATIONS = 3
"""Conversations kept per split of the demo corpus in a tiny run (``--limit``)."""

_SLOTS = ("text_encoder", "speech_encoder", "speech_head", "context_model", "fusion_head", "asr")

_TINY_SPEC = {
    "benchmark": {"name": "tiny-plugin-check", "seeds": [0], "device": "cpu"},
    "datasets": [{"plugin": "demo"}],
    "model": {
        "modalities": ["text", "speech"],
        "use_pretrained_text": False,
        "speech_encoder": {"plugin": "acoustic-stats"},
        "context_model": {"plugin": "bigru-attention", "params": {"hidden": 8, "heads": 2}},
        "fusion_head": {"plugin": "concat", "params": {}},
        "text_encoder": {"plugin": "hf-text", "params": {
            "model": "sentence-transformers/all-MiniLM-L6-v2", "hidden_dim": 8, "max_length": 16,
            "random_config": {"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1,
                              "num_attention_heads": 2, "intermediate_size": 32}}},
    },
    "training": {"stage1": {"epochs": 1, "batch_size": 8}, "stage2": {"epochs": 2, "batch_size": 4},
                 "stage3": {"epochs": 2, "batch_size": 4}},
}


def check_component(kind: str, name: str, params: dict[str, Any] | None = None, num_labels: int = 4) -> Any:
    """Validate, construct and (for module kinds) contract-check a registered component; returns it built.
    Raises the one-line ``PluginError`` / ``ComponentError`` that ``erc-bench run`` would print."""
    from erc_bench.core.contracts import check_module
    from erc_bench.core.plugin_host import build

    component = build(kind, name, params or {})
    check_module(kind, name, component, num_labels)
    return component


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def tiny_spec(folder: str | Path, name: str = "tiny-plugin-check", **slots: dict[str, Any]) -> Path:
    """Write ``folder/tiny.toml``: the tiny recipe with ``slots`` (``fusion_head={"plugin": ..., "params": ...}``,
    ``context_model=...``, ``speech_head=...``, ...) replacing the defaults."""
    unknown = sorted(set(slots) - set(_SLOTS))
    if unknown:
        raise ValueError(f"unknown slot(s) {unknown}; choose from {', '.join(_SLOTS)}")
    spec = json.loads(json.dumps(_TINY_SPEC))
    spec["benchmark"]["name"] = name
    spec["model"].update(slots)
    lines: list[str] = []
    for section, table in spec.items():
        if isinstance(table, list):
            for item in table:
                lines += [f"[[{section}]]", *(f"{k} = {_toml_value(v)}" for k, v in item.items()), ""]
            continue
        lines.append(f"[{section}]")
        nested = section == "training"  # [training.stage1] ... as tables, every other section inline
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if not nested]
        lines.append("")
        for key, sub in table.items() if nested else ():
            lines += [f"[{section}.{key}]", *(f"{k} = {_toml_value(v)}" for k, v in sub.items()), ""]
    path = Path(folder) / "tiny.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run_tiny_spec(folder: str | Path, name: str = "tiny-plugin-check", **slots: dict[str, Any]) -> Any:
    """Run ``tiny_spec(folder, name, **slots)`` into ``folder/cache`` and ``folder/mlflow.db``; returns the
    ``BenchmarkOutcome`` (``.scores``: per dataset, seed and stage, the metrics of every split)."""
    from rich.console import Console

    from erc_bench.core.spec import load_spec
    from erc_bench.runs.benchmark import run_benchmark

    folder = Path(folder)
    loaded = load_spec(tiny_spec(folder, name, **slots))
    return run_benchmark(loaded, tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", cache_dir=folder / "cache",
                         console=Console(quiet=True), limit=TINY_CONVERSATIONS)
