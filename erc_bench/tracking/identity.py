"""Whose number is it: the identity of a system and of a dataset, as the leaderboard keys them.

A leaderboard row is only honest if everything that changes the number is in its key. So:

* a **system** is its benchmark name plus a digest of its resolved configuration (every section,
  every component's params with defaults filled in, the dataset's ``text_source`` and, when set, its
  long-audio policy), leaving out only
  what does not change the system: seeds (rows aggregate over them), the description, the device
  choice, tracking and the other datasets of the spec. Writing a default explicitly, or omitting
  it, gives the same digest; ``--set training.stage3.epochs=1`` gives another.
* a **dataset** is its plugin plus its validated params (fold, class set, ...), where paths count
  by their last component (root folder or CSV name): the same corpus under ``/data`` or ``~/corpora``
  is one dataset, ``iemocap`` with ``classes = 6`` or MOSI's ``52-10-31`` fold is another.
"""

from __future__ import annotations

import copy
from pathlib import PurePath
from typing import Any

from erc_bench.core.cache import canonical_json, digest_text
from erc_bench.tracking.tags import DATASET_KEY_TAG, DATASET_LABEL_TAG, SYSTEM_DIGEST_TAG

DIGEST_CHARS = 12
_NOT_SYSTEM_BENCHMARK_KEYS = ("name", "description", "seeds", "device")


def system_config(resolved: dict[str, Any], dataset_index: int) -> dict[str, Any]:
    """The part of a resolved spec that defines the system measured on dataset ``dataset_index``."""
    config = copy.deepcopy(resolved)
    for key in _NOT_SYSTEM_BENCHMARK_KEYS:
        config.get("benchmark", {}).pop(key, None)
    config.pop("tracking", None)
    datasets = config.pop("datasets", [])
    config["text_source"] = datasets[dataset_index].get("text_source", "reference") if datasets else "reference"
    if datasets and datasets[dataset_index].get("max_seconds") is not None:  # changes long clips' features
        config["long_audio"] = {"max_seconds": datasets[dataset_index]["max_seconds"],
                                "long_audio": datasets[dataset_index].get("long_audio", "skip")}
    return config


def system_digest(resolved: dict[str, Any], dataset_index: int = 0) -> str:
    return digest_text(canonical_json(system_config(resolved, dataset_index)))[:DIGEST_CHARS]


def _path_like(key: str, value: Any) -> bool:
    return isinstance(value, str) and (key in ("root", "manifest", "metadata") or "/" in value or "\\" in value
                                       or key.endswith(("_file", "_dir")))


def dataset_identity(plugin: str, params: dict[str, Any], defaults: dict[str, Any]) -> tuple[str, str]:
    """(key, label): the key holds every param (paths by their last component); the label, shown in tables,
    names the params that differ from the plugin's defaults, except the corpus root."""
    shown = {k: PurePath(v).name if _path_like(k, v) else v for k, v in sorted(params.items())}
    key = f"{plugin}:{digest_text(canonical_json(shown))[:DIGEST_CHARS]}"
    differing = [f"{k}={v}" for k, v in shown.items() if k != "root" and v != defaults.get(k)]
    label = f"{plugin} [{', '.join(differing)}]" if differing else plugin
    return key, label


def identity_tags(resolved: dict[str, Any], dataset_index: int) -> dict[str, str]:
    """The tags that give a seed run of dataset ``dataset_index`` its leaderboard identity."""
    from erc_bench.core.plugin_host import host

    entry = resolved["datasets"][dataset_index]
    fields = host().get("dataset", entry["plugin"]).cls.Params.model_fields
    defaults = {name: f.get_default(call_default_factory=True) for name, f in fields.items() if not f.is_required()}
    key, label = dataset_identity(entry["plugin"], entry["params"], defaults)
    return {SYSTEM_DIGEST_TAG: system_digest(resolved, dataset_index), DATASET_KEY_TAG: key,
            DATASET_LABEL_TAG: label}
