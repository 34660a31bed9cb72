"""Kinds of spec file: the benchmark spec, and any a plugin declares (the speech plugin's CARE pre-training spec).

One loader reads them all: TOML (a file or a shipped spec's name), ``extends``, ``--set``, ``${VAR}``, then the
kind's pydantic model and the ``Params`` of every component slot the kind names, each error one line
``file: key.path: message``. A file's kind is the top-level table only that kind has (``[benchmark]``,
``[care_pretrain]``); a file with none is read as a benchmark spec, whose errors then name the stray table.

A plugin declares a kind through the ``erc_bench_register_spec_kinds`` hook rather than the ``KINDS`` table:
``KINDS`` lists components a spec's slots name and ``build`` constructs; a spec kind is a file a user writes and
a command reads, so it needs a table name, a model and the slots to check, not a Protocol or a registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from erc_bench.core.errors import SpecError
from erc_bench.core.plugin_host import LoadFailure, PluginHost, Source, host
from erc_bench.core.resolved import LoadedSlots, ResolvedComponent

BENCHMARK = "benchmark"


@dataclass(frozen=True)
class SpecKind:
    """A kind of spec file. ``slots`` maps the dotted key path of each component slot (a ``{ plugin, params }``
    table, e.g. ``care_pretrain.corpus``) to its component kind (``dataset``); a slot left unset (None) is
    skipped. ``name`` is what ``erc-bench validate`` prints (``care-pretrain spec``)."""

    name: str
    table: str
    model: type[BaseModel]
    slots: Mapping[str, str] = field(default_factory=dict)
    description: str = ""


class LoadedKindSpec(LoadedSlots):
    """A validated spec of a plugin's kind: as ``LoadedSpec`` (file, expanded raw dict, unset ``${VAR}``, each
    slot resolved once), plus the kind it was read as and its model."""

    kind: str
    spec: Any


def _benchmark_kind() -> SpecKind:
    from erc_bench.core.spec_schema import Spec

    return SpecKind(BENCHMARK, "benchmark", Spec, description="a benchmark: datasets, model, Stages I-III")


def spec_kinds(plugin_host: PluginHost | None = None) -> dict[str, SpecKind]:
    """Every kind of spec file, by name: the benchmark spec first, then those plugins declare. A plugin whose
    hook raises, or that declares a name or table already taken, is recorded in ``plugin_host.failures``
    (``erc-bench plugins`` shows it) and the others keep working."""
    plugin_host = plugin_host or host()
    kinds = {BENCHMARK: _benchmark_kind()}
    for impl in plugin_host.pm.hook.erc_bench_register_spec_kinds.get_hookimpls():
        source = plugin_host._sources.get(id(impl.plugin), Source(impl.plugin_name, "?", "?"))
        found: list[SpecKind] = []
        try:
            impl.function(register=found.append)
        except Exception as exc:  # noqa: BLE001 - a broken hook must not hide the other kinds
            plugin_host.failures.append(LoadFailure(source, f"spec kinds hook: {type(exc).__name__}: {exc}"))
            continue
        for kind in found:
            taken = next((k for k in kinds.values() if kind.name == k.name or kind.table == k.table), None) if (
                isinstance(kind, SpecKind)) else None
            why = (f"spec kinds hook registered {type(kind).__name__}, not a SpecKind" if not isinstance(kind, SpecKind)
                   else f"spec kind '{kind.name}' clashes with '{taken.name}' ([{taken.table}])" if taken else None)
            if why is not None:
                if all(f.error != why for f in plugin_host.failures):  # listed once, however often kinds are read
                    plugin_host.failures.append(LoadFailure(source, why))
                continue
            kinds[kind.name] = kind
    return kinds


def kind_of(file: str, raw: dict[str, Any], kinds: Mapping[str, SpecKind]) -> SpecKind:
    """The kind whose table the file has; none: the benchmark kind; two: a one-line SpecError."""
    present = [kind for kind in kinds.values() if kind.table in raw]
    if len(present) > 1:
        tables = " and ".join(f"[{k.table}]" for k in present)
        raise SpecError(file, present[1].table, f"a spec is one kind of file, this one has {tables}; split it")
    return present[0] if present else kinds[BENCHMARK]


def _slot(spec: BaseModel, key_path: str) -> Any:
    node: Any = spec
    for part in key_path.split("."):
        node = getattr(node, part, None)
        if node is None:
            return None
    return node


def validate_kind(file: str, raw: dict[str, Any], unset: list[str], kind: SpecKind,
                  plugin_host: PluginHost | None = None) -> LoadedKindSpec:
    """Validate a read spec against a plugin's kind: its model, then each slot's plugin name and params."""
    from erc_bench.core.spec import _first_error, resolve_slot

    try:
        spec = kind.model(**raw)
    except ValidationError as exc:
        raise SpecError(file, *_first_error(exc, "", kind.model)) from None
    plugin_host = plugin_host or host()
    resolved: dict[str, ResolvedComponent] = {}
    for key_path, component_kind in kind.slots.items():
        ref = _slot(spec, key_path)
        if ref is not None:
            resolved[key_path] = resolve_slot(file, key_path, component_kind, ref.plugin, ref.params, plugin_host)
    return LoadedKindSpec(path=file, kind=kind.name, spec=spec, raw=raw, unset_env=unset, resolved=resolved)


def load_any_spec(path: str | Path, overrides: list[str] | None = None,
                  plugin_host: PluginHost | None = None) -> tuple[SpecKind, Any]:
    """Read and validate a spec of whichever kind it is: (its kind, a ``LoadedSpec`` for a benchmark spec or a
    ``LoadedKindSpec`` for a plugin's kind)."""
    from erc_bench.core.spec import benchmark_spec, read_document

    file, raw, unset = read_document(path, overrides)
    kind = kind_of(file, raw, spec_kinds(plugin_host))
    if kind.name == BENCHMARK:
        return kind, benchmark_spec(file, raw, unset, plugin_host)
    return kind, validate_kind(file, raw, unset, kind, plugin_host)


def load_kind_spec(path: str | Path, kind: str, overrides: list[str] | None = None,
                   plugin_host: PluginHost | None = None) -> LoadedKindSpec:
    """Read and validate a spec that must be of the plugin kind ``kind`` (``care-pretrain``): what a plugin's
    command calls. A file of another kind is a one-line SpecError naming both."""
    from erc_bench.core.spec import read_document

    file, raw, unset = read_document(path, overrides)
    kinds = spec_kinds(plugin_host)
    if kind not in kinds or kind == BENCHMARK:
        known = ", ".join(k for k in kinds if k != BENCHMARK) or "(none)"
        raise SpecError(file, "", f"no spec kind '{kind}' is registered (plugin spec kinds: {known})")
    found = kind_of(file, raw, kinds)
    if found.name != kind:
        raise SpecError(file, "", f"a {found.name} spec, not a {kind} spec (which has a [{kinds[kind].table}] table)")
    return validate_kind(file, raw, unset, found, plugin_host)
