"""Every form a CARE checkpoint comes in, read into one ``state_dict`` for ``CareNetwork``.

Forms, in the order they are tried:

1. the toolkit's own checkpoint directory (``erc-bench care-pretrain`` writes it):
   ``care_config.json`` (network shape) + ``model.safetensors``;
2. a plain ``state_dict`` file (``.pt`` / ``.bin`` / ``.safetensors``), possibly nested under
   ``state_dict`` / ``model_state_dict`` / ``model``;
3. the authors' wrapper ``state_dict`` (``EmotionClassifier`` around ``SpeechTextModel``):
   ``joint_model.`` (and ``emo_model.``) prefixes are removed and their classifier layers
   (``fc_*``) dropped; both are reported, never silent;
4. a whole pickled module, as the authors' scripts save with ``torch.save(model)``. Unpickling
   can run arbitrary code, so it is refused unless the spec says ``trust_pickle = true``; even
   then a restricted unpickler only admits torch / transformers / tokenizers / numpy globals and
   maps the authors' class names (``SpeechTextModel``, ``EmotionClassifier`` ...) to a plain
   module of ours, whose ``state_dict`` then goes through form 3.

Older transformers saved WavLM's weight-normed positional convolution as ``weight_g`` /
``weight_v``; those names are mapped to today's parametrisation names.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from erc_bench import UserError

CONFIG_FILE = "care_config.json"
WEIGHTS_FILE = "model.safetensors"
WRAPPER_PREFIXES = ("module.", "emo_model.", "joint_model.")
AUTHORS_CLASS_NAMES = frozenset({"SpeechTextModel", "EmotionClassifier", "SpeechClassifier", "SelfAttentionPooling"})
SAFE_GLOBAL_PREFIXES = ("torch", "transformers", "tokenizers", "numpy", "collections", "_codecs", "copyreg")
SAFE_BUILTINS = frozenset({"set", "frozenset", "slice", "range", "complex", "bytearray", "getattr", "object"})
OLD_WEIGHT_NORM = {"pos_conv.conv.weight_g": "pos_conv.conv.parametrizations.weight.original0",
                   "pos_conv.conv.weight_v": "pos_conv.conv.parametrizations.weight.original1"}


@dataclass
class CareWeights:
    """A state_dict for ``CareNetwork``, the network config when the checkpoint carries one, and notes."""

    state: dict[str, Any]
    config: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _authors_module_class() -> type:
    from torch import nn

    class AuthorsModule(nn.Module):
        """Stand-in for the authors' classes: holds the unpickled submodules and parameters, runs nothing."""

    return AuthorsModule


def _mapped_pickle_module() -> Any:
    """A ``pickle``-like module for ``torch.load`` whose Unpickler maps and restricts globals."""
    import types

    authors_module = _authors_module_class()

    class MappedUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if name in AUTHORS_CLASS_NAMES and not module.startswith(SAFE_GLOBAL_PREFIXES):
                return authors_module
            builtin = module in ("builtins", "__builtin__") and name in SAFE_BUILTINS
            if builtin or (module, name) == ("argparse", "Namespace"):
                return super().find_class(module, name)
            if module.split(".")[0] in SAFE_GLOBAL_PREFIXES:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"refusing global {module}.{name} (not torch/transformers/the authors' "
                                         "model classes)")

    return types.SimpleNamespace(Unpickler=MappedUnpickler, load=pickle.load, __name__="care_mapped_pickle")


def _nested_state(obj: Any, where: Path) -> dict[str, Any]:
    import torch

    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise UserError(f"care: {where} holds a {type(obj).__name__}, not a state_dict")
    return dict(obj)


def _read_file(path: Path, trust_pickle: bool) -> tuple[dict[str, Any], list[str]]:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path)), []
        except Exception as exc:  # noqa: BLE001 - a corrupt file is the user's to fix
            raise UserError(f"care: cannot read {path}: {type(exc).__name__}: {exc}") from None
    try:
        return _nested_state(torch.load(str(path), map_location="cpu", weights_only=True), path), []
    except pickle.UnpicklingError:
        if not trust_pickle:
            raise UserError(f"care: {path} holds pickled objects (e.g. a whole module), not a plain state_dict; "
                            "unpickling can run arbitrary code, so it is refused: save model.state_dict() instead, "
                            "or set trust_pickle = true if you trust the file") from None
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"care: cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=False, pickle_module=_mapped_pickle_module())
    except Exception as exc:  # noqa: BLE001 - a refused global or a broken pickle: one line
        raise UserError(f"care: cannot unpickle {path}: {exc}") from None
    return _nested_state(obj, path), [f"unpickled a whole {type(obj).__name__} module (trust_pickle = true)"]


def read_weights(path: Path, trust_pickle: bool = False) -> CareWeights:
    """Read any supported form; returns the network's keys, with wrapper prefixes and classifiers removed."""
    config = None
    if path.is_dir():
        config_file, weights = path / CONFIG_FILE, path / WEIGHTS_FILE
        if not config_file.is_file() or not weights.is_file():
            raise UserError(f"care: {path} is a folder but not a care-pretrain checkpoint "
                            f"(needs {CONFIG_FILE} and {WEIGHTS_FILE})")
        config = json.loads(config_file.read_text(encoding="utf-8"))
        path = weights
    state, notes = _read_file(path, trust_pickle)
    state, notes = unwrap_authors_keys(state, notes)
    return CareWeights(state, config, notes)


def unwrap_authors_keys(state: dict[str, Any], notes: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Strip wrapper prefixes, drop the authors' classifier layers, rename old weight-norm keys; report each."""
    out: dict[str, Any] = {}
    stripped: set[str] = set()
    dropped: list[str] = []
    renamed = False
    for key, value in state.items():
        name = key
        while name.startswith(WRAPPER_PREFIXES):
            prefix = next(p for p in WRAPPER_PREFIXES if name.startswith(p))
            stripped.add(prefix)
            name = name[len(prefix):]
        if name.startswith("fc_"):
            dropped.append(name)
            continue
        renamed = renamed or name in OLD_WEIGHT_NORM
        out[OLD_WEIGHT_NORM.get(name, name)] = value
    if stripped:
        notes.append(f"removed wrapper prefixes {sorted(stripped)}")
    if dropped:
        notes.append(f"dropped {len(dropped)} classifier keys of the authors' wrapper: {sorted(dropped)[:4]}")
    if renamed:
        notes.append("renamed old weight-norm keys (weight_g/weight_v) of the positional convolution")
    return out, notes


def load_into(network: Any, state: dict[str, Any], ignored_prefixes: tuple[str, ...]) -> None:
    """Load strictly (after ignoring text-only parts); any mismatch is one line naming the keys."""
    state = {k: v for k, v in state.items() if not k.startswith(ignored_prefixes)}
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}" for k in sorted(set(state) & set(expected))
              if tuple(getattr(state[k], "shape", ())) != tuple(expected[k].shape)]
    if missing or unexpected or shapes:
        def show(keys: list[str]) -> str:
            return f"{len(keys)} {keys[:4]}{' ...' if len(keys) > 4 else ''}"

        raise UserError(f"care: checkpoint does not match the CARE network: missing {show(missing)}, unexpected "
                        f"{show(unexpected)}, wrong shape {show(shapes)} (set wavlm_config / roberta_config / "
                        "shared_layers to the checkpoint's network, or give a care-pretrain folder)")
    network.load_state_dict(state, strict=True)


def acoustic_dim_of(state: dict[str, Any], default: int = 256) -> int:
    """The acoustic projection's width (the target features' dimension the checkpoint was trained on)."""
    weight = state.get("linear.weight")
    return int(weight.shape[0]) if weight is not None and getattr(weight, "ndim", 0) == 2 else default


def save_checkpoint_dir(network: Any, config: dict[str, Any], out: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` then ``care_config.json`` into ``out``, each atomically (temp file, rename),
    so a kill mid-write never leaves a truncated file; other files in ``out`` are left alone."""
    import os

    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    tmp = out / f".{WEIGHTS_FILE}.tmp"
    save_file(state, str(tmp))
    os.replace(tmp, out / WEIGHTS_FILE)
    tmp = out / f".{CONFIG_FILE}.tmp"
    tmp.write_text(json.dumps({**config, **(extra or {})}, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, out / CONFIG_FILE)
    return out
