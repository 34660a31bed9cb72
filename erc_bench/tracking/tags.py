"""What MLflow shows, by name: the tags, run kinds, artifacts and metric names every run uses, where the
default store lives, how a spec becomes flat params, and the environment tags of a run.

This is the one module that spells MLflow names (``tracker.py`` holds the ``Tracker`` that writes runs).
Params are flattened from the spec, which the spec loader has already checked holds no secrets; values of
keys that name secrets are dropped here as a second line of defence.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from erc_bench import __version__

TRACKING_ENV = "ERC_BENCH_TRACKING_URI"

# ---------------------------------------------------------------------------------------------------- names
# Metric names follow one scheme, always fractions in [0, 1]: ``[dataset/][stage/]split/metric`` for scores of
# the selected weights (``test/weighted_f1``, ``stage3-fusion/test/ua``); ``epoch/split/metric`` for per-epoch
# curves (a separate name because MLflow shows a metric's highest step as its value, which would hide the
# selected epoch's score); ``_mean`` / ``_std`` suffixes for the across-seed summary.

# MLflow's own tags. MLflow 3 opens an experiment without a kind on the GenAI traces page; this kind makes
# it open as a classic training experiment (runs table, charts). The UI reads the note tags as descriptions.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND_TRAINING = "custom_model_development"
NOTE_TAG = "mlflow.note.content"
PARENT_RUN_TAG = "mlflow.parentRunId"

# erc-bench's tags.
RUN_KIND_TAG = "erc_bench.run_kind"
SYSTEM_TAG = "erc_bench.system"
DATASET_TAG = "erc_bench.dataset"
SEED_TAG = "erc_bench.seed"
STAGE_TAG = "erc_bench.stage"
CACHED_TAG = "erc_bench.cached"
FINAL_STAGE_TAG = "erc_bench.final_stage"
SPEC_FILE_TAG = "erc_bench.spec_file"
DATASET_INDEX_TAG = "erc_bench.dataset_index"
LIMIT_TAG = "erc_bench.limit"
SPEAKER_IDENTITY_TAG = "erc_bench.uses_speaker_identity"  # "yes" / "no": a component reads who is speaking
SPEAKERS_TAG = "erc_bench.speakers"  # how the corpus named its speakers: "given", or "none: one speaker assumed"
DATASET_CITATION_TAG = "erc_bench.dataset_citation"  # the dataset card's BibTeX
SEED_RUN_KIND = "dataset-seed"
SUMMARY_RUN_KIND = "benchmark-summary"
PRETRAIN_RUN_KIND = "pretrain"

# Artifacts.
SPEC_DIR = "spec"
RESOLVED_SPEC_ARTIFACT = "spec/resolved.json"
PROBLEMS_ARTIFACT = "problems.json"
DATASET_CARD_ARTIFACT = "dataset_card.json"
PREDICTIONS_ARTIFACT = "predictions.csv"
CONFUSION_ARTIFACT = "confusion.json"
HISTORY_ARTIFACT = "history.json"
SUMMARY_ARTIFACT = "summary.json"
PRETRAIN_SUMMARY_ARTIFACT = "pretrain_summary.json"

# Scores shown in notes and summaries, in this order.
HEADLINE_SPLIT, HEADLINE_METRIC = "test", "weighted_f1"
SUMMARY_METRICS = ("weighted_f1", "ua", "macro_f1", "accuracy")
_HISTORY_KEYS = {"train_loss": ("train", "loss"), "val_loss": ("validation", "loss"),
                 "val_weighted_f1": ("validation", "weighted_f1"), "val_accuracy": ("validation", "accuracy"),
                 "lr": ("train", "lr")}


def metric_name(split: str, metric: str, stage: str | None = None, dataset: str | None = None) -> str:
    """The one spelling of a score: ``[dataset/][stage/]split/metric``."""
    return "/".join(part for part in (dataset, stage, split, metric) if part)


def epoch_metric_name(history_key: str) -> str | None:
    """``train_loss`` -> ``epoch/train/loss``; None for keys that are not curves (``epoch`` itself)."""
    pair = _HISTORY_KEYS.get(history_key)
    return None if pair is None else metric_name(pair[0], pair[1], stage="epoch")


def pretrain_metric_name(*parts: str) -> str:
    """Counts of the pre-training corpus: ``pretrain/items``, ``pretrain/labels/positive`` ..."""
    return "/".join(("pretrain", *parts))


def finished_seed_runs_filter(dataset: str | None = None) -> str:
    """The MLflow search filter for finished dataset-seed runs (optionally of one dataset): what the
    leaderboard, the report and ``compare`` read, so a crashed or still-running run shows in none of them."""
    query = f"tags.`{RUN_KIND_TAG}` = '{SEED_RUN_KIND}' and attributes.status = 'FINISHED'"
    return query + (f" and tags.`{DATASET_TAG}` = '{dataset}'" if dataset else "")


def headline_name() -> str:
    """The parent run's headline metric: the final stage's test weighted F1."""
    return metric_name(HEADLINE_SPLIT, HEADLINE_METRIC)


# A seed run's leaderboard identity (see report/identity.py): config digest, dataset key and its shown label.
SYSTEM_DIGEST_TAG = "erc_bench.system_digest"
DATASET_KEY_TAG = "erc_bench.dataset_key"
DATASET_LABEL_TAG = "erc_bench.dataset_label"
_SECRETISH = ("api_key", "apikey", "secret", "token", "password")
_MAX_PARAM = 500


def is_secret_key(key: object) -> bool:
    """A key that names a secret (``api_key``), not one naming the variable that holds it (``api_key_env``)."""
    text = str(key).lower()
    return any(s in text for s in _SECRETISH) and not text.endswith("_env")


def default_store_dir() -> Path:
    """Where the default local store lives: ``./mlruns`` under the working directory."""
    return Path.cwd() / "mlruns"


def default_tracking_uri() -> str:
    """``$ERC_BENCH_TRACKING_URI``, else a SQLite store in ``./mlruns/mlflow.db`` (no server needed)."""
    if os.environ.get(TRACKING_ENV):
        return os.environ[TRACKING_ENV]
    store = default_store_dir()
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}} -> {"a.b": "1"}``; lists by index; secret-named keys dropped."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for key, sub in value.items():
            if is_secret_key(key):
                continue
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, sub in enumerate(value):
            out.update(flatten(sub, f"{prefix}.{i}"))
    else:
        text = str(value)
        out[prefix] = text if len(text) <= _MAX_PARAM else text[: _MAX_PARAM - 3] + "..."
    return out


def git_commit(path: Path | None = None) -> str:
    """The commit of the erc-bench checkout (or 'unknown' for an installed wheel)."""
    where = path or Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def environment_tags(device: str) -> dict[str, str]:
    """Git commit, erc-bench / plugin / torch versions and device, for every run."""
    from erc_bench.core.plugin_host import host

    tags = {
        "erc_bench.version": __version__,
        "erc_bench.git_commit": git_commit(),
        "erc_bench.device": device,
        "python": platform.python_version(),
    }
    for reg in host().registries.values():
        for entry in reg.entries.values():
            tags[f"plugin.{entry.source.package}"] = entry.source.version
    try:
        import importlib.metadata as md

        tags["torch"] = md.version("torch")
    except Exception:  # noqa: BLE001 - torch missing only matters to the runs that need it
        pass
    return tags


# The stages in the order tables list them (Stage I before II, speech before text, fusion last).
STAGE_ORDER = ["stage1-speech", "stage2-speech", "stage1-text", "stage2-text", "stage3-fusion", "joint-fusion",
               "final"]
