"""erc-bench: build, run and compare multimodal Emotion Recognition in Conversations systems.

The public API, for plugins, examples and scripts (everything else is internal
and may move)::

    from erc_bench import hookimpl, Register, LabelOutcome      # write a plugin
    from erc_bench import load_spec, run_benchmark, build       # run a spec from Python
    from erc_bench import SpecKind, load_kind_spec, Tracker     # a plugin's own kind of spec and command
    from erc_bench import check_component, run_tiny_spec       # test a plugin (docs/plugins.md)

Names are resolved lazily, so ``import erc_bench`` stays cheap (no torch, no
mlflow, no pydantic models built) and ``erc-bench --help`` stays fast; a type
checker sees them all through the ``TYPE_CHECKING`` imports (a test keeps those
and the lazy map equal).

The package is folders by role, each importing only the ones before it (a test
checks the contract, ``tests/test_engine_plugins.py``):

* ``erc_bench.core``: the plugin kernel (interfaces and the ``KINDS`` table,
  hookspecs, plugin host, spec, cache, errors, metrics) and services plugins
  share (audio decoding, device choice, progress);
* ``erc_bench.tracking``: what a run writes (MLflow runs, tags, the run log);
* ``erc_bench.train``: the one training loop (optimisation, stage context,
  conversation batches, distributed);
* ``erc_bench.features``: transcripts, speech embeddings, frozen text encodings
  (cached; locally or on Ray);
* ``erc_bench.runs``: a benchmark run of any system (set-up, seed runs, stage
  caching, whole systems' ``fit`` / ``predict``, ``erc-bench predict``);
* ``erc_bench.recipes``: built-in staged systems (``recipes.merits_l``);
* ``erc_bench.report``: what reads runs back (leaderboard, compare, HTML);
* ``erc_bench.cli``: the ``erc-bench`` Typer app.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "run_benchmark": "erc_bench.runs.benchmark",
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
    "DefaultSpeechHeadModule": "erc_bench.recipes.merits_l.modules",  # the engine's Stage I head (the mlp plugin's)
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
    "UpdatePlan": "erc_bench.train.optimisation",  # AdamW + schedule + precision + accumulation + clipping
    "StageTraining": "erc_bench.core.spec_schema",  # the optimiser settings UpdatePlan reads
    "Tracker": "erc_bench.tracking.tracker",  # MLflow runs ended FINISHED / FAILED / KILLED, never left RUNNING
    "LABEL_CHUNK": "erc_bench.recipes.merits_l.pretrain",  # transcripts per labelling call of LLM-guided pre-training
    "transcribe_utterances": "erc_bench.features.speech",
    "embed_utterances": "erc_bench.features.speech",
    "speech_problem_summary": "erc_bench.features.speech",
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

if TYPE_CHECKING:  # the public API as a type checker sees it (at run time each name resolves lazily, below)
    from erc_bench.core.audio import (
        AUDIO_SUFFIXES as AUDIO_SUFFIXES,
    )
    from erc_bench.core.audio import (
        load_audio as load_audio,
    )
    from erc_bench.core.cache import (
        Cache as Cache,
    )
    from erc_bench.core.cache import (
        canonical_json as canonical_json,
    )
    from erc_bench.core.cache import (
        default_cache_dir as default_cache_dir,
    )
    from erc_bench.core.cache import (
        digest_file as digest_file,
    )
    from erc_bench.core.cache import (
        digest_text as digest_text,
    )
    from erc_bench.core.cards import (
        DatasetCard as DatasetCard,
    )
    from erc_bench.core.cards import (
        SplitCount as SplitCount,
    )
    from erc_bench.core.code_identity import (
        code_identity as code_identity,
    )
    from erc_bench.core.devices import (
        resolve_device as resolve_device,
    )
    from erc_bench.core.errors import (
        ComponentError as ComponentError,
    )
    from erc_bench.core.errors import (
        DataError as DataError,
    )
    from erc_bench.core.errors import (
        PluginError as PluginError,
    )
    from erc_bench.core.errors import (
        SecretError as SecretError,
    )
    from erc_bench.core.errors import (
        SpecError as SpecError,
    )
    from erc_bench.core.errors import (
        UserError as UserError,
    )
    from erc_bench.core.extras import (
        MissingExtra as MissingExtra,
    )
    from erc_bench.core.extras import (
        require as require,
    )
    from erc_bench.core.hookspecs import (
        Register as Register,
    )
    from erc_bench.core.hookspecs import (
        hookimpl as hookimpl,
    )
    from erc_bench.core.interfaces import (
        ASR as ASR,
    )
    from erc_bench.core.interfaces import (
        KINDS as KINDS,
    )
    from erc_bench.core.interfaces import (
        SAMPLE_RATE as SAMPLE_RATE,
    )
    from erc_bench.core.interfaces import (
        SENTIMENT_LABELS as SENTIMENT_LABELS,
    )
    from erc_bench.core.interfaces import (
        SPLITS as SPLITS,
    )
    from erc_bench.core.interfaces import (
        AudioSource as AudioSource,
    )
    from erc_bench.core.interfaces import (
        ContextModel as ContextModel,
    )
    from erc_bench.core.interfaces import (
        Conversation as Conversation,
    )
    from erc_bench.core.interfaces import (
        Dataset as Dataset,
    )
    from erc_bench.core.interfaces import (
        DatasetSplits as DatasetSplits,
    )
    from erc_bench.core.interfaces import (
        FusionHead as FusionHead,
    )
    from erc_bench.core.interfaces import (
        Labeller as Labeller,
    )
    from erc_bench.core.interfaces import (
        LabelOutcome as LabelOutcome,
    )
    from erc_bench.core.interfaces import (
        NoParams as NoParams,
    )
    from erc_bench.core.interfaces import (
        Problem as Problem,
    )
    from erc_bench.core.interfaces import (
        SpeechEncoder as SpeechEncoder,
    )
    from erc_bench.core.interfaces import (
        System as System,
    )
    from erc_bench.core.interfaces import (
        SystemContext as SystemContext,
    )
    from erc_bench.core.interfaces import (
        TextEncoder as TextEncoder,
    )
    from erc_bench.core.interfaces import (
        Transcript as Transcript,
    )
    from erc_bench.core.interfaces import (
        Utterance as Utterance,
    )
    from erc_bench.core.modules import (
        ContextModule as ContextModule,
    )
    from erc_bench.core.modules import (
        ConversationBatch as ConversationBatch,
    )
    from erc_bench.core.modules import (
        FusionModule as FusionModule,
    )
    from erc_bench.core.modules import (
        SpeechHeadModule as SpeechHeadModule,
    )
    from erc_bench.core.plugin_host import (
        build as build,
    )
    from erc_bench.core.plugin_host import (
        host as host,
    )
    from erc_bench.core.plugin_host import (
        identity_of as identity_of,
    )
    from erc_bench.core.progress import (
        progress_bar as progress_bar,
    )
    from erc_bench.core.progress import (
        progress_callback as progress_callback,
    )
    from erc_bench.core.progress import (
        rich_progress as rich_progress,
    )
    from erc_bench.core.secrets import (
        redact_secrets as redact_secrets,
    )
    from erc_bench.core.spec import (
        DatasetEntry as DatasetEntry,
    )
    from erc_bench.core.spec import (
        LoadedSpec as LoadedSpec,
    )
    from erc_bench.core.spec import (
        load_spec as load_spec,
    )
    from erc_bench.core.spec import (
        require_env as require_env,
    )
    from erc_bench.core.spec_kinds import (
        LoadedKindSpec as LoadedKindSpec,
    )
    from erc_bench.core.spec_kinds import (
        SpecKind as SpecKind,
    )
    from erc_bench.core.spec_kinds import (
        load_any_spec as load_any_spec,
    )
    from erc_bench.core.spec_kinds import (
        load_kind_spec as load_kind_spec,
    )
    from erc_bench.core.spec_kinds import (
        spec_kinds as spec_kinds,
    )
    from erc_bench.core.spec_schema import (
        ComponentRef as ComponentRef,
    )
    from erc_bench.core.spec_schema import (
        StageTraining as StageTraining,
    )
    from erc_bench.core.spec_schema import (
        TrackingSection as TrackingSection,
    )
    from erc_bench.core.sqlite_guard import (
        backup_store as backup_store,
    )
    from erc_bench.core.sqlite_guard import (
        guard_store as guard_store,
    )
    from erc_bench.core.sqlite_guard import (
        journal_answers as journal_answers,
    )
    from erc_bench.features.speech import (
        embed_utterances as embed_utterances,
    )
    from erc_bench.features.speech import (
        speech_problem_summary as speech_problem_summary,
    )
    from erc_bench.features.speech import (
        transcribe_utterances as transcribe_utterances,
    )
    from erc_bench.recipes.merits_l.modules import (
        DefaultSpeechHeadModule as DefaultSpeechHeadModule,
    )
    from erc_bench.recipes.merits_l.pretrain import (
        LABEL_CHUNK as LABEL_CHUNK,
    )
    from erc_bench.report.datainfo import (
        resolve_dataset_params as resolve_dataset_params,
    )
    from erc_bench.runs.benchmark import (
        run_benchmark as run_benchmark,
    )
    from erc_bench.testing import (
        check_component as check_component,
    )
    from erc_bench.testing import (
        run_tiny_spec as run_tiny_spec,
    )
    from erc_bench.testing import (
        tiny_spec as tiny_spec,
    )
    from erc_bench.tracking.tracker import (
        Tracker as Tracker,
    )
    from erc_bench.train.optimisation import (
        UpdatePlan as UpdatePlan,
    )

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
