"""Plugin discovery, the per-kind registries, and ``build`` (class + validated params -> component).

One pluggy PluginManager loads every entry point of the group ``erc_bench``
once, built-ins included, so a third-party plugin is a first-class citizen.
A plugin that fails to import is recorded (package, version, error) and the
others keep working; ``erc-bench plugins`` shows the failure. Registration
checks each class against its kind's Protocol (``KINDS``), so a plugin missing
a method fails when it is listed, not hours into a run.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
from dataclasses import dataclass, field
from typing import Any

import pluggy
from pydantic import BaseModel

from erc_bench.core import hookspecs
from erc_bench.core.errors import PluginError
from erc_bench.core.interfaces import KINDS, Component

ENTRY_POINT_GROUP = "erc_bench"


@dataclass(frozen=True)
class Source:
    """Where a component came from: entry point, distribution and version."""

    plugin: str
    package: str
    version: str

    def __str__(self) -> str:
        return f"{self.plugin} ({self.package} {self.version})"


@dataclass(frozen=True)
class Registered:
    kind: str
    name: str
    cls: type
    source: Source


@dataclass(frozen=True)
class LoadFailure:
    source: Source
    error: str


def missing_members(cls: type, protocol: type) -> list[str]:
    """Names ``protocol`` requires (methods and attributes of it and its Protocol bases) that ``cls`` lacks."""
    required: set[str] = set()
    for base in protocol.__mro__:
        if base is object or not getattr(base, "_is_protocol", False) or base.__module__ == "typing":
            continue
        required |= {n for n in vars(base) if not n.startswith("_")}
        required |= {n for n in getattr(base, "__annotations__", {}) if not n.startswith("_")}
    if Component in protocol.__mro__:
        required -= {"name", "Params"}  # checked above with their own messages
    return sorted(n for n in required if not hasattr(cls, n))


@dataclass
class Registry:
    """Components of one kind, by name. Duplicates are rejected naming both sources."""

    kind: str
    entries: dict[str, Registered] = field(default_factory=dict)

    def add(self, cls: type, source: Source) -> None:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(f"{source}: {self.kind} class {cls.__qualname__} has no string attribute 'name'")
        if getattr(cls, "Params", None) is None:
            raise PluginError(f"{source}: {self.kind} '{name}' has no 'Params' model")
        if name in self.entries:
            first = self.entries[name].source
            raise PluginError(f"duplicate {self.kind} '{name}': registered by {first} and again by {source}")
        missing = missing_members(cls, KINDS[self.kind].protocol)
        if missing:
            raise PluginError(f"{source}: {self.kind} '{name}' ({cls.__qualname__}) does not implement the "
                              f"{KINDS[self.kind].protocol.__name__} interface: missing {', '.join(missing)}")
        self.entries[name] = Registered(self.kind, name, cls, source)

    def get(self, name: str) -> Registered:
        if name in self.entries:
            return self.entries[name]
        known = sorted(self.entries)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise PluginError(f"unknown {self.kind} '{name}'{hint} known: {', '.join(known) or '(none)'}")

    def names(self) -> list[str]:
        return sorted(self.entries)


class PluginHost:
    """The PluginManager plus the registries it fills."""

    def __init__(self, load_entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager("erc_bench")
        self.pm.add_hookspecs(hookspecs.ComponentHooks)
        self.pm.add_hookspecs(hookspecs.CommandHooks)
        self.failures: list[LoadFailure] = []
        self.registration_errors: list[str] = []
        self._sources: dict[int, Source] = {}
        self._registries: dict[str, Registry] | None = None
        if load_entry_points:
            self._load_entry_points()

    def _load_entry_points(self) -> None:
        for dist in md.distributions():
            for ep in dist.entry_points:
                if ep.group != ENTRY_POINT_GROUP:
                    continue
                source = Source(ep.name, dist.metadata["Name"] or "?", dist.version or "?")
                if self.pm.get_plugin(ep.name) is not None:
                    continue  # the same distribution seen twice on sys.path
                try:
                    module = ep.load()
                except Exception as exc:  # noqa: BLE001 - any import failure is reported, not fatal
                    self.failures.append(LoadFailure(source, f"{type(exc).__name__}: {exc}"))
                    continue
                self.register(module, source)
        self.pm.check_pending()

    def register(self, plugin: Any, source: Source) -> None:
        """Register a plugin object (module or instance) under its source's name."""
        self.pm.register(plugin, name=source.plugin)
        self._sources[id(plugin)] = source
        self._registries = None

    def unregister(self, plugin: Any) -> None:
        self.pm.unregister(plugin)
        self._sources.pop(id(plugin), None)
        self._registries = None

    @property
    def registries(self) -> dict[str, Registry]:
        if self._registries is None:
            self._registries = self._collect()
        return self._registries

    def _collect(self) -> dict[str, Registry]:
        registries = {kind: Registry(kind) for kind in KINDS}
        self.registration_errors = []
        for kind, spec in KINDS.items():
            hook_caller = getattr(self.pm.hook, spec.hook)
            for impl in hook_caller.get_hookimpls():
                source = self._sources.get(id(impl.plugin), Source(impl.plugin_name, "?", "?"))

                def register(cls: type, _source: Source = source, _kind: str = kind) -> None:
                    registries[_kind].add(cls, _source)

                try:
                    impl.function(register=register)
                except PluginError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a broken hook must not hide the others
                    self.failures.append(LoadFailure(source, f"{type(exc).__name__}: {exc}"))
        return registries

    def register_commands(self, app: Any) -> None:
        """Let every plugin add its CLI commands; one that raises is recorded and loses only its own commands."""
        for impl in self.pm.hook.erc_bench_register_commands.get_hookimpls():
            source = self._sources.get(id(impl.plugin), Source(impl.plugin_name, "?", "?"))
            try:
                impl.function(app=app)
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not take the whole CLI down
                self.failures.append(LoadFailure(source, f"commands: {type(exc).__name__}: {exc}"))

    def get(self, kind: str, name: str) -> Registered:
        if kind not in self.registries:
            raise PluginError(f"unknown kind '{kind}'; kinds: {', '.join(KINDS)}")
        return self.registries[kind].get(name)


_HOST: PluginHost | None = None


def host() -> PluginHost:
    """The process-wide plugin host; entry points are loaded on first use only."""
    global _HOST
    if _HOST is None:
        _HOST = PluginHost()
    return _HOST


def reset_host() -> None:
    """Forget the loaded plugins (tests install packages and reload)."""
    global _HOST
    _HOST = None


def build(kind: str, plugin: str, params: dict[str, Any] | BaseModel | None = None,
          plugin_host: PluginHost | None = None) -> Any:
    """Instantiate a component from its registered class and params: a dict (validated here) or the
    already validated ``Params`` a ``LoadedSpec`` carries (``loaded.params(key_path)``)."""
    registered = (plugin_host or host()).get(kind, plugin)
    if isinstance(params, registered.cls.Params):
        return registered.cls(params)
    if isinstance(params, BaseModel):
        params = params.model_dump()
    return registered.cls(registered.cls.Params(**(params or {})))
