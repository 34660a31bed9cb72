"""A whole system's benchmark run: per dataset and seed, ``fit`` on train and validation, ``predict`` the
validation and test conversations (labels removed), score the answers, cache and log them.

It is the MERITS-L recipe's run with one stage, ``system``, in place of pre-training and Stages I-III:
the same set-up (every component constructed first, trackers, corpora), the same dataset-seed runs in
MLflow with the same tags, the same cache, results table, leaderboard identity and ``system.json``, so
``leaderboard``, ``compare``, ``report`` and ``predict`` treat it like any system. What the engine, not the
system, decides: the system never sees test labels, or validation and test labels when it predicts; an
utterance it gives no answer for is listed as missed (like an utterance without an input feature in a
stage); an answer outside the label set is an error naming the system. Optional abilities it reads
(``erc_bench.core.capabilities``): ``Preflight`` (checked before any corpus is read), ``DisplayNamed`` (the
name its runs carry in tables), ``ReportsMetrics`` (counts logged beside each split's scores),
``SystemCostEstimating`` (``dry_run``: ``erc-bench run SPEC --dry-run``).
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
import time
from pathlib import Path
from typing import Any

from erc_bench.core.capabilities import DisplayNamed, Persistent, Preflight, ReportsMetrics, SystemCostEstimating
from erc_bench.core.errors import UserError
from erc_bench.core.interfaces import Conversation, DatasetSplits, SystemContext
from erc_bench.core.metrics import classification_metrics, confusion_matrix
from erc_bench.core.plugin_host import identity_of
from erc_bench.core.progress import progress_bar
from erc_bench.runs.benchmark import BenchmarkOutcome, BenchmarkRun
from erc_bench.runs.results import report_problems
from erc_bench.runs.stage_step import SeedRun
from erc_bench.tracking.tags import SYSTEM_TAG
from erc_bench.train.context import StageContext, seed_everything
from erc_bench.train.stage_result import StageResult

SYSTEM_STAGE = "system"
STATE_NAMESPACE = "systems"
SCORED_SPLITS = ("validation", "test")


class SystemRun(BenchmarkRun):
    """``run`` for a spec whose ``[system]`` is a whole system (see the module docstring)."""

    def run(self, tracking_uri: str | None = None, cache_dir: str | Path | None = None,
            limit: int | None = None) -> BenchmarkOutcome:
        system = self.loaded.build("system")
        if isinstance(system, Preflight):  # a missing key fails before any corpus is read
            system.check_ready()
        corpora = self.setup(tracking_uri, cache_dir, limit)
        self.system = system
        if isinstance(system, DisplayNamed):
            self.base_tags[SYSTEM_TAG] = system.display_name()
        with progress_bar(self.console) as self.progress:
            for index, (entry, data) in enumerate(zip(self.spec.datasets, corpora, strict=True)):
                self.problems = self.outcome.problems[data.name] = list(data.problems)
                report_problems(self.console, data.name, self.problems)
                for seed in self.spec.benchmark.seeds:
                    with self.seed_run(index, data, seed) as run:
                        run.stage(SYSTEM_STAGE, None, {"system": identity_of(self.system)},
                                  functools.partial(self.fit_and_score, run=run))
                        self.log_seed(run, entry, None)
            self.log()
        return self.outcome

    def fit_and_score(self, ctx: StageContext, run: SeedRun) -> StageResult:
        data, system = ctx.data, self.system
        context = SystemContext(ctx.seed, ctx.device.type, str(self.cache.root / STATE_NAMESPACE / system.name),
                                progress=None)
        seed_everything(ctx.seed)
        started = time.perf_counter()
        seen = dataclasses.replace(data, splits={s: data.splits.get(s, []) for s in ("train", "validation")})
        system.fit(seen, context)
        result = StageResult(stage=SYSTEM_STAGE, labels=list(data.labels), metrics={}, predictions={}, confusion={},
                             features={}, best_epoch=0, history=[], state_dict={})
        for split in SCORED_SPLITS:
            conversations = data.splits.get(split, [])
            if conversations:
                self._score(split, conversations, data, context, result)
        result.seconds = time.perf_counter() - started
        if isinstance(system, Persistent):
            with tempfile.TemporaryDirectory(prefix="erc-system-") as tmp:
                system.save(tmp)
                self.cache.put_dir(STATE_NAMESPACE, run.stage_keys[SYSTEM_STAGE], tmp,
                                   meta={"system": self.system.name})
        return result

    def _score(self, split: str, conversations: list[Conversation], data: DatasetSplits, context: SystemContext,
               result: StageResult) -> None:
        blind = [Conversation(c.id, [dataclasses.replace(u, label=None) for u in c.utterances])
                 for c in conversations]
        answers = self.system.predict(blind, context)
        unknown = sorted({a for a in answers.values() if a not in data.labels})
        if unknown:
            raise UserError(f"system '{self.system.name}' answered {unknown[:3]} on {split}, not one of "
                            f"{', '.join(data.labels)}")
        rows = [(u.id, u.label, answers[u.id]) for c in conversations for u in c.utterances
                if u.label is not None and u.id in answers]
        result.missing[split] = [u.id for c in conversations for u in c.utterances
                                 if u.label is not None and u.id not in answers]
        result.unlabelled[split] = sum(1 for c in conversations for u in c.utterances if u.label is None)
        if not rows:
            return
        gold, pred = [g for _, g, _ in rows], [p for _, _, p in rows]
        result.metrics[split] = classification_metrics(gold, pred, data.labels, majority=data.majority_label)
        if isinstance(self.system, ReportsMetrics):
            for name, value in self.system.metrics().items():
                result.metrics[split].setdefault(name, float(value))  # a score keeps its name
        result.confusion[split] = confusion_matrix(gold, pred, data.labels).tolist()
        result.predictions[split] = [(uid, str(g), p) for uid, g, p in rows]


def dry_run(loaded: Any, cache_dir: str | Path | None, limit: int | None, console: Any) -> None:
    """``erc-bench run SPEC --dry-run`` for a whole system: per dataset, what every seed would send and cost
    (``SystemCostEstimating``); sends nothing and logs nothing."""
    from erc_bench.core.cache import Cache
    from erc_bench.features.inputs import first_conversations

    spec, system = loaded.spec, loaded.build("system")
    name = str(system.name)
    if not isinstance(system, SystemCostEstimating):
        console.print(f"system '{name}' sends no paid requests: nothing to estimate")
        return
    folder = str(Cache(cache_dir).root / STATE_NAMESPACE / name)
    for index in range(len(spec.datasets)):
        data = loaded.build(f"datasets.{index}").load()
        if limit is not None:
            data = first_conversations(data, limit)
        blind = dataclasses.replace(data, splits={
            s: [Conversation(c.id, [dataclasses.replace(u, label=None) for u in c.utterances])
                for c in cs] if s in SCORED_SPLITS else cs for s, cs in data.splits.items()})
        seeds = list(spec.benchmark.seeds)
        estimate = system.estimate_cost(blind, seeds, SystemContext(seeds[0], "cpu", folder))
        console.print(f"{data.name} ({len(seeds)} seed(s)): dry run: {estimate.summary()}", soft_wrap=True,
                      highlight=False, markup=False)
    console.print("token counts and prices are estimates; check your provider's price list")
    if isinstance(system, Preflight):
        try:
            system.check_ready()
        except UserError as exc:  # the dry run itself needs no key; the real run will
            console.print(f"note: {exc}", soft_wrap=True, highlight=False, markup=False)


def load_system(manifest: dict[str, Any], cache: Any) -> Any:
    """The fitted system of a dataset-seed run, for ``predict``: rebuilt from its spec slot, its saved state
    read back from the cache; a system that saves nothing (``Persistent``) is used as built (a zero-shot
    classifier has no state)."""
    from erc_bench.core.plugin_host import build

    ref = manifest["spec"]["system"]
    system = build("system", ref["plugin"], ref.get("params", {}), slot="system")
    if isinstance(system, Persistent):
        folder = cache.get_dir(STATE_NAMESPACE, manifest["stages"][SYSTEM_STAGE])
        if folder is None:
            raise UserError(f"system '{ref['plugin']}': its fitted state is not in this cache; give the "
                            "--cache-dir the system was trained with, or re-run the benchmark")
        system.load(str(folder))
    return system


def system_context(manifest: dict[str, Any], cache: Any, system: Any) -> SystemContext:
    return SystemContext(int(manifest["seed"]), str(manifest.get("device", "cpu")),
                         str(cache.root / STATE_NAMESPACE / system.name))
