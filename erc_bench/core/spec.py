"""Benchmark specs: TOML, validated completely before anything heavy runs.

Every error is a ``SpecError`` that prints as ``file: key.path: message``.
The structure is checked by pydantic models that forbid unknown keys, then each
component's ``params`` by that component's own ``Params`` model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomllib
from pydantic import BaseModel, ValidationError

from erc_bench.core.errors import PluginError, SpecError
from erc_bench.core.plugin_host import PluginHost, host
from erc_bench.core.resolved import LoadedSlots, ResolvedComponent
from erc_bench.core.spec_checks import did_you_mean, expand_env
from erc_bench.core.spec_schema import (  # noqa: F401 - re-exported: the spec's models live beside its loader
    BenchmarkSection,
    ComponentRef,
    DatasetEntry,
    ExecutionSection,
    ModelSection,
    PretrainSection,
    Spec,
    StageTraining,
    TrackingSection,
    TrainingSection,
)


class LoadedSpec(LoadedSlots):
    """A validated benchmark spec with each component slot resolved once (``ResolvedComponent``: registry entry
    and params validated by the component's own ``Params``, defaults filled in), by key path: what ``build``,
    cache keys, MLflow and the leaderboard read, so writing a default out in a spec changes nothing."""

    spec: Spec


# --------------------------------------------------------------------------- loading


def _parse_override_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(raw: dict[str, Any], assignment: str, file: str) -> None:
    """Apply ``key.path=value`` (TOML value, else string); list items by index."""
    if "=" not in assignment:
        raise SpecError(file, assignment, "--set expects key.path=value")
    key_path, value_text = assignment.split("=", 1)
    parts = key_path.strip().split(".")
    node: Any = raw
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise SpecError(file, where, f"--set: no item {part} in a list of {len(node)}")
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.setdefault(part, {})
        else:
            raise SpecError(file, where, "--set: not a table")
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise SpecError(file, key_path, f"--set: no item {last} in a list of {len(node)}")
        node[int(last)] = _parse_override_value(value_text.strip())
    elif isinstance(node, dict):
        node[last] = _parse_override_value(value_text.strip())
    else:
        raise SpecError(file, key_path, "--set: parent is not a table")


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _first_error(exc: ValidationError, prefix: str, model: type[BaseModel] | None = None) -> tuple[str, str]:
    errors = exc.errors()
    # a misspelt key also leaves the real one missing; the misspelling is the error worth naming
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0]) if any(
        e["type"] == "missing" for e in errors) else errors[0]
    loc = _loc_to_path(tuple(err["loc"]))
    path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"].endswith(("_type", "_parsing")) and "input" in err:
        message += f" (got {err['input']!r})"
    if err["type"] == "extra_forbidden":
        message = "unknown key" + (did_you_mean(model, tuple(err["loc"])) if model is not None else "")
    elif err["type"] == "missing":
        message = "required key is missing"
    return path, message


def resolve_slot(file: str, key_path: str, kind: str, ref_plugin: str, params: dict[str, Any],
                 plugin_host: PluginHost) -> ResolvedComponent:
    """Look a slot's component up (once) and check its params against the component's own model, strictly (no
    bool-to-int or string-to-number coercion, as for the toolkit's own keys)."""
    from erc_bench.core.plugin_host import validate_params as validate_component_params

    try:
        registered = plugin_host.get(kind, ref_plugin)
    except PluginError as exc:
        raise SpecError(file, f"{key_path}.plugin", str(exc)) from None
    try:
        validated = validate_component_params(registered, params)
    except ValidationError as exc:
        path, message = _first_error(exc, f"{key_path}.params", registered.cls.Params)
        raise SpecError(file, path, message) from None
    return ResolvedComponent(key_path, kind, registered, validated)


STAGED_SYSTEM = "merits-l"
"""The system a spec without ``[system]`` runs: MERITS-L's staged recipe, configured by ``[model]``,
``[training]`` and ``[pretrain]``."""


def system_plugin(spec: Spec) -> str:
    return spec.system.plugin if spec.system is not None else STAGED_SYSTEM


def uses_staged_recipe(spec: Spec) -> bool:
    """Whether the spec runs MERITS-L's staged recipe (whose ``[model]`` and ``[pretrain]`` slots then count)
    rather than a whole system through ``fit`` / ``predict``."""
    return system_plugin(spec) == STAGED_SYSTEM


def component_slots(spec: Spec) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every (key path, kind, plugin, params) the spec fills, in file order: the datasets, the system, and
    for MERITS-L's staged recipe its model and pre-training components."""
    slots: list[tuple[str, str, str, dict[str, Any]]] = []
    for i, entry in enumerate(spec.datasets):
        slots.append((f"datasets.{i}", "dataset", entry.plugin, entry.params))
    system = spec.system
    slots.append(("system", "system", system_plugin(spec), system.params if system is not None else {}))
    if not uses_staged_recipe(spec):
        return slots
    model = spec.model
    for key, kind in (("text_encoder", "text_encoder"), ("speech_encoder", "speech_encoder"),
                      ("speech_head", "speech_head"), ("asr", "asr"),
                      ("context_model", "context_model"), ("fusion_head", "fusion_head")):
        ref = getattr(model, key)
        if ref is not None:
            slots.append((f"model.{key}", kind, ref.plugin, ref.params))
    if spec.pretrain is not None:
        for key, kind in (("corpus", "dataset"), ("asr", "asr"), ("labeller", "labeller")):
            ref = getattr(spec.pretrain, key)
            slots.append((f"pretrain.{key}", kind, ref.plugin, ref.params))
    return slots


def _check_consistency(file: str, spec: Spec) -> None:
    if not uses_staged_recipe(spec):
        return  # a whole system's settings are its own params
    model = spec.model
    if "text" in model.modalities and model.text_encoder is None:
        raise SpecError(file, "model.text_encoder", "required when 'text' is in model.modalities")
    if "speech" in model.modalities and model.speech_encoder is None:
        raise SpecError(file, "model.speech_encoder", "required when 'speech' is in model.modalities")
    for i, entry in enumerate(spec.datasets):
        if entry.text_source == "asr" and model.asr is None:
            raise SpecError(file, f"datasets.{i}.text_source", "'asr' needs a [model.asr] component")
    if model.training == "joint" and len(model.modalities) < 2:
        raise SpecError(file, "model.training", "'joint' training fuses two modalities; list both in modalities")


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; a component slot (a table naming ``plugin``) and any other value (lists
    included) in the child replace the base's, so params of one plugin never leak into another."""
    out = dict(base)
    for key, value in child.items():
        mergeable = isinstance(value, dict) and "plugin" not in value and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if mergeable else value
    return out


def _read_toml(p: Path, file: str, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Parse a spec; ``extends = "other.toml"`` (relative to this file) inherits and overrides another."""
    if not p.is_file():
        raise SpecError(file, "", "no such spec file")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(file, "", f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise SpecError(file, "", "not UTF-8 text") from None
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise SpecError(file, "extends", "must be a path to another spec")
    parent_path = (p.parent / parent).resolve()
    if not parent_path.is_file():  # a shipped spec's name works here as everywhere a spec is asked for
        from erc_bench.core.shipped_specs import find_shipped

        shipped = find_shipped(parent)
        if shipped is None:
            raise SpecError(file, "extends", f"no such spec file or shipped spec: {parent} (looked for "
                                             f"{parent_path}; shipped specs: erc-bench specs)")
        parent_path = shipped.resolve()
    if parent_path in seen:
        raise SpecError(file, "extends", f"circular extends through {parent_path.name}")
    return _merge(_read_toml(parent_path, str(parent_path), (*seen, p.resolve())), raw)


def read_document(path: str | Path, overrides: list[str] | None = None) -> tuple[str, dict[str, Any], list[str]]:
    """What every kind of spec shares: TOML (a file, or a shipped spec's name), ``extends``, ``--set`` overrides
    and ``${VAR}`` expansion. Returns (file as given, expanded raw dict, ``key: ${VAR}`` of unset variables)."""
    from erc_bench.core.shipped_specs import resolve_spec

    file = str(path)
    raw = _read_toml(resolve_spec(path), file)
    for assignment in overrides or []:
        apply_override(raw, assignment, file)
    unset: list[str] = []
    return file, expand_env(raw, "", file, unset), unset


def load_spec(path: str | Path, overrides: list[str] | None = None,
              plugin_host: PluginHost | None = None) -> LoadedSpec:
    """Read, override, expand and validate a benchmark spec (a file, or a shipped spec's name); raises SpecError
    on the first problem. Other kinds of spec (``care_pretrain``): ``spec_kinds.load_kind_spec``."""
    from erc_bench.core.shipped_specs import resolve_spec

    file, raw, unset = read_document(path, overrides)
    loaded = benchmark_spec(file, raw, unset, plugin_host)
    loaded.path = str(resolve_spec(path))  # the file itself (logged as the run's spec), also for a shipped name
    return loaded


def benchmark_spec(file: str, raw: dict[str, Any], unset: list[str],
                   plugin_host: PluginHost | None = None) -> LoadedSpec:
    """Validate a read benchmark spec: structure, consistency, and each component slot's params."""
    try:
        spec = Spec(**raw)
    except ValidationError as exc:
        raise SpecError(file, *_first_error(exc, "", Spec)) from None
    _check_consistency(file, spec)
    plugin_host = plugin_host or host()
    resolved = {key_path: resolve_slot(file, key_path, kind, plugin, params, plugin_host)
                for key_path, kind, plugin, params in component_slots(spec)}
    return LoadedSpec(path=file, spec=spec, raw=raw, unset_env=unset, resolved=resolved)


def require_env(loaded: Any) -> None:
    """Before a run: every ``${VAR}`` the spec (of any kind: ``path`` and ``unset_env``) uses must be set."""
    if loaded.unset_env:
        key, ref = loaded.unset_env[0].split(": ", 1)
        raise SpecError(loaded.path, key, f"environment variable {ref} is not set; export it before running")
