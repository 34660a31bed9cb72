"""erc-bench: build, run and compare multimodal Emotion Recognition in Conversations systems.

The public API, for plugins, examples and scripts (everything else is internal
and may move)::

    from erc_bench import hookimpl, Register, LabelOutcome      # write a plugin
    from erc_bench import load_spec, run_benchmark, build       # run a spec from Python
    from erc_bench import SpecKind, load_kind_spec, Tracker     # a plugin's own kind of spec and command
    from erc_bench import check_component, run_tiny_spec       # test a plugin (docs/plugins.md)

Names are resolved lazily, so ``import erc_bench`` stays cheap (no torch, no
mlflow, no pydantic models built) and ``erc-bench --help`` stays fast.

The package is four layers, each importing only the ones before it:

* ``erc_bench.core``: the plugin kernel (interfaces and the ``KINDS`` table,
  hookspecs, plugin host, spec, cache, errors) and services plugins share
  (audio decoding, device choice, progress);
* ``erc_bench.report``: MLflow tracking, results table, leaderboard, compare, metrics;
* ``erc_bench.recipe``: the MERITS-L recipe (one class, top to bottom), its
  stage trainers and the one training loop;
* ``erc_bench.cli``: the ``erc-bench`` Typer app.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC: dict[str, str] = {
    # running
    "load_spec": "erc_bench.core.spec",
    "LoadedSpec": "erc_bench.core.spec",
    "require_env": "erc_bench.core.spec",
    "ComponentRef": "erc_bench.core.spec_schema",  # a { plugin, params } slot, for a plugin's own spec model
    "TrackingSection": "erc_bench.core.spec_schema",
    # kinds of spec file (a plugin declares its own with the erc_bench_register_spec_kinds hook)
    "SpecKind": "erc_bench.core.spec_kinds",
    "LoadedKindSpec": "erc_bench.core.spec_kinds",
    "load_kind_spec": "erc_bench.core.spec_kinds",
    "load_any_spec": "erc_bench.core.spec_kinds",
    "spec_kinds": "erc_bench.core.spec_kinds",
    "build": "erc_bench.core.plugin_host",
    "run_benchmark": "erc_bench.recipe.merits_l",
    "Cache": "erc_bench.core.cache",
    # writing plugins
    "hookimpl": "erc_bench.core.hookspecs",
    "Register": "erc_bench.core.hookspecs",
    "KINDS": "erc_bench.core.interfaces",
    "Dataset": "erc_bench.core.interfaces",
    "ASR": "erc_bench.core.interfaces",
    "Labeller": "erc_bench.core.interfaces",
    "TextEncoder": "erc_bench.core.interfaces",
    "SpeechEncoder": "erc_bench.core.interfaces",
    "ContextModel": "erc_bench.core.interfaces",
    "FusionHead": "erc_bench.core.interfaces",
    "System": "erc_bench.core.interfaces",
    "SystemContext": "erc_bench.core.interfaces",
    "ConversationBatch": "erc_bench.core.modules",
    "ContextModule": "erc_bench.core.modules",
    "FusionModule": "erc_bench.core.modules",
    "SpeechHeadModule": "erc_bench.core.modules",
    "DefaultSpeechHeadModule": "erc_bench.recipe.stage_modules",  # the engine's Stage I head (the mlp plugin's)
    "NoParams": "erc_bench.core.interfaces",
    "AudioSource": "erc_bench.core.interfaces",
    "Utterance": "erc_bench.core.interfaces",
    "Conversation": "erc_bench.core.interfaces",
    "DatasetSplits": "erc_bench.core.interfaces",
    "Problem": "erc_bench.core.interfaces",
    "Transcript": "erc_bench.core.interfaces",
    "LabelOutcome": "erc_bench.core.interfaces",
    "SPLITS": "erc_bench.core.interfaces",
    "SENTIMENT_LABELS": "erc_bench.core.interfaces",
    "SAMPLE_RATE": "erc_bench.core.interfaces",
    "DatasetCard": "erc_bench.core.cards",  # a dataset class's ``card`` attribute (erc-bench data card NAME)
    "SplitCount": "erc_bench.core.cards",
    "DatasetEntry": "erc_bench.core.spec",
    "resolve_dataset_params": "erc_bench.report.datainfo",
    "host": "erc_bench.core.plugin_host",
    "identity_of": "erc_bench.core.plugin_host",
    "code_identity": "erc_bench.core.code_identity",
    # testing a plugin (also as pytest fixtures: erc_bench_contract, erc_bench_tiny_run)
    "check_component": "erc_bench.testing",
    "tiny_spec": "erc_bench.testing",
    "run_tiny_spec": "erc_bench.testing",
    # services plugins share
    "canonical_json": "erc_bench.core.cache",
    "digest_text": "erc_bench.core.cache",
    "digest_file": "erc_bench.core.cache",
    "default_cache_dir": "erc_bench.core.cache",
    "load_audio": "erc_bench.core.audio",
    "AUDIO_SUFFIXES": "erc_bench.core.audio",
    "resolve_device": "erc_bench.core.devices",
    "rich_progress": "erc_bench.core.progress",
    "progress_bar": "erc_bench.core.progress",
    "progress_callback": "erc_bench.core.progress",
    "UpdatePlan": "erc_bench.recipe.optimisation",  # AdamW + schedule + precision + accumulation + clipping
    "StageTraining": "erc_bench.core.spec_schema",  # the optimiser settings UpdatePlan reads
    "Tracker": "erc_bench.report.tracker",  # MLflow runs ended FINISHED / FAILED / KILLED, never left RUNNING
    "LABEL_CHUNK": "erc_bench.recipe.pretrain",  # transcripts per labelling call of LLM-guided pre-training
    "transcribe_utterances": "erc_bench.recipe.speech_inputs",
    "embed_utterances": "erc_bench.recipe.speech_inputs",
    "speech_problem_summary": "erc_bench.recipe.speech_inputs",
    "UserError": "erc_bench.core.errors",
    "SpecError": "erc_bench.core.errors",
    "require": "erc_bench.core.extras",
    "MissingExtra": "erc_bench.core.extras",
    "DataError": "erc_bench.core.errors",
    "SecretError": "erc_bench.core.errors",
    "PluginError": "erc_bench.core.errors",
    "ComponentError": "erc_bench.core.errors",
    "redact_secrets": "erc_bench.core.secrets",
    "guard_store": "erc_bench.core.sqlite_guard",  # check / restore a SQLite store of paid work (label store)
    "backup_store": "erc_bench.core.sqlite_guard",
    "journal_answers": "erc_bench.core.sqlite_guard",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'erc_bench' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
