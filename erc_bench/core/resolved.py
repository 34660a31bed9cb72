"""One spec slot, resolved once when the spec loads: what every later step reads about a component.

Loading a spec looks each slot's plugin up in the registry once and validates its
params once (defaults filled in); the result is a ``ResolvedComponent``.
Building the component (``build``), its identity in cache keys and on the
leaderboard (``identity``: plugin, params, code), the ``code.<slot>`` params
MLflow shows and the resolved spec logged with every run all read this object,
so they cannot disagree about which class, params or code a slot meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from erc_bench.core.plugin_host import Registered  # a runtime import: the spec models validate this type


@dataclass(frozen=True)
class ResolvedComponent:
    slot: str  # the key path in the spec: ``model.fusion_head``, ``datasets.0``, ``system``
    kind: str
    registered: Registered  # the registry's entry: class and the package it came from
    params: BaseModel  # validated strictly by the class's own ``Params``, defaults filled in

    @property
    def plugin(self) -> str:
        return self.registered.name

    @property
    def cls(self) -> type[Any]:
        return self.registered.cls

    def build(self) -> Any:
        """Construct the component (a constructor that raises is one line naming the slot, plugin and package)."""
        from erc_bench.core.plugin_host import construct

        return construct(self.registered, self.params, slot=self.slot)

    def code(self) -> dict[str, Any]:
        """Which code the class is: distribution, version, and a digest of its sources for a folder install."""
        from erc_bench.core.code_identity import code_identity

        return code_identity(self.cls)

    def identity(self) -> dict[str, Any]:
        """Plugin, params (JSON) and code: what a built component's ``identity_of`` starts from."""
        return {"plugin": self.plugin, "params": self.params.model_dump(mode="json"), "code": self.code()}


class LoadedSlots(BaseModel):
    """What a loaded spec of any kind holds besides its model: the file it came from, its raw (expanded) dict,
    the ``${VAR}``s left unset, and each component slot resolved once, by key path."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str
    raw: dict[str, Any]
    unset_env: list[str] = Field(default_factory=list)
    resolved: dict[str, ResolvedComponent] = Field(default_factory=dict)

    @property
    def components(self) -> dict[str, BaseModel]:
        """Each slot's validated params, by key path."""
        return {key_path: slot.params for key_path, slot in self.resolved.items()}

    def params(self, key_path: str) -> BaseModel:
        """The validated params of the slot at ``key_path`` (``model.fusion_head``, ``datasets.0``, ...)."""
        return self.resolved[key_path].params

    def build(self, key_path: str) -> Any:
        """Construct the component of the slot at ``key_path`` (``ResolvedComponent.build``)."""
        return self.resolved[key_path].build()
