"""The pluggy hooks: one per kind of component (derived from ``KINDS``), plus one for CLI commands.

A plugin implements any of these and calls ``register(SomeClass)`` for each
component class it provides. Classes, not instances, are registered, so
discovering plugins never loads weights or imports torch. The per-kind hooks
are generated from the ``KINDS`` table in ``erc_bench.core.interfaces``:

=========================================  ==================
hook                                       kind
=========================================  ==================
``erc_bench_register_datasets``            ``dataset``
``erc_bench_register_asr``                 ``asr``
``erc_bench_register_labellers``           ``labeller``
``erc_bench_register_text_encoders``       ``text_encoder``
``erc_bench_register_speech_encoders``     ``speech_encoder``
``erc_bench_register_context_models``      ``context_model``
``erc_bench_register_fusion_heads``        ``fusion_head``
``erc_bench_register_speech_heads``        ``speech_head``
=========================================  ==================

``erc_bench_register_commands(app)`` lets a plugin add its own ``erc-bench``
sub-commands to the Typer app; a plugin that fails to load takes only its own
commands with it.

``erc_bench_register_spec_kinds(register)`` lets a plugin declare a kind of spec
file of its own (``register(SpecKind(...))``: its top-level table, pydantic model
and component slots), which ``erc-bench validate`` and ``load_kind_spec`` then read
like a benchmark spec. It is not a component kind: no spec slot names a spec kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from erc_bench.core.interfaces import KINDS

hookspec = pluggy.HookspecMarker("erc_bench")
hookimpl = pluggy.HookimplMarker("erc_bench")

Register = Callable[[type], None]


class ComponentHooks:
    """Holder of the generated per-kind hookspecs (pluggy reads hookspecs from a class or module)."""


def _component_hook(hook: str, kind: str, description: str) -> Callable[..., None]:
    def register_hook(register: Register) -> None:
        """Call ``register(cls)`` once for each component class this plugin provides."""

    register_hook.__name__ = register_hook.__qualname__ = hook
    register_hook.__doc__ = f"Register {description} (kind ``{kind}``): call ``register(cls)`` for each class."
    return hookspec(register_hook)


for _kind in KINDS.values():
    setattr(ComponentHooks, _kind.hook, staticmethod(_component_hook(_kind.hook, _kind.name, _kind.description)))


class CommandHooks:
    """Plugins contributing CLI commands."""

    @staticmethod
    @hookspec
    def erc_bench_register_commands(app: Any) -> None:
        """Add commands to the ``erc-bench`` Typer ``app`` (``app.command("name")(function)``)."""


HOOK_FOR_KIND: dict[str, str] = {name: kind.hook for name, kind in KINDS.items()}


class SpecKindHooks:
    """Plugins declaring a kind of spec file (``erc_bench.core.spec_kinds``)."""

    @staticmethod
    @hookspec
    def erc_bench_register_spec_kinds(register: Callable[[Any], None]) -> None:
        """Call ``register(SpecKind(name, table, model, slots))`` for each kind of spec file this plugin reads."""
