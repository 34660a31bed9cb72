"""One stage of one (dataset, seed), as the recipe sees it: train it or read it back, and log it.

The recipe (``merits_l``) decides what each stage consumes and trains; this
module does the bookkeeping every stage shares, so the recipe reads as the
paper's steps: the stage's cache key (its settings, seed, device, the content
digests of what it consumed and the dataset digest), the cached result when
there is one, the nested MLflow run with per-epoch curves while it trains, its
params, scores, plots and ``predictions.csv``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from erc_bench.core.cache import Cache
from erc_bench.core.csv_safe import SafeWriter
from erc_bench.core.spec import StageTraining
from erc_bench.features.inputs import digest_dataset
from erc_bench.tracking import run_log
from erc_bench.tracking.tags import CACHED_TAG, STAGE_TAG
from erc_bench.tracking.tracker import Tracker
from erc_bench.train import distributed
from erc_bench.train.context import StageContext
from erc_bench.train.events import epoch_listener
from erc_bench.train.stage_result import StageResult

STAGE_KEY_FORMAT = 3
"""Bumped when what goes into a stage key changes. 3: each component's code (distribution, version, sources' digest
for a working-tree install) is part of its identity; 2: component params as validated (defaults filled in);
1 (unversioned): as written in the spec. Older stage entries are never read again (the README's migration note)."""


PLOT_NAMESPACE = "stage-plots"


class SeedRun:
    """The stages of one (dataset, seed): each cached under the digest of what it consumed, each a nested run."""

    def __init__(self, ctx: StageContext, cache: Cache, tracker: Tracker, system: str) -> None:
        self.ctx, self.cache, self.tracker = ctx, cache, tracker
        self.seed_log = run_log.SeedLog(system, ctx.data.name, ctx.seed)
        self.data_digest = digest_dataset(ctx.data)
        self.stage_keys: dict[str, str] = {}  # stage -> cache key of its result (weights), for `erc-bench predict`
        self.results: list[tuple[StageResult, bool]] = []  # (result, read from the cache), in training order
        self.place_of = {u.id: (u.conversation_id, u.position) for split in ctx.data.splits
                         for u in ctx.data.utterances(split)}  # for every stage's predictions.csv

    def stage(self, name: str, cfg: StageTraining | None, key_parts: dict[str, Any],
              train: Callable[[StageContext], StageResult]) -> StageResult:
        """Train (or read back) one stage with ``cfg`` (None: a whole system, whose settings are its params, in
        ``key_parts``), log it as a nested run, and return its result."""
        settings = cfg.model_dump() if cfg is not None else None
        key = Cache.key("stage", name, {"format": STAGE_KEY_FORMAT, "cfg": settings, "seed": self.ctx.seed,
                                        "device": self.ctx.device.type, **key_parts}, self.data_digest)
        self.stage_keys[name] = key
        result = StageResult.from_cache(self.cache, key)
        cached = result is not None
        with self.tracker.run(name, tags={STAGE_TAG: name, CACHED_TAG: str(cached)}, nested=True):
            if result is None:
                with epoch_listener(self._log_epoch):  # per-epoch metrics appear while the stage trains
                    result = train(self.ctx.with_settings(cfg) if cfg is not None else self.ctx)
                if distributed.is_main():
                    result.to_cache(self.cache, key)
            else:  # replayed from the cache, all epochs in one store call
                self.tracker.log_metric_steps([(run_log.epoch_metrics(record), int(record.get("epoch", 1)))
                                               for record in result.history])
            logged = run_log.log_stage(self.tracker, self.seed_log, result,
                                       {"stage": settings or {}, "best_epoch": result.best_epoch,
                                        "n_missing": result.n_missing},
                                       cached, self._predictions_csv(result), log_history=False,
                                       render=lambda plot, make: self._plot(key, plot, make))
        self.tracker.log_metrics(run_log.parent_stage_metrics(logged))
        self.results.append((result, cached))
        return result

    def _log_epoch(self, stage: str, record: dict[str, Any]) -> None:
        """Called from inside the training loop: never raises (a tracking server that died costs the curve's
        live view, not the training; the history is cached with the result and replayed on the rerun)."""
        log = getattr(self.tracker, "log_metrics_soft", self.tracker.log_metrics)
        log(run_log.epoch_metrics(record), step=int(record.get("epoch", 1)))

    def _plot(self, key: str, plot: str, make: Callable[[], bytes]) -> bytes:
        """A stage's plot, rendered once and kept in the cache under the stage's key and the plot's name and
        title: a replayed stage logs the same bytes without importing matplotlib."""
        name = Cache.key(PLOT_NAMESPACE, "plot", {"format": 1, "plot": plot}, key)
        png = self.cache.get_bytes(PLOT_NAMESPACE, name, ".png")
        if png is None:
            png = make()
            if distributed.is_main():
                self.cache.put_bytes(PLOT_NAMESPACE, name, png, suffix=".png")
        return png

    def _predictions_csv(self, result: StageResult) -> str:
        buffer = io.StringIO()
        writer = SafeWriter(buffer)
        writer.writerow(["split", "conversation_id", "position", "utterance_id", "gold", "predicted"])
        for split, rows in result.predictions.items():
            for utt_id, gold, pred in rows:
                conv, pos = self.place_of.get(utt_id, ("", ""))
                writer.writerow([split, conv, pos, utt_id, gold, pred])
        return buffer.getvalue()
