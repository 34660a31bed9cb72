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
import json
import weakref
from dataclasses import dataclass, field
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from erc_bench.core import hookspecs
from erc_bench.core.errors import ComponentError, ParamsError, PluginError
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
    cls: type[Any]
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
    """Components of one kind, by name.

    A class that fails its kind's contract (no ``name``, no ``Params``, a missing method) is kept out and
    recorded in ``failed`` with the reason, so it breaks only itself; two loaded packages registering one
    name are recorded in ``clashes``, and a spec that names such a component stops, naming both.
    """

    kind: str
    entries: dict[str, Registered] = field(default_factory=dict)
    failed: dict[str, LoadFailure] = field(default_factory=dict)
    clashes: dict[str, tuple[Source, Source]] = field(default_factory=dict)
    package_failures: list[LoadFailure] = field(default_factory=list)

    def add(self, cls: type, source: Source) -> None:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            self._fail(cls.__qualname__, source, f"{self.kind} class {cls.__qualname__} has no string attribute "
                                                 "'name'")
            return
        if getattr(cls, "Params", None) is None:
            self._fail(name, source, f"{self.kind} '{name}' ({cls.__qualname__}) has no 'Params' model")
            return
        kind = KINDS[self.kind]
        missing = missing_members(cls, kind.protocol)
        if missing and kind.alternative is not None and not missing_members(cls, kind.alternative):
            missing = []  # meets the kind's alternative contract (a staged system)
        if missing:
            self._fail(name, source, f"{self.kind} '{name}' ({cls.__qualname__}) does not implement the "
                                     f"{KINDS[self.kind].protocol.__name__} interface: missing {', '.join(missing)}")
            return
        if name in self.entries:
            self.clashes[name] = (self.entries[name].source, source)
            return
        self.entries[name] = Registered(self.kind, name, cls, source)

    def _fail(self, name: str, source: Source, reason: str) -> None:
        self.failed[name] = LoadFailure(source, reason)

    def get(self, name: str) -> Registered:
        if name in self.clashes:
            first, second = self.clashes[name]
            raise PluginError(f"{self.kind} '{name}' is registered by two packages: {first} and {second}; "
                              "uninstall one of them")
        if name in self.entries:
            return self.entries[name]
        if name in self.failed:
            failure = self.failed[name]
            raise PluginError(f"{self.kind} '{name}' of plugin package {failure.source.package} "
                              f"{failure.source.version} failed to load: {failure.error}")
        known = sorted(self.entries)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        if self.package_failures:  # the likelier story: the package that provides it did not load
            broken = "; ".join(f"plugin package {f.source.package} {f.source.version} failed to load ({f.error})"
                               for f in self.package_failures)
            raise PluginError(f"{self.kind} '{name}' is not registered: {broken}; fix or uninstall it "
                              f"(erc-bench plugins){hint}; known: {', '.join(known) or '(none)'}")
        raise PluginError(f"unknown {self.kind} '{name}'{hint} known: {', '.join(known) or '(none)'}")

    def names(self) -> list[str]:
        return sorted(self.entries)


class PluginHost:
    """The PluginManager plus the registries it fills."""

    def __init__(self, load_entry_points: bool = True) -> None:
        self.pm = pluggy.PluginManager("erc_bench")
        self.pm.add_hookspecs(hookspecs.ComponentHooks)
        self.pm.add_hookspecs(hookspecs.CommandHooks)
        self.pm.add_hookspecs(hookspecs.SpecKindHooks)
        self.failures: list[LoadFailure] = []
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
        package_failures = list(self.failures)  # entry points that did not import: named by every "unknown"
        registries = {kind: Registry(kind, package_failures=package_failures) for kind in KINDS}
        for kind, spec in KINDS.items():
            hook_caller = getattr(self.pm.hook, spec.hook)
            for impl in hook_caller.get_hookimpls():
                source = self._sources.get(id(impl.plugin), Source(impl.plugin_name, "?", "?"))

                def register(cls: type, _source: Source = source, _kind: str = kind) -> None:
                    registries[_kind].add(cls, _source)

                try:
                    impl.function(register=register)
                except Exception as exc:  # noqa: BLE001 - a broken hook must not hide the others
                    failure = LoadFailure(source, f"{kind} hook: {type(exc).__name__}: {exc}")
                    self.failures.append(failure)
                    package_failures.append(failure)
        return registries

    def component_failures(self) -> list[tuple[str, str, LoadFailure]]:
        """(kind, name, failure) for every class left out, and every name two packages registered."""
        out: list[tuple[str, str, LoadFailure]] = []
        for kind, registry in self.registries.items():
            out += [(kind, name, failure) for name, failure in sorted(registry.failed.items())]
            out += [(kind, name, LoadFailure(second, f"name clash: '{name}' is also registered by {first}"))
                    for name, (first, second) in sorted(registry.clashes.items())]
        return out

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


def validate_params(registered: Registered, params: dict[str, Any] | BaseModel | None) -> BaseModel:
    """A component's ``Params`` from a spec's values, strictly: values are taken as a TOML/JSON document
    would give them (a string is never a number, ``true`` is never ``1``), like the toolkit's own keys.
    Raises pydantic's ``ValidationError``; ``load_spec`` turns it into ``file: key.path: message``."""
    params_model: type[BaseModel] = registered.cls.Params
    if isinstance(params, params_model):
        return params
    if isinstance(params, BaseModel):
        params = params.model_dump(mode="json")
    return params_model.model_validate_json(json.dumps(params or {}, default=str), strict=True)


def build(kind: str, plugin: str, params: dict[str, Any] | BaseModel | None = None,
          plugin_host: PluginHost | None = None, slot: str | None = None) -> Any:
    """Instantiate a component from its registered class and params: a dict (validated strictly here) or the
    already validated ``Params`` a ``LoadedSpec`` carries (``loaded.params(key_path)``).

    A constructor that raises becomes one ``ComponentError`` naming the spec slot, the plugin, its package
    and version and the exception's message (the traceback stays as its cause, shown with ``--debug``).
    What it was built from is remembered, for its identity in cache keys (``identity_of``).
    """
    registered = (plugin_host or host()).get(kind, plugin)
    try:
        validated = validate_params(registered, params)
    except ValidationError as exc:
        where = f"{slot}: " if slot else ""
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise ParamsError(f"{where}{kind} '{plugin}' params.{loc}: {message}") from None
    return construct(registered, validated, slot=slot)


def construct(registered: Registered, validated: BaseModel, slot: str | None = None) -> Any:
    """Instantiate a registered class with validated params (``build`` after its checks; a spec's
    ``ResolvedComponent.build``), remembering what it was made from for ``identity_of``."""
    try:
        component = registered.cls(validated)
    except Exception as exc:  # noqa: BLE001 - any constructor failure is the plugin's, reported in one line
        where = f"{slot}: " if slot else ""
        raise ComponentError(f"{where}{registered.kind} '{registered.name}' ({registered.source.package} "
                             f"{registered.source.version}) could not be constructed: "
                             f"{type(exc).__name__}: {exc}") from exc
    _remember(component, (registered.name, validated))
    return component


# what ``build`` made each component from; its identity is computed on first use (a ``fingerprint()`` may read a
# checkpoint, and ``validate`` constructs components whose ``${VAR}`` paths are not set yet)
_BUILT_FROM: weakref.WeakKeyDictionary[Any, tuple[str, BaseModel]] = weakref.WeakKeyDictionary()
_BUILT_FROM_BY_ID: dict[int, tuple[str, BaseModel]] = {}


def _remember(component: Any, made_from: tuple[str, BaseModel]) -> None:
    try:
        _BUILT_FROM[component] = made_from
    except TypeError:  # not weak-referenceable or unhashable: keep it by id for the process
        _BUILT_FROM_BY_ID[id(component)] = made_from


def identity_of(component: Any) -> dict[str, Any]:
    """A built component's identity for cache keys: plugin, validated params, code (distribution, version,
    sources' digest for a working-tree install) and its ``fingerprint()`` if it has one. A component
    constructed by hand rather than by ``build`` is identified by its class's name, code and fingerprint."""
    from erc_bench.core.code_identity import component_identity

    try:
        found = _BUILT_FROM.get(component)
    except TypeError:
        found = None
    found = found or _BUILT_FROM_BY_ID.get(id(component))
    if found is not None:
        return component_identity(found[0], found[1], component)
    return component_identity(getattr(type(component), "name", type(component).__qualname__), None, component)
