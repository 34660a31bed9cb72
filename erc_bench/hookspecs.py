"""The pluggy hooks: one per kind of component, callback style.

A plugin implements any of these and calls ``register(SomeClass)`` for each
component class it provides. Classes, not instances, are registered, so
discovering plugins never loads weights or imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("erc_bench")
hookimpl = pluggy.HookimplMarker("erc_bench")

Register = Callable[[type], None]


@hookspec
def erc_bench_register_datasets(register: Register) -> None:
    """Register dataset classes (kind ``dataset``)."""


@hookspec
def erc_bench_register_asr(register: Register) -> None:
    """Register speech recognisers (kind ``asr``)."""


@hookspec
def erc_bench_register_labellers(register: Register) -> None:
    """Register transcript labellers (kind ``labeller``)."""


@hookspec
def erc_bench_register_text_encoders(register: Register) -> None:
    """Register text encoders (kind ``text_encoder``)."""


@hookspec
def erc_bench_register_speech_encoders(register: Register) -> None:
    """Register frozen speech encoders (kind ``speech_encoder``)."""


@hookspec
def erc_bench_register_context_models(register: Register) -> None:
    """Register conversation context models (kind ``context_model``)."""


@hookspec
def erc_bench_register_fusion_heads(register: Register) -> None:
    """Register modality fusion heads (kind ``fusion_head``)."""


HOOK_FOR_KIND: dict[str, str] = {
    "dataset": "erc_bench_register_datasets",
    "asr": "erc_bench_register_asr",
    "labeller": "erc_bench_register_labellers",
    "text_encoder": "erc_bench_register_text_encoders",
    "speech_encoder": "erc_bench_register_speech_encoders",
    "context_model": "erc_bench_register_context_models",
    "fusion_head": "erc_bench_register_fusion_heads",
}
